-- +goose Up
-- A TERMINATED user is gone for good. The API refuses every change of such a user;
-- this trigger holds every other writer to the heart of that rule: no UPDATE moves a
-- user's status away from TERMINATED (the user may still be deleted).
-- +goose StatementBegin
CREATE FUNCTION users_terminated_is_final() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'user % is TERMINATED, which is final', encode(OLD.id, 'hex')
    USING ERRCODE = 'check_violation', CONSTRAINT = 'users_terminated_is_final';
END
$$;
-- +goose StatementEnd

CREATE TRIGGER users_terminated_is_final
  BEFORE UPDATE OF status ON users
  FOR EACH ROW WHEN (OLD.status = 'TERMINATED' AND NEW.status <> 'TERMINATED')
  EXECUTE FUNCTION users_terminated_is_final();

-- +goose Down
DROP TRIGGER users_terminated_is_final ON users;
DROP FUNCTION users_terminated_is_final();
