package graph

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"slices"
	"time"
	"unicode/utf8"

	"github.com/99designs/gqlgen/graphql/errcode"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"github.com/cloudcomms/customers/graph/generated"
	"github.com/cloudcomms/customers/models"
)

// Limits bound what one request may cost. Every limit is checked before any
// resolver runs; zero turns a limit off.
type Limits struct {
	// MaxBodyBytes is the largest request body; a larger one is answered 413.
	MaxBodyBytes int64
	// MaxTokens is the most lexical tokens a document may have. The parser stops
	// there, so a document of 10,000 aliases is refused before it is validated.
	MaxTokens int
	// MaxDepth is the deepest selection nesting (fragments followed).
	MaxDepth int
	// MaxFields is the most fields (aliases included, fragments expanded, each
	// fragment spread counted as a field too) an operation may select. It cannot be
	// turned off, 0 meaning DefaultLimits' value: validation, complexity and
	// execution expand fragments, exponentially often for a document built to, and
	// look each spread's fragment up among all of them; only this bound, checked
	// first, stops such a document.
	MaxFields int
	// MaxComplexity is the highest complexity: 1 per field, and a connection
	// counts its children once per row it may return (first or last, default 20).
	MaxComplexity int
	// Timeout is the most a request may run; its SQL is cancelled with it.
	Timeout time.Duration
	// MaxInFlight is the most GraphQL requests an instance serves at once (0: no
	// limit); one more is answered 503 at once. Streams (subscriptions) are not
	// counted: they have limits of their own.
	MaxInFlight int
}

// DefaultLimits are the limits when nothing else is configured.
var DefaultLimits = Limits{
	MaxBodyBytes: 1 << 20, MaxTokens: 15000, MaxDepth: 12, MaxFields: 500, MaxComplexity: 10000, Timeout: 10 * time.Second,
	MaxInFlight: 256,
}

// withInFlightLimit answers 503 with Retry-After to a request that finds limit
// requests in flight (0: no limit), before its body is read. An instance that
// receives more than it can serve then sheds what it cannot serve soon, at once,
// rather than holding it until its deadline: without a bound, the requests waiting
// for the pool's connections pile up, each with its body and its memory, for as long
// as the overload lasts. The client, or the load balancer, retries elsewhere.
func withInFlightLimit(limit int, next http.Handler) http.Handler {
	if limit <= 0 {
		return next
	}
	slots := make(chan struct{}, limit)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if streaming(r) {
			next.ServeHTTP(w, r)
			return
		}
		select {
		case slots <- struct{}{}:
			defer func() { <-slots }()
			next.ServeHTTP(w, r)
		default:
			w.Header().Set("Retry-After", "1")
			writeErrors(r.Context(), w, http.StatusServiceUnavailable,
				fmt.Sprintf("the server is serving its limit of %d requests at once: retry after the Retry-After seconds", limit),
				"SERVICE_UNAVAILABLE", RequestID(r.Context()))
		}
	})
}

// bodyPrealloc is the most withBody reserves for a body before reading it.
const bodyPrealloc = 64 << 10

// withBody reads a request's body whole, answering 413 when it is larger than max
// bytes (0: no limit), and 400 to a POST whose body is not one JSON object of UTF-8
// text: a batch (a JSON array), malformed JSON, invalid UTF-8. Its messages never
// repeat the body, which gqlgen's would.
func withBody(limit int64, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		reader := r.Body
		if limit > 0 {
			reader = http.MaxBytesReader(w, r.Body, limit)
		}
		// Sized from Content-Length, but never more than bodyPrealloc before the bytes
		// arrive: a client announcing a large body and sending nothing holds little.
		buf := bytes.NewBuffer(make([]byte, 0, min(max(r.ContentLength, 0), bodyPrealloc)+bytes.MinRead))
		_, err := buf.ReadFrom(reader)
		body := buf.Bytes()
		switch _, tooLarge := errors.AsType[*http.MaxBytesError](err); {
		case tooLarge:
			writeErrors(r.Context(), w, http.StatusRequestEntityTooLarge,
				fmt.Sprintf("the request body is larger than the limit of %d bytes", limit), "REQUEST_TOO_LARGE", "")
			return
		case err != nil:
			writeErrors(r.Context(), w, http.StatusBadRequest, "the request body could not be read", models.Invalid.Code(), "")
			return
		}
		msg := ""
		switch r.Method {
		case http.MethodPost:
			msg = checkJSONBody(body)
		case http.MethodGet: // variables and extensions come as JSON in the address
			for _, p := range []string{"variables", "extensions"} {
				if v := r.URL.Query().Get(p); v != "" && jsonDepth([]byte(v)) > maxJSONDepth {
					msg = fmt.Sprintf("%s nests JSON more than %d levels deep", p, maxJSONDepth)
				}
			}
		}
		if msg != "" {
			writeErrors(r.Context(), w, http.StatusBadRequest, msg, models.Invalid.Code(), "")
			return
		}
		r.Body = &readBodyBytes{Reader: bytes.NewReader(body), bytes: body}
		next.ServeHTTP(w, r)
	})
}

