package graph_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cloudcomms/customers/graph"
)

// sendUntil posts body as user and reads the whole answer, unless ctx ends first;
// it returns the answer, or "" when the client gave up first.
func (a *api) sendUntil(ctx context.Context, user, body string) string {
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, a.srv.URL+"/query", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", a.bearer(user))
	res, err := a.srv.Client().Do(req)
	if err != nil {
		return ""
	}
	defer res.Body.Close()
	answer, err := io.ReadAll(res.Body)
	if err != nil {
		return ""
	}
	return fmt.Sprintf("%d %s", res.StatusCode, answer)
}

// holdLock runs lock in a transaction of its own, waits for d, and rolls back.
func (a *api) holdLock(lock string, d time.Duration) {
	tx := a.db.Begin()
	defer tx.Rollback()
	if err := tx.Exec(lock).Error; err != nil {
		a.t.Error(err)
		return
	}
	time.Sleep(d)
}

// accessLines returns the access log's lines: their message and status.
func (a *api) accessLines() (lines []struct {
	Msg, Level string
	Status     int
}) {
	for _, l := range strings.Split(a.logs.String(), "\n") {
		var rec struct {
			Msg, Level, Path string
			Status           int
		}
		if json.Unmarshal([]byte(l), &rec) == nil && rec.Path == "/query" {
			lines = append(lines, struct {
				Msg, Level string
				Status     int
			}{rec.Msg, rec.Level, rec.Status})
		}
	}
	return lines
}

