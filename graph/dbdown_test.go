package graph_test

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib"

	"github.com/cloudcomms/customers/graph"
	"github.com/cloudcomms/customers/internal/auth"
	"github.com/cloudcomms/customers/internal/pgcluster"
	"github.com/cloudcomms/customers/migrations"
	"github.com/cloudcomms/customers/models"
)

// countingProxy forwards TCP connections to addr and counts them: the connections
// the service opens to PostgreSQL, whether or not PostgreSQL answers behind it.
func countingProxy(t *testing.T, addr string) (string, *atomic.Int64) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	var n atomic.Int64
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			n.Add(1)
			go func() {
				defer c.Close()
				up, err := net.Dial("tcp", addr)
				if err != nil {
					return
				}
				defer up.Close()
				go func() { _, _ = io.Copy(up, c) }()
				_, _ = io.Copy(c, up)
			}()
		}
	}()
	return l.Addr().String(), &n
}

// TestDatabaseGoesAway stops the service's PostgreSQL under load: requests fail
// fast with a masked error that carries the request id, /readyz says not ready,
// the service does not hammer the database with connection attempts while it is
// down, and it recovers by itself within a second of the database's return.
func TestDatabaseGoesAway(t *testing.T) {
	t.Parallel()
	pg := pgcluster.New(t)
	raw, err := sql.Open("pgx", pg.URL("postgres"))
	if err != nil {
		t.Fatal(err)
	}
	if err := migrations.Up(context.Background(), raw); err != nil {
		t.Fatal(err)
	}
	var staff string
	err = raw.QueryRow(`WITH c AS (INSERT INTO customers (name) VALUES ('Platform') RETURNING id)
		INSERT INTO users (customer_id, email, first, last, super_admin_permission) SELECT id, 's@p.example', 'S', 'P', 'READ_WRITE' FROM c
		RETURNING encode(id, 'hex')`).Scan(&staff)
	raw.Close()
	if err != nil {
		t.Fatal(err)
	}
	logger := slog.New(slog.NewJSONHandler(io.Discard, nil))
	proxy, connections := countingProxy(t, fmt.Sprintf("127.0.0.1:%d", pg.Port))
	db, err := models.OpenDB(models.DBConfig{URL: strings.Replace(pg.URL("postgres"), fmt.Sprintf("127.0.0.1:%d", pg.Port), proxy, 1),
		MaxConns: 4, Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	sqlDB, _ := db.DB()
	defer sqlDB.Close()
	verifier, _ := auth.NewVerifier(context.Background(), testAuth)
	srv := httptest.NewServer(graph.NewHandler(graph.Config{
		Logger: logger, Resolver: graph.NewResolver(db, models.NewCursors([]byte("k"))), Ready: sqlDB.PingContext,
		Verifier: verifier, Limits: graph.DefaultLimits,
	}))
	defer srv.Close()
	token, _ := auth.Sign(testAuth, models.MustParseObjectID(staff), time.Hour)
	client := &http.Client{Timeout: 5 * time.Second}
	type outcome struct {
		ok       bool
		masked   bool // INTERNAL_SERVER_ERROR with a request id, no driver text
		duration time.Duration
	}
	query := func() outcome {
		req, _ := http.NewRequest(http.MethodPost, srv.URL+"/query", strings.NewReader(`{"query":"{ customers { totalCount } }"}`))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+token)
		start := time.Now()
		res, err := client.Do(req)
		if err != nil {
			return outcome{duration: time.Since(start)}
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		b := string(body)
		return outcome{
			ok:       strings.Contains(b, `"totalCount":1`),
			masked:   strings.Contains(b, "INTERNAL_SERVER_ERROR") && strings.Contains(b, res.Header.Get("X-Request-Id")) && !strings.Contains(b, "dial") && !strings.Contains(b, "SQLSTATE"),
			duration: time.Since(start),
		}
	}
	ready := func() int {
		res, err := client.Get(srv.URL + "/readyz")
		if err != nil {
			return 0
		}
		res.Body.Close()
		return res.StatusCode
	}
	if o := query(); !o.ok || ready() != 200 {
		t.Fatalf("before: %+v, readyz %d", o, ready())
	}

	// Load from four clients while the database goes down and comes back.
	var stop atomic.Bool
	var mu sync.Mutex
	var slowest time.Duration
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 2000 && !stop.Load(); i++ {
				o := query()
				mu.Lock()
				slowest = max(slowest, o.duration)
				mu.Unlock()
				time.Sleep(5 * time.Millisecond)
			}
		}()
	}
	pg.Stop()
	down := query()
	if down.ok || !down.masked || down.duration > time.Second {
		t.Errorf("while down: %+v, want a masked error within a second", down)
	}
	if code := ready(); code != http.StatusServiceUnavailable {
		t.Errorf("/readyz while down = %d, want 503", code)
	}
	// A second of load on a database that is down: a connection attempt per
	// back-off (at most 400 ms, jittered), not one per request (about 800).
	before := connections.Load()
	time.Sleep(time.Second)
	if n := connections.Load() - before; n > 20 {
		t.Errorf("%d connection attempts in a second while the database was down, want at most 20", n)
	}
	pg.Start()
	back := time.Now()
	for !query().ok {
		if time.Since(back) > time.Second {
			t.Fatalf("not serving %v after the database returned", time.Since(back))
		}
		time.Sleep(20 * time.Millisecond)
	}
	recovered := time.Since(back)
	stop.Store(true)
	wg.Wait()
	if ready() != 200 {
		t.Error("/readyz not ready after recovery")
	}
	if slowest > 2*time.Second {
		t.Errorf("a request under load took %v: connections hung", slowest)
	}
	t.Logf("recovered %v after the database returned; slowest request %v", recovered, slowest)
}