// readBodyBytes is a request body withBody read whole: the POST transport takes its
// bytes as they are (readBody), others read it as any body.
type readBodyBytes struct {
	*bytes.Reader
	bytes []byte
}

func (*readBodyBytes) Close() error { return nil }

// checkJSONBody says what is wrong with a POST body, or "" when it is one JSON
// object of valid UTF-8 text.
func checkJSONBody(body []byte) string {
	switch trimmed := bytes.TrimLeft(body, " \t\r\n"); {
	case !utf8.Valid(body):
		return "the request body is not valid UTF-8"
	case len(trimmed) > 0 && trimmed[0] == '[':
		return "batched requests (a JSON array) are not supported: send one operation per request"
	case len(trimmed) == 0 || trimmed[0] != '{' || !json.Valid(body):
		return "the request body must be one JSON object: {\"query\": \"…\", \"variables\": {…}}"
	case jsonDepth(body) > maxJSONDepth:
		return fmt.Sprintf("the request body nests JSON more than %d levels deep", maxJSONDepth)
	}
	return ""
}

// maxJSONDepth bounds the nesting of a request body. The deepest input the schema
// takes (a filter's and/or/not, 8 levels) nests about 20 levels; decoding variables
// and reading them as arguments costs more than linear time in their depth.
const maxJSONDepth = 64

// jsonDepth returns how deep the arrays and objects of valid JSON nest.
func jsonDepth(body []byte) int {
	depth, deepest := 0, 0
	inString, escaped := false, false
	for _, c := range body {
		switch {
		case escaped:
			escaped = false
		case inString:
			escaped = c == '\\'
			inString = c != '"'
		case c == '"':
			inString = true
		case c == '{' || c == '[':
			depth++
			deepest = max(deepest, depth)
		case c == '}' || c == ']':
			depth--
		}
	}
	return deepest
}

// withTimeout ends a request's context after d, which cancels its SQL. A stream (a
// WebSocket, an SSE request) lasts as long as its client wants: its queries and
// mutations get d each (prepareOperations), its subscriptions none.
func withTimeout(d time.Duration, next http.Handler) http.Handler {
	if d <= 0 {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if streaming(r) {
			next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), operationTimeoutKey{}, d)))
			return
		}
		ctx, cancel := context.WithTimeout(r.Context(), d)
		defer cancel()
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

// Introspection bounds that hold whatever the limits are. graphql-js's
// getIntrospectionQuery asks for ofType 9 levels deep, and every client asks for the
// schema once per operation; gqlparser's MaxIntrospectionDepth rule bounds the
// nesting of fields, interfaces, possibleTypes and inputFields.
const (
	maxOfTypeDepth = 12
	maxSchemaDumps = 1
)

// shape is what the limits measure of a selection set: how deep its fields nest
// (ofType, a type reference's chain, is bounded on its own and does not count), how
// many fields it selects with every fragment spread expanded, how deep ofType
// nests, and how many times it asks for the whole schema.
type shape struct{ depth, fields, ofType, schemas int }

// add combines the shapes of two selections of one set.
func (s shape) add(o shape) shape {
	return shape{depth: max(s.depth, o.depth), fields: satAdd(s.fields, o.fields),
		ofType: max(s.ofType, o.ofType), schemas: satAdd(s.schemas, o.schemas)}
}

// satAdd and satMul add and multiply counts without overflowing (both are at most
// math.MaxInt32): a fragment fan-out counts 2^n fields, nested lists multiply.
func satAdd(a, b int) int { return min(a+b, math.MaxInt32) }

func satMul(a, b int) int { return min(a*b, math.MaxInt32) }

