package graph_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/cloudcomms/customers/graph"
)

// hostile is one document of the adversarial corpus: a request body built to make
// the server spend CPU or memory, and what the server must answer it with.
type hostile struct {
	name string
	body func() []byte
	// status is the HTTP status of the answer; code, when set, is the
	// extensions.code of its first error.
	status int
	code   string
}

// maxBody is the largest body the default limits accept; the corpus fills it.
var maxBody = int(graph.DefaultLimits.MaxBodyBytes)

// query is the body of a POST carrying doc and, when not nil, variables.
func query(doc string, variables any) []byte {
	b, _ := json.Marshal(map[string]any{"query": doc, "variables": variables})
	return b
}

// repeat writes item(i) for i = 0, 1, … as long as the document stays under limit
// bytes, between prefix and suffix.
func repeat(prefix string, item func(i int) string, suffix string, limit int) string {
	var b strings.Builder
	b.WriteString(prefix)
	for i := 0; ; i++ {
		s := item(i)
		if b.Len()+len(s)+len(suffix) > limit {
			break
		}
		b.WriteString(s)
	}
	b.WriteString(suffix)
	return b.String()
}

// fanOut is n fragments on Query, each spreading the next one twice: 2^n fields
// when expanded naively.
func fanOut(n int) string {
	var b strings.Builder
	b.WriteString("query { ...F0 }")
	for i := range n {
		fmt.Fprintf(&b, " fragment F%d on Query { ...F%d ...F%d }", i, i+1, i+1)
	}
	fmt.Fprintf(&b, " fragment F%d on Query { __typename }", n)
	return b.String()
}

// nested wraps inner in n levels of open … close.
func nested(open, inner, close string, n int) string {
	return strings.Repeat(open, n) + inner + strings.Repeat(close, n)
}

