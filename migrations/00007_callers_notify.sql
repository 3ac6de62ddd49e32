-- +goose Up
-- Every change of a user, and every change of an API token's validity, is announced
-- on the channel "callers" in the writing transaction (delivered at commit, not at
-- all on rollback), so that each instance of the API forgets the verified callers
-- it cached, whichever tool made the change.
-- +goose StatementBegin
CREATE FUNCTION notify_user_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('callers', 'user:' || encode(OLD.id, 'hex'));
    RETURN NULL;
END $$;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE FUNCTION notify_api_token_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('callers', 'token:' || encode(OLD.id, 'hex'));
    RETURN NULL;
END $$;
-- +goose StatementEnd

CREATE TRIGGER users_notify_changed AFTER UPDATE OR DELETE ON users
    FOR EACH ROW EXECUTE FUNCTION notify_user_changed();
-- last_used_at changes once a minute per token in use: not a change of validity.
CREATE TRIGGER api_tokens_notify_changed AFTER UPDATE OF user_id, token_hash, expires_at, revoked_at, cost_limit OR DELETE ON api_tokens
    FOR EACH ROW EXECUTE FUNCTION notify_api_token_changed();

-- +goose Down
DROP TRIGGER api_tokens_notify_changed ON api_tokens;
DROP TRIGGER users_notify_changed ON users;
DROP FUNCTION notify_api_token_changed();
DROP FUNCTION notify_user_changed();
