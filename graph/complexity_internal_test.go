package graph

import (
	"context"
	"os"
	"testing"

	gqlcomplexity "github.com/99designs/gqlgen/complexity"
	"github.com/vektah/gqlparser/v2/validator"

	"github.com/cloudcomms/customers/graph/generated"
)

// TestFixedComplexitiesAreGQLGens: the complexity a cached document keeps for an
// operation is what gqlgen computes for it with any variables (fragments,
// directives, introspection and the clients kit's operations among them), and
// only the operations whose complexity no variable can change keep one.
func TestFixedComplexitiesAreGQLGens(t *testing.T) {
	cfg := generated.Config{}
	complexity(&cfg.Complexity)
	es := generated.NewExecutableSchema(cfg)
	docs := newDocuments(es.Schema(), DefaultLimits)
	docs.es = es
	kit := func(name string) string {
		b, err := os.ReadFile("../client/" + name)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	variables := []map[string]any{
		{},
		{"id": "000000000000000000000001", "customerId": "000000000000000000000001", "b": true, "d": true, "n": "Customer",
			"first": 3, "f": 3, "c": "000000000000000000000001", "status": "ACTIVE"},
		{"id": "000000000000000000000002", "customerId": "000000000000000000000002", "b": false, "d": false, "n": "User",
			"first": 50, "f": 50, "c": "not an id", "filter": map[string]any{"name": map[string]any{"eq": "x"}}},
	}
	for _, c := range []struct {
		name, query string
		fixed       map[string]bool // by operation name: whether its complexity is kept
	}{
		{"ClientsKit", kit("operations.graphql") + kit("fragments.graphql"), nil},
		{"FragmentsAndDirectives", `query A($id: ObjectID!, $b: Boolean!) { customer(id: $id) { ...C @include(if: $b) users(first: 3) { nodes { id } } } }
			fragment C on Customer { id name adminUser { email } }
			query B($b: Boolean!) { customers(first: 7) @skip(if: $b) { nodes { id ... on Customer { name } } } __typename }`,
			map[string]bool{"A": true, "B": true}},
		{"Introspection", `query I($n: String!, $d: Boolean) { __type(name: $n) { name fields(includeDeprecated: $d) { name } } __schema { types { name } } }`,
			map[string]bool{"I": true}},
		{"PricedByVariables", `query P($f: Int) { customers(first: $f) { nodes { id } } }
			query Q($c: ObjectID!) { auditEvents(customerId: $c, first: 5) { nodes { id } } }
			query R($filter: CustomerFilter) { customers(first: 2, filter: $filter) { nodes { id } } }`,
			map[string]bool{"P": false, "Q": false, "R": false}},
	} {
		t.Run(c.name, func(t *testing.T) {
			doc, errs := docs.prepare(c.query)
			if errs != nil {
				t.Fatal(errs)
			}
			compared := 0
			for _, op := range doc.doc.Operations {
				cost, fixed := doc.complexity[op]
				if want, ok := c.fixed[op.Name]; ok && fixed != want {
					t.Errorf("%s: complexity kept %v, want %v", op.Name, fixed, want)
				}
				if !fixed {
					continue
				}
				for _, vars := range variables {
					coerced, err := validator.VariableValues(es.Schema(), op, vars)
					if err != nil {
						continue // refused before its complexity is measured
					}
					compared++
					if got := gqlcomplexity.Calculate(context.Background(), es, op, coerced); got != cost {
						t.Errorf("%s with %v: gqlgen %d, kept %d", op.Name, vars, got, cost)
					}
				}
			}
			if compared == 0 && c.name != "PricedByVariables" {
				t.Error("no kept complexity compared with gqlgen's")
			}
		})
	}
}
