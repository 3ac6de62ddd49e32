-- Demo accounts for `make run`: deterministic (no random()), so ids stay the same on
-- every machine and README examples can name them. Ids follow the ObjectId layout:
-- 4-byte creation second, 5 zero bytes, 3-byte counter.
CREATE TEMPORARY TABLE demo_customer ON COMMIT DROP AS
SELECT i,
       name,
       timestamptz '2025-01-06 09:00:00+00' + (i - 1) * interval '19 days 7 hours 13 minutes' AS created_at,
       regexp_replace(lower(name), '[^a-z0-9]+', '-', 'g') || '-' || i AS slug,
       int4send(extract(epoch FROM timestamptz '2025-01-06 09:00:00+00' + (i - 1) * interval '19 days 7 hours 13 minutes')::integer)
           || '\x0000000000'::bytea || substring(int4send(i::integer) FROM 2 FOR 3) AS id
FROM unnest(ARRAY[
    'Nimbus Platform Operations', 'Acme Telecom', 'Acme Fax Services', 'Acme Cloud Voice',
    'Globex Communications', 'Initech Call Center', 'Umbrella SIP Trunks', 'Hooli Messaging',
    'Stark Voice Labs', 'Wayne Enterprises Telecom', 'Café Öz Telecom', 'Zürich Phone Works',
    'Blue Harbor Dental', 'Northwind Logistics', 'Contoso Support Desk', 'Fabrikam Field Services',
    'Tailspin Travel', 'Vandelay Imports', 'Pied Piper Networks', 'Soylent Foods',
    'Cyberdyne Dispatch', 'Wonka Confections', 'Oceanic Airlines Desk', 'Monarch Legal',
    'Gringotts Banking', 'Dunder Mifflin Paper', 'Bluth Property Sales', 'Prestige Worldwide',
    'Massive Dynamic', 'Kwik-E-Mart Hotline', 'Olivia Pope Associates', 'Los Pollos Hermanos',
    'Quahog Cable', 'Ollivanders Wands', 'Yoyodyne Propulsion', 'Xanadu Hotels'
]) WITH ORDINALITY AS t(name, i);

INSERT INTO customers (
    id, name, status, website_url, logo, credit, automatic_refill_amount, low_balance_alert_amount,
    low_balance_alert_at, low_balance_alert_count, international_calling, created_by_ip, call_debug,
    media_bypass, account_lock, call_recording, cdr_retention, cnam_look_ups, hold_music,
    transcribe_calls, max_outbound_call_rate, default_bill_method, call_forwarding_call_limit,
    created_at, updated_at)
SELECT id,
       name,
       CASE WHEN i % 9 = 4 THEN 'SUSPENDED' WHEN i % 11 = 6 THEN 'TERMINATED' WHEN i % 13 = 7 THEN 'FRAUD' ELSE 'ACTIVE' END,
       CASE WHEN i % 4 <> 3 THEN 'https://www.' || slug || '.example' END,
       CASE WHEN i % 3 = 0 THEN 'https://cdn.' || slug || '.example/logo.png' END,
       (i * 3779) % 20000 - 2500,
       CASE WHEN i % 3 = 1 THEN 5000 ELSE 0 END,
       CASE WHEN i % 2 = 0 THEN 1000 ELSE 0 END,
       CASE WHEN i % 5 = 2 THEN created_at + interval '40 days' END,
       CASE WHEN i % 5 = 2 THEN i % 4 + 1 ELSE 0 END,
       i % 2 = 0,
       CASE WHEN i % 3 = 0 THEN ('2001:db8::' || to_hex(i))::inet ELSE ('198.51.100.' || i)::inet END,
       i % 17 = 0,
       i % 5 = 0,
       i % 6 = 1,
       i % 4 = 0,
       (ARRAY[12, 6, 24, 0, 36])[i % 5 + 1],
       i % 3 = 2,
       i % 2 = 1,
       CASE i % 3 WHEN 0 THEN NULL WHEN 1 THEN true ELSE false END,
       i % 4 + 1,
       CASE WHEN i % 3 = 0 THEN 'PAYMENTMETHOD' ELSE 'CREDIT' END,
       10,
       created_at,
       created_at + (i % 7) * interval '3 days'
FROM demo_customer;

