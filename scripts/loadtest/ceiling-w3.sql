-- Ceiling of W3 (patch credit + accountLock): the one UPDATE the work needs, with the
-- version bump, in autocommit. pgbench -M prepared; :maxn is the number of customers
-- (pgbench -D maxn=…); the random id is looked up in loadtest_ids by primary key
-- inside the statement, the credit is random.
\set n random(1, :maxn)
\set credit random(0, 1000000)
UPDATE customers
SET credit = :credit, account_lock = false, version = version + 1, updated_at = now()
WHERE id = (SELECT id FROM loadtest_ids WHERE n = :n)
RETURNING id, credit, account_lock, version;
