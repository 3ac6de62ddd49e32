package graph_test

import (
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/cloudcomms/customers/graph"
)

// costOf returns extensions.cost of a response.
func costOf(t *testing.T, r response) map[string]any {
	t.Helper()
	c, ok := r.Extensions["cost"].(map[string]any)
	if !ok {
		t.Fatalf("no extensions.cost in %d %v", r.Status, r.Extensions)
	}
	return c
}

// TestCostLimit: each request is charged its complexity from its caller's bucket;
// every answer says what it cost and what is left; a request the bucket cannot pay
// is refused 429 with Retry-After before any resolver runs, and one that costs more
// than the whole bucket is refused outright. Other callers keep their own buckets.
func TestCostLimit(t *testing.T) {
	t.Parallel()
	a := MustAPI(t, func(c *graph.Config) { c.CostLimit = graph.CostLimit{Limit: 100, RestoreRate: 1} })
	a.seedLinked(1)
	r := a.do(`{ viewer { email } }`, nil)
	want := map[string]any{"requestedQueryCost": 2.0,
		"throttleStatus": map[string]any{"maximumAvailable": 100.0, "currentlyAvailable": 98.0, "restoreRate": 1.0}}
	if d := cmp.Diff(want, costOf(t, r)); r.Status != 200 || d != "" {
		t.Errorf("first request: %d, cost (-want +got):\n%s", r.Status, d)
	}
	page := `{ customers(first: 30) { nodes { id name } } }` // 1 + 30 × (1 + 2)
	if r := a.do(page, nil); r.Status != 200 || r.Errors != nil || costOf(t, r)["requestedQueryCost"] != 91.0 {
		t.Fatalf("a page within the bucket: %d %v %v", r.Status, r.codes(), r.Extensions)
	}
	r = a.do(page, nil)
	if r.Status != 429 || r.Header.Get("Retry-After") == "" || cmp.Diff([]string{"RATE_LIMITED"}, r.codes()) != "" || string(r.Data) != "null" {
		t.Errorf("a page the bucket cannot pay: %d Retry-After %q %v %s", r.Status, r.Header.Get("Retry-After"), r.codes(), r.Data)
	}
	if n := a.statements.Load(); n != authStatements {
		t.Errorf("the refused request sent %d statements beyond authentication", n-authStatements)
	}
	if left := costOf(t, r)["throttleStatus"].(map[string]any)["currentlyAvailable"].(float64); left < 7 || left > 9 {
		t.Errorf("the refusal charged the bucket: %v left", left)
	}
	if r := a.do(`{ customers(first: 40) { nodes { id name } } }`, nil); cmp.Diff([]string{"COST_LIMIT_EXCEEDED"}, r.codes()) != "" {
		t.Errorf("a request larger than the bucket: %d %v", r.Status, r.codes())
	}
	if r := a.as(a.userID("admin.linked001@example.com"), page, nil); r.Status != 200 {
		t.Errorf("another user was limited too: %d %v", r.Status, r.codes())
	}
}

// TestCostLimitKeysAddresses: anonymous callers are charged by address, IPv6 ones
// by their /64, so that a client cannot get a fresh bucket per address it owns.
func TestCostLimitKeysAddresses(t *testing.T) {
	t.Parallel()
	a := MustAPI(t, func(c *graph.Config) {
		c.CostLimit = graph.CostLimit{Limit: 10, RestoreRate: 0.001}
		c.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")}
	})
	from := func(addr string) response {
		return a.post(`{"query":"{ a: __typename b: __typename c: __typename d: __typename e: __typename f: __typename }"}`,
			map[string]string{"Authorization": "", "X-Forwarded-For": addr})
	}
	for _, tc := range []struct {
		addr   string
		status int
	}{{"2001:db8:1:2::1", 200}, {"2001:db8:1:2:ffff::9", 429}, {"2001:db8:1:3::1", 200}, {"192.0.2.1", 200}, {"192.0.2.2", 200}} {
		if r := from(tc.addr); r.Status != tc.status {
			t.Errorf("from %s: %d, want %d", tc.addr, r.Status, tc.status)
		}
	}
}

