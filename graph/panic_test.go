package graph_test

import (
	"strings"
	"testing"

	"github.com/cloudcomms/customers/graph"
	"github.com/cloudcomms/customers/models"
)

// TestPanicBecomesErrorResponse: a resolver that panics (its store has no
// database) answers a masked internal error, and the log has the panic and its
// stack, whether a plan or gqlgen's executor runs the query.
func TestPanicBecomesErrorResponse(t *testing.T) {
	for _, noPlans := range []bool{false, true} {
		a := MustAPI(t, func(c *graph.Config) {
			c.NoPlans = noPlans
			c.Resolver.CustomerStore = models.NewCustomerStore(nil, models.NewCursors([]byte("k")), c.Resolver.Callers)
		})
		a.logs.reset()
		r := a.do(`{ customers { nodes { id } } }`, nil)
		if d := r.codes(); len(d) != 1 || d[0] != "INTERNAL_SERVER_ERROR" || strings.Contains(r.Errors[0].Message, "nil pointer") {
			t.Errorf("no plans %v: errors %+v, want one masked internal error", noPlans, r.Errors)
		}
		if logs := a.logs.String(); !strings.Contains(logs, "panic") || !strings.Contains(logs, "goroutine") {
			t.Errorf("no plans %v: the log lacks the panic and its stack:\n%s", noPlans, logs)
		}
	}
}
