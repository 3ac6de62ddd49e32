-- +goose Up
-- One index per sort of the users list (across customers), each ending in the id
-- tie-break; a customer's own users are found through UNIQUE (customer_id, id).
CREATE INDEX users_email_id_idx ON users (email, id);
CREATE INDEX users_first_id_idx ON users (first, id);
CREATE INDEX users_last_id_idx ON users (last, id);
CREATE INDEX users_created_at_id_idx ON users (created_at, id);
-- Invoices are listed per customer; one index per sort within a customer.
CREATE INDEX invoices_customer_created_at_id_idx ON invoices (customer_id, created_at, id);
CREATE INDEX invoices_customer_due_at_id_idx ON invoices (customer_id, due_at, id);
CREATE INDEX invoices_customer_amount_id_idx ON invoices (customer_id, amount, id);

-- +goose Down
DROP INDEX invoices_customer_amount_id_idx;
DROP INDEX invoices_customer_due_at_id_idx;
DROP INDEX invoices_customer_created_at_id_idx;
DROP INDEX users_created_at_id_idx;
DROP INDEX users_last_id_idx;
DROP INDEX users_first_id_idx;
DROP INDEX users_email_id_idx;