// TestClientGoesAway: clients that close their connection mid-request, under load,
// while some of their statements wait for a lock, are one INFO line each ("client
// closed request", status 499) and outcome "canceled" in the metrics, with no error
// logged; a mutation canceled inside its transaction writes nothing; afterwards the
// service serves as before, with every connection back in the pool and no goroutine
// left behind. It does not run in parallel, to count goroutines.
func TestClientGoesAway(t *testing.T) {
	m := graph.NewMetrics(nil)
	a := mustAPIAtLevel(t, slog.LevelInfo, func(c *graph.Config) { c.Metrics = m })
	a.seedLinked(100)
	sqlDB, _ := a.db.DB()
	user := a.userID("support.linked001@example.com")
	page := fmt.Sprintf(`{"query":%q,"variables":{"first":50}}`, fmt.Sprintf(linkedPageDoc, "totalCount"))
	patch := func(i int) string {
		return fmt.Sprintf(`{"query":"mutation($id: ObjectID!) { userPatch(id: $id, patch: {first: \"F%d\"}) { id } }","variables":{"id":%q}}`, i, user)
	}
	a.sendUntil(context.Background(), a.staff, page) // connections and caches are warm
	goroutines := runtime.NumGoroutine()
	a.logs.reset()

	// Mutations whose client leaves while they wait for a row lock: a user patch
	// inside its transaction, a customer patch inside its one statement.
	var sent, answered atomic.Int64
	before := a.snapshot()
	customerPatch := fmt.Sprintf(`{"query":"mutation($id: ObjectID!) { customerPatch(id: $id, patch: {credit: 1}) { id } }","variables":{"id":%q}}`,
		a.customerID("Linked 001"))
	for lock, body := range map[string]string{
		`SELECT 1 FROM users WHERE email = 'support.linked001@example.com' FOR UPDATE`: patch(0),
		`SELECT 1 FROM customers WHERE name = 'Linked 001' FOR UPDATE`:                 customerPatch,
	} {
		var held sync.WaitGroup
		held.Go(func() { a.holdLock(lock, 300*time.Millisecond) })
		time.Sleep(50 * time.Millisecond) // the lock is taken
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		sent.Add(1)
		if answer := a.sendUntil(ctx, a.staff, body); answer != "" {
			t.Errorf("%s: answered while its row was locked: %s", body, answer)
		}
		cancel()
		held.Wait()
	}
	if a.snapshot() != before {
		t.Error("a mutation whose client left wrote")
	}

	// Statements that wait: the page's on a lock of customers, the patches' on their
	// user's row; each client gives up after 0 to 20 ms.
	stop := make(chan struct{})
	var locks sync.WaitGroup
	locks.Go(func() {
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			if i%2 == 0 {
				a.holdLock(`LOCK TABLE customers IN ACCESS EXCLUSIVE MODE`, 15*time.Millisecond)
			} else {
				a.holdLock(`SELECT 1 FROM users WHERE email = 'support.linked001@example.com' FOR UPDATE`, 15*time.Millisecond)
			}
			time.Sleep(10 * time.Millisecond)
		}
	})
	// Every other client stays for its answer, which must be whole and right.
	const clients, rounds = 32, 8
	var wg sync.WaitGroup
	for c := range clients {
		wg.Go(func() {
			for i := range rounds {
				ctx, cancel := context.WithCancel(context.Background())
				leaves := (c+i)%2 == 0
				if leaves {
					time.AfterFunc(rand.N(20*time.Millisecond), cancel)
				}
				body := page
				if (c+i)%4 < 2 {
					body = patch(c*rounds + i)
				}
				sent.Add(1)
				answer := a.sendUntil(ctx, a.staff, body)
				if answer != "" {
					answered.Add(1)
				}
				if !leaves && (!strings.HasPrefix(answer, "200 {") || strings.Contains(answer, `"errors"`)) {
					t.Errorf("a client that stayed got %.300s", answer)
				}
				cancel()
			}
		})
	}
	wg.Wait()
	close(stop)
	locks.Wait()

	// The service serves as before. Closing the server waits for every handler, so
	// that every request has its access line.
	var out struct{ Customers struct{ TotalCount int } }
	a.mustData(`{ customers { totalCount } }`, nil, &out)
	sent.Add(1)
	answered.Add(1)
	a.srv.Close()
	lines := a.accessLines()
	var closed int
	for _, l := range lines {
		switch {
		case l.Status == 499 && l.Msg == "client closed request" && l.Level == "INFO":
			closed++
		case l.Status != 200 || l.Msg != "request":
			t.Errorf("access line %+v, want 200 or 499 (client closed request, INFO)", l)
		}
	}
	if closed == 0 || closed > int(sent.Load()-answered.Load()) || len(lines) > int(sent.Load()) {
		t.Errorf("%d requests, %d answered, %d access lines of which %d say 499", sent.Load(), answered.Load(), len(lines), closed)
	}
	logs := a.logs.String()
	for _, l := range strings.Split(logs, "\n") {
		if strings.Contains(l, `"level":"ERROR"`) || strings.Contains(l, "already been committed or rolled back") {
			t.Errorf("log line: %s", l)
		}
	}

	admin := httptest.NewServer(graph.NewAdminHandler(m))
	t.Cleanup(admin.Close)
	res, err := http.Get(admin.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if want := fmt.Sprintf("outcome=\"canceled\"} %d\n", closed); !strings.Contains(string(body), want) || strings.Contains(string(body), `outcome="error"`) {
		t.Errorf("metrics lack %s or count errors:\n%s", want, grep(string(body), "customers_requests_total"))
	}

	// Each patch that was written has its audit event, and no event is without it.
	var unaudited int64
	err = a.db.Raw(`SELECT u.version - 1 - (SELECT count(*) FROM audit_events e WHERE e.record_id = u.id) FROM users u WHERE u.id = decode(?, 'hex')`, user).
		Row().Scan(&unaudited)
	if err != nil || unaudited != 0 {
		t.Errorf("patches without their audit event (or events without their patch): %d %v", unaudited, err)
	}

	deadline := time.Now().Add(10 * time.Second)
	for {
		s := sqlDB.Stats()
		n := runtime.NumGoroutine()
		if s.InUse == 0 && n <= goroutines+4 {
			break
		}
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			t.Fatalf("connections in use %d, goroutines %d (were %d):\n%s", s.InUse, n, goroutines, buf[:runtime.Stack(buf, true)])
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// grep returns the lines of s that contain substr.
func grep(s, substr string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, substr) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
