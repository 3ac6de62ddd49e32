package graph_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/cloudcomms/customers/graph"
)

func TestLimits(t *testing.T) {
	t.Parallel()
	a := MustAPI(t, func(c *graph.Config) {
		c.Limits = graph.Limits{MaxBodyBytes: 2000, MaxTokens: 100, MaxDepth: 6, MaxFields: 20, MaxComplexity: 201}
	})
	nest := func(levels int) string { // customers(1) nodes(2) adminUser(3) customer(4) adminUser(5) …
		q := "id"
		for i := levels - 1; i > 2; i-- {
			if i%2 == 1 {
				q = "adminUser { " + q + " }"
			} else {
				q = "customer { " + q + " }"
			}
		}
		return "{ customers(first: 1) { nodes { " + q + " } } }"
	}
	aliases := func(n int) string {
		var b strings.Builder
		b.WriteString("{ ")
		for i := range n {
			fmt.Fprintf(&b, "a%d: __typename ", i)
		}
		return b.String() + "}"
	}
	tests := []struct {
		name, doc string
		want      []string // nil: runs
	}{
		{"DepthAtLimit", nest(6), nil},
		{"DepthOverLimit", nest(7), []string{"DEPTH_LIMIT_EXCEEDED"}},
		{"FieldsAtLimit", aliases(20), nil},
		{"FieldsOverLimit", aliases(21), []string{"FIELD_LIMIT_EXCEEDED"}},
		{"FragmentsCount", `{ ...F ...F } fragment F on Query { ` + strings.Repeat("__typename ", 11) + `}`, []string{"FIELD_LIMIT_EXCEEDED"}},
		{"ComplexityAtLimit", `{ customers(first: 100) { nodes { id } } }`, nil},
		{"ComplexityOverLimit", `{ customers(first: 100) { nodes { id name } } }`, []string{"COMPLEXITY_LIMIT_EXCEEDED"}},
		{"AuditEventsCounted", `{ auditEvents(customerId: "000000000000000000000000", first: 100) { nodes { id operation } } }`, []string{"COMPLEXITY_LIMIT_EXCEEDED"}},
		{"TokensOverLimit", aliases(40), []string{"GRAPHQL_PARSE_FAILED"}},
		{"IntrospectionNotCounted", `{ __schema { types { name fields { name type { name ofType { name ofType { name ofType { name } } } } } } } }`, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := a.do(tt.doc, nil)
			if d := cmp.Diff(tt.want, r.codes()); d != "" {
				t.Fatalf("errors (-want +got):\n%s\n%+v", d, r.Errors)
			}
			if tt.want != nil {
				if got := a.statements.Load(); got != authStatements {
					t.Errorf("a refused document sent %d statements beyond authentication", got-authStatements)
				}
				if msg := r.Errors[0].Message; !strings.Contains(msg, "limit") {
					t.Errorf("message %q does not name the limit", msg)
				}
			}
		})
	}
	t.Run("Body", func(t *testing.T) {
		body := func(n int) string {
			s := `{"query":"{ __typename }"}`
			return s[:len(s)-1] + strings.Repeat(" ", n-len(s)) + "}"
		}
		if r := a.post(body(2000), nil); r.Status != 200 || r.Errors != nil {
			t.Errorf("body at the limit: %d %v", r.Status, r.codes())
		}
		r := a.post(body(2001), nil)
		if r.Status != 413 || cmp.Diff([]string{"REQUEST_TOO_LARGE"}, r.codes()) != "" || !strings.Contains(r.Errors[0].Message, "2000") {
			t.Errorf("body over the limit: %d %+v", r.Status, r.Errors)
		}
	})
}

// TestRequestDeadline: a request that outlives its deadline is ended, its SQL
// cancelled, with 504 and a masked error carrying the request id.
func TestRequestDeadline(t *testing.T) {
	t.Parallel()
	a := MustAPI(t, func(c *graph.Config) { c.Limits = graph.Limits{Timeout: time.Nanosecond} })
	start := time.Now()
	r := a.do(`{ customers { totalCount } }`, nil)
	if time.Since(start) > 2*time.Second || r.Status != 504 || len(r.Errors) != 1 ||
		r.Errors[0].Extensions["requestId"] != r.Header.Get("X-Request-Id") || !strings.Contains(a.logs.String(), "context deadline exceeded") {
		t.Errorf("after the deadline: %d %+v in %v", r.Status, r.Errors, time.Since(start))
	}
}

// TestRequestsInFlightAreBounded: with MaxInFlight requests running (one here, held
// by a lock on customers), one more is answered 503 with Retry-After at once, and
// served again once the first has finished; the streams of subscriptions are not
// counted.
func TestRequestsInFlightAreBounded(t *testing.T) {
	t.Parallel()
	// The deadline only makes a broken limit fail the test rather than hang it.
	a := MustAPI(t, func(c *graph.Config) { c.Limits = graph.Limits{MaxInFlight: 1, Timeout: 5 * time.Second} })
	a.seedLinked(1)
	customer := a.customerID("Linked 001")
	read := `{"query":"query($id: ObjectID!) { customer(id: $id) { name } }","variables":{"id":"` + customer + `"}}`

	for _, p := range protocols {
		p.subscribe(t, a, a.bearer(a.staff), customerChangedDoc, map[string]any{"id": customer}).next(time.Second)
	}
	if r := a.post(read, nil); r.Status != 200 || r.Errors != nil {
		t.Fatalf("with a stream of each protocol open: %d %v", r.Status, r.codes())
	}

	lock := a.db.Begin()
	defer lock.Rollback()
	if err := lock.Exec(`LOCK TABLE customers IN ACCESS EXCLUSIVE MODE`).Error; err != nil {
		t.Fatal(err)
	}
	held := make(chan int, 1)
	go func() {
		req, _ := http.NewRequest(http.MethodPost, a.srv.URL+"/query", strings.NewReader(read))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", a.bearer(a.staff))
		res, err := a.srv.Client().Do(req)
		if err != nil {
			held <- 0
			return
		}
		res.Body.Close()
		held <- res.StatusCode
	}()
	waiting := func() bool {
		var n int
		err := a.db.Raw(`SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'`).Scan(&n).Error
		return err == nil && n > 0
	}
	for deadline := time.Now().Add(5 * time.Second); !waiting(); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the first request did not wait for the lock within 5 s")
		}
	}
	r := a.post(read, nil)
	if r.Status != 503 || r.Header.Get("Retry-After") != "1" || cmp.Diff([]string{"SERVICE_UNAVAILABLE"}, r.codes()) != "" ||
		r.Errors[0].Extensions["requestId"] != r.Header.Get("X-Request-Id") {
		t.Errorf("with one request in flight: %d, Retry-After %q, %v %v", r.Status, r.Header.Get("Retry-After"), r.codes(), r.Errors)
	}
	lock.Rollback()
	if status := <-held; status != 200 {
		t.Errorf("the request held by the lock: %d, want 200", status)
	}
	if r := a.post(read, nil); r.Status != 200 || r.Errors != nil {
		t.Errorf("once the first had finished: %d %v", r.Status, r.codes())
	}
}
