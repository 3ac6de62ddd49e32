package graph_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/cloudcomms/customers/graph"
	"github.com/cloudcomms/customers/models"
)

// The benchmarks send real GraphQL documents through the service's complete
// handler (middleware included, no network) against PostgreSQL, and time the same
// work done as plain SQL through the same connection pool in the same run:
// graphql_vs_sql is GraphQL time ÷ SQL time; statements/op counts SQL statements
// per GraphQL request; cpu_µs/op is this process's CPU time (user and system) per
// GraphQL request (Unix only): about the server's share, without PostgreSQL's or the
// waits, with the benchmark's own small part (building the request, checking the
// answer).

// benchRequest sends body to the handler of a, as platform staff, and fails on any
// GraphQL error.
func benchRequest(b *testing.B, a *api, body []byte, bearer string) {
	req := httptest.NewRequest(http.MethodPost, "/query", strings.NewReader(string(body)))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", bearer)
	rec := httptest.NewRecorder()
	a.srv.Config.Handler.ServeHTTP(rec, req)
	if rec.Code != http.StatusOK || strings.Contains(rec.Body.String(), `"errors"`) {
		b.Fatalf("status %d: %s", rec.Code, rec.Body.String())
	}
}

// runBoth times n GraphQL requests and n runs of the plain-SQL equivalent, and
// reports the figures. The caller is authenticated from the cache on both sides, as
// on a running server.
func runBoth(b *testing.B, a *api, doc string, vars map[string]any, plain func(context.Context, *sql.DB) error) {
	body, _ := json.Marshal(map[string]any{"query": doc, "variables": vars})
	bearer := a.bearer(a.staff)
	sqlDB, _ := a.db.DB()
	ctx := context.Background()
	benchRequest(b, a, body, bearer) // warm the caches of both sides alike
	if err := plain(ctx, sqlDB); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	start, cpuStart := time.Now(), processCPU()
	var statements int64
	for range b.N {
		benchRequest(b, a, body, bearer)
		statements += a.statements.Load()
	}
	gql, cpuEnd := time.Since(start), processCPU()
	b.StopTimer()
	start = time.Now()
	for range b.N {
		if err := plain(ctx, sqlDB); err != nil {
			b.Fatal(err)
		}
	}
	plainTime := time.Since(start)
	b.ReportMetric(float64(statements)/float64(b.N), "statements/op")
	b.ReportMetric(gql.Seconds()/plainTime.Seconds(), "graphql_vs_sql")
	if cpuStart >= 0 && cpuEnd >= 0 {
		b.ReportMetric(float64((cpuEnd-cpuStart).Microseconds())/float64(b.N), "cpu_µs/op")
	}
}

// scanAll reads every row of a query into driver values by column name, as a
// hand-written data layer would.
func scanAll(ctx context.Context, db *sql.DB, query string, args ...any) ([]map[string]any, error) {
	rows, err := db.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	cols, _ := rows.Columns()
	var out []map[string]any
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			return nil, err
		}
		row := make(map[string]any, len(cols))
		for i, c := range cols {
			row[c] = vals[i]
		}
		out = append(out, row)
	}
	return out, rows.Err()
}

func benchAPI(b *testing.B) *api {
	a := mustAPIAtLevel(b, slog.LevelWarn)
	a.seedLinked(100)
	return a
}

func BenchmarkCustomerByID(b *testing.B) {
	a := benchAPI(b)
	id := a.customerID("Linked 042")
	raw, _ := models.ParseObjectID(id)
	doc := `query($id: ObjectID!) { customer(id: $id) { ` + customerFields + ` } }`
	runBoth(b, a, doc, map[string]any{"id": id}, func(ctx context.Context, db *sql.DB) error {
		rows, err := scanAll(ctx, db, `SELECT * FROM customers WHERE id = $1`, raw[:])
		if err == nil && len(rows) != 1 {
			err = fmt.Errorf("%d rows", len(rows))
		}
		return err
	})
}

func BenchmarkCustomersPage(b *testing.B) {
	a := benchAPI(b)
	doc := fmt.Sprintf(linkedPageDoc, "")
	runBoth(b, a, doc, map[string]any{"first": 100}, func(ctx context.Context, db *sql.DB) error {
		page, err := scanAll(ctx, db, `SELECT * FROM customers WHERE name LIKE 'Linked%' ORDER BY id LIMIT 101`)
		if err != nil {
			return err
		}
		var users, invoices [][]byte
		for _, c := range page {
			for _, col := range []string{"admin_user_id", "billing_user_id", "support_user_id", "call_recording_user_id", "created_by_id", "updated_by_id"} {
				if id, ok := c[col].([]byte); ok {
					users = append(users, id)
				}
			}
			if id, ok := c["last_automatic_refill_invoice_id"].([]byte); ok {
				invoices = append(invoices, id)
			}
		}
		if _, err := scanAll(ctx, db, `SELECT * FROM users WHERE id = ANY($1)`, users); err != nil {
			return err
		}
		_, err = scanAll(ctx, db, `SELECT * FROM invoices WHERE id = ANY($1)`, invoices)
		return err
	})
}

