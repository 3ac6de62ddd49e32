-- +goose Up
-- +goose StatementBegin
-- new_object_id returns a 12-byte ObjectId (4-byte big-endian Unix seconds, 5 bytes
-- that stand for the writing process, 3-byte counter) so that rows written by tools
-- other than the service get well-formed ids too, ordered by creation within one
-- connection. The service generates its own ids and never relies on this.
CREATE SEQUENCE object_id_counter AS integer MINVALUE 0 MAXVALUE 16777215 CYCLE;

CREATE FUNCTION new_object_id() RETURNS bytea
LANGUAGE sql VOLATILE PARALLEL SAFE AS $$
  SELECT int4send(extract(epoch FROM clock_timestamp())::integer)
      || decode(substring(md5(pg_backend_pid()::text || pg_postmaster_start_time()::text) FROM 1 FOR 10), 'hex')
      || substring(int4send(nextval('object_id_counter')::integer) FROM 2 FOR 3)
$$;
-- +goose StatementEnd

CREATE EXTENSION IF NOT EXISTS pg_trgm;

CREATE TABLE customers (
    id                               bytea       PRIMARY KEY DEFAULT new_object_id()
                                                 CHECK (octet_length(id) = 12),
    name                             text        NOT NULL
                                                 CHECK (char_length(name) BETWEEN 1 AND 45 AND name = btrim(name)),
    status                           text        NOT NULL DEFAULT 'ACTIVE'
                                                 CHECK (status IN ('ACTIVE', 'SUSPENDED', 'TERMINATED', 'FRAUD')),
    website_url                      text        CHECK (char_length(website_url) <= 255
                                                        AND website_url = btrim(website_url)
                                                        AND website_url ~* '^https?://[^/?#[:space:]]+'),
    logo                             text        CHECK (char_length(logo) <= 255
                                                        AND logo = btrim(logo)
                                                        AND logo ~* '^https?://[^/?#[:space:]]+'),
    credit                           integer     NOT NULL DEFAULT 0,
    admin_user_id                    bytea,
    billing_user_id                  bytea,
    call_recording_user_id           bytea,
    support_user_id                  bytea,
    call_forwarding_call_limit       integer     NOT NULL DEFAULT 10 CHECK (call_forwarding_call_limit >= 0),
    automatic_refill_amount          integer     NOT NULL DEFAULT 0 CHECK (automatic_refill_amount >= 0),
    low_balance_alert_amount         integer     NOT NULL DEFAULT 0 CHECK (low_balance_alert_amount >= 0),
    low_balance_alert_at             timestamptz,
    low_balance_alert_count          integer     NOT NULL DEFAULT 0 CHECK (low_balance_alert_count >= 0),
    last_automatic_refill_invoice_id bytea,
    international_calling            boolean     NOT NULL DEFAULT false,
    created_by_ip                    inet        CHECK (masklen(created_by_ip) = CASE family(created_by_ip) WHEN 4 THEN 32 ELSE 128 END),
    call_debug                       boolean     NOT NULL DEFAULT false,
    media_bypass                     boolean     NOT NULL DEFAULT false,
    account_lock                     boolean     NOT NULL DEFAULT true,
    call_recording                   boolean     NOT NULL DEFAULT false,
    cdr_retention                    integer     NOT NULL DEFAULT 12 CHECK (cdr_retention >= 0),
    cnam_look_ups                    boolean     NOT NULL DEFAULT false,
    hold_music                       boolean     NOT NULL DEFAULT false,
    transcribe_calls                 boolean,
    max_outbound_call_rate           integer     NOT NULL DEFAULT 1 CHECK (max_outbound_call_rate >= 0),
    default_bill_method              text        NOT NULL DEFAULT 'CREDIT'
                                                 CHECK (default_bill_method IN ('CREDIT', 'PAYMENTMETHOD')),
    version                          integer     NOT NULL DEFAULT 1 CHECK (version >= 1),
    created_at                       timestamptz NOT NULL DEFAULT now(),
    updated_at                       timestamptz NOT NULL DEFAULT now(),
    created_by_id                    bytea,
    updated_by_id                    bytea
);

