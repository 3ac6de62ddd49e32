package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/cloudcomms/customers/internal/auth"
	"github.com/cloudcomms/customers/internal/pgtest"
	"github.com/cloudcomms/customers/models"
)

func env(kv map[string]string) func(string) string {
	return func(k string) string { return kv[k] }
}

func TestLoadConfigDefaults(t *testing.T) {
	cfg, err := loadConfig(env(nil))
	if err != nil {
		t.Fatal(err)
	}
	got := fmt.Sprint(cfg.ListenAddr, " ", cfg.DatabaseURL, " ", cfg.LogLevel, " ", cfg.DBMaxConns, " ",
		cfg.DBPipelines, " ", cfg.DemoData, " ", cfg.TrustedProxies, " ", cfg.ShutdownTimeout, " ", cfg.SlowQuery, " ", cfg.LogFlush)
	want := "127.0.0.1:8080 postgres://postgres@127.0.0.1:5432/customers?sslmode=disable INFO 16 2 false [] 20s 200ms 100ms"
	if got != want {
		t.Errorf("defaults:\n got %s\nwant %s", got, want)
	}
	prod, err := loadConfig(env(map[string]string{"ENV": "production", "JWT_SECRET": string(secret), "CURSOR_SECRET": string(secret)}))
	if err != nil || prod.ListenAddr != ":8080" {
		t.Errorf("production listens on %q (%v), want :8080", prod.ListenAddr, err)
	}
}

func TestLoadConfigValues(t *testing.T) {
	cfg, err := loadConfig(env(map[string]string{
		"LOG_LEVEL": "debug", "DB_MAX_CONNS": "25", "DB_PIPELINES": "4", "DEMO_DATA": "true",
		"TRUSTED_PROXIES": "10.0.0.0/8, 192.0.2.1 ,::1", "SHUTDOWN_TIMEOUT": "5s", "LOG_FLUSH_INTERVAL": "0",
	}))
	if err != nil {
		t.Fatal(err)
	}
	got := fmt.Sprint(cfg.LogLevel, " ", cfg.DBMaxConns, " ", cfg.DBPipelines, " ", cfg.DemoData, " ", cfg.TrustedProxies, " ", cfg.ShutdownTimeout, " ", cfg.LogFlush)
	if want := "DEBUG 25 4 true [10.0.0.0/8 192.0.2.1/32 ::1/128] 5s 0s"; got != want {
		t.Errorf("got %s, want %s", got, want)
	}
}

func TestProductionNeedsAKey(t *testing.T) {
	_, err := loadConfig(env(map[string]string{"ENV": "production", "CURSOR_SECRET": string(secret)}))
	if err == nil || !strings.Contains(err.Error(), "JWT_SECRET or JWKS_URL") {
		t.Errorf("production without a key: %v", err)
	}
	if _, err := loadConfig(env(map[string]string{"ENV": "production", "JWT_SECRET": string(secret), "CURSOR_SECRET": string(secret)})); err != nil {
		t.Errorf("production with a secret: %v", err)
	}
}

// TestProductionNeedsACursorSecret: replicas that each sign cursors with a random key
// break every cursor behind a load balancer, so production does not start so.
func TestProductionNeedsACursorSecret(t *testing.T) {
	for _, tt := range []struct {
		env  map[string]string
		want string // "" for accepted
	}{
		{map[string]string{"ENV": "production", "JWT_SECRET": string(secret)}, "CURSOR_SECRET: required when ENV=production"},
		{map[string]string{"CURSOR_SECRET": "short"}, "CURSOR_SECRET: want at least 32 bytes, got 5"},
		{map[string]string{}, ""},
	} {
		_, err := loadConfig(env(tt.env))
		if tt.want == "" && err != nil || tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)) {
			t.Errorf("%v: %v, want %q", tt.env, err, tt.want)
		}
	}
	err := run(context.Background(), nil, env(map[string]string{"ENV": "production", "JWT_SECRET": string(secret)}), io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "CURSOR_SECRET") {
		t.Errorf("run in production without CURSOR_SECRET: %v", err)
	}
}