// measurer measures the operations of one document. Each fragment is measured once
// and its shape reused at every spread, so the work is linear in the document's
// size even when fragments spread one another exponentially often; and it stops as
// soon as a limit is passed.
type measurer struct {
	limits    Limits
	fragments map[string]*ast.FragmentDefinition
	memo      map[string]shape
	active    map[string]bool // fragments being measured: a spread of one is a cycle
}

// checkShape refuses a document any of whose operations or fragments passes a
// limit, or whose operations together select more than the field limit: only one
// of them runs, but validation walks every one, with the fragments it spreads.
func (l Limits) checkShape(doc *ast.QueryDocument) *gqlerror.Error {
	m := measurer{limits: l, fragments: map[string]*ast.FragmentDefinition{}, memo: map[string]shape{}, active: map[string]bool{}}
	for _, f := range doc.Fragments {
		if _, dup := m.fragments[f.Name]; !dup { // validation reports duplicates
			m.fragments[f.Name] = f
		}
	}
	// Fragments no operation spreads are validated too, each with what it spreads.
	for _, f := range doc.Fragments {
		if _, err := m.fragment(f.Name); err != nil {
			return err
		}
	}
	total := 0
	for _, op := range doc.Operations {
		for _, v := range op.VariableDefinitions {
			if err := checkValueDepth(v.DefaultValue); err != nil {
				return err
			}
		}
		s, err := m.selectionSet(op.SelectionSet)
		if err != nil {
			return err
		}
		if total = satAdd(total, s.fields); total > l.maxFields() {
			return limitError("FIELD_LIMIT_EXCEEDED", "the document's operations together select more than the limit of %d fields", l.maxFields())
		}
	}
	return nil
}

// maxValueDepth bounds how deep the list and object values of a document nest, as
// maxJSONDepth bounds variables: reading a value as an argument costs gqlgen time
// quadratic in its depth.
const maxValueDepth = maxJSONDepth

// checkValueDepth refuses a value (nil: none) nested deeper than maxValueDepth.
func checkValueDepth(v *ast.Value) *gqlerror.Error {
	if valueDepth(v) > maxValueDepth {
		return limitError("DEPTH_LIMIT_EXCEEDED", "a value nests lists and objects more than the limit of %d levels deep", maxValueDepth)
	}
	return nil
}

func valueDepth(v *ast.Value) int {
	if v == nil || v.Kind != ast.ListValue && v.Kind != ast.ObjectValue {
		return 0
	}
	deepest := 0
	for _, c := range v.Children {
		deepest = max(deepest, valueDepth(c.Value))
	}
	return 1 + deepest
}

// checkArguments applies checkValueDepth to the arguments of a field and of its
// directives.
func checkArguments(f *ast.Field) *gqlerror.Error {
	args := slices.Clone(f.Arguments)
	for _, d := range f.Directives {
		args = append(args, d.Arguments...)
	}
	for _, a := range args {
		if err := checkValueDepth(a.Value); err != nil {
			return err
		}
	}
	return nil
}

func (m *measurer) selectionSet(set ast.SelectionSet) (shape, *gqlerror.Error) {
	var s shape
	for _, sel := range set {
		var c shape
		var err *gqlerror.Error
		switch sel := sel.(type) {
		case *ast.Field:
			if err := checkArguments(sel); err != nil {
				return s, err
			}
			c, err = m.selectionSet(sel.SelectionSet)
			c.fields = satAdd(c.fields, 1)
			switch sel.Name {
			case "ofType":
				c.ofType++
			case "__schema":
				c.schemas++
				c.depth++
			default:
				c.depth++
			}
		case *ast.InlineFragment:
			c, err = m.selectionSet(sel.SelectionSet)
		case *ast.FragmentSpread:
			c, err = m.fragment(sel.Name)
			c.fields = satAdd(c.fields, 1)
		}
		if err != nil {
			return s, err
		}
		s = s.add(c)
		if err := m.limits.check(s); err != nil {
			return s, err
		}
	}
	return s, nil
}

// fragment returns the shape of the fragment name, measured at its first spread.
// A fragment that spreads itself, directly or not, counts nothing the second time:
// validation refuses the cycle.
func (m *measurer) fragment(name string) (shape, *gqlerror.Error) {
	if s, ok := m.memo[name]; ok {
		return s, nil
	}
	def := m.fragments[name]
	if def == nil || m.active[name] {
		return shape{}, nil
	}
	m.active[name] = true
	s, err := m.selectionSet(def.SelectionSet)
	delete(m.active, name)
	m.memo[name] = s
	return s, err
}

