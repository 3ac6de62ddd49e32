package models_test

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/cloudcomms/customers/internal/pgtest"
	"github.com/cloudcomms/customers/models"
)

func TestStatementTimeout(t *testing.T) {
	t.Parallel()
	db, err := models.OpenDB(models.DBConfig{URL: pgtest.NewDatabase(t), MaxConns: 1, StatementTimeout: 1234 * time.Millisecond,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	var got string
	if err := db.Raw("SHOW statement_timeout").Scan(&got).Error; err != nil || got != "1234ms" {
		t.Errorf("statement_timeout = %q, %v; want 1234ms", got, err)
	}
	if err := db.Exec("SELECT pg_sleep(2)").Error; err == nil || !strings.Contains(err.Error(), "statement timeout") {
		t.Errorf("a 2 s statement: %v, want it cancelled by the timeout", err)
	}
}

// TestSlowStatementLogHoldsNoValues makes every statement slow and checks that the
// WARN lines show placeholders, never the values bound to them, nor the values that
// PostgreSQL quotes in an error.
func TestSlowStatementLogHoldsNoValues(t *testing.T) {
	t.Parallel()
	var logs strings.Builder
	db, err := models.OpenDB(models.DBConfig{URL: pgtest.NewDatabase(t), MaxConns: 1, SlowQuery: time.Nanosecond,
		Logger: slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelWarn}))})
	if err != nil {
		t.Fatal(err)
	}
	const email = "grace.hopper@example.com"
	var n int
	if err := db.Raw("SELECT count(*) FROM users, pg_sleep(0.01) WHERE email = ?", email).Scan(&n).Error; err != nil {
		t.Fatal(err)
	}
	if err := db.Exec("SELECT ?::int", email).Error; err == nil {
		t.Fatal("casting an email to int succeeded")
	}
	got := logs.String()
	if !strings.Contains(got, `"level":"WARN"`) || !strings.Contains(got, "email = $1") || !strings.Contains(got, "SQLSTATE 22P02") {
		t.Errorf("want WARN lines with placeholders and the error's SQLSTATE:\n%s", got)
	}
	if strings.Contains(got, email) {
		t.Errorf("the log shows a value:\n%s", got)
	}
}

func TestLogSafeError(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name string
		err  error
		want string
	}{
		{"DataException", fmt.Errorf("find user: %w", &pgconn.PgError{Code: "22P02", Message: `invalid input syntax for type integer: "a@b.example"`, DataTypeName: "int4"}),
			"find user: SQLSTATE 22P02 int4"},
		{"Trigger", &pgconn.PgError{Code: "P0001", Message: "email a@b.example is banned", TableName: "users"}, "SQLSTATE P0001 users"},
		{"Encode", fmt.Errorf("create user: failed to encode args[2]: unable to encode \"a@b.example\" into text format"),
			"create user: failed to encode args[2]: the value is not shown"},
		{"UniqueViolation", &pgconn.PgError{Severity: "ERROR", Code: "23505", Message: `duplicate key value violates unique constraint "users_email_key"`},
			`ERROR: duplicate key value violates unique constraint "users_email_key" (SQLSTATE 23505)`},
		{"Other", errors.New("context canceled"), "context canceled"},
	} {
		if got := models.LogSafeError(tt.err); got != tt.want {
			t.Errorf("%s: got %q, want %q", tt.name, got, tt.want)
		}
	}
}

// TestPagesArePlannedOnce: PostgreSQL plans a prepared page statement once and
// reuses the plan, rather than planning each execution anew, which a LIMIT sent as
// a parameter forced (it cost PostgreSQL more than the page itself).
func TestPagesArePlannedOnce(t *testing.T) {
	t.Parallel()
	db, err := models.OpenDB(models.DBConfig{URL: pgtest.NewDatabase(t), MaxConns: 1, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Exec(`INSERT INTO customers (name) SELECT 'C' || i FROM generate_series(1, 10000) AS i`).Error; err != nil {
		t.Fatal(err)
	}
	for i := range 12 {
		var rows []models.Customer
		after := models.ObjectID{byte(i)}
		if err := db.Where("id > ?", after).Order("id").Limit(51).Find(&rows).Error; err != nil || len(rows) != 51 {
			t.Fatalf("page: %d rows, %v", len(rows), err)
		}
	}
	var plans []struct {
		Statement                 string
		GenericPlans, CustomPlans int
	}
	err = db.Raw(`SELECT statement, generic_plans, custom_plans FROM pg_prepared_statements WHERE statement LIKE 'SELECT * FROM "customers"%'`).Scan(&plans).Error
	if err != nil || len(plans) != 1 {
		t.Fatalf("prepared page statements: %+v, %v; want 1", plans, err)
	}
	for _, p := range plans {
		if !strings.Contains(p.Statement, "LIMIT 51") || p.CustomPlans > 5 || p.GenericPlans == 0 {
			t.Errorf("%q: %d custom and %d generic plans; want LIMIT 51 in the statement, at most 5 custom plans, then the generic one",
				p.Statement, p.CustomPlans, p.GenericPlans)
		}
	}
}
