-- Ceiling of W1 (customer by id, 13 fields): the one SELECT the work needs.
-- pgbench -M prepared; :maxn is the number of customers (pgbench -D maxn=…). The
-- random id is looked up in loadtest_ids by primary key inside the same statement.
\set n random(1, :maxn)
SELECT id, name, status, website_url, logo, credit, call_forwarding_call_limit, automatic_refill_amount,
       low_balance_alert_amount, international_calling, account_lock, call_recording, cdr_retention
FROM customers
WHERE id = (SELECT id FROM loadtest_ids WHERE n = :n);
