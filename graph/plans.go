package graph

import (
	"context"
	"slices"
	"sync/atomic"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"

	"github.com/cloudcomms/customers/graph/scalar"
	"github.com/cloudcomms/customers/models"
)

// Plans: the hot reads without gqlgen's executor.
//
// gqlgen walks a document anew for every request: a goroutine per root field and
// per element of a list of objects, a Marshaler allocated per value. For the reads
// that clients repeat most, a customer by id and a page of customers with their
// linked users, a plan compiled once with the cached document writes the JSON
// straight from the models the resolvers' own functions return. A plan covers only
// queries over the fields below, with no directives; gqlgen runs everything else,
// and also any request whose arguments a plan cannot read, so that argument errors
// come from one place. Both give the same bytes, but for the order of the errors
// of several root fields, which gqlgen resolves concurrently (plans_test.go).

// plan is one query operation compiled for direct execution.
type plan struct {
	roots []rootPlan
	// size is the length of the last answer, to size the next one's buffer.
	size atomic.Int64
}

// rootPlan is one root field of a plan: prepare reads its arguments for a request
// (false: the plan cannot run it) and returns the step that appends the field's
// value, with the arguments as gqlgen's field context holds them.
type rootPlan struct {
	key     string // `"alias":`
	field   graphql.CollectedField
	nonNull bool
	prepare func(r *Resolver, args map[string]any) (step, map[string]any, bool)
}

// step appends a root field's value to b, or returns the error that makes it null.
type step func(ctx context.Context, b []byte) ([]byte, error)

// compilePlans compiles every operation of doc that a plan covers.
func compilePlans(doc *ast.QueryDocument) map[*ast.OperationDefinition]*plan {
	if usesDirectives(doc) {
		return nil
	}
	c := &graphql.OperationContext{Doc: doc}
	var plans map[*ast.OperationDefinition]*plan
	for _, op := range doc.Operations {
		if op.Operation != ast.Query {
			continue
		}
		if p, ok := compileQuery(c, op.SelectionSet); ok {
			if plans == nil {
				plans = map[*ast.OperationDefinition]*plan{}
			}
			plans[op] = p
		}
	}
	return plans
}

// usesDirectives reports whether doc has a directive anywhere: @skip and @include
// choose fields per request, and @defer changes the answer's form.
func usesDirectives(doc *ast.QueryDocument) bool {
	var walk func(ast.SelectionSet) bool
	walk = func(set ast.SelectionSet) bool {
		for _, s := range set {
			switch s := s.(type) {
			case *ast.Field:
				if len(s.Directives) > 0 || walk(s.SelectionSet) {
					return true
				}
			case *ast.InlineFragment:
				if len(s.Directives) > 0 || walk(s.SelectionSet) {
					return true
				}
			case *ast.FragmentSpread:
				if len(s.Directives) > 0 {
					return true
				}
			}
		}
		return false
	}
	for _, op := range doc.Operations {
		if len(op.Directives) > 0 || walk(op.SelectionSet) {
			return true
		}
		for _, v := range op.VariableDefinitions {
			if len(v.Directives) > 0 {
				return true
			}
		}
	}
	for _, f := range doc.Fragments {
		if len(f.Directives) > 0 || walk(f.SelectionSet) {
			return true
		}
	}
	return false
}

func compileQuery(c *graphql.OperationContext, sel ast.SelectionSet) (*plan, bool) {
	p := &plan{}
	for _, f := range graphql.CollectFields(c, sel, []string{"Query"}) {
		root := rootPlan{key: objectKey(f.Alias), field: f}
		switch f.Name {
		case "__typename":
			root.prepare = constantStep("Query")
		case "customer":
			names := newSelectionNames()
			write, ok := compileCustomer(c, f.Selections, names)
			if !ok {
				return nil, false
			}
			root.prepare = customerStep(write, names.selection())
		case "customers":
			names := newSelectionNames()
			write, ok := compileCustomerPage(c, f.Selections, names)
			if !ok {
				return nil, false
			}
			root.nonNull = true
			root.prepare = customersStep(write, names.selection())
		default:
			return nil, false
		}
		p.roots = append(p.roots, root)
	}
	return p, true
}

func constantStep(typeName string) func(*Resolver, map[string]any) (step, map[string]any, bool) {
	return func(*Resolver, map[string]any) (step, map[string]any, bool) {
		return func(_ context.Context, b []byte) ([]byte, error) { return appendString(b, typeName), nil }, nil, true
	}
}