// hostileCorpus is every document the server must refuse or answer cheaply. The
// documents reach up to the default body limit; each one is sent anonymously,
// as an attacker needs no token.
func hostileCorpus() []hostile {
	docBytes := maxBody - 100 // room for the JSON around the document
	return []hostile{
		{"FragmentFanOut25", func() []byte { return query(fanOut(25), nil) }, 200, "FIELD_LIMIT_EXCEEDED"},
		{"FragmentFanOut30", func() []byte { return query(fanOut(30), nil) }, 200, "FIELD_LIMIT_EXCEEDED"},
		{"FragmentFanOutLong", func() []byte { return query(fanOut(1400), nil) }, 200, "FIELD_LIMIT_EXCEEDED"},
		{"FragmentFanOutThroughFields", func() []byte {
			var b strings.Builder
			b.WriteString("query { customers { nodes { adminUser { ...F0 } } } }")
			for i := range 40 {
				fmt.Fprintf(&b, " fragment F%d on User { customer { adminUser { ...F%d } billingUser { ...F%d } } }", i, i+1, i+1)
			}
			b.WriteString(" fragment F40 on User { id }")
			return query(b.String(), nil)
		}, 200, "DEPTH_LIMIT_EXCEEDED"},
		{"FragmentChain", func() []byte {
			var b strings.Builder
			b.WriteString("query { ...F0 }")
			for i := range 1800 {
				fmt.Fprintf(&b, " fragment F%d on Query { ...F%d }", i, i+1)
			}
			b.WriteString(" fragment F1800 on Query { __typename }")
			return query(b.String(), nil)
		}, 200, "FIELD_LIMIT_EXCEEDED"},
		{"FragmentChainUnused", func() []byte {
			var b strings.Builder
			b.WriteString("query { __typename }")
			for i := range 1800 {
				fmt.Fprintf(&b, " fragment F%d on Query { ...F%d }", i, i+1)
			}
			b.WriteString(" fragment F1800 on Query { __typename }")
			return query(b.String(), nil)
		}, 200, "FIELD_LIMIT_EXCEEDED"},
		{"FragmentChainUnderFieldLimit", func() []byte {
			var b strings.Builder
			b.WriteString("query { ...F0 }")
			for i := range 480 {
				fmt.Fprintf(&b, " fragment F%d on Query { ...F%d }", i, i+1)
			}
			b.WriteString(" fragment F480 on Query { __typename }")
			return query(b.String(), nil)
		}, 200, ""},
		{"FragmentCycle", func() []byte {
			return query("query { ...A } fragment A on Query { ...B ...B } fragment B on Query { ...A ...A }", nil)
		}, 422, "GRAPHQL_VALIDATION_FAILED"},
		{"SameAliasDifferentArguments", func() []byte {
			return query(repeat("{ ", func(i int) string { return fmt.Sprintf(`a: customer(id: "%024x") { id } `, i) }, "}", 69_000), nil)
		}, 200, "FIELD_LIMIT_EXCEEDED"},
		{"SameAliasAtFieldLimit", func() []byte {
			return query("{ "+strings.Repeat(`a: customer(id: "000000000000000000000000") { id } `, 250)+"}", nil)
		}, 200, "UNAUTHENTICATED"},
		{"SameAliasDifferentArgumentsAtFieldLimit", func() []byte {
			return query(repeat("{ ", func(i int) string { return fmt.Sprintf(`a: customer(id: "%024x") { id } `, i) }, "}", 250*40), nil)
		}, 422, "GRAPHQL_VALIDATION_FAILED"},
		{"SameNameDifferentArguments5000", func() []byte {
			var b strings.Builder
			b.WriteString("{ ")
			for i := range 5000 {
				fmt.Fprintf(&b, "__typename(a: %d) ", i)
			}
			return query(b.String()+"}", nil)
		}, 422, "GRAPHQL_PARSE_FAILED"},
		{"SameNameDifferentArgumentsUnderTokenLimit", func() []byte {
			var b strings.Builder
			b.WriteString("{ ")
			for i := range 2400 {
				fmt.Fprintf(&b, "__typename(a: %d) ", i)
			}
			return query(b.String()+"}", nil)
		}, 200, "FIELD_LIMIT_EXCEEDED"},
		{"OverlappingNestedFields", func() []byte {
			return query(repeat("{ ", func(i int) string {
				return fmt.Sprintf("customers(first: %d) { nodes { a: id } } ", i%2)
			}, "}", 20_000), nil)
		}, 200, "FIELD_LIMIT_EXCEEDED"},
		{"Directives10000", func() []byte {
			return query("{ __typename"+strings.Repeat(" @a", 10000)+" }", nil)
		}, 422, "GRAPHQL_PARSE_FAILED"},
		{"DirectivesUnderTokenLimit", func() []byte {
			return query("{ __typename"+strings.Repeat(" @skip(if: false)", 2000)+" }", nil)
		}, 422, "GRAPHQL_VALIDATION_FAILED"},
		{"UnknownDirectives", func() []byte {
			return query("{ __typename"+strings.Repeat(" @a", 7400)+" }", nil)
		}, 422, "GRAPHQL_VALIDATION_FAILED"},
		{"NestedListLiteral", func() []byte {
			return query(`{ customer(id: `+nested("[", `"x"`, "]", docBytes/2-40)+`) { id } }`, nil)
		}, 422, "GRAPHQL_PARSE_FAILED"},
		{"NestedListLiteralUnderNestingLimit", func() []byte {
			return query(`{ customer(id: `+nested("[", `"x"`, "]", 990)+`) { id } }`, nil)
		}, 200, "DEPTH_LIMIT_EXCEEDED"},
		{"NestedObjectLiteral", func() []byte {
			return query(`{ customers(filter: `+nested("{and: [", "{}", "]}", 495)+`) { totalCount } }`, nil)
		}, 200, "DEPTH_LIMIT_EXCEEDED"},
		{"NestedObjectLiteralUnderValueLimit", func() []byte {
			return query(`{ customers(filter: `+nested("{and: [", "{}", "]}", 30)+`) { totalCount } }`, nil)
		}, 200, "BAD_USER_INPUT"},
		{"NestedVariablesJSON", func() []byte {
			return query(`query($f: CustomerFilter) { customers(filter: $f) { totalCount } }`,
				json.RawMessage(`{"f":`+nested(`{"and":[`, "{}", "]}", 4900)+`}`))
		}, 400, "BAD_USER_INPUT"},
		{"NestedVariablesJSONUnderNestingLimit", func() []byte {
			return query(`query($f: CustomerFilter) { customers(filter: $f) { totalCount } }`,
				json.RawMessage(`{"f":`+nested(`{"and":[`, "{}", "]}", 30)+`}`))
		}, 200, "BAD_USER_INPUT"},
		{"NestedVariablesJSONPastDecoder", func() []byte {
			// Written by hand: encoding/json refuses to write what nests this deep.
			return []byte(`{"query":"query($f: CustomerFilter) { customers(filter: $f) { totalCount } }","variables":{"f":` +
				nested(`{"and":[`, "{}", "]}", (docBytes-100)/10) + `}}`)
		}, 400, "BAD_USER_INPUT"},
		{"HugeString", func() []byte {
			return query(`{ customer(id: "`+strings.Repeat("a", docBytes-40)+`") { id } }`, nil)
		}, 200, "BAD_USER_INPUT"},
		{"HugeStringVariable", func() []byte {
			return query(`query($id: ObjectID!) { customer(id: $id) { id } }`, map[string]any{"id": strings.Repeat("a", docBytes-80)})
		}, 200, "BAD_USER_INPUT"},
		{"HugeBlockString", func() []byte {
			return query(`{ customer(id: """`+strings.Repeat(`\"""`, (docBytes-40)/9)+`""") { id } }`, nil)
		}, 200, "BAD_USER_INPUT"},
		{"Tokens100000", func() []byte {
			return query("{ "+strings.Repeat("a ", 100000)+"}", nil)
		}, 422, "GRAPHQL_PARSE_FAILED"},
		{"ManyOperations", func() []byte {
			return query(repeat("", func(i int) string { return fmt.Sprintf("query Q%d { __typename } ", i) }, "", 40_000), nil)
		}, 200, "FIELD_LIMIT_EXCEEDED"},
		{"ManyOperationsUnderFieldLimit", func() []byte {
			return query(repeat("", func(i int) string { return fmt.Sprintf("query Q%d { __typename } ", i) }, "", 10_000), nil)
		}, 422, "GRAPHQL_VALIDATION_FAILED"},
		{"ManyOperationsSharingFragments", func() []byte {
			var b strings.Builder
			for i := range 1200 {
				fmt.Fprintf(&b, "query Q%d { ...F } ", i)
			}
			b.WriteString("fragment F on Query { " + strings.Repeat("__typename ", 400) + "}")
			return query(b.String(), nil)
		}, 200, "FIELD_LIMIT_EXCEEDED"},
		{"ManyFragmentsSpreadTogether", func() []byte {
			var b strings.Builder
			b.WriteString("{")
			for i := range 240 {
				fmt.Fprintf(&b, " ...F%d", i)
			}
			b.WriteString(" }")
			for i := range 240 {
				fmt.Fprintf(&b, " fragment F%d on Query { a: __typename }", i)
			}
			return query(b.String(), nil)
		}, 200, ""},
		{"ManyVariables", func() []byte {
			return query(repeat("query(", func(i int) string { return fmt.Sprintf("$v%d: Int ", i) }, ") { __typename }", 40_000), nil)
		}, 422, "GRAPHQL_VALIDATION_FAILED"},
		{"ManyArguments", func() []byte {
			return query(repeat("{ __typename(", func(i int) string { return fmt.Sprintf("a%d: 1 ", i) }, ") }", 40_000), nil)
		}, 422, "GRAPHQL_VALIDATION_FAILED"},
		{"DeepSelection", func() []byte {
			return query(nested("{ a ", "", "}", 990), nil)
		}, 200, "DEPTH_LIMIT_EXCEEDED"},
		{"OfTypeChain200", func() []byte {
			return query(`{ __type(name: "Customer") { `+nested("ofType { ", "name ", "} ", 200)+`} }`, nil)
		}, 200, "INTROSPECTION_LIMIT_EXCEEDED"},
		{"IntrospectionFieldsNesting", func() []byte {
			return query(`{ __schema { types { `+nested("fields { type { ", "name ", "} } ", 50)+`} } }`, nil)
		}, 200, "DEPTH_LIMIT_EXCEEDED"},
		{"IntrospectionListsNesting", func() []byte {
			return query(`{ __schema { types { `+nested("fields { type { ", "name ", "} } ", 3)+`} } }`, nil)
		}, 422, "GRAPHQL_VALIDATION_FAILED"},
		{"SchemaAliases", func() []byte {
			return query(repeat("{ ", func(i int) string { return fmt.Sprintf("s%d: __schema { types { fields { args { name } } } } ", i) }, "}", 5000), nil)
		}, 200, "INTROSPECTION_LIMIT_EXCEEDED"},
		{"BatchArray", func() []byte {
			return []byte("[" + strings.Repeat(`{"query":"{ __typename }"},`, (docBytes-2)/27) + `{"query":"{ __typename }"}]`)
		}, 400, "BAD_USER_INPUT"},
	}
}

