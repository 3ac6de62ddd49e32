package graph_test

import (
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cloudcomms/customers/graph"
)

func TestGraphQLOverHTTPRules(t *testing.T) {
	t.Parallel()
	a := MustAPI(t)
	get := func(q string) *http.Response {
		req, _ := http.NewRequest(http.MethodGet, a.srv.URL+"/query?query="+url.QueryEscape(q), nil)
		req.Header.Set("Authorization", a.bearer(a.staff))
		res, err := a.srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res
	}
	if res := get(`{ viewer { email } }`); res.StatusCode != 200 {
		t.Errorf("query over GET: %d", res.StatusCode)
	}
	before := a.count()
	if res := get(`mutation { customerCreate(input: {name: "Via GET"}) { id } }`); res.StatusCode != 405 || res.Header.Get("Allow") != "POST" {
		t.Errorf("mutation over GET: %d, Allow %q", res.StatusCode, res.Header.Get("Allow"))
	}
	if a.count() != before {
		t.Error("a mutation over GET wrote")
	}
	res, err := a.srv.Client().Post(a.srv.URL+"/query", "text/plain", strings.NewReader(`{"query":"{ __typename }"}`))
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 415 {
		t.Errorf("text/plain POST: %d, want 415", res.StatusCode)
	}
	r := a.post(`{"query":"query A { __typename } query B { __typename }","operationName":"C"}`, nil)
	if r.Status != 422 || len(r.Errors) != 1 || !strings.Contains(r.Errors[0].Message, "operation C not found") {
		t.Errorf("unknown operationName: %d %+v", r.Status, r.Errors)
	}
	if r := a.post(`{"query": `, nil); r.Status != 400 {
		t.Errorf("invalid JSON: %d", r.Status)
	}
}

// TestGraphQLOverHTTPAudit runs the GraphQL over HTTP spec's own audit suite (the
// npm package graphql-http, installed by `make test` into scripts/http-audit)
// against the handler, with the default limits: every MUST passes.
func TestGraphQLOverHTTPAudit(t *testing.T) {
	t.Parallel()
	dir := filepath.Join("..", "scripts", "http-audit")
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "graphql-http")); err != nil {
		t.Fatalf("graphql-http is not installed: run `make test` (or npm ci --prefix scripts/http-audit): %v", err)
	}
	a := MustAPI(t, func(c *graph.Config) {
		c.Limits, c.CostLimit, c.AuthFailures = graph.DefaultLimits, graph.DefaultCostLimit, graph.DefaultAuthFailureLimit
	})
	out, err := exec.Command("node", filepath.Join(dir, "audit.mjs"), a.srv.URL+"/query").CombinedOutput()
	t.Logf("%s", out)
	if err != nil {
		t.Errorf("a MUST of the GraphQL over HTTP spec failed: %v", err)
	}
	if !strings.Contains(string(out), " 0 failed") {
		t.Error("the audit did not report its results")
	}
}

// TestAnswersAreNotSniffed: every answer of /query, POST or GET, success or
// refusal, tells browsers not to read it as anything but its JSON (POST answers'
// data is not HTML-escaped).
func TestAnswersAreNotSniffed(t *testing.T) {
	t.Parallel()
	a := MustAPI(t)
	for _, r := range []response{
		a.post(`{"query":"{ customers(first: 1) { nodes { name } } }"}`, nil),
		a.post(`{"query":"{ nope }"}`, nil),
		a.post(`not json`, nil),
	} {
		if got := r.Header.Get("X-Content-Type-Options"); got != "nosniff" {
			t.Errorf("status %d: X-Content-Type-Options = %q, want nosniff", r.Status, got)
		}
	}
	res, err := a.srv.Client().Get(a.srv.URL + "/query?query=%7B__typename%7D")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if got := res.Header.Get("X-Content-Type-Options"); got != "nosniff" {
		t.Errorf("GET: X-Content-Type-Options = %q, want nosniff", got)
	}
}

// TestAnswersCarryTheirLength: every answer, short or past net/http's 2 KiB
// buffer, ok or refused, comes with its Content-Length rather than in chunks, and
// with the media type the client accepts.
func TestAnswersCarryTheirLength(t *testing.T) {
	t.Parallel()
	a := MustAPI(t)
	a.seedLinked(60)
	for _, tc := range []struct {
		name, body, accept, contentType string
		status                          int
	}{
		{"Short", `{"query":"{ customers(first: 1) { nodes { name } } }"}`, "", "application/json", 200},
		{"Long", `{"query":"{ customers(first: 60) { nodes { id name adminUser { email } } } }"}`, "", "application/json", 200},
		{"Invalid", `{"query":"{ nope }"}`, "application/graphql-response+json", "application/graphql-response+json", 400},
		{"NotJSON", `{"query":`, "", "application/json", 400},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodPost, a.srv.URL+"/query", strings.NewReader(tc.body))
			req.Header.Set("Content-Type", "application/json; charset=utf-8")
			req.Header.Set("Authorization", a.bearer(a.staff))
			if tc.accept != "" {
				req.Header.Set("Accept", tc.accept)
			}
			res, err := a.srv.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer res.Body.Close()
			body, _ := io.ReadAll(res.Body)
			if res.StatusCode != tc.status || res.Header.Get("Content-Type") != tc.contentType {
				t.Errorf("status %d, Content-Type %q; want %d, %q: %s", res.StatusCode, res.Header.Get("Content-Type"), tc.status, tc.contentType, body)
			}
			if res.ContentLength != int64(len(body)) || len(res.TransferEncoding) > 0 {
				t.Errorf("Content-Length %d, Transfer-Encoding %v; want %d, none", res.ContentLength, res.TransferEncoding, len(body))
			}
			if tc.name == "Long" && len(body) <= 2048 {
				t.Errorf("the long answer has %d bytes, want more than 2 KiB", len(body))
			}
		})
	}
}
