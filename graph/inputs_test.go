package graph_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/cloudcomms/customers/graph"
)

// TestNULCharacter: PostgreSQL cannot store U+0000 in text, so a string holding it,
// in a literal or a variable, at the top of an input or deep in a filter, is the
// client's input error naming the field, and nothing is written.
func TestNULCharacter(t *testing.T) {
	t.Parallel()
	a := MustAPI(t)
	c := a.mustCreate(map[string]any{"name": "Before NUL"})
	before := a.count()
	tests := []struct {
		name, doc string
		vars      map[string]any
		want      string
	}{
		{"CreateLiteral", `mutation { customerCreate(input: {name: "A\u0000B"}) { id } }`, nil, "BAD_USER_INPUT input.name"},
		{"CreateVariable", createDoc, map[string]any{"input": map[string]any{"name": "A\x00B"}}, "BAD_USER_INPUT input.name"},
		{"PatchVariable", `mutation($id: ObjectID!, $p: CustomerPatch!) { customerPatch(id: $id, patch: $p) { id } }`,
			map[string]any{"id": c["id"], "p": map[string]any{"websiteUrl": "https://x.example/\x00"}}, "BAD_USER_INPUT patch.websiteUrl"},
		{"FilterSearch", `query($s: String) { customers(filter: {search: $s}) { totalCount } }`, map[string]any{"s": "\x00"}, "BAD_USER_INPUT filter.search"},
		{"NestedFilter", `{ customers(filter: {or: [{name: {contains: "x"}}, {name: {eq: "\u0000"}}]}) { totalCount } }`, nil,
			"BAD_USER_INPUT filter.or[1].name.eq"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := a.do(tt.doc, tt.vars)
			if d := cmp.Diff([]string{tt.want}, r.codes()); d != "" {
				t.Errorf("errors (-want +got):\n%s\n%+v", d, r.Errors)
			}
		})
	}
	if a.count() != before {
		t.Error("a refused request wrote a customer")
	}
	var got struct{ Customer customer }
	a.mustData(`query($id: ObjectID!) { customer(id: $id) { websiteUrl version } }`, map[string]any{"id": c["id"]}, &got)
	if got.Customer["websiteUrl"] != nil || got.Customer["version"] != 1.0 {
		t.Errorf("the customer changed: %v", got.Customer)
	}
}

// TestBodiesThatAreNoJSONObject: a body that is not one JSON object of UTF-8 text is
// answered 400 with a message of the server's own, never with the body repeated.
func TestBodiesThatAreNoJSONObject(t *testing.T) {
	t.Parallel()
	a := MustAPI(t)
	secret := "SECRET-IN-THE-BODY"
	tests := []struct{ name, body, msg string }{
		{"Batch", `[{"query":"{ __typename }","variables":{"x":"` + secret + `"}}]`, "batched requests"},
		{"Malformed", `{"query":"{ __typename }", "` + secret, "one JSON object"},
		{"Scalar", `"` + secret + `"`, "one JSON object"},
		{"Empty", ``, "one JSON object"},
		{"InvalidUTF8", "{\"query\":\"{ __typename }\",\"variables\":{\"x\":\"" + secret + "\xff\xfe\"}}", "not valid UTF-8"},
		{"TooDeep", `{"query":"{ __typename }","variables":{"x":` + strings.Repeat("[", 65) + strings.Repeat("]", 65) + `}}`, "nests JSON"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := a.post(tt.body, nil)
			if r.Status != 400 || len(r.Errors) != 1 || !strings.Contains(r.Errors[0].Message, tt.msg) ||
				r.Errors[0].Extensions["code"] != "BAD_USER_INPUT" {
				t.Errorf("answer: %d %+v, want 400 BAD_USER_INPUT %q", r.Status, r.Errors, tt.msg)
			}
			if len(r.Errors) > 0 && strings.Contains(r.Errors[0].Message, secret) {
				t.Errorf("the message repeats the body: %q", r.Errors[0].Message)
			}
		})
	}
}

// TestValidationStopsAt100Errors: a document that breaks a rule thousands of times
// (every pair of 1,300 fields sharing an alias conflicts) gets 100 errors and a last
// one saying validation stopped, even with the field limit raised past them.
func TestValidationStopsAt100Errors(t *testing.T) {
	t.Parallel()
	a := MustAPI(t, func(c *graph.Config) { c.Limits = graph.Limits{MaxTokens: 15000, MaxFields: 5000} })
	var doc strings.Builder
	doc.WriteString("{ ")
	for i := range 1300 {
		fmt.Fprintf(&doc, `a: customer(id: "%024x") { id } `, i)
	}
	doc.WriteString("}")
	r := a.as("", doc.String(), nil)
	if r.Status != 422 || len(r.Errors) != 101 {
		t.Fatalf("answer: %d with %d errors, want 422 with 101", r.Status, len(r.Errors))
	}
	if last := r.Errors[100].Message; last != "too many validation errors: stopped after 100" {
		t.Errorf("last error: %q", last)
	}
}

// TestIntrospectionBounds: the introspection documents of real clients pass, while
// nesting ofType past them, asking for the schema twice, or nesting its lists is
// refused (the lists by gqlparser's rule, as graphql-js's MaxIntrospectionDepthRule).
func TestIntrospectionBounds(t *testing.T) {
	t.Parallel()
	a := MustAPI(t, func(c *graph.Config) { c.Limits = graph.DefaultLimits })
	files, _ := filepath.Glob(filepath.Join("testdata", "introspection", "*.graphql"))
	if len(files) == 0 {
		t.Fatal("no introspection documents in testdata/introspection")
	}
	for _, f := range files {
		doc, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		r := a.as("", string(doc), nil)
		if r.Errors != nil || !strings.Contains(string(r.Data), `"name":"Customer"`) {
			t.Errorf("%s: %v %.200s", filepath.Base(f), r.codes(), r.Data)
		}
	}
	ofType := func(n int) string {
		return `{ __type(name: "Customer") { ` + strings.Repeat("ofType { ", n) + "name" + strings.Repeat(" }", n) + " } }"
	}
	tests := []struct {
		name, doc string
		want      []string
	}{
		{"OfType12", ofType(12), nil},
		{"OfType13", ofType(13), []string{"INTROSPECTION_LIMIT_EXCEEDED"}},
		{"OfTypeThroughFragments", `{ __type(name: "Customer") { ...A } } fragment A on __Type { ofType { ...B } }
			fragment B on __Type { ofType { ofType { ofType { ofType { ofType { ofType { ...C } } } } } } }
			fragment C on __Type { ofType { ofType { ofType { ofType { ofType { ofType { name } } } } } } }`,
			[]string{"INTROSPECTION_LIMIT_EXCEEDED"}},
		{"SchemaTwice", `{ a: __schema { queryType { name } } b: __schema { queryType { name } } }`, []string{"INTROSPECTION_LIMIT_EXCEEDED"}},
		{"ListsNested", `{ __schema { types { fields { type { fields { type { fields { name } } } } } } } }`, []string{"GRAPHQL_VALIDATION_FAILED"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if d := cmp.Diff(tt.want, a.as("", tt.doc, nil).codes()); d != "" {
				t.Errorf("errors (-want +got):\n%s", d)
			}
		})
	}
}
