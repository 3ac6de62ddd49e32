package migrations_test

import (
	"database/sql"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
	_ "github.com/jackc/pgx/v5/stdlib"

	"github.com/cloudcomms/customers/internal/pgtest"
	"github.com/cloudcomms/customers/migrations"
)

// TestUpDownUp proves, on an empty database, that the migrations apply from scratch,
// that the down migrations undo them completely, and that they apply again after that.
func TestUpDownUp(t *testing.T) {
	t.Parallel()
	db, err := sql.Open("pgx", pgtest.NewEmptyDatabase(t))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ctx := t.Context()
	tables := func() []string {
		rows, err := db.Query(`SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename <> 'goose_db_version' ORDER BY 1`)
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for rows.Next() {
			var n string
			if err := rows.Scan(&n); err != nil {
				t.Fatal(err)
			}
			names = append(names, n)
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		return names
	}
	if err := migrations.Up(ctx, db); err != nil {
		t.Fatalf("up: %v", err)
	}
	up := tables()
	if !slices.Contains(up, "customers") {
		t.Fatalf("tables after up: %v, want customers among them", up)
	}
	if err := migrations.Down(ctx, db); err != nil {
		t.Fatalf("down: %v", err)
	}
	if left := tables(); len(left) != 0 {
		t.Errorf("tables left after down: %v", left)
	}
	if err := migrations.Up(ctx, db); err != nil {
		t.Fatalf("up after down: %v", err)
	}
	if diff := cmp.Diff(up, tables()); diff != "" {
		t.Errorf("tables after up again (-first +again):\n%s", diff)
	}
}

// TestDatabaseEnforcesRules writes through SQL, as another tool would, and checks
// that the database itself refuses what the API refuses.
func TestDatabaseEnforcesRules(t *testing.T) {
	t.Parallel()
	db, err := sql.Open("pgx", pgtest.NewDatabase(t))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	mustExec := func(q string) {
		if _, err := db.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	mustExec(`INSERT INTO customers (name) VALUES ('Valid')`)
	mustExec(`INSERT INTO customers (name) VALUES ('Other')`)
	mustExec(`INSERT INTO users (customer_id, email, first, last) SELECT id, 'a@b.example', 'A', 'B' FROM customers WHERE name = 'Other'`)
	mustExec(`INSERT INTO users (customer_id, email, first, last, status) SELECT id, 'gone@b.example', 'G', 'O', 'TERMINATED' FROM customers WHERE name = 'Other'`)
	var defaults string
	if err := db.QueryRow(`SELECT concat_ws(',', status, credit, account_lock, cdr_retention, max_outbound_call_rate, default_bill_method, version, call_forwarding_call_limit, octet_length(id)) FROM customers WHERE name = 'Valid'`).Scan(&defaults); err != nil {
		t.Fatal(err)
	}
	if defaults != "ACTIVE,0,t,12,1,CREDIT,1,10,12" {
		t.Errorf("column defaults = %s", defaults)
	}
	bad := map[string]string{
		"NameBlank":          `INSERT INTO customers (name) VALUES ('')`,
		"NameUntrimmed":      `INSERT INTO customers (name) VALUES (' x')`,
		"Name46":             `INSERT INTO customers (name) VALUES (repeat('é', 46))`,
		"NameNull":           `INSERT INTO customers (name) VALUES (NULL)`,
		"StatusUnknown":      `INSERT INTO customers (name, status) VALUES ('x', 'CLOSED')`,
		"BillMethodUnknown":  `INSERT INTO customers (name, default_bill_method) VALUES ('x', 'CASH')`,
		"URLScheme":          `INSERT INTO customers (name, website_url) VALUES ('x', 'ftp://e.example')`,
		"URLEmpty":           `INSERT INTO customers (name, logo) VALUES ('x', '')`,
		"URL256":             `INSERT INTO customers (name, logo) VALUES ('x', 'https://e.example/' || repeat('a', 238))`,
		"NegativeRefill":     `INSERT INTO customers (name, automatic_refill_amount) VALUES ('x', -1)`,
		"NegativeRetention":  `INSERT INTO customers (name, cdr_retention) VALUES ('x', -1)`,
		"IPWithMask":         `INSERT INTO customers (name, created_by_ip) VALUES ('x', '10.0.0.0/8')`,
		"ShortID":            `INSERT INTO customers (id, name) VALUES ('\x01', 'x')`,
		"ForeignUserLinked":  `UPDATE customers SET admin_user_id = (SELECT id FROM users WHERE email = 'a@b.example') WHERE name = 'Valid'`,
		"EmailCaseDuplicate": `INSERT INTO users (customer_id, email, first, last) SELECT id, 'A@B.example', 'A', 'B' FROM customers WHERE name = 'Other'`,
		"EmailShort":         `INSERT INTO users (customer_id, email, first, last) SELECT id, 'a@b', 'A', 'B' FROM customers WHERE name = 'Other'`,
		"UserStatusUnknown":  `INSERT INTO users (customer_id, email, first, last, status) SELECT id, 'c@d.example', 'A', 'B', 'GONE' FROM customers WHERE name = 'Other'`,
		"PermissionUnknown":  `INSERT INTO users (customer_id, email, first, last, admin_permission) SELECT id, 'c@d.example', 'A', 'B', 'ALL' FROM customers WHERE name = 'Other'`,
		"TerminatedRevived":  `UPDATE users SET status = 'ACTIVE' WHERE email = 'gone@b.example'`,
		"TerminatedDisabled": `UPDATE users SET status = 'DISABLED', first = 'Back' WHERE email = 'gone@b.example'`,
	}
	for name, q := range bad {
		t.Run(name, func(t *testing.T) {
			if _, err := db.Exec(q); err == nil {
				t.Errorf("the database accepted: %s", q)
			}
		})
	}
	mustExec(`UPDATE customers SET admin_user_id = (SELECT id FROM users WHERE email = 'a@b.example') WHERE name = 'Other'`)
	mustExec(`UPDATE users SET status = 'TERMINATED', first = 'Still' WHERE email = 'gone@b.example'`)
	mustExec(`DELETE FROM users WHERE email = 'gone@b.example'`)
}
