-- Seed of `make loadtest` (scripts/loadtest/run.sh), run with psql into a freshly
-- migrated database: 10,000 customers, 2 users each (20,000), and one platform staff
-- user (superAdminPermission READ_WRITE) who belongs to the first customer. Ids come
-- from the column default, new_object_id(). Each customer's admin and support link
-- its first user, billing and call recording its second. Prints the staff user's id.
--
-- The links are composite foreign keys to users of the same customer, and users need
-- their customer first, so customers are inserted without links, then users, then the
-- links are set; VACUUM ANALYZE removes the dead versions that update left and gives
-- the planner fresh statistics. Takes a few seconds.
\set ON_ERROR_STOP on
\set customers 10000

BEGIN;

CREATE TEMPORARY TABLE seed ON COMMIT DROP AS
SELECT i, new_object_id() AS customer_id, new_object_id() AS user1_id, new_object_id() AS user2_id,
       to_char(i, 'FM00000') AS num
FROM generate_series(1, :customers) AS i;

INSERT INTO customers (id, name, status, website_url, logo, credit, call_forwarding_call_limit,
                       automatic_refill_amount, low_balance_alert_amount, international_calling,
                       account_lock, call_recording, cdr_retention, hold_music, max_outbound_call_rate,
                       default_bill_method, created_by_ip)
SELECT customer_id,
       'Loadtest Customer ' || num,
       'ACTIVE',
       CASE WHEN i % 4 <> 3 THEN 'https://www.customer-' || num || '.example' END,
       CASE WHEN i % 3 = 0 THEN 'https://cdn.customer-' || num || '.example/logo.png' END,
       (i * 7919) % 100000 - 5000,
       10,
       CASE WHEN i % 3 = 1 THEN 5000 ELSE 0 END,
       CASE WHEN i % 2 = 0 THEN 1000 ELSE 0 END,
       i % 2 = 0,
       i % 10 = 0,
       i % 4 = 0,
       (ARRAY[12, 6, 24, 0, 36])[i % 5 + 1],
       i % 2 = 1,
       i % 4 + 1,
       CASE WHEN i % 3 = 0 THEN 'PAYMENTMETHOD' ELSE 'CREDIT' END,
       ('198.51.100.' || i % 250 + 1)::inet
FROM seed;

INSERT INTO users (id, customer_id, email, first, last, admin_permission, billing_permission)
SELECT user1_id, customer_id, 'admin-' || num || '@customer-' || num || '.example', 'Ada', 'Admin ' || num,
       'READ_WRITE', 'READ'
FROM seed
UNION ALL
SELECT user2_id, customer_id, 'billing-' || num || '@customer-' || num || '.example', 'Bill', 'Payer ' || num,
       NULL, 'READ_WRITE'
FROM seed;

UPDATE customers c
SET admin_user_id = s.user1_id, support_user_id = s.user1_id,
    billing_user_id = s.user2_id, call_recording_user_id = s.user2_id
FROM seed s
WHERE c.id = s.customer_id;

INSERT INTO users (customer_id, email, first, last, super_admin_permission)
SELECT customer_id, 'staff@loadtest.example', 'Load', 'Tester', 'READ_WRITE' FROM seed WHERE i = 1;

COMMIT;

-- The ceiling's random rows (scripts/loadtest/ceiling-*.sql), outside the product's
-- schema and only in this database. pgbench draws a number and looks the row up by
-- primary key inside the measured statement:
--   loadtest_ids:   n = 1 … 10,000 → the id of the n-th customer in id order (W1, W3);
--   loadtest_pages: p = 1 … 199 → the id of customer 50·p, after which the API's p-th
--                   cursor starts its page of 50, and the distinct ids of the users
--                   that page links (W2).
CREATE TABLE loadtest_ids (n integer PRIMARY KEY, id bytea NOT NULL);
INSERT INTO loadtest_ids SELECT row_number() OVER (ORDER BY id), id FROM customers;

CREATE TABLE loadtest_pages (p integer PRIMARY KEY, after_id bytea NOT NULL, links bytea[] NOT NULL);
-- Kept in the row, uncompressed (about 1.6 kB), as a parameter would arrive.
ALTER TABLE loadtest_pages ALTER COLUMN links SET STORAGE PLAIN;
INSERT INTO loadtest_pages
SELECT s.n / 50, s.id,
       ARRAY(SELECT DISTINCT link
             FROM (SELECT * FROM customers c WHERE c.id > s.id ORDER BY c.id LIMIT 50) AS page,
                  unnest(ARRAY[page.admin_user_id, page.billing_user_id, page.support_user_id,
                               page.call_recording_user_id]) AS link
             WHERE link IS NOT NULL
             ORDER BY link)
FROM loadtest_ids s
WHERE s.n % 50 = 0 AND s.n < :customers;

VACUUM (ANALYZE) customers, users, loadtest_ids, loadtest_pages;

\pset tuples_only on
\pset format unaligned
SELECT encode(id, 'hex') FROM users WHERE email = 'staff@loadtest.example';
