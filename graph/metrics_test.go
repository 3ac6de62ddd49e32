package graph_test

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/cloudcomms/customers/graph"
)

func TestMetrics(t *testing.T) {
	t.Parallel()
	a := MustAPI(t, func(c *graph.Config) { c.Metrics = graph.NewMetrics(nil) })
	a.do(`query ListCustomers { customers { totalCount } }`, nil)
	a.do(`query ListCustomers { customers { totalCount } }`, nil)
	a.do(`query Missing { customer(id: "nope") { id } }`, nil)
	a.as("", `query Anonymous { customers { totalCount } }`, nil)
	a.post(`{"query":"{ viewer { email } }"}`, map[string]string{"Authorization": "Bearer not-a-jwt"})

	res, err := http.Get(a.srv.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	for _, want := range []string{
		`customers_requests_total{operation="ListCustomers",outcome="ok"} 2`,
		`customers_requests_total{operation="Missing",outcome="error"} 1`,
		`customers_requests_total{operation="Anonymous",outcome="error"} 1`,
		`customers_requests_total{operation="anonymous",outcome="refused"} 1`,
		`customers_errors_total{code="BAD_USER_INPUT"} 1`,
		`customers_errors_total{code="UNAUTHENTICATED"} 2`,
		`customers_request_duration_seconds_count{operation="ListCustomers"} 2`,
		`customers_sql_statements_per_request_bucket{le="2"} 3`,
		`customers_sql_statements_per_request_bucket{le="3"} 5`,
		`customers_resolvers_per_request_count 5`,
		`go_goroutines`,
	} {
		if !strings.Contains(string(body), want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	if t.Failed() {
		t.Logf("%s", body)
	}
}