func TestIntrospectionDefault(t *testing.T) {
	for _, tt := range []struct {
		env  map[string]string
		want bool
	}{
		{map[string]string{}, true},
		{map[string]string{"ENV": "production", "JWT_SECRET": string(secret), "CURSOR_SECRET": string(secret)}, false},
		{map[string]string{"ENV": "production", "JWT_SECRET": string(secret), "CURSOR_SECRET": string(secret), "INTROSPECTION": "true"}, true},
	} {
		cfg, err := loadConfig(env(tt.env))
		if err != nil || cfg.Introspection != tt.want {
			t.Errorf("%v: introspection %v, %v; want %v", tt.env, cfg.Introspection, err, tt.want)
		}
	}
}

func TestTokenCommand(t *testing.T) {
	var out strings.Builder
	err := run(context.Background(), []string{"token", "--user", demoStaff, "--ttl", "5m"}, env(map[string]string{"JWT_SECRET": string(secret)}), &out, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	header := strings.TrimSpace(out.String())
	v, _ := auth.NewVerifier(context.Background(), auth.Config{Secret: secret})
	token, ok := auth.BearerToken(strings.TrimPrefix(header, "Authorization: "))
	if !ok {
		t.Fatalf("output %q is no Authorization header", header)
	}
	if id, err := v.Verify(context.Background(), token); err != nil || id.String() != demoStaff {
		t.Errorf("minted token verifies as %s, %v", id, err)
	}
	if err := run(context.Background(), []string{"token", "--user", "nope"}, env(map[string]string{"JWT_SECRET": string(secret)}), &out, io.Discard); err == nil {
		t.Error("a bad --user was accepted")
	}
	err = run(context.Background(), []string{"token", "--user", demoStaff, "--ttl", "48h"}, env(map[string]string{"JWT_SECRET": string(secret)}), &out, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "JWT_MAX_TTL (24h)") {
		t.Errorf("--ttl 48h beyond the default JWT_MAX_TTL: %v", err)
	}
}

func TestLoadConfigErrors(t *testing.T) {
	_, err := loadConfig(env(map[string]string{
		"LOG_LEVEL": "loud", "DB_MAX_CONNS": "0", "DB_PIPELINES": "0", "DEMO_DATA": "maybe",
		"TRUSTED_PROXIES": "proxy.example", "SHUTDOWN_TIMEOUT": "soon", "ENV": "staging", "INTROSPECTION": "sometimes",
		"LOG_FLUSH_INTERVAL": "-1s",
	}))
	if err == nil {
		t.Fatal("invalid configuration accepted")
	}
	for _, key := range []string{"LOG_LEVEL", "DB_MAX_CONNS", "DB_PIPELINES", "DEMO_DATA", "TRUSTED_PROXIES", "SHUTDOWN_TIMEOUT", "ENV", "INTROSPECTION", "LOG_FLUSH_INTERVAL"} {
		if !strings.Contains(err.Error(), key) {
			t.Errorf("error does not name %s: %v", key, err)
		}
	}
}

// demoStaff is the platform staff user of the demo data (models/demo.sql).
const demoStaff = "677b9b9000000000000003ec"

var secret = []byte("a test secret of at least 32 bytes")

// TestGracefulShutdown sends half a request, stops the server, and checks that the
// request still completes before run returns; and that the server, its database on
// this machine, runs a thread of Go code fewer than Go's default, as its starting
// line says.
func TestGracefulShutdown(t *testing.T) {
	def := defaultProcs(t)
	dbURL := pgtest.NewDatabase(t)
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	out, logs := io.Pipe()
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, nil, env(map[string]string{
			"LISTEN_ADDR": "127.0.0.1:0", "ADMIN_ADDR": "127.0.0.1:0", "DATABASE_URL": dbURL, "DEMO_DATA": "true", "JWT_SECRET": string(secret),
		}), logs, io.Discard)
		logs.Close()
	}()
	lines := bufio.NewScanner(out)
	if !onThisMachine(dbURL) {
		t.Log("the test database is on another machine: GOMAXPROCS is not checked")
	} else if start, want := waitForLog(t, lines, "starting"), max(def-1, 1); start["gomaxprocs"] != float64(want) ||
		runtime.GOMAXPROCS(0) != want || start["gomaxprocs_lowered"] != (def > 1) {
		t.Errorf("the starting line gives gomaxprocs %v (lowered: %v), and the process runs %d; want %d of Go's %d",
			start["gomaxprocs"], start["gomaxprocs_lowered"], runtime.GOMAXPROCS(0), want, def)
	}
	addr := waitForLog(t, lines, "serving")["addr"].(string)
	go func() { _, _ = io.Copy(io.Discard, out) }()

	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	token, err := auth.Sign(auth.Config{Secret: secret}, models.MustParseObjectID(demoStaff), time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	body := `{"query":"{ customers(first: 1) { totalCount } }"}`
	fmt.Fprintf(conn, "POST /query HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s",
		token, len(body), body[:10])
	time.Sleep(100 * time.Millisecond)
	stop()
	select {
	case err := <-done:
		t.Fatalf("run returned with a request in flight: %v", err)
	case <-time.After(300 * time.Millisecond):
	}
	if _, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
		t.Error("new connections are still accepted after the signal")
	}
	fmt.Fprint(conn, body[10:])
	res, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("in-flight request dropped: %v", err)
	}
	var got struct{ Data json.RawMessage }
	if err := json.NewDecoder(res.Body).Decode(&got); err != nil {
		t.Fatalf("in-flight response: %v", err)
	}
	if d := cmp.Diff(`{"customers":{"totalCount":36}}`, string(got.Data)); d != "" {
		t.Errorf("in-flight response's data (-want +got):\n%s", d)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("run: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("run did not return after the last request finished")
	}
}