// sendHostile posts body anonymously to the handler and returns the status and
// the code of the first error.
func sendHostile(h http.Handler, body []byte) (status int, code string, size int) {
	req := httptest.NewRequest(http.MethodPost, "/query", strings.NewReader(string(body)))
	req.Header.Set("Content-Type", "application/json")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	raw, _ := io.ReadAll(rec.Body)
	var res struct {
		Errors []gqlError `json:"errors"`
	}
	_ = json.Unmarshal(raw, &res)
	if len(res.Errors) > 0 {
		code, _ = res.Errors[0].Extensions["code"].(string)
	}
	return rec.Code, code, len(raw)
}

// TestHostileCorpus sends every document of the corpus and checks that each is
// answered as it should be within 2 s, with a small answer: an exponential or
// quadratic regression fails here, while the cost figures live in the benchmark.
// Not parallel: it runs before the package's parallel tests, so that their load does
// not count against its clock.
func TestHostileCorpus(t *testing.T) {
	a := MustAPI(t, func(c *graph.Config) { c.Limits = graph.DefaultLimits })
	h := a.srv.Config.Handler
	for _, tc := range hostileCorpus() {
		t.Run(tc.name, func(t *testing.T) {
			body := tc.body()
			if len(body) > maxBody {
				t.Fatalf("the corpus document is %d bytes, over the body limit", len(body))
			}
			start := time.Now()
			status, code, size := sendHostile(h, body)
			took := time.Since(start)
			if took > 2*time.Second {
				t.Errorf("answered in %v, more than 2 s", took)
			}
			if status != tc.status || code != tc.code {
				t.Errorf("answer: %d %s, want %d %s", status, code, tc.status, tc.code)
			}
			if size > 64<<10 {
				t.Errorf("answer of %d bytes, want at most 64 KiB", size)
			}
		})
	}
}