CREATE TABLE users (
    id                     bytea       PRIMARY KEY DEFAULT new_object_id() CHECK (octet_length(id) = 12),
    customer_id            bytea       NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
    email                  text        NOT NULL
                                       CHECK (char_length(email) BETWEEN 5 AND 255 AND email = btrim(email)
                                              AND email ~ '^[^@[:space:]]+@[^@[:space:]]+$'),
    first                  text        NOT NULL CHECK (char_length(first) BETWEEN 1 AND 45 AND first = btrim(first)),
    last                   text        NOT NULL CHECK (char_length(last) BETWEEN 1 AND 45 AND last = btrim(last)),
    status                 text        NOT NULL DEFAULT 'ACTIVE' CHECK (status IN ('ACTIVE', 'DISABLED', 'TERMINATED')),
    admin_permission       text        CHECK (admin_permission IN ('READ', 'READ_WRITE')),
    billing_permission     text        CHECK (billing_permission IN ('READ', 'READ_WRITE')),
    super_admin_permission text        CHECK (super_admin_permission IN ('READ', 'READ_WRITE')),
    version                integer     NOT NULL DEFAULT 1 CHECK (version >= 1),
    created_at             timestamptz NOT NULL DEFAULT now(),
    updated_at             timestamptz NOT NULL DEFAULT now(),
    -- Target of the customers' composite foreign keys: a customer may only link its own users.
    UNIQUE (customer_id, id)
);

-- Email is unique without regard to case.
CREATE UNIQUE INDEX users_email_key ON users (lower(email));

CREATE TABLE invoices (
    id          bytea       PRIMARY KEY DEFAULT new_object_id() CHECK (octet_length(id) = 12),
    customer_id bytea       NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
    amount      integer     NOT NULL,
    subtotal    integer     NOT NULL,
    tax         integer,
    setup       integer,
    discount    integer,
    status      text        NOT NULL DEFAULT 'OPEN'
                            CHECK (status IN ('OPEN', 'CLOSED', 'COLLECTION', 'ON_HOLD', 'ERROR')),
    error       text,
    due_at      timestamptz NOT NULL,
    closed_at   timestamptz,
    created_at  timestamptz NOT NULL DEFAULT now(),
    UNIQUE (customer_id, id)
);

-- A customer's linked users and last refill invoice must be its own (another tenant's
-- user would expose that tenant's email). MATCH SIMPLE: a null link is not checked.
ALTER TABLE customers
    ADD CONSTRAINT customers_admin_user_fk FOREIGN KEY (id, admin_user_id) REFERENCES users (customer_id, id),
    ADD CONSTRAINT customers_billing_user_fk FOREIGN KEY (id, billing_user_id) REFERENCES users (customer_id, id),
    ADD CONSTRAINT customers_call_recording_user_fk FOREIGN KEY (id, call_recording_user_id) REFERENCES users (customer_id, id),
    ADD CONSTRAINT customers_support_user_fk FOREIGN KEY (id, support_user_id) REFERENCES users (customer_id, id),
    ADD CONSTRAINT customers_last_automatic_refill_invoice_fk
        FOREIGN KEY (id, last_automatic_refill_invoice_id) REFERENCES invoices (customer_id, id),
    ADD CONSTRAINT customers_created_by_fk FOREIGN KEY (created_by_id) REFERENCES users (id) ON DELETE SET NULL,
    ADD CONSTRAINT customers_updated_by_fk FOREIGN KEY (updated_by_id) REFERENCES users (id) ON DELETE SET NULL;

-- One index per sort the API offers, each ending in the id tie-break.
CREATE INDEX customers_name_id_idx ON customers (name, id);
CREATE INDEX customers_status_id_idx ON customers (status, id);
CREATE INDEX customers_credit_id_idx ON customers (credit, id);
CREATE INDEX customers_created_at_id_idx ON customers (created_at, id);
CREATE INDEX customers_updated_at_id_idx ON customers (updated_at, id);
-- The case-insensitive substring search (ILIKE) over name and websiteUrl.
CREATE INDEX customers_name_trgm_idx ON customers USING gin (name gin_trgm_ops);
CREATE INDEX customers_website_url_trgm_idx ON customers USING gin (website_url gin_trgm_ops);
-- The user links: checked when a user is deleted, and used to load a user's customers.
CREATE INDEX customers_admin_user_idx ON customers (admin_user_id) WHERE admin_user_id IS NOT NULL;
CREATE INDEX customers_billing_user_idx ON customers (billing_user_id) WHERE billing_user_id IS NOT NULL;
CREATE INDEX customers_call_recording_user_idx ON customers (call_recording_user_id) WHERE call_recording_user_id IS NOT NULL;
CREATE INDEX customers_support_user_idx ON customers (support_user_id) WHERE support_user_id IS NOT NULL;

-- +goose Down
DROP TABLE customers, users, invoices CASCADE;
DROP FUNCTION new_object_id();
DROP SEQUENCE object_id_counter;
