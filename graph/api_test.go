package graph_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/cloudcomms/customers/graph"
	"github.com/cloudcomms/customers/internal/auth"
	"github.com/cloudcomms/customers/internal/pgtest"
	"github.com/cloudcomms/customers/models"
)

// api is the real HTTP handler over a database of the test's own.
type api struct {
	t        testing.TB
	srv      *httptest.Server
	db       *gorm.DB
	dbURL    string
	resolver *graph.Resolver
	logs     *syncBuffer
	// statements is the number of SQL statements the last request sent;
	// replicaStatements how many of them a read replica answered.
	statements, replicaStatements atomic.Int64
	// platform is the customer of staff, the platform staff user every request acts
	// as unless it names another caller.
	platform, staff string
}

// syncBuffer collects the service's log lines; handlers log from many goroutines.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) reset() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buf.Reset()
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// testAuth is how the tests' tokens are signed and checked.
var testAuth = auth.Config{Secret: []byte("test secret of at least 32 bytes!!"), Issuer: "customers-tests", Audience: "customers-api"}

// bearer returns an Authorization header value acting as user id.
func (a *api) bearer(id string) string {
	a.t.Helper()
	tok, err := auth.Sign(testAuth, models.MustParseObjectID(id), time.Hour)
	if err != nil {
		a.t.Fatal(err)
	}
	return "Bearer " + tok
}

// MustAPI starts the service's handler over a fresh, migrated database; opts adjust
// the handler's configuration.
func MustAPI(t testing.TB, opts ...func(*graph.Config)) *api {
	t.Helper()
	return mustAPIAtLevel(t, slog.LevelDebug, opts...)
}

// mustAPIAtLevel is MustAPI with the service logging at level (DEBUG logs every SQL
// statement, which the statement-budget tests show on failure).
func mustAPIAtLevel(t testing.TB, level slog.Level, opts ...func(*graph.Config)) *api {
	t.Helper()
	a := startInstance(t, pgtest.NewDatabase(t), level, opts...)
	a.seedStaff()
	a.warmStaff()
	return a
}

// Instance starts another instance of the service over the same database, with
// caches of its own, as a second replica behind a load balancer would be.
func (a *api) Instance(opts ...func(*graph.Config)) *api {
	a.t.Helper()
	b := startInstance(a.t, a.dbURL, slog.LevelDebug, opts...)
	b.platform, b.staff = a.platform, a.staff
	b.warmStaff()
	return b
}

// InstanceListeningThrough is Instance with its listener connected to the database
// at listenURL (a pgtest.Route to it).
func (a *api) InstanceListeningThrough(listenURL string) *api {
	a.t.Helper()
	b := startInstanceListening(a.t, a.dbURL, listenURL, slog.LevelDebug)
	b.platform, b.staff = a.platform, a.staff
	b.warmStaff()
	return b
}

// startInstance starts the service's handler over the database at dbURL, with its
// listener (cache invalidations, subscriptions) connected.
func startInstance(t testing.TB, dbURL string, level slog.Level, opts ...func(*graph.Config)) *api {
	t.Helper()
	return startInstanceListening(t, dbURL, dbURL, level, opts...)
}

// startInstanceListening is startInstance with the listener connected to listenURL.
func startInstanceListening(t testing.TB, dbURL, listenURL string, level slog.Level, opts ...func(*graph.Config)) *api {
	t.Helper()
	logs := &syncBuffer{}
	logger := slog.New(graph.LogHandler{Handler: slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: level})})
	db, err := models.OpenDB(models.DBConfig{URL: dbURL, MaxConns: 8, Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	sqlDB, _ := db.DB()
	t.Cleanup(func() { sqlDB.Close() })
	verifier, err := auth.NewVerifier(context.Background(), testAuth)
	if err != nil {
		t.Fatal(err)
	}
	resolver := graph.NewResolver(db, models.NewCursors([]byte("test cursor secret")))
	listen, stop := context.WithCancel(context.Background())
	t.Cleanup(stop)
	resolver.Listener(listenURL, logger).Start(listen) // so that the first request already has its callers cached
	cfg := graph.Config{
		Logger:        logger,
		Resolver:      resolver,
		Ready:         sqlDB.PingContext,
		Verifier:      verifier,
		Introspection: true,
	}
	for _, o := range opts {
		o(&cfg)
	}
	a := &api{t: t, db: db, dbURL: dbURL, resolver: resolver, logs: logs}
	a.serve(graph.NewHandler(cfg))
	return a
}

// serve serves h to the test, counting the statements of each request.
func (a *api) serve(h http.Handler) {
	a.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := models.WithStatementCounter(r.Context())
		h.ServeHTTP(w, r.WithContext(ctx))
		a.statements.Store(models.Statements(ctx))
		a.replicaStatements.Store(models.ReplicaStatements(ctx))
	}))
	a.t.Cleanup(a.srv.Close)
}

