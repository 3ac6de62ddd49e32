-- +goose Up
-- A token's own cost bucket, in points, given by platform staff to a service that
-- needs more than the server's COST_LIMIT; null keeps the server's.
ALTER TABLE api_tokens ADD COLUMN cost_limit integer CHECK (cost_limit BETWEEN 1 AND 100000000);

-- +goose Down
ALTER TABLE api_tokens DROP COLUMN cost_limit;
