package graph

import (
	"context"
	"os"
	"testing"

	gqlcomplexity "github.com/99designs/gqlgen/complexity"
	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/validator"

	"github.com/cloudcomms/customers/graph/generated"
)

// pricedDocuments returns the service's executable schema, with its complexity
// functions, and documents that keep the prices no variable can change.
func pricedDocuments() (graphql.ExecutableSchema, *documents) {
	cfg := generated.Config{}
	complexity(&cfg.Complexity)
	es := generated.NewExecutableSchema(cfg)
	docs := newDocuments(es.Schema(), DefaultLimits)
	docs.es = es
	return es, docs
}

// TestFixedComplexitiesAreGQLGens: the complexity a cached document keeps for an
// operation is what gqlgen computes for it with any variables whose values its
// fields' arguments accept (fragments, directives, introspection and the clients
// kit's operations among them), and only the operations whose complexity no
// variable can change keep one. Where an argument refuses its value, gqlgen prices
// the field as if it had no complexity function; the kept price stays.
func TestFixedComplexitiesAreGQLGens(t *testing.T) {
	es, docs := pricedDocuments()
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
			query Q($f: Int) { auditEvents(customerId: "000000000000000000000001", last: $f) { nodes { id } } }
			query R($c: ObjectID!, $f: Int) { c: customer(id: $c) { users(first: $f) { nodes { id } } } }`,
			map[string]bool{"P": false, "Q": false, "R": false}},
		{"NotPricedByVariables", `query S($c: ObjectID!) { auditEvents(customerId: $c, first: 5) { nodes { id } } }
			query T($filter: CustomerFilter, $a: String) { customers(first: 2, filter: $filter, after: $a) { nodes { id } } }`,
			map[string]bool{"S": true, "T": true}},
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
					if refusesArguments(es, op.SelectionSet, coerced) {
						continue // priced by gqlgen as if the field had no complexity function
					}
					compared++
					if got := gqlcomplexity.Calculate(context.Background(), es, op, coerced); got != cost {
						t.Errorf("%s with %v: gqlgen %d, kept %d", op.Name, vars, got, cost)
					}
				}
			}
			if compared == 0 && len(doc.complexity) > 0 {
				t.Error("no kept complexity compared with gqlgen's")
			}
		})
	}
}

// refusesArguments reports that a field of set with a complexity function, fragments
// followed, cannot parse its arguments with vars.
func refusesArguments(es graphql.ExecutableSchema, set ast.SelectionSet, vars map[string]any) bool {
	ctx := context.Background()
	for _, sel := range set {
		switch s := sel.(type) {
		case *ast.Field:
			if hasComplexityFunc(ctx, es, s) {
				if _, ok := es.Complexity(ctx, s.ObjectDefinition.Name, s.Name, 0, s.ArgumentMap(vars)); !ok {
					return true
				}
			}
			if refusesArguments(es, s.SelectionSet, vars) {
				return true
			}
		case *ast.FragmentSpread:
			if refusesArguments(es, s.Definition.SelectionSet, vars) {
				return true
			}
		case *ast.InlineFragment:
			if refusesArguments(es, s.SelectionSet, vars) {
				return true
			}
		}
	}
	return false
}

// TestMalformedArgumentKeepsThePrice: an argument no complexity function reads
// leaves the price as it is, even with a value the field refuses (it fails when it
// runs): a page of audit events costs as much with a customer id that is no id.
func TestMalformedArgumentKeepsThePrice(t *testing.T) {
	es, docs := pricedDocuments()
	doc, errs := docs.prepare(`query S($c: ObjectID!) { auditEvents(customerId: $c, first: 5) { nodes { id } } }`)
	if errs != nil {
		t.Fatal(errs)
	}
	op := doc.doc.Operations[0]
	kept, ok := doc.complexity[op]
	if !ok {
		t.Fatal("no complexity kept for S")
	}
	price := func(c string) int {
		vars, err := validator.VariableValues(es.Schema(), op, map[string]any{"c": c})
		if err != nil {
			t.Fatal(err)
		}
		return gqlcomplexity.Calculate(context.Background(), es, op, vars)
	}
	if valid := price("000000000000000000000001"); kept != valid || kept != 1+5*2 {
		t.Errorf("kept %d, gqlgen with a valid id %d, want %d", kept, valid, 1+5*2)
	}
	if malformed := price("not an id"); malformed >= kept {
		t.Errorf("gqlgen prices a malformed id at %d, no less than the kept %d: the case this test pins is gone", malformed, kept)
	}
}
