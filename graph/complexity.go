package graph

import (
	"context"
	"slices"

	gqlcomplexity "github.com/99designs/gqlgen/complexity"
	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/errcode"
	"github.com/99designs/gqlgen/graphql/handler/extension"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"
)

// complexityLimit is gqlgen's extension.FixedComplexityLimit, except that an
// operation whose complexity no variable can change takes it from its cached
// document (document.complexity) instead of walking its selection again: that walk,
// a map of arguments per field, cost a customer by id 2 % of its CPU and a tenth of
// its allocations.
type complexityLimit struct {
	limit int
	es    graphql.ExecutableSchema
}

// ExtensionName is gqlgen's, under which extension.GetComplexityStats finds the
// operation's complexity.
func (c *complexityLimit) ExtensionName() string { return "ComplexityLimit" }

func (c *complexityLimit) Validate(es graphql.ExecutableSchema) error {
	c.es = es
	return nil
}

func (c *complexityLimit) MutateOperationContext(ctx context.Context, oc *graphql.OperationContext) *gqlerror.Error {
	cost, ok := preparedComplexity(ctx, oc.Operation)
	if !ok {
		cost = gqlcomplexity.Calculate(ctx, c.es, oc.Operation, oc.Variables)
	}
	oc.Stats.SetExtension(c.ExtensionName(), &extension.ComplexityStats{Complexity: cost, ComplexityLimit: c.limit})
	if cost > c.limit {
		err := gqlerror.Errorf("operation has complexity %d, which exceeds the limit of %d", cost, c.limit)
		errcode.Set(err, "COMPLEXITY_LIMIT_EXCEEDED")
		return err
	}
	return nil
}

// fixedComplexities returns the complexity of each operation of doc that no
// variable can change: one where no field with a complexity function of its own
// (limits.go) takes a variable in an argument that prices it (pricingArguments).
// Every other field costs the same whatever its arguments. A variable elsewhere,
// a page's cursor say, leaves the price as it is, even where gqlgen's walk, failing
// to parse its value, would fall back to the default: the field fails on that
// argument when it runs, and the request pays for it as for a valid value.
func fixedComplexities(es graphql.ExecutableSchema, doc *ast.QueryDocument) map[*ast.OperationDefinition]int {
	ctx := context.Background()
	out := map[*ast.OperationDefinition]int{}
	for _, op := range doc.Operations {
		if !variablesPrice(ctx, es, op.SelectionSet) {
			out[op] = gqlcomplexity.Calculate(ctx, es, op, nil)
		}
	}
	return out
}

// variablesPrice reports that a field of set, fragments followed, has a
// complexity function and a variable in an argument that prices it: its cost can
// change with the variables' values.
func variablesPrice(ctx context.Context, es graphql.ExecutableSchema, set ast.SelectionSet) bool {
	for _, sel := range set {
		switch s := sel.(type) {
		case *ast.Field:
			if hasComplexityFunc(ctx, es, s) && pricedByVariables(s.Arguments) || variablesPrice(ctx, es, s.SelectionSet) {
				return true
			}
		case *ast.FragmentSpread:
			if variablesPrice(ctx, es, s.Definition.SelectionSet) {
				return true
			}
		case *ast.InlineFragment:
			if variablesPrice(ctx, es, s.SelectionSet) {
				return true
			}
		}
	}
	return false
}

// hasComplexityFunc reports that f has a complexity function; a field of an
// interface is taken to have one. The generated Complexity answers false without
// one; given no arguments, it parses none and cannot fail on them.
func hasComplexityFunc(ctx context.Context, es graphql.ExecutableSchema, f *ast.Field) bool {
	if f.ObjectDefinition.Kind != ast.Object {
		return true
	}
	_, ok := es.Complexity(ctx, f.ObjectDefinition.Name, f.Name, 0, map[string]any{})
	return ok
}

func pricedByVariables(args ast.ArgumentList) bool {
	for _, a := range args {
		if slices.Contains(pricingArguments, a.Name) && valueHasVariables(a.Value) {
			return true
		}
	}
	return false
}

func valueHasVariables(v *ast.Value) bool {
	if v == nil {
		return false
	}
	if v.Kind == ast.Variable {
		return true
	}
	for _, c := range v.Children {
		if valueHasVariables(c.Value) {
			return true
		}
	}
	return false
}