-- Three users per customer (admin, billing, support); the first customer, the
-- platform's own account, also has the platform staff user.
INSERT INTO users (id, customer_id, email, first, last, status, admin_permission, billing_permission,
                   super_admin_permission, created_at, updated_at)
SELECT substring(d.id FROM 1 FOR 9) || substring(int4send(1000 * d.i::integer + r.n) FROM 2 FOR 3),
       d.id,
       r.role || '@' || d.slug || '.example',
       (ARRAY['Ada', 'Grace', 'Alan', 'Edsger', 'Barbara', 'Ken', 'Margaret', 'Dennis', 'Frances', 'Linus', 'Radia', 'Tim'])[(d.i + r.n) % 12 + 1],
       (ARRAY['Lovelace', 'Hopper', 'Turing', 'Dijkstra', 'Liskov', 'Thompson', 'Hamilton', 'Ritchie', 'Allen', 'Torvalds', 'Perlman', 'Berners-Lee'])[(d.i * 5 + r.n) % 12 + 1],
       CASE WHEN r.n = 3 AND d.i % 5 = 0 THEN 'DISABLED' ELSE 'ACTIVE' END,
       r.admin, r.billing, r.super_admin,
       d.created_at, d.created_at
FROM demo_customer d
CROSS JOIN (VALUES (1, 'admin', 'READ_WRITE', 'READ', NULL),
                   (2, 'billing', NULL, 'READ_WRITE', NULL),
                   (3, 'support', 'READ', NULL, NULL),
                   (4, 'staff', 'READ_WRITE', 'READ_WRITE', 'READ_WRITE')) AS r(n, role, admin, billing, super_admin)
WHERE r.n < 4 OR d.i = 1;

-- Up to five invoices per customer, across every status.
INSERT INTO invoices (id, customer_id, amount, subtotal, tax, setup, discount, status, error, due_at, closed_at, created_at)
SELECT substring(d.id FROM 1 FOR 9) || substring(int4send(1000 * d.i::integer + 100 + n) FROM 2 FOR 3),
       d.id,
       subtotal + subtotal / 10,
       subtotal,
       subtotal / 10,
       CASE WHEN n = 1 THEN 2500 END,
       CASE WHEN n % 3 = 0 THEN 500 END,
       st.status,
       CASE WHEN st.status = 'ERROR' THEN 'card declined by the issuer' END,
       d.created_at + n * interval '30 days',
       CASE WHEN st.status = 'CLOSED' THEN d.created_at + n * interval '30 days' - interval '2 days' END,
       d.created_at + (n - 1) * interval '30 days'
FROM demo_customer d
CROSS JOIN LATERAL generate_series(1, d.i::integer % 6) AS n
CROSS JOIN LATERAL (SELECT (d.i::integer * 1731 + n * 977) % 40000 + 1000 AS subtotal) AS amounts
CROSS JOIN LATERAL (SELECT (ARRAY['CLOSED', 'CLOSED', 'OPEN', 'COLLECTION', 'ON_HOLD', 'ERROR'])[(d.i::integer + n) % 6 + 1] AS status) AS st;

-- Link each customer to its own users; every fourth leaves its support and
-- call-recording links empty. Customers with an automatic refill point at their
-- latest invoice.
UPDATE customers c
SET admin_user_id = substring(c.id FROM 1 FOR 9) || substring(int4send(1000 * d.i::integer + 1) FROM 2 FOR 3),
    billing_user_id = substring(c.id FROM 1 FOR 9) || substring(int4send(1000 * d.i::integer + 2) FROM 2 FOR 3),
    support_user_id = CASE WHEN d.i % 4 <> 0 THEN substring(c.id FROM 1 FOR 9) || substring(int4send(1000 * d.i::integer + 3) FROM 2 FOR 3) END,
    call_recording_user_id = CASE WHEN d.i % 8 <> 0 AND c.call_recording THEN substring(c.id FROM 1 FOR 9) || substring(int4send(1000 * d.i::integer + 1) FROM 2 FOR 3) END,
    last_automatic_refill_invoice_id = CASE WHEN c.automatic_refill_amount > 0 THEN
        (SELECT v.id FROM invoices v WHERE v.customer_id = c.id ORDER BY v.id DESC LIMIT 1) END
FROM demo_customer d
WHERE d.id = c.id;