// TestTokenCostLimit: platform staff give a service's API token a larger bucket,
// refilled in the same time; nobody else may, and the limit is checked.
func TestTokenCostLimit(t *testing.T) {
	t.Parallel()
	a := MustAPI(t, func(c *graph.Config) { c.CostLimit = graph.CostLimit{Limit: 100, RestoreRate: 10} })
	a.seedLinked(1)
	admin := a.userID("admin.linked001@example.com")
	r := a.as(admin, `mutation { apiTokenCreate(name: "bff", costLimit: 5000) { token { id } } }`, nil)
	if cmp.Diff([]string{"FORBIDDEN"}, r.codes()) != "" {
		t.Errorf("an admin sets its own token's costLimit: %v", r.codes())
	}
	var created struct {
		APITokenCreate struct {
			Token  struct{ ID string }
			Secret string
		}
	}
	r = a.as(admin, `mutation { apiTokenCreate(name: "bff") { token { id } secret } }`, nil)
	if err := jsonInto(r, &created); err != nil || r.Errors != nil {
		t.Fatalf("create: %v %v", err, r.codes())
	}
	if got := string(a.as(admin, `{ apiTokens { nodes { costLimit } } }`, nil).Data); !strings.Contains(got, `"costLimit":null`) {
		t.Errorf("a new token has a bucket of its own: %s", got)
	}
	set := `mutation($id: ObjectID!, $limit: Int) { apiTokenSetCostLimit(id: $id, costLimit: $limit) { costLimit } }`
	id := created.APITokenCreate.Token.ID
	for _, tc := range []struct {
		name, caller string
		vars         map[string]any
		want         []string
	}{
		{"ByTheOwner", admin, map[string]any{"id": id, "limit": 5000}, []string{"FORBIDDEN"}},
		{"Zero", a.staff, map[string]any{"id": id, "limit": 0}, []string{"BAD_USER_INPUT costLimit"}},
		{"OverTheMaximum", a.staff, map[string]any{"id": id, "limit": 100_000_001}, []string{"BAD_USER_INPUT costLimit"}},
		{"UnknownToken", a.staff, map[string]any{"id": "000000000000000000000000", "limit": 5000}, []string{"NOT_FOUND"}},
		{"ByStaff", a.staff, map[string]any{"id": id, "limit": 5000}, nil},
	} {
		if d := cmp.Diff(tc.want, a.as(tc.caller, set, tc.vars).codes()); d != "" {
			t.Errorf("%s (-want +got):\n%s", tc.name, d)
		}
	}
	r = a.post(`{"query":"{ customers(first: 100) { nodes { id name } } }"}`, map[string]string{"Authorization": "Bearer " + created.APITokenCreate.Secret})
	status := costOf(t, r)["throttleStatus"]
	want := map[string]any{"maximumAvailable": 5000.0, "currentlyAvailable": 4699.0, "restoreRate": 500.0}
	if d := cmp.Diff(want, status); r.Status != 200 || d != "" {
		t.Errorf("the token's bucket: %d %v (-want +got):\n%s", r.Status, r.codes(), d)
	}
	// The token is a caller of its own: its owner's JWT has the server's bucket.
	// A token without a bucket of its own spends its user's: a second token of the
	// owner, used after the owner's JWT spent points, sees what is left of them.
	second := a.apiToken(admin)
	a.as(admin, `{ customers(first: 30) { nodes { id name } } }`, nil) // 91 points of the owner's 100
	if r := a.post(`{"query":"{ viewer { email } }"}`, map[string]string{"Authorization": "Bearer " + second}); r.Status != 200 ||
		costOf(t, r)["throttleStatus"].(map[string]any)["maximumAvailable"] != 100.0 ||
		costOf(t, r)["throttleStatus"].(map[string]any)["currentlyAvailable"].(float64) > 90 { // a bucket of its own would have 98
		t.Errorf("a second token of the owner: %d %v, want the owner's bucket, spent", r.Status, r.Extensions)
	}
	if c := costOf(t, a.as(admin, `{ viewer { email } }`, nil)); fmt.Sprint(c["throttleStatus"].(map[string]any)["maximumAvailable"]) != "100" {
		t.Errorf("the owner's own bucket: %v", c)
	}
	if got := string(a.as(admin, `{ apiTokens { nodes { costLimit } } }`, nil).Data); !strings.Contains(got, `"costLimit":5000`) {
		t.Errorf("the owner's list of tokens: %s", got)
	}
}

