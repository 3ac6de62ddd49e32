package models

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"gorm.io/gorm"
	"gorm.io/gorm/schema"

	"github.com/cloudcomms/customers/internal/pgtest"
)

// TestColumnsMatchTheModels: the hand-written column lists name every column GORM
// maps, in the order of their fields, so that rows scanned through them, with pgx
// (on the pool; sharing their memory when more than one row is expected) or with
// database/sql (in a transaction), equal the rows GORM reads: with every column
// set, and with every nullable one NULL.
func TestColumnsMatchTheModels(t *testing.T) {
	t.Parallel()
	db, err := OpenDB(DBConfig{URL: pgtest.NewDatabase(t), MaxConns: 2, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	err = db.Exec(`WITH c AS (
			INSERT INTO customers (name, website_url, logo, credit, low_balance_alert_at, created_by_ip, transcribe_calls, status)
			VALUES ('Every Column', 'https://e.example', 'https://e.example/logo.png', -5, now(), '10.1.2.3', true, 'FRAUD') RETURNING id),
		u AS (INSERT INTO users (customer_id, email, first, last, admin_permission, super_admin_permission)
			SELECT id, 'e@e.example', 'E', 'C', 'READ', 'READ_WRITE' FROM c RETURNING id, customer_id)
		UPDATE customers SET admin_user_id = u.id, created_by_id = u.id FROM u WHERE customers.id = u.customer_id`).Error
	if err != nil {
		t.Fatal(err)
	}
	err = db.Exec(`WITH c AS (INSERT INTO customers (name) VALUES ('Ünïcode ✓ only') RETURNING id)
		INSERT INTO users (customer_id, email, first, last) SELECT id, 'n@e.example', 'Ñ', 'Null' FROM c`).Error
	if err != nil {
		t.Fatal(err)
	}
	check := func() {
		checkColumns(t, db, "customers", customerColumns)
		checkColumns(t, db, "users", userColumns)
		if err := db.Transaction(func(tx *gorm.DB) error {
			checkColumns(t, tx, "customers", customerColumns)
			checkColumns(t, tx, "users", userColumns)
			return nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	check()
	if err := db.Exec(`UPDATE customers SET created_by_ip = '2001:db8::1'`).Error; err != nil {
		t.Fatal(err)
	}
	check()
}

func checkColumns[T any](t *testing.T, db *gorm.DB, table string, cols *columns[T]) {
	t.Helper()
	s, err := schema.Parse(new(T), &sync.Map{}, schema.NamingStrategy{})
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(s.DBNames, strings.Split(cols.names, ", ")); d != "" {
		t.Errorf("%s: columns (-GORM's +listed):\n%s", table, d)
	}
	var want []*T
	if err := db.Table(table).Order("id").Find(&want).Error; err != nil || len(want) != 2 {
		t.Fatalf("%s: GORM read %d rows, %v", table, len(want), err)
	}
	for _, expected := range []int{1, 2} { // one row expected: no rowMemory
		got, err := scanRows(db.Raw("SELECT "+cols.names+" FROM "+table+" ORDER BY id"), cols, expected)
		if err != nil {
			t.Fatalf("%s: %v", table, err)
		}
		if d := cmp.Diff(want, got); d != "" {
			t.Errorf("%s, %d row expected: rows scanned through the columns (-GORM's +scanned):\n%s", table, expected, d)
		}
	}
}

// TestColumnsOnly: a selection reads the id and the columns its fields need, a link
// its id column; nil reads every column.
func TestColumnsOnly(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		fields map[string]bool
		want   string
	}{
		{map[string]bool{"name": true, "adminUser": true, "adminUserId": true, "updatedBy": true, "__typename": true},
			"id, name, admin_user_id, updated_by_id"},
		{map[string]bool{}, "id"},
		{nil, customerColumns.names},
	} {
		if got := CustomerFields(tt.fields).cols.names; got != tt.want {
			t.Errorf("%v: %q, want %q", tt.fields, got, tt.want)
		}
	}
	if got, want := UserFields(map[string]bool{"email": true, "customer": true}).cols.names, "id, customer_id, email"; got != want {
		t.Errorf("users: %q, want %q", got, want)
	}
}

// TestReadAfterTheServerEndedTheConnection: rows read by pgx through the pool (not
// database/sql) still come from a working connection after PostgreSQL ended the one
// the pool held.
func TestReadAfterTheServerEndedTheConnection(t *testing.T) {
	t.Parallel()
	db, err := OpenDB(DBConfig{URL: pgtest.NewDatabase(t), MaxConns: 1, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Exec(`INSERT INTO customers (name) VALUES ('Kept')`).Error; err != nil {
		t.Fatal(err)
	}
	read := func() ([]*Customer, error) {
		return scanRows(db.Raw("SELECT "+customerColumns.names+" FROM customers"), customerColumns, 0)
	}
	if rows, err := read(); err != nil || len(rows) != 1 {
		t.Fatalf("first read: %d rows, %v", len(rows), err)
	}
	var pid int
	if err := db.Raw("SELECT pg_backend_pid()").Scan(&pid).Error; err != nil {
		t.Fatal(err)
	}
	other, err := OpenDB(DBConfig{URL: pgtest.NewDatabase(t), MaxConns: 1, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	var ended bool
	if err := other.Raw("SELECT pg_terminate_backend(?)", pid).Scan(&ended).Error; err != nil || !ended {
		t.Fatalf("terminate backend %d: %v %v", pid, ended, err)
	}
	time.Sleep(1100 * time.Millisecond) // past pgx's check of a connection idle for a second
	rows, err := read()
	if err != nil || len(rows) != 1 || rows[0].Name != "Kept" {
		t.Fatalf("read after the connection ended: %v, %v", rows, err)
	}
}

// TestReadByID: a read by id, sent straight to the pipeline (not through GORM)
// when no other GORM plugin would see it, reads the row GORM reads, is counted, and is logged with its
// placeholder (at DEBUG, and at WARN when slow); with a tracer, it goes through GORM
// and gets its span.
func TestReadByID(t *testing.T) {
	t.Parallel()
	url := pgtest.NewDatabase(t)
	for _, tc := range []struct {
		name   string
		slow   time.Duration
		level  slog.Level
		tracer bool
	}{
		{name: "Pipeline", level: slog.LevelDebug},
		{name: "Slow", slow: time.Nanosecond, level: slog.LevelWarn},
		{name: "Traced", level: slog.LevelDebug, tracer: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var logs strings.Builder
			spans := tracetest.NewSpanRecorder()
			cfg := DBConfig{URL: url, MaxConns: 2, SlowQuery: tc.slow,
				Logger: slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: tc.level}))}
			if tc.tracer {
				cfg.Tracer = sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(spans))
			}
			db, err := OpenDB(cfg)
			if err != nil {
				t.Fatal(err)
			}
			var want Customer
			if err := db.Raw(`INSERT INTO customers (name, logo) VALUES ('By Id', 'https://b.example/l.png') RETURNING *`).Scan(&want).Error; err != nil {
				t.Fatal(err)
			}
			logs.Reset()
			var throughGORM int // the reads GORM's row processor ran
			if err := db.Callback().Row().After("gorm:row").Register("test:count", func(*gorm.DB) { throughGORM++ }); err != nil {
				t.Fatal(err)
			}
			cols := customerColumns.only(map[string]bool{"name": true, "logo": true})
			ctx := WithStatementCounter(context.Background())
			before := PipelineStatsOf(db)
			got, err := readByID(ctx, db, cols, want.ID)
			if err != nil || len(got) != 1 {
				t.Fatalf("%d rows, %v", len(got), err)
			}
			if got[0].ID != want.ID || got[0].Name != want.Name || *got[0].Logo != *want.Logo || got[0].Credit != 0 {
				t.Errorf("read %+v, want the id, name and logo of %+v", got[0], want)
			}
			if n := Statements(ctx); n != 1 {
				t.Errorf("%d statements counted, want 1", n)
			}
			if n := PipelineStatsOf(db).Reads - before.Reads; n != 1 {
				t.Errorf("%d reads went through the pipeline, want 1", n)
			}
			if want := map[bool]int{true: 1}[tc.tracer]; throughGORM != want {
				t.Errorf("GORM ran %d reads, want %d", throughGORM, want)
			}
			line := `"msg":"sql","sql":"SELECT id, name, logo FROM customers WHERE id = $1"`
			if !strings.Contains(logs.String(), line) || !strings.Contains(logs.String(), `"level":"`+tc.level.String()+`"`) {
				t.Errorf("want a %s line with %s:\n%s", tc.level, line, logs.String())
			}
			var traced int
			for _, s := range spans.Ended() {
				for _, a := range s.Attributes() {
					if a.Key == "db.query.text" && strings.Contains(a.Value.AsString(), "FROM customers WHERE id = $1") {
						traced++
					}
				}
			}
			if want := map[bool]int{true: 1}[tc.tracer]; traced != want {
				t.Errorf("%d spans of the read, want %d", traced, want)
			}
			missing, _ := ParseObjectID("0123456789abcdef01234567")
			if got, err := readByID(ctx, db, cols, missing); err != nil || len(got) != 0 {
				t.Errorf("a missing id: %d rows, %v; want none and no error", len(got), err)
			}
			canceled, cancel := context.WithCancel(ctx)
			cancel()
			if _, err := readByID(canceled, db, cols, want.ID); !errors.Is(err, context.Canceled) {
				t.Errorf("a canceled read: %v, want context.Canceled", err)
			}
		})
	}
}

// TestEnumText: an enum column scans into its field as the enum's own constant
// (through pgx's bytes or database/sql's string), keeps a value the enum does not
// know, and refuses NULL and other types.
func TestEnumText(t *testing.T) {
	var s CustomerStatus
	e := enumText[CustomerStatus]{&s}
	for _, src := range []any{[]byte("SUSPENDED"), "SUSPENDED"} {
		s = ""
		if err := e.Scan(src); err != nil || s != CustomerSuspended {
			t.Errorf("Scan(%#v) = %v, status %q; want %q", src, err, s, CustomerSuspended)
		}
	}
	known := []byte("ACTIVE")
	if n := testing.AllocsPerRun(10, func() { _ = e.ScanBytes(known) }); n != 0 {
		t.Errorf("ScanBytes of a known value allocated %v times; want none", n)
	}
	if err := e.ScanBytes([]byte("ARCHIVED")); err != nil || s != "ARCHIVED" {
		t.Errorf(`ScanBytes("ARCHIVED") = %v, status %q; want it kept`, err, s)
	}
	if err := e.ScanBytes(nil); err == nil {
		t.Error("ScanBytes(NULL) succeeded")
	}
	if err := e.Scan(int64(1)); err == nil {
		t.Error("Scan(int64) succeeded")
	}
}

// TestSelectQuery: the text of a SELECT, with GORM's placeholders and with
// PostgreSQL's, its arguments (an offset is one: every offset a client chooses
// shares the statement), and which arguments may go to the pipeline as they are.
func TestSelectQuery(t *testing.T) {
	q := selectQuery{from: "customers", order: "id ASC", limit: 51, offset: 20}
	q.and("TRUE")
	q.and("id >= ? AND ((id > ?))", ObjectID{1}, ObjectID{2})
	want := "SELECT id, name FROM customers WHERE (TRUE) AND (id >= ? AND ((id > ?))) ORDER BY id ASC LIMIT 51 OFFSET ?"
	got, args := q.sql("id, name")
	if got != want || !slices.Equal(args, []any{ObjectID{1}, ObjectID{2}, 20}) {
		t.Errorf("sql = %q, %v\nwant  %q, [id id 20]", got, args, want)
	}
	q.offset = 40
	if other, args := q.sql("id, name"); other != got || args[2] != 40 {
		t.Errorf("offset 40: %q, %v; want the same statement with 40", other, args)
	}
	if got, want := numberPlaceholders(want), "SELECT id, name FROM customers WHERE (TRUE) AND (id >= $1 AND ((id > $2))) ORDER BY id ASC LIMIT 51 OFFSET $3"; got != want {
		t.Errorf("numbered = %q\nwant       %q", got, want)
	}
	if got, args := (&selectQuery{from: "users"}).sql("*"); got != "SELECT * FROM users" || len(args) != 0 {
		t.Errorf("no conditions: %q, %v", got, args)
	}
	for in, want := range map[string]string{"": "", "?": "$1", "a = ? OR b = ?": "a = $1 OR b = $2", "no placeholder": "no placeholder"} {
		if got := numberPlaceholders(in); got != want {
			t.Errorf("numberPlaceholders(%q) = %q, want %q", in, got, want)
		}
	}
	if !singleValues([]any{ObjectID{}, newIDArray(nil), "s", true, 1, int32(1), int64(1), time.Time{}}) {
		t.Error("single values refused")
	}
	for _, a := range []any{[]string{"a"}, []ObjectID{{}}, nil, new(ObjectID)} {
		if singleValues([]any{a}) {
			t.Errorf("%#v taken as a single value: GORM would expand or convert it", a)
		}
	}
}

// TestRowsShareNoValues: rows read together, with values that all differ, come back
// as GORM reads them however many were expected (fewer, as many, more; past a block
// of ids and past the guess of a text's length), and each row's values are its own:
// writing through one row's pointers changes no other.
func TestRowsShareNoValues(t *testing.T) {
	t.Parallel()
	db := mustDB(t)
	err := db.Exec(`WITH c AS (
			INSERT INTO customers (name, website_url, logo)
			SELECT 'Customer ' || i, 'https://' || i || '.example', 'https://logo.example/' || i || repeat('x', i % 100)
			FROM generate_series(1, 300) AS i RETURNING id, name)
		INSERT INTO users (customer_id, email, first, last) SELECT id, replace(name, ' ', '') || '@e.example', 'F', name FROM c`).Error
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Exec(`UPDATE customers SET admin_user_id = u.id, created_by_id = u.id FROM users u WHERE customers.id = u.customer_id`).Error; err != nil {
		t.Fatal(err)
	}
	var want []*Customer
	if err := db.Order("id").Find(&want).Error; err != nil || len(want) != 300 {
		t.Fatalf("GORM read %d rows, %v", len(want), err)
	}
	for _, expected := range []int{0, 1, 2, 10, 64, 300, 2000} {
		got, err := scanRows(db.Raw("SELECT "+customerColumns.names+" FROM customers ORDER BY id"), customerColumns, expected)
		if err != nil {
			t.Fatalf("%d expected: %v", expected, err)
		}
		if d := cmp.Diff(want, got); d != "" {
			t.Fatalf("%d expected: rows (-GORM's +scanned):\n%s", expected, d)
		}
		*got[0].AdminUserID, *got[0].WebsiteURL = ObjectID{0xff}, "changed"
		if d := cmp.Diff(want[1:], got[1:]); d != "" {
			t.Errorf("%d expected: writing through row 0 changed others (-want +got):\n%s", expected, d)
		}
	}
}