// maxFields is MaxFields, or its default when it is 0.
func (l Limits) maxFields() int {
	if l.MaxFields > 0 {
		return l.MaxFields
	}
	return DefaultLimits.MaxFields
}

// check refuses s when it passes a limit. Every measure only grows as selections
// combine, so a part over a limit means that the whole is over it too.
func (l Limits) check(s shape) *gqlerror.Error {
	switch {
	case l.MaxDepth > 0 && s.depth > l.MaxDepth:
		return limitError("DEPTH_LIMIT_EXCEEDED", "the operation nests more than the limit of %d levels deep", l.MaxDepth)
	case s.fields > l.maxFields():
		return limitError("FIELD_LIMIT_EXCEEDED", "the operation selects more than the limit of %d fields (a fragment spread counts as one)", l.maxFields())
	case s.ofType > maxOfTypeDepth:
		return limitError("INTROSPECTION_LIMIT_EXCEEDED", "the operation nests ofType more than the limit of %d levels deep", maxOfTypeDepth)
	case s.schemas > maxSchemaDumps:
		return limitError("INTROSPECTION_LIMIT_EXCEEDED", "the operation asks for __schema more than the limit of %d time", maxSchemaDumps)
	}
	return nil
}

func limitError(code, format string, args ...any) *gqlerror.Error {
	err := gqlerror.Errorf(format, args...)
	errcode.Set(err, code)
	return err
}

// changesPerEvent is what an audit event's list of changes counts as, in rows.
const changesPerEvent = 10

// eventsPerSubscription is how many events a subscription's selection is counted
// for: its cost is charged when it starts, and it runs that selection per event.
const eventsPerSubscription = 10

// pricingArguments are the arguments that complexity's functions read: a variable
// in any other argument cannot change an operation's price, which its cached
// document then keeps (fixedComplexities). A function that reads another must
// add it here.
var pricingArguments = []string{"first", "last"}

// complexity sets the cost of lists: their children count once per row.
func complexity(c *generated.ComplexityRoot) {
	// A page never holds more than MaxPageSize rows (a larger first or last is
	// refused when the field resolves); clamped, nested lists cannot overflow.
	rows := func(first, last *int32) int {
		switch {
		case first != nil:
			return min(max(int(*first), 1), models.MaxPageSize)
		case last != nil:
			return min(max(int(*last), 1), models.MaxPageSize)
		default:
			return models.DefaultPageSize
		}
	}
	c.Query.Customers = func(child int, _ *models.CustomerFilter, _ []models.CustomerOrder, first *int32, _ *string, last *int32, _ *string, _ *int32) int {
		return satAdd(1, satMul(rows(first, last), child))
	}
	c.Query.Users = func(child int, _ *models.UserFilter, _ []models.UserOrder, first *int32, _ *string, last *int32, _ *string, _ *int32) int {
		return satAdd(1, satMul(rows(first, last), child))
	}
	c.Query.APITokens = func(child int, first *int32, _ *string, last *int32, _ *string) int {
		return satAdd(1, satMul(rows(first, last), child))
	}
	c.Customer.Users = func(child int, _ *models.UserFilter, _ []models.UserOrder, first *int32, _ *string, last *int32, _ *string) int {
		return satAdd(1, satMul(rows(first, last), child))
	}
	c.Customer.Invoices = func(child int, _ *models.InvoiceFilter, _ []models.InvoiceOrder, first *int32, _ *string, last *int32, _ *string) int {
		return satAdd(1, satMul(rows(first, last), child))
	}
	c.Customer.AuditEvents = func(child int, first *int32, _ *string, last *int32, _ *string) int {
		return satAdd(1, satMul(rows(first, last), child))
	}
	c.Query.AuditEvents = func(child int, _ models.ObjectID, first *int32, _ *string, last *int32, _ *string) int {
		return satAdd(1, satMul(rows(first, last), child))
	}
	// An event lists the fields its mutation changed: a few for a patch, every
	// column for a create or a delete; priced as a typical event.
	c.AuditEvent.Changes = func(child int) int { return satAdd(1, satMul(changesPerEvent, child)) }
	// A subscription is charged once, when it starts, for the events it will send.
	c.Subscription.CustomerChanged = func(child int, _ models.ObjectID) int {
		return satAdd(1, satMul(eventsPerSubscription, child))
	}
	c.Subscription.CustomerEvents = func(child int, _ *models.ObjectID) int {
		return satAdd(1, satMul(eventsPerSubscription, child))
	}
}
