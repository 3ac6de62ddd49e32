package graph_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/cloudcomms/customers/graph"
)

// apiWithMetrics is an API whose metrics an admin listener serves at adminURL.
func apiWithMetrics(t *testing.T) (a *api, adminURL string) {
	t.Helper()
	m := graph.NewMetrics(nil)
	a = MustAPI(t, func(c *graph.Config) { c.Metrics = m })
	admin := httptest.NewServer(graph.NewAdminHandler(m))
	t.Cleanup(admin.Close)
	return a, admin.URL
}

func TestMetrics(t *testing.T) {
	t.Parallel()
	a, adminURL := apiWithMetrics(t)
	a.do(`query ListCustomers { customers { totalCount } }`, nil)
	a.do(`query ListCustomers { customers { totalCount } }`, nil)
	a.do(`query Missing { customer(id: "nope") { id } }`, nil)
	a.as("", `query Anonymous { customers { totalCount } }`, nil)
	a.post(`{"query":"{ viewer { email } }"}`, map[string]string{"Authorization": "Bearer not-a-jwt"})
	long := "Long" + strings.Repeat("x", 200)
	a.do(`query `+long+` { __typename }`, nil)

	get := func(url string) (int, string) {
		res, err := http.Get(url)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		body, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(body)
	}
	// Metrics and profiles are the admin listener's, never the public one's.
	for _, path := range []string{"/metrics", "/debug/pprof/"} {
		if status, _ := get(a.srv.URL + path); status != http.StatusNotFound {
			t.Errorf("public %s: %d, want 404", path, status)
		}
	}
	profiler := httptest.NewServer(graph.NewProfilerHandler())
	t.Cleanup(profiler.Close)
	if status, body := get(profiler.URL + "/debug/pprof/heap?debug=1"); status != 200 || !strings.Contains(body, "heap profile") {
		t.Errorf("profiler's heap profile: %d", status)
	}
	status, body := get(adminURL + "/metrics")
	if status != 200 {
		t.Fatalf("admin /metrics: %d", status)
	}
	for _, want := range []string{
		`customers_requests_total{operation="ListCustomers",outcome="ok"} 2`,
		`customers_requests_total{operation="Missing",outcome="error"} 1`,
		`customers_requests_total{operation="Anonymous",outcome="error"} 1`,
		`customers_requests_total{operation="anonymous",outcome="refused"} 1`,
		`customers_requests_total{operation="other",outcome="ok"} 1`,
		`customers_errors_total{code="BAD_USER_INPUT"} 1`,
		`customers_errors_total{code="UNAUTHENTICATED"} 2`,
		`customers_request_duration_seconds_count{operation="ListCustomers"} 2`,
		`customers_sql_statements_per_request_bucket{le="0"} 4`, // authenticated from the cache
		`customers_sql_statements_per_request_bucket{le="2"} 6`,
		`customers_cost_per_request_count 6`,
		`customers_cost_per_request_bucket{le="1"} 2`, // refused before costing anything, or one field
		`customers_cost_per_request_sum 66`,
		`go_goroutines`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	if strings.Contains(body, long[:70]) {
		t.Error("/metrics holds a 204-byte operation name")
	}
	if t.Failed() {
		t.Logf("%s", body)
	}
}

// TestMetricsBoundOperationNames: past 200 operation names, the requests of a new
// name are counted as "other", so that clients cannot grow the metrics without end;
// the names seen before keep their series.
func TestMetricsBoundOperationNames(t *testing.T) {
	t.Parallel()
	a, adminURL := apiWithMetrics(t)
	for i := range 203 {
		a.do(fmt.Sprintf(`query Op%03d { __typename }`, i), nil)
	}
	a.do(`query Op000 { __typename }`, nil)
	a.do(`{ __typename }`, nil)
	res, err := http.Get(adminURL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	body := string(b)
	for _, want := range []string{
		`customers_requests_total{operation="Op000",outcome="ok"} 2`,
		`customers_requests_total{operation="Op199",outcome="ok"} 1`,
		`customers_requests_total{operation="other",outcome="ok"} 3`,
		`customers_requests_total{operation="anonymous",outcome="ok"} 1`,
		`customers_request_duration_seconds_count{operation="other"} 3`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	for _, unwanted := range []string{`operation="Op200"`, `operation="Op202"`, `outcome="error"`} {
		if strings.Contains(body, unwanted) {
			t.Errorf("/metrics has %s", unwanted)
		}
	}
}