// TestShutdownEndsSubscriptions: a stopping server ends its subscriptions with
// SHUTTING_DOWN, so that their streams do not hold up the graceful shutdown.
func TestShutdownEndsSubscriptions(t *testing.T) {
	defaultProcs(t)
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	out, logs := io.Pipe()
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, nil, env(map[string]string{
			"LISTEN_ADDR": "127.0.0.1:0", "ADMIN_ADDR": "127.0.0.1:0", "DATABASE_URL": pgtest.NewDatabase(t), "DEMO_DATA": "true",
			"JWT_SECRET": string(secret), "SHUTDOWN_TIMEOUT": "20s",
		}), logs, io.Discard)
		logs.Close()
	}()
	addr := waitForLog(t, bufio.NewScanner(out), "serving")["addr"].(string)
	go func() { _, _ = io.Copy(io.Discard, out) }()
	token, err := auth.Sign(auth.Config{Secret: secret}, models.MustParseObjectID(demoStaff), time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	body := `{"query":"subscription { customerChanged(id: \"67950d8c0000000000000002\") { name } }"}`
	req, _ := http.NewRequest(http.MethodPost, "http://"+addr+"/query", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "text/event-stream")
	req.Header.Set("Authorization", "Bearer "+token)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	stream := bufio.NewReader(res.Body)
	for line := ""; !strings.Contains(line, "Acme Telecom"); {
		if line, err = stream.ReadString('\n'); err != nil {
			t.Fatalf("no first event: %v", err)
		}
	}
	stop()
	rest, err := io.ReadAll(stream)
	if err != nil || !strings.Contains(string(rest), `"code":"SHUTTING_DOWN"`) || !strings.Contains(string(rest), "event: complete") {
		t.Errorf("the stream's end: %v\n%s", err, rest)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("run: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("run did not return within 5 s: the stream held up the shutdown")
	}
}

// TestAdminListener: /metrics is served on ADMIN_ADDR only, the profiler on
// PPROF_ADDR only; the public listener answers 404 there.
func TestAdminListener(t *testing.T) {
	defaultProcs(t)
	ctx, stop := context.WithCancel(context.Background())
	out, logs := io.Pipe()
	notice := &lockedBuffer{}
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, nil, env(map[string]string{
			"LISTEN_ADDR": "127.0.0.1:0", "ADMIN_ADDR": "127.0.0.1:0", "PPROF_ADDR": "127.0.0.1:0",
			"DATABASE_URL": pgtest.NewDatabase(t), "JWT_SECRET": string(secret),
		}), logs, notice)
		logs.Close()
	}()
	lines := bufio.NewScanner(out)
	public := waitForLog(t, lines, "serving")["addr"].(string)
	admin := waitForLog(t, lines, "serving admin")["addr"].(string)
	pprof := waitForLog(t, lines, "serving pprof")["addr"].(string)
	go func() { _, _ = io.Copy(io.Discard, out) }()
	defer func() {
		stop()
		if err := <-done; err != nil {
			t.Errorf("run: %v", err)
		}
	}()
	get := func(addr, path string) (int, string) {
		res, err := http.Get("http://" + addr + path)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		body, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(body)
	}
	for _, path := range []string{"/metrics", "/debug/pprof/"} {
		if status, _ := get(public, path); status != http.StatusNotFound {
			t.Errorf("public %s: %d, want 404", path, status)
		}
	}
	if status, body := get(admin, "/metrics"); status != 200 || !strings.Contains(body, "go_sql_max_open_connections") ||
		!strings.Contains(body, "customers_sql_pipeline_round_trips_total") || !strings.Contains(body, "customers_sql_pipeline_queued 0") {
		t.Errorf("admin /metrics: %d\n%.300s", status, body)
	}
	if status, _ := get(admin, "/debug/pprof/"); status != http.StatusNotFound {
		t.Errorf("admin /debug/pprof/: %d, want 404: the profiler has a listener of its own", status)
	}
	if status, body := get(pprof, "/debug/pprof/"); status != 200 || !strings.Contains(body, "goroutine") {
		t.Errorf("PPROF_ADDR /debug/pprof/: %d\n%.300s", status, body)
	}
	// What `make run` shows a person: the addresses actually listened on.
	want := fmt.Sprintf("customers: GraphiQL at http://%s/, GraphQL at http://%s/query; metrics at http://%s/metrics; pprof at http://%s/debug/pprof/\n",
		public, public, admin, pprof)
	if got := notice.String(); got != want {
		t.Errorf("development notice on stderr:\n got %q\nwant %q", got, want)
	}
}