// BenchmarkHostileCorpus reports what each corpus document costs the server: the
// time and memory of answering it (ns/op is CPU time on one core, as the handler
// runs the request on one goroutine), and the document's size.
func BenchmarkHostileCorpus(b *testing.B) {
	a := MustAPI(b, func(c *graph.Config) { c.Limits = graph.DefaultLimits })
	h := a.srv.Config.Handler
	for _, tc := range hostileCorpus() {
		body := tc.body()
		b.Run(tc.name, func(b *testing.B) {
			b.ReportAllocs()
			for range b.N {
				if status, code, _ := sendHostile(h, body); status != tc.status || code != tc.code {
					b.Fatalf("answer: %d %s, want %d %s", status, code, tc.status, tc.code)
				}
			}
			b.ReportMetric(float64(len(body)), "bytes/doc")
		})
	}
}

// TestFanOutWithLimitsOff: with every configurable limit off, the field limit still
// holds at its default, since without it validation and the complexity walk expand
// a fan-out exponentially often.
func TestFanOutWithLimitsOff(t *testing.T) {
	a := MustAPI(t, func(c *graph.Config) { c.Limits = graph.Limits{} })
	for _, name := range []string{"FragmentFanOut30", "FragmentFanOutThroughFields"} {
		for _, tc := range hostileCorpus() {
			if tc.name != name {
				continue
			}
			start := time.Now()
			status, code, _ := sendHostile(a.srv.Config.Handler, tc.body())
			if took := time.Since(start); took > 2*time.Second || code != "FIELD_LIMIT_EXCEEDED" {
				t.Errorf("%s: %d %s in %v, want FIELD_LIMIT_EXCEEDED within 2 s", name, status, code, took)
			}
		}
	}
}