// warm makes a request as user, so that its next ones are authenticated from the
// cache, as on a running server.
func (a *api) warm(user string) {
	a.t.Helper()
	if r := a.as(user, `{ viewer { id } }`, nil); r.Errors != nil {
		a.t.Fatalf("warm %s: %v", user, r.codes())
	}
}

// warmStaff authenticates the staff user once, as on a running server, so that its
// requests are authenticated from the cache.
func (a *api) warmStaff() {
	a.t.Helper()
	if _, err := a.resolver.UserStore.Authenticate(context.Background(), models.MustParseObjectID(a.staff)); err != nil {
		a.t.Fatal(err)
	}
	a.logs.reset()
}

// seedStaff writes the platform's own customer and its staff user through SQL.
func (a *api) seedStaff() {
	a.t.Helper()
	err := a.db.Raw(`WITH c AS (INSERT INTO customers (name) VALUES ('Platform Staff') RETURNING id)
		INSERT INTO users (customer_id, email, first, last, admin_permission, billing_permission, super_admin_permission)
		SELECT id, 'staff@platform.example', 'Pat', 'Staff', 'READ_WRITE', 'READ_WRITE', 'READ_WRITE' FROM c
		RETURNING encode(customer_id, 'hex'), encode(id, 'hex')`).Row().Scan(&a.platform, &a.staff)
	if err != nil {
		a.t.Fatal(err)
	}
}

// gqlError is one entry of a response's errors.
type gqlError struct {
	Message    string         `json:"message"`
	Path       []any          `json:"path"`
	Extensions map[string]any `json:"extensions"`
}

// response is a GraphQL response body with its HTTP status and headers.
type response struct {
	Status     int
	Header     http.Header
	Data       json.RawMessage `json:"data"`
	Errors     []gqlError      `json:"errors"`
	Extensions map[string]any  `json:"extensions"`
}

// codes returns "code field" for each error, to compare in one assertion.
func (r response) codes() []string {
	var out []string
	for _, e := range r.Errors {
		s, _ := e.Extensions["code"].(string)
		if f, ok := e.Extensions["field"].(string); ok {
			s += " " + f
		}
		out = append(out, s)
	}
	return out
}

// do posts a GraphQL document with variables as platform staff.
func (a *api) do(query string, vars map[string]any) response {
	a.t.Helper()
	return a.as(a.staff, query, vars)
}

// as posts a GraphQL document with variables acting as the user id ("" for none).
func (a *api) as(user, query string, vars map[string]any) response {
	a.t.Helper()
	body, _ := json.Marshal(map[string]any{"query": query, "variables": vars})
	header := map[string]string{"Authorization": ""}
	if user != "" {
		header["Authorization"] = a.bearer(user)
	}
	return a.post(string(body), header)
}

// post sends a raw body to /query with extra headers. It acts as platform staff
// unless header gives an Authorization (an empty one sends none).
func (a *api) post(body string, header map[string]string) response {
	a.t.Helper()
	req, _ := http.NewRequest(http.MethodPost, a.srv.URL+"/query", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if _, ok := header["Authorization"]; !ok {
		req.Header.Set("Authorization", a.bearer(a.staff))
	}
	for k, v := range header {
		if v != "" {
			req.Header.Set(k, v)
		}
	}
	res, err := a.srv.Client().Do(req)
	if err != nil {
		a.t.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	out := response{Status: res.StatusCode, Header: res.Header}
	if err := json.Unmarshal(raw, &out); err != nil {
		a.t.Fatalf("response is no JSON (%v): %s", err, raw)
	}
	return out
}

// mustData runs a document that must succeed and decodes its data into dst.
func (a *api) mustData(query string, vars map[string]any, dst any) {
	a.t.Helper()
	r := a.do(query, vars)
	if len(r.Errors) > 0 {
		a.t.Fatalf("unexpected errors: %+v", r.Errors)
	}
	if err := json.Unmarshal(r.Data, dst); err != nil {
		a.t.Fatalf("decode %s: %v", r.Data, err)
	}
}

// sqlLog returns the SQL statements logged so far (the service logs at DEBUG in
// tests), to show what a statement budget was spent on.
func (a *api) sqlLog() string {
	var out []string
	for _, l := range strings.Split(a.logs.String(), "\n") {
		var rec struct {
			Msg, SQL string
		}
		if json.Unmarshal([]byte(l), &rec) == nil && rec.Msg == "sql" {
			out = append(out, rec.SQL[:min(len(rec.SQL), 160)])
		}
	}
	return strings.Join(out, "\n")
}

// jsonInto decodes a response's data into dst.
func jsonInto(r response, dst any) error { return json.Unmarshal(r.Data, dst) }