// lockedBuffer is a bytes.Buffer that run writes to from its goroutine.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// waitForLog reads JSON log lines until one has msg, and returns it. The lines come
// through one scanner: the server writes several at a time.
func waitForLog(t *testing.T, lines *bufio.Scanner, msg string) map[string]any {
	t.Helper()
	for lines.Scan() {
		var rec map[string]any
		if json.Unmarshal(lines.Bytes(), &rec) == nil && rec[slog.MessageKey] == msg {
			return rec
		}
	}
	t.Fatalf("the log ended without %q", msg)
	return nil
}

// TestTuneProcs: a server whose database is on this machine runs one thread of Go
// code fewer than Go's default, unless GOMAXPROCS is set (as Go reads it); one whose
// database is elsewhere keeps Go's default.
func TestTuneProcs(t *testing.T) {
	def := defaultProcs(t)
	if def < 2 {
		t.Skip("Go's default GOMAXPROCS is 1 here: there is no thread to leave")
	}
	const local = "postgres://postgres@127.0.0.1:5432/customers"
	for _, tc := range []struct {
		name, url, gomaxprocs string
		before, want          int
		lowered               bool
	}{
		{"local", local, "", def, def - 1, true},
		{"local, after another value", local, "", def + 1, def - 1, true},
		{"local, GOMAXPROCS not a count", local, "0", def, def - 1, true},
		{"elsewhere", "postgres://postgres@db.example.com:5432/customers", "", def, def, false},
		{"set", local, "7", 7, 7, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			runtime.GOMAXPROCS(tc.before)
			lowered := tuneProcs(env(map[string]string{"GOMAXPROCS": tc.gomaxprocs}), tc.url)
			if got := runtime.GOMAXPROCS(0); got != tc.want || lowered != tc.lowered {
				t.Errorf("GOMAXPROCS = %d (lowered: %v), want %d (lowered: %v; Go's default %d)", got, lowered, tc.want, tc.lowered, def)
			}
		})
	}
}

// defaultProcs is Go's default GOMAXPROCS here; the test's own comes back when it
// ends.
func defaultProcs(t *testing.T) int {
	prev := runtime.GOMAXPROCS(0)
	t.Cleanup(func() { runtime.GOMAXPROCS(prev) })
	runtime.SetDefaultGOMAXPROCS()
	return runtime.GOMAXPROCS(0)
}

