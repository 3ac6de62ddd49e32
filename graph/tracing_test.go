package graph_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/cloudcomms/customers/graph"
	"github.com/cloudcomms/customers/internal/auth"
	"github.com/cloudcomms/customers/internal/pgtest"
	"github.com/cloudcomms/customers/models"
)

// TestTracing records the spans of one request: the request, its resolvers and its
// SQL statements (with placeholders, never values), all in one trace; a customer's
// links are no resolvers of their own.
func TestTracing(t *testing.T) {
	t.Parallel()
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	logger := slog.New(slog.NewJSONHandler(io.Discard, nil))
	db, err := models.OpenDB(models.DBConfig{URL: pgtest.NewDatabase(t), MaxConns: 2, Logger: logger, Tracer: tp})
	if err != nil {
		t.Fatal(err)
	}
	var staff string
	if err := db.Raw(`WITH c AS (INSERT INTO customers (name) VALUES ('P') RETURNING id)
		INSERT INTO users (customer_id, email, first, last, super_admin_permission) SELECT id, 's@p.example', 'S', 'P', 'READ_WRITE' FROM c
		RETURNING encode(id, 'hex')`).Row().Scan(&staff); err != nil {
		t.Fatal(err)
	}
	verifier, _ := auth.NewVerifier(context.Background(), testAuth)
	sqlDB, _ := db.DB()
	srv := httptest.NewServer(graph.NewHandler(graph.Config{
		Logger: logger, Resolver: graph.NewResolver(db, models.NewCursors([]byte("k"))), Ready: sqlDB.PingContext,
		Verifier: verifier, Tracer: tp,
	}))
	defer srv.Close()
	token, _ := auth.Sign(testAuth, models.MustParseObjectID(staff), time.Minute)
	req, _ := http.NewRequest(http.MethodPost, srv.URL+"/query", strings.NewReader(`{"query":"{ customers { totalCount nodes { name adminUser { email } createdBy { email } } } }"}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+token)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()

	var spans []sdktrace.ReadOnlySpan
	for _, s := range rec.Ended() {
		if s.Name() == "POST /query" {
			for _, c := range rec.Ended() { // the request's trace only, not the seeding above
				if c.SpanContext().TraceID() == s.SpanContext().TraceID() {
					spans = append(spans, c)
				}
			}
		}
	}
	var names []string
	for _, s := range spans {
		names = append(names, s.Name())
	}
	for _, want := range []string{"POST /query", "resolve Query.customers", "resolve CustomerConnection.totalCount"} {
		if !slices.Contains(names, want) {
			t.Errorf("no span %q among %v", want, names)
		}
	}
	// A customer's links are filled in with its page: plain fields, no resolvers.
	for _, name := range names {
		if strings.HasPrefix(name, "resolve Customer.") {
			t.Errorf("a customer's field ran as a resolver: %s", name)
		}
	}
	var sql int
	for _, s := range spans {
		for _, a := range s.Attributes() {
			if a.Key == "db.query.text" || a.Key == "db.statement" {
				sql++
				if strings.Contains(a.Value.AsString(), "'") {
					t.Errorf("a span records a query value: %s", a.Value.AsString())
				}
			}
		}
	}
	if sql < 3 { // the caller, the page, the count
		t.Errorf("%d SQL spans, want 3 or more (spans: %v)", sql, names)
	}
}
