-- +goose Up
-- Every successful mutation records who changed what, in the same transaction.
-- No foreign keys: the trail outlives the customers, users and records it names.
CREATE TABLE audit_events (
    id          bytea       PRIMARY KEY DEFAULT new_object_id() CHECK (octet_length(id) = 12),
    customer_id bytea       NOT NULL CHECK (octet_length(customer_id) = 12),
    actor_id    bytea       CHECK (octet_length(actor_id) = 12),
    request_id  text        NOT NULL DEFAULT '' CHECK (char_length(request_id) <= 64),
    at          timestamptz NOT NULL DEFAULT now(),
    operation   text        NOT NULL CHECK (operation IN ('customerCreate', 'customerPatch', 'customerSetStatus',
                                                          'customerDelete', 'userCreate', 'userPatch', 'userDelete')),
    record_type text        NOT NULL CHECK (record_type IN ('Customer', 'User')),
    record_id   bytea       NOT NULL CHECK (octet_length(record_id) = 12),
    changes     jsonb       NOT NULL DEFAULT '[]' CHECK (jsonb_typeof(changes) = 'array')
);

-- A customer's events, newest first.
CREATE INDEX audit_events_customer_id_idx ON audit_events (customer_id, id);

-- +goose Down
DROP TABLE audit_events;
