-- +goose Up
-- What subscriptions follow is announced in the writing transaction, as the callers
-- are (00007): delivered at commit, not at all on rollback, whichever tool writes.
-- Payloads carry ids and versions only, far below PostgreSQL's 8000 bytes: each
-- instance reads the record itself, with its subscribers' permissions.
--   customers:    {"op": "INSERT"|"UPDATE"|"DELETE", "id": "<hex>", "version": n}
--   audit_events: {"id": "<hex>", "customer_id": "<hex>"}

-- A deleted customer as it was, for the last event of its subscribers on every
-- instance: the row is gone when they hear of the deletion, and too large for a
-- payload. Kept a day (each deletion removes older ones), long enough for an
-- instance that lost its connection to the database to catch up.
CREATE TABLE deleted_customers (
    id         bytea       PRIMARY KEY CHECK (octet_length(id) = 12),
    deleted_at timestamptz NOT NULL DEFAULT now(),
    customer   jsonb       NOT NULL
);
CREATE INDEX deleted_customers_deleted_at_idx ON deleted_customers (deleted_at);

-- +goose StatementBegin
CREATE FUNCTION notify_customer_changed() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    changed customers;
BEGIN
    IF TG_OP = 'DELETE' THEN
        changed := OLD;
        DELETE FROM deleted_customers WHERE deleted_at < now() - interval '1 day';
        INSERT INTO deleted_customers (id, customer) VALUES (OLD.id, to_jsonb(OLD))
            ON CONFLICT (id) DO UPDATE SET deleted_at = now(), customer = excluded.customer;
    ELSE
        changed := NEW;
    END IF;
    PERFORM pg_notify('customers', json_build_object('op', TG_OP, 'id', encode(changed.id, 'hex'), 'version', changed.version)::text);
    RETURN NULL;
END $$;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE FUNCTION notify_audit_event() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('audit_events', json_build_object('id', encode(NEW.id, 'hex'), 'customer_id', encode(NEW.customer_id, 'hex'))::text);
    RETURN NULL;
END $$;
-- +goose StatementEnd

CREATE TRIGGER customers_notify_changed AFTER INSERT OR UPDATE OR DELETE ON customers
    FOR EACH ROW EXECUTE FUNCTION notify_customer_changed();
CREATE TRIGGER audit_events_notify AFTER INSERT ON audit_events
    FOR EACH ROW EXECUTE FUNCTION notify_audit_event();

-- +goose Down
DROP TRIGGER audit_events_notify ON audit_events;
DROP TRIGGER customers_notify_changed ON customers;
DROP FUNCTION notify_audit_event();
DROP FUNCTION notify_customer_changed();
DROP TABLE deleted_customers;