// customerStep runs the customer query, as Query.customer's resolver does.
func customerStep(write writeFunc[models.Customer], sel customerSelection) func(*Resolver, map[string]any) (step, map[string]any, bool) {
	return func(r *Resolver, raw map[string]any) (step, map[string]any, bool) {
		var id models.ObjectID
		if err := id.UnmarshalGQL(raw["id"]); err != nil {
			return nil, nil, false
		}
		return func(ctx context.Context, b []byte) ([]byte, error) {
			c, err := r.customer(ctx, id, sel)
			if err != nil || c == nil {
				return appendNull(b), err
			}
			return write(b, c), nil
		}, map[string]any{"id": id}, true
	}
}

// customersStep runs the customers query, as Query.customers's resolver does, for
// requests without filter and orderBy.
func customersStep(write writeFunc[models.CustomerPage], sel customerSelection) func(*Resolver, map[string]any) (step, map[string]any, bool) {
	return func(r *Resolver, raw map[string]any) (step, map[string]any, bool) {
		if raw["filter"] != nil || raw["orderBy"] != nil {
			return nil, nil, false
		}
		var page models.PageArgs
		for name, dst := range map[string]**int32{"first": &page.First, "last": &page.Last, "offset": &page.Offset} {
			if v := raw[name]; v != nil {
				n, err := graphql.UnmarshalInt32(v)
				if err != nil {
					return nil, nil, false
				}
				*dst = &n
			}
		}
		for name, dst := range map[string]**string{"after": &page.After, "before": &page.Before} {
			if v := raw[name]; v != nil {
				s, err := scalar.UnmarshalString(v)
				if err != nil {
					return nil, nil, false
				}
				*dst = &s
			}
		}
		args := map[string]any{"filter": (*models.CustomerFilter)(nil), "orderBy": []models.CustomerOrder(nil),
			"first": page.First, "after": page.After, "last": page.Last, "before": page.Before, "offset": page.Offset}
		return func(ctx context.Context, b []byte) ([]byte, error) {
			p, err := r.customers(ctx, nil, nil, page, sel)
			if err != nil {
				return b, err
			}
			return write(b, p), nil
		}, args, true
	}
}

// exec returns the answer of the operation of oc, or nil when the plan cannot run
// this request.
func (p *plan) exec(r *Resolver, oc *graphql.OperationContext) graphql.ResponseHandler {
	steps := make([]step, len(p.roots))
	args := make([]map[string]any, len(p.roots))
	for i, root := range p.roots {
		var ok bool
		if steps[i], args[i], ok = root.prepare(r, root.field.ArgumentMap(oc.Variables)); !ok {
			return nil
		}
	}
	answered := false
	return func(ctx context.Context) *graphql.Response {
		if answered {
			return nil
		}
		answered = true
		b := slices.Grow(getBuffer(), int(p.size.Load())+64)
		b = append(b, '{')
		null := false // a non-null root field failed: data is null, but every field runs, as in gqlgen
		for i, root := range p.roots {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, root.key...)
			fc := &graphql.FieldContext{Object: "Query", Field: root.field, Args: args[i], IsMethod: true, IsResolver: true}
			var ok bool
			if b, ok = runStep(graphql.WithFieldContext(ctx, fc), oc, steps[i], b); !ok && root.nonNull {
				null = true
			}
		}
		if null {
			return &graphql.Response{Data: append(b[:0], "null"...)}
		}
		b = append(b, '}')
		p.size.Store(int64(len(b)))
		return &graphql.Response{Data: b}
	}
}

// runStep appends the value of one root field to b; on an error or a panic it
// appends null, reports the error as gqlgen does, and returns false.
func runStep(ctx context.Context, oc *graphql.OperationContext, s step, b []byte) (out []byte, ok bool) {
	start := len(b)
	defer func() {
		if r := recover(); r != nil {
			oc.Error(ctx, oc.Recover(ctx, r))
			out, ok = appendNull(b[:start]), false
		}
	}()
	out, err := s(ctx, b)
	if err != nil {
		oc.Error(ctx, graphql.AddFieldLocationToError(ctx, err))
		return appendNull(out[:start]), false
	}
	return out, true
}

// planStats is where the executor leaves an operation's plan in its stats, from the
// cached document it prepared, for plannedSchema.
const planStats = "customers:plan"

// plannedSchema is the executable schema that gqlgen's executor runs: an operation
// with a plan runs it, every other one runs in gqlgen's generated code.
type plannedSchema struct {
	graphql.ExecutableSchema
	resolver *Resolver
}

func (s plannedSchema) Exec(ctx context.Context) graphql.ResponseHandler {
	oc := graphql.GetOperationContext(ctx)
	if p, _ := oc.Stats.GetExtension(planStats).(*plan); p != nil {
		if h := p.exec(s.resolver, oc); h != nil {
			if ctx.Value(streamingKey{}) == nil { // a stream's line is the stream's, not an operation's
				infoFrom(ctx).setPlanned()
			}
			return h
		}
	}
	return s.ExecutableSchema.Exec(ctx)
}
