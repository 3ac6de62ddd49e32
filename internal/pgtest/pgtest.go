// Package pgtest gives each test a PostgreSQL database of its own, cloned from a
// template that the migrations built once, so tests run in parallel and leave
// nothing behind.
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
	"sort"
	"sync"
	"testing"

	_ "github.com/jackc/pgx/v5/stdlib" // database/sql driver "pgx"

	"github.com/cloudcomms/customers/migrations"
)

// DefaultURL is the server tried when neither TEST_DATABASE_URL nor DATABASE_URL is set.
const DefaultURL = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"

var (
	setupOnce sync.Once
	setupErr  error
	template  string
)

// ServerURL returns the URL of the test server with its database set to name.
func ServerURL(name string) string {
	raw := os.Getenv("TEST_DATABASE_URL")
	if raw == "" {
		raw = os.Getenv("DATABASE_URL")
	}
	if raw == "" {
		raw = DefaultURL
	}
	u, err := url.Parse(raw)
	if err != nil {
		return raw
	}
	u.Path = "/" + name
	return u.String()
}

// NewDatabase returns the URL of a fresh, migrated database that is dropped when
// the test ends.
func NewDatabase(t testing.TB) string {
	t.Helper()
	setupOnce.Do(func() { template, setupErr = ensureTemplate() })
	if setupErr != nil {
		t.Fatalf("pgtest: %v (run the tests with `make test`, which finds or starts PostgreSQL)", setupErr)
	}
	admin, err := sql.Open("pgx", ServerURL("postgres"))
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	name := "test_" + randomHex(8)
	if _, err := admin.Exec(fmt.Sprintf("CREATE DATABASE %s TEMPLATE %s", name, template)); err != nil {
		t.Fatalf("pgtest: create database: %v", err)
	}
	t.Cleanup(func() {
		admin, err := sql.Open("pgx", ServerURL("postgres"))
		if err != nil {
			t.Error(err)
			return
		}
		defer admin.Close()
		if _, err := admin.Exec("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)"); err != nil {
			t.Errorf("pgtest: drop %s: %v", name, err)
		}
	})
	return ServerURL(name)
}

// ensureTemplate builds the template database for the current migrations once per
// server: its name carries a hash of the migration files, and an advisory lock keeps
// test binaries of several packages from building it at the same time.
func ensureTemplate() (string, error) {
	ctx := context.Background()
	name, err := templateName()
	if err != nil {
		return "", err
	}
	admin, err := sql.Open("pgx", ServerURL("postgres"))
	if err != nil {
		return "", err
	}
	defer admin.Close()
	conn, err := admin.Conn(ctx)
	if err != nil {
		return "", fmt.Errorf("connect to %s: %w", ServerURL("postgres"), err)
	}
	defer conn.Close()
	const lockKey = 7_358_201_113
	if _, err := conn.ExecContext(ctx, "SELECT pg_advisory_lock($1)", lockKey); err != nil {
		return "", fmt.Errorf("connect to %s: %w", ServerURL("postgres"), err)
	}
	defer func() { _, _ = conn.ExecContext(ctx, "SELECT pg_advisory_unlock($1)", lockKey) }()
	var exists bool
	if err := conn.QueryRowContext(ctx, "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)", name).Scan(&exists); err != nil {
		return "", err
	}
	if exists {
		return name, nil
	}
	if err := dropStaleTemplates(ctx, conn, name); err != nil {
		return "", err
	}
	if _, err := conn.ExecContext(ctx, "CREATE DATABASE "+name+"_building"); err != nil {
		return "", fmt.Errorf("create template: %w", err)
	}
	if err := migrate(ctx, ServerURL(name+"_building")); err != nil {
		return "", err
	}
	// Renamed only once complete, so a template that exists is always fully migrated.
	if _, err := conn.ExecContext(ctx, "ALTER DATABASE "+name+"_building RENAME TO "+name); err != nil {
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

// dropStaleTemplates removes templates of older migrations and half-built ones.
func dropStaleTemplates(ctx context.Context, conn *sql.Conn, keep string) error {
	rows, err := conn.QueryContext(ctx, "SELECT datname FROM pg_database WHERE datname LIKE 'customers_tmpl_%' AND datname <> $1", keep)
	if err != nil {
		return err
	}
	var stale []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			return err
		}
		stale = append(stale, n)
	}
	if err := rows.Close(); err != nil {
		return err
	}
	for _, n := range stale {
		if _, err := conn.ExecContext(ctx, fmt.Sprintf("DROP DATABASE IF EXISTS %q WITH (FORCE)", n)); err != nil {
			return fmt.Errorf("drop stale template %s: %w", n, err)
		}
	}
	return nil
}

// templateName is customers_tmpl_ and the start of a hash over the migrations.
func templateName() (string, error) {
	names, err := fs.Glob(migrations.FS, "*.sql")
	if err != nil {
		return "", err
	}
	sort.Strings(names)
	h := sha256.New()
	for _, n := range names {
		b, err := fs.ReadFile(migrations.FS, n)
		if err != nil {
			return "", err
		}
		fmt.Fprintf(h, "%s\x00%d\x00", n, len(b))
		h.Write(b)
	}
	return "customers_tmpl_" + hex.EncodeToString(h.Sum(nil))[:12], nil
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
