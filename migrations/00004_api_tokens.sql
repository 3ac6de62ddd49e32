-- +goose Up
-- Long-lived API tokens for backend-for-frontend services. Only the SHA-256 of a
-- token's secret is stored; the secret is shown once, when the token is created.
CREATE TABLE api_tokens (
    id           bytea       PRIMARY KEY DEFAULT new_object_id() CHECK (octet_length(id) = 12),
    user_id      bytea       NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name         text        NOT NULL CHECK (char_length(name) BETWEEN 1 AND 100 AND name = btrim(name)),
    token_hash   bytea       NOT NULL UNIQUE CHECK (octet_length(token_hash) = 32),
    created_at   timestamptz NOT NULL DEFAULT now(),
    last_used_at timestamptz,
    expires_at   timestamptz,
    revoked_at   timestamptz
);

-- A user's tokens, newest first.
CREATE INDEX api_tokens_user_id_idx ON api_tokens (user_id, id);

-- +goose Down
DROP TABLE api_tokens;