// TestDefaultCostLimitFitsItsCallers: with the default bucket, a person in GraphiQL
// and a backend-for-frontend service at several hundred simple requests a second
// (or ten pages of 50 with their links) are never refused, while a script asking 100 pages of 100 customers with their
// users a second is. The costs are the server's own, asked of it.
func TestDefaultCostLimitFitsItsCallers(t *testing.T) {
	t.Parallel()
	a := MustAPI(t, func(c *graph.Config) { c.CostLimit, c.Limits = graph.DefaultCostLimit, graph.DefaultLimits })
	cost := func(doc string) int {
		t.Helper()
		r := a.do(doc, nil)
		if r.Errors != nil {
			t.Fatalf("%s: %v", doc, r.codes())
		}
		return int(costOf(t, r)["requestedQueryCost"].(float64))
	}
	introspection, err := os.ReadFile(filepath.Join("testdata", "introspection", "graphiql.graphql"))
	if err != nil {
		t.Fatal(err)
	}
	byID := cost(`{ customer(id: "000000000000000000000000") { ` + customerFields + ` } }`)
	pageWithUsers := cost(`{ customers(first: 50) { edges { cursor node { id name status credit accountLock websiteUrl logo
		cdrRetention version createdAt adminUser { id email first last } billingUser { id email first last }
		supportUser { id email first last } callRecordingUser { id email first last } } } } }`)
	// As many users as the complexity limit allows with pages of 100 (20, the
	// default page, would pass it).
	scriptPage := cost(`{ customers(first: 100) { nodes { id name credit users(first: 10) { nodes { id email first last } } } } }`)
	t.Logf("costs: customer by id %d, page of 50 with links %d, GraphiQL's introspection %d, page of 100 with users %d",
		byID, pageWithUsers, cost(string(introspection)), scriptPage)
	cfg, minute := graph.DefaultCostLimit, time.Minute
	for _, tc := range []struct {
		name            string
		cost, perSecond int
		throttled       bool
	}{
		{"GraphiQL", cost(string(introspection)), 2, false},
		{"BFFSimpleRequests", byID, 500, false},
		{"BFFPages", pageWithUsers, 10, false},
		{"ScriptOfPages", scriptPage, 100, true},
	} {
		refused := graph.SimulateCostLimit(cfg, tc.cost, tc.perSecond, minute)
		if tc.throttled != (refused > 0) {
			t.Errorf("%s: %d requests of cost %d a second for a minute: %d refused", tc.name, tc.perSecond, tc.cost, refused)
		}
	}
}

// TestRefusedDocumentsCost: a document refused before it runs (here, one that does
// not parse) is charged a point per 100 bytes, and once the bucket is empty the
// caller is refused 429 before its document is even parsed.
func TestRefusedDocumentsCost(t *testing.T) {
	t.Parallel()
	a := MustAPI(t, func(c *graph.Config) { c.CostLimit = graph.CostLimit{Limit: 100, RestoreRate: 0.01} })
	junk := `{ ` + strings.Repeat("a ", 2000)        // 4 kB that never parse: 41 points each
	for i, want := range []int{422, 422, 422, 429} { // 100 points: 59, 18, then -23 left
		r := a.as("", junk, nil)
		if r.Status != want {
			t.Fatalf("refused document %d: %d %v, want %d", i+1, r.Status, r.codes(), want)
		}
	}
	if r := a.as("", `{ __typename }`, nil); r.Status != 429 || r.Header.Get("Retry-After") == "" {
		t.Errorf("a valid document from the emptied bucket: %d %v", r.Status, r.codes())
	}
}

// TestComplexityFollowsVariables: an operation's cost follows the variables that
// set a page's size, request after request of the same (cached) document, and one
// whose variables set no size costs the same whatever they are.
func TestComplexityFollowsVariables(t *testing.T) {
	t.Parallel()
	a := MustAPI(t, func(c *graph.Config) { c.CostLimit = graph.CostLimit{Limit: 100000, RestoreRate: 1000} })
	a.seedLinked(1)
	page := `query Page($n: Int, $f: CustomerFilter) { customers(first: $n, filter: $f) { nodes { id name } } }`
	for _, c := range []struct {
		vars map[string]any
		want float64
	}{
		{map[string]any{"n": 30}, 91},             // 1 + 30 × (1 + 2)
		{map[string]any{"n": 2}, 7},               // 1 + 2 × (1 + 2)
		{map[string]any{"n": 2, "f": "wrong"}, 0}, // refused before its cost is known
		{map[string]any{}, 1 + 20*3},              // the default page size
	} {
		r := a.do(page, c.vars)
		if c.want == 0 {
			if r.Errors == nil {
				t.Errorf("%v: no error", c.vars)
			}
			continue
		}
		if r.Status != 200 || r.Errors != nil || costOf(t, r)["requestedQueryCost"] != c.want {
			t.Errorf("%v: %d %v cost %v, want %v", c.vars, r.Status, r.codes(), r.Extensions["cost"], c.want)
		}
	}
	one := `query One($id: ObjectID!) { customer(id: $id) { id name adminUser { email } } }`
	for _, id := range []string{a.customerID("Linked 001"), "000000000000000000000000"} {
		if r := a.do(one, map[string]any{"id": id}); costOf(t, r)["requestedQueryCost"] != 5.0 {
			t.Errorf("customer %s: cost %v, want 5", id, r.Extensions["cost"])
		}
	}
}