// BenchmarkLoadtestCustomer is the load test's W1 document, which a plan answers: a
// customer by id, 13 fields.
func BenchmarkLoadtestCustomer(b *testing.B) {
	a := benchAPI(b)
	id := a.customerID("Linked 042")
	raw, _ := models.ParseObjectID(id)
	doc := `query LoadtestCustomer($id: ObjectID!) { customer(id: $id) { id name status websiteUrl logo credit
		callForwardingCallLimit automaticRefillAmount lowBalanceAlertAmount internationalCalling accountLock
		callRecording cdrRetention } }`
	runBoth(b, a, doc, map[string]any{"id": id}, func(ctx context.Context, db *sql.DB) error {
		rows, err := scanAll(ctx, db, `SELECT id, name, status, website_url, logo, credit, call_forwarding_call_limit,
			automatic_refill_amount, low_balance_alert_amount, international_calling, account_lock, call_recording,
			cdr_retention FROM customers WHERE id = $1`, raw[:])
		if err == nil && len(rows) != 1 {
			err = fmt.Errorf("%d rows", len(rows))
		}
		return err
	})
}

// BenchmarkLoadtestPage is the load test's W2 document, which a plan answers: a
// page of 50 by cursor with 10 fields and the 4 linked users of each customer.
func BenchmarkLoadtestPage(b *testing.B) {
	a := benchAPI(b)
	var first struct {
		Customers struct{ PageInfo struct{ EndCursor string } }
	}
	a.mustData(`{ customers(first: 10) { pageInfo { endCursor } } }`, nil, &first)
	doc := `query LoadtestCustomersPage($cursor: String) { customers(first: 50, after: $cursor) { edges { cursor
		node { id name status websiteUrl logo credit accountLock internationalCalling callRecording cdrRetention
		adminUser { id email first last } billingUser { id email first last }
		supportUser { id email first last } callRecordingUser { id email first last } } }
		pageInfo { hasNextPage endCursor } } }`
	after, _ := models.ParseObjectID(a.customerID("Linked 010"))
	runBoth(b, a, doc, map[string]any{"cursor": first.Customers.PageInfo.EndCursor}, func(ctx context.Context, db *sql.DB) error {
		page, err := scanAll(ctx, db, `SELECT id, name, status, website_url, logo, credit, account_lock, international_calling,
			call_recording, cdr_retention, admin_user_id, billing_user_id, support_user_id, call_recording_user_id
			FROM customers WHERE id > $1 ORDER BY id LIMIT 51`, after[:])
		if err != nil {
			return err
		}
		var users [][]byte
		for _, c := range page {
			for _, col := range []string{"admin_user_id", "billing_user_id", "support_user_id", "call_recording_user_id"} {
				if id, ok := c[col].([]byte); ok {
					users = append(users, id)
				}
			}
		}
		_, err = scanAll(ctx, db, `SELECT id, email, first, last FROM users WHERE id = ANY($1)`, users)
		return err
	})
}

func BenchmarkCustomerPatch(b *testing.B) {
	a := benchAPI(b)
	id := a.customerID("Linked 042")
	raw, _ := models.ParseObjectID(id)
	doc := `mutation($id: ObjectID!) { customerPatch(id: $id, patch: {credit: 7, accountLock: false}) { id credit accountLock version } }`
	runBoth(b, a, doc, map[string]any{"id": id}, func(ctx context.Context, db *sql.DB) error {
		// The load test's ceiling: the one UPDATE, without the audit event that the API
		// records in the same statement.
		_, err := scanAll(ctx, db, `UPDATE customers SET credit = $1, account_lock = false, version = version + 1, updated_at = now()
			WHERE id = $2 RETURNING id, credit, account_lock, version`, 7, raw[:])
		return err
	})
}

// BenchmarkRefuseWideDocument measures what refusing a document of 10,000 aliases
// costs the server (the parser stops at the token limit).
func BenchmarkRefuseWideDocument(b *testing.B) {
	var doc strings.Builder
	doc.WriteString("{ ")
	for i := range 10000 {
		fmt.Fprintf(&doc, "a%d: __typename ", i)
	}
	doc.WriteString("}")
	benchRefusal(b, doc.String(), "GRAPHQL_PARSE_FAILED")
}

// BenchmarkRefuseDeepDocument measures refusing a document nested 200 levels deep
// (valid fields, so it passes validation and meets the depth limit).
func BenchmarkRefuseDeepDocument(b *testing.B) {
	q := "id"
	for i := range 198 { // outermost adminUser, innermost customer
		if i%2 == 0 {
			q = "customer { " + q + " }"
		} else {
			q = "adminUser { " + q + " }"
		}
	}
	benchRefusal(b, "{ customers { nodes { "+q+" } } }", "DEPTH_LIMIT_EXCEEDED")
}

func benchRefusal(b *testing.B, doc, code string) {
	a := MustAPI(b, func(c *graph.Config) { c.Limits = graph.DefaultLimits })
	body, _ := json.Marshal(map[string]any{"query": doc})
	bearer := a.bearer(a.staff)
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		req := httptest.NewRequest(http.MethodPost, "/query", strings.NewReader(string(body)))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", bearer)
		rec := httptest.NewRecorder()
		a.srv.Config.Handler.ServeHTTP(rec, req)
		if !strings.Contains(rec.Body.String(), code) {
			b.Fatalf("not refused with %s: %.300s", code, rec.Body.String())
		}
	}
	b.ReportMetric(float64(len(body)), "bytes/doc")
}
