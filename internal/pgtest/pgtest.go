// Package pgtest gives each test a PostgreSQL database of its own, cloned from a
// template that the migrations built once, so that tests run in parallel against real
// PostgreSQL and leave nothing behind.
package pgtest

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"sync"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // database/sql driver "pgx"

	"github.com/cloudcomms/customers/migrations"
)

// defaultURL is the server scripts/db.sh prefers, for `go test` run without it.
const defaultURL = "postgres://postgres@127.0.0.1:5432/customers?sslmode=disable"

// lockKey names the advisory lock that keeps concurrent test binaries from building
// the template at the same time.
const lockKey = 7_358_201_113

var (
	setupOnce sync.Once
	setupErr  error
	server    *url.URL // TEST_DATABASE_URL, DATABASE_URL or defaultURL
	admin     *sql.DB  // the server's maintenance database, postgres
	template  string
)

// NewDatabase returns the URL of a fresh, fully migrated database that is dropped when
// the test ends. Creating it from the template takes milliseconds, so every test can
// have its own and run in parallel.
func NewDatabase(t testing.TB) string {
	t.Helper()
	mustSetup(t)
	return newDatabase(t, template)
}

// NewEmptyDatabase returns the URL of a fresh database without any migration applied,
// dropped when the test ends, for tests of the migrations themselves.
func NewEmptyDatabase(t testing.TB) string {
	t.Helper()
	mustSetup(t)
	return newDatabase(t, "template0")
}

// mustSetup runs setup once per test binary and fails the test, rather than skipping
// it, when there is no server: a suite that skips its database tests passes for nothing.
func mustSetup(t testing.TB) {
	t.Helper()
	setupOnce.Do(func() { setupErr = setup() })
	if setupErr != nil {
		t.Fatalf("pgtest: %v (run the tests with `make test`, which finds or starts PostgreSQL)", setupErr)
	}
}

func newDatabase(t testing.TB, from string) string {
	t.Helper()
	name := "test_" + randomHex(8)
	if _, err := admin.Exec("CREATE DATABASE " + name + " TEMPLATE " + from); err != nil {
		t.Fatalf("pgtest: create database: %v", err)
	}
	t.Cleanup(func() {
		if _, err := admin.Exec("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)"); err != nil {
			t.Errorf("pgtest: drop database %s: %v", name, err)
		}
	})
	return dsn(name)
}

// dsn is the URL of database name on the test server.
func dsn(name string) string {
	u := *server
	u.Path = "/" + name
	return u.String()
}

// setup connects to the test server and makes sure the template for the current
// migrations exists.
func setup() error {
	raw := os.Getenv("TEST_DATABASE_URL")
	if raw == "" {
		raw = os.Getenv("DATABASE_URL")
	}
	if raw == "" {
		raw = defaultURL
	}
	var err error
	if server, err = url.Parse(raw); err != nil {
		return fmt.Errorf("database URL: %w", err)
	}
	if admin, err = sql.Open("pgx", dsn("postgres")); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := admin.PingContext(ctx); err != nil {
		return fmt.Errorf("connect to %s: %w", server.Redacted(), err)
	}
	template, err = ensureTemplate(context.Background())
	return err
}

// ensureTemplate builds the template database for the current migrations unless it
// exists. Its name carries a hash of the migration files, so a changed migration gets
// a new template; an advisory lock makes the test binaries of other packages, run in
// parallel, wait for the one that builds it.
func ensureTemplate(ctx context.Context) (string, error) {
	name, err := templateName()
	if err != nil {
		return "", err
	}
	// The lock lives as long as this transaction, which holds one connection of the
	// pool while the others do the work (CREATE DATABASE cannot run in a transaction).
	// Rollback releases it, and so does the server when the process dies.
	lock, err := admin.BeginTx(ctx, nil)
	if err != nil {
		return "", err
	}
	defer lock.Rollback()
	if _, err := lock.ExecContext(ctx, "SELECT pg_advisory_xact_lock($1)", lockKey); err != nil {
		return "", err
	}
	var exists bool
	if err := admin.QueryRowContext(ctx, "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)", name).Scan(&exists); err != nil {
		return "", err
	}
	if exists {
		return name, nil
	}
	dropStaleTemplates(ctx, name)
	building := name + "_building"
	if _, err := admin.ExecContext(ctx, "CREATE DATABASE "+building); err != nil {
		return "", fmt.Errorf("create template: %w", err)
	}
	if err := migrate(ctx, dsn(building)); err != nil {
		return "", err
	}
	// Renamed only once migrated, so a template that exists is complete. The migration
	// closed its connections: a database anyone is connected to can be neither renamed
	// nor used as a template.
	if _, err := admin.ExecContext(ctx, "ALTER DATABASE "+building+" RENAME TO "+name); err != nil {
		return "", fmt.Errorf("rename template: %w", err)
	}
	return name, nil
}

func migrate(ctx context.Context, dsn string) error {
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		return err
	}
	defer db.Close()
	return migrations.Up(ctx, db)
}

// keptTemplates is how many templates of other migrations survive a new one: the
// worktrees or branches tested side by side on one server each need their own, and
// a template dropped under a running test binary fails its next database.
const keptTemplates = 4

// dropStaleTemplates removes half-built templates and all but the newest
// keptTemplates of the earlier ones (by OID, which grows with creation), which would
// otherwise pile up on a developer's server. It is best effort: a template that
// cannot be dropped now is tried again with the next new template.
func dropStaleTemplates(ctx context.Context, keep string) {
	// A half-built one is abandoned: its builder would still hold the lock we hold.
	rows, err := admin.QueryContext(ctx, `SELECT datname FROM (
			SELECT datname, datname LIKE '%\_building' AS building,
				row_number() OVER (PARTITION BY datname LIKE '%\_building' ORDER BY oid DESC) AS newest
			FROM pg_database WHERE datname LIKE 'customers\_tmpl\_%' AND datname <> $1) t
		WHERE building OR newest > $2`, keep, keptTemplates)
	if err != nil {
		return
	}
	var stale []string
	for rows.Next() {
		var n string
		if rows.Scan(&n) == nil {
			stale = append(stale, n)
		}
	}
	rows.Close()
	for _, n := range stale {
		_, _ = admin.ExecContext(ctx, "DROP DATABASE IF EXISTS "+n)
	}
}

// templateName is customers_tmpl_ and the start of a SHA-256 over the migration files'
// names and contents, in name order (the order goose applies them in).
func templateName() (string, error) {
	files, err := fs.ReadDir(migrations.FS, ".")
	if err != nil {
		return "", err
	}
	h := sha256.New()
	for _, f := range files {
		b, err := fs.ReadFile(migrations.FS, f.Name())
		if err != nil {
			return "", err
		}
		fmt.Fprintf(h, "%s\x00%d\x00", f.Name(), len(b))
		h.Write(b)
	}
	return "customers_tmpl_" + hex.EncodeToString(h.Sum(nil))[:12], nil
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never fails
	return hex.EncodeToString(b)
}