// TestOnThisMachine: which connection strings name a PostgreSQL on this machine.
func TestOnThisMachine(t *testing.T) {
	for url, want := range map[string]bool{
		"postgres://postgres@127.0.0.1:5432/customers":           true,
		"postgres://postgres@127.0.0.2/customers":                true,
		"postgres://postgres@[::1]:5432/customers":               true,
		"postgres://postgres@localhost/customers":                true,
		"postgres://postgres@LOCALHOST/customers":                true,
		"postgres:///customers?host=/var/run/postgresql":         true,
		"host=/tmp dbname=customers":                             true,
		"host=127.0.0.1 dbname=customers":                        true,
		"postgres://postgres@db.example.com/customers":           false,
		"postgres://postgres@10.0.0.5:5432/customers":            false,
		"postgres://postgres@[2001:db8::1]:5432/customers":       false,
		"postgres://postgres@localhost.example.com/customers":    false,
		"postgres://postgres@db.example.com,127.0.0.1/customers": false,
		"not a connection string at all ://":                     false,
	} {
		if got := onThisMachine(url); got != want {
			t.Errorf("onThisMachine(%q) = %v, want %v", url, got, want)
		}
	}
}

// TestBrowsable: a server listening on every address is shown as localhost, with
// the port it got.
func TestBrowsable(t *testing.T) {
	for addr, want := range map[string]string{"127.0.0.1:8080": "127.0.0.1:8080", "0.0.0.0:8080": "localhost:8080",
		"[::]:8080": "localhost:8080", "[::1]:9090": "[::1]:9090", "10.1.2.3:80": "10.1.2.3:80"} {
		tcp, err := net.ResolveTCPAddr("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		if got := browsable(tcp); got != want {
			t.Errorf("browsable(%s) = %s, want %s", addr, got, want)
		}
	}
}

// TestRunWithReplicas: DATABASE_REPLICA_URLS reaches the handler (a mutation's
// answer carries X-Read-After-LSN), a replica that is no standby (here the primary
// itself) is reported and not read, and run stops checking the replicas when it
// returns. TestReadReplicas (graph) tests replicas in full.
func TestRunWithReplicas(t *testing.T) {
	defaultProcs(t)
	dbURL := pgtest.NewDatabase(t)
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	out, logs := io.Pipe()
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, nil, env(map[string]string{
			"LISTEN_ADDR": "127.0.0.1:0", "ADMIN_ADDR": "127.0.0.1:0", "DATABASE_URL": dbURL, "DATABASE_REPLICA_URLS": dbURL,
			"DEMO_DATA": "true", "JWT_SECRET": string(secret),
		}), logs, io.Discard)
		logs.Close()
	}()
	seen := map[string]map[string]any{}
	for sc := bufio.NewScanner(out); len(seen) < 2 && sc.Scan(); {
		var rec map[string]any
		if json.Unmarshal(sc.Bytes(), &rec) == nil && (rec["msg"] == "serving" || rec["msg"] == "replica down: reading from the primary") {
			seen[rec["msg"].(string)] = rec
		}
	}
	go func() { _, _ = io.Copy(io.Discard, out) }()
	if err, _ := seen["replica down: reading from the primary"]["err"].(string); !strings.Contains(err, "not a standby") {
		t.Errorf("the primary given as a replica: %v, want it reported as no standby", seen)
	}
	addr, _ := seen["serving"]["addr"].(string)
	token, err := auth.Sign(auth.Config{Secret: secret}, models.MustParseObjectID(demoStaff), time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	post := func(query string) (*http.Response, string) {
		req, _ := http.NewRequest(http.MethodPost, "http://"+addr+"/query", strings.NewReader(`{"query":"`+query+`"}`))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+token)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		body, _ := io.ReadAll(res.Body)
		return res, string(body)
	}
	res, body := post(`mutation { customerCreate(input: {name: \"Replicated\"}) { name } }`)
	if _, err := models.ParseLSN(res.Header.Get("X-Read-After-LSN")); err != nil || !strings.Contains(body, `"name":"Replicated"`) {
		t.Errorf("mutation: X-Read-After-LSN %q (%v), %s", res.Header.Get("X-Read-After-LSN"), err, body)
	}
	if _, body := post(`{ customers(first: 1) { totalCount } }`); !strings.HasPrefix(body, `{"data":{"customers":{"totalCount":37}}`) {
		t.Errorf("query: %s", body)
	}
	stop()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("run: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("run did not return")
	}
}
