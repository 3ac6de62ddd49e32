-- +goose Up
-- A token carries its user's customer, the tenant, as every tenant-scoped table
-- does, so that distributed by customer (docs/scaling.md) it lives on the shard of
-- its user. A user never changes customer, so the copy cannot go stale; the
-- composite foreign key keeps it equal to the user's.
ALTER TABLE api_tokens ADD COLUMN customer_id bytea;
UPDATE api_tokens t SET customer_id = u.customer_id FROM users u WHERE u.id = t.user_id;
ALTER TABLE api_tokens
    ALTER COLUMN customer_id SET NOT NULL,
    DROP CONSTRAINT api_tokens_user_id_fkey,
    ADD CONSTRAINT api_tokens_user_fk FOREIGN KEY (customer_id, user_id) REFERENCES users (customer_id, id) ON DELETE CASCADE;
-- A user's tokens, newest first, found within the tenant.
DROP INDEX api_tokens_user_id_idx;
CREATE INDEX api_tokens_customer_user_idx ON api_tokens (customer_id, user_id, id);

-- +goose Down
DROP INDEX api_tokens_customer_user_idx;
CREATE INDEX api_tokens_user_id_idx ON api_tokens (user_id, id);
ALTER TABLE api_tokens
    DROP CONSTRAINT api_tokens_user_fk,
    ADD CONSTRAINT api_tokens_user_id_fkey FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE;
ALTER TABLE api_tokens DROP COLUMN customer_id;
