-- Ceiling of W2 (page of 50 by cursor, 10 fields + the 4 linked users): the two
-- statements the work needs, in two round trips, as a dataloader would send them.
-- pgbench -M prepared; :pages is the number of rows of loadtest_pages (pgbench -D).
--
-- loadtest_pages (scripts/loadtest/run.sh) holds, for page p = 1 … 199, the id the page
-- starts after (the id of customer 50·p in id order: the API's cursors point at the
-- same rows) and the distinct ids of the users that page links (100: admin = support,
-- billing = call recording). pgbench cannot pass a query's rows on to the next query,
-- so the second statement takes the page's links from there, by primary key, rather
-- than from the first statement's result; no workload changes a link, so they are the
-- same ids. Each statement pays one primary-key probe into that 199-row table.
\set p random(1, :pages)
SELECT id, name, status, website_url, logo, credit, account_lock, international_calling, call_recording,
       cdr_retention, admin_user_id, billing_user_id, support_user_id, call_recording_user_id
FROM customers
WHERE id > (SELECT after_id FROM loadtest_pages WHERE p = :p)
ORDER BY id
LIMIT 50;
SELECT id, email, first, last
FROM users
WHERE id = ANY ((SELECT links FROM loadtest_pages WHERE p = :p)::bytea[]);
