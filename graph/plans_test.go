package graph_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cloudcomms/customers/graph"
)

// answer posts a document as user, running operation op ("": its only one), and
// returns the status and the body as sent.
func (a *api) answer(user, query, op string, vars map[string]any) (int, string) {
	a.t.Helper()
	body, _ := json.Marshal(map[string]any{"query": query, "operationName": op, "variables": vars})
	req, _ := http.NewRequest(http.MethodPost, a.srv.URL+"/query", strings.NewReader(string(body)))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", a.bearer(user))
	res, err := a.srv.Client().Do(req)
	if err != nil {
		a.t.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(raw)
}

// planned reports whether the access log's last request line says a plan answered.
// The line is written once the answer is sent, so it may come after the client has
// read the answer.
func (a *api) planned() bool {
	a.t.Helper()
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
		lines := strings.Split(strings.TrimSpace(a.logs.String()), "\n")
		for i := len(lines) - 1; i >= 0; i-- {
			var rec struct {
				Msg  string
				Plan bool
			}
			if json.Unmarshal([]byte(lines[i]), &rec) == nil && rec.Msg == "request" {
				return rec.Plan
			}
		}
	}
	a.t.Fatal("no request in the access log")
	return false
}

var requestIDs = regexp.MustCompile(`"requestId":"[^"]*"`)

// sameAnswer reports whether two answers are the same bytes, but for the order of
// their errors when there are several: gqlgen resolves root fields concurrently, so
// theirs come in any order.
func sameAnswer(a, b string) bool {
	if a == b {
		return true
	}
	var x, y struct {
		Errors     []json.RawMessage
		Data       json.RawMessage
		Extensions json.RawMessage
	}
	if json.Unmarshal([]byte(a), &x) != nil || json.Unmarshal([]byte(b), &y) != nil || len(x.Errors) < 2 {
		return false
	}
	errs := func(list []json.RawMessage) []string {
		out := make([]string, len(list))
		for i, e := range list {
			out[i] = string(e)
		}
		slices.Sort(out)
		return out
	}
	return slices.Equal(errs(x.Errors), errs(y.Errors)) && string(x.Data) == string(y.Data) &&
		string(x.Extensions) == string(y.Extensions)
}

// TestPlansAnswerAsGQLGen sends every document of a corpus to an instance that
// answers with plans where it can and to one that runs everything in gqlgen, as
// platform staff, as a customer's admin and as another customer's user, and
// wants the same status and the same bytes from both, and a plan to have answered
// exactly the documents it covers.
func TestPlansAnswerAsGQLGen(t *testing.T) {
	t.Parallel()
	a := MustAPI(t)
	a.seedLinked(4)
	// Text that JSON must escape, and the optional fields set.
	if err := a.db.Exec(`UPDATE users SET first = E'Q"b\\c\td\ne\rf\x07g <b>&amp;', last = 'é 😀'
		WHERE email = 'admin.linked002@example.com'`).Error; err != nil {
		t.Fatal(err)
	}
	if err := a.db.Exec(`UPDATE customers SET name = E'Linked 002 "quoted" \\ <&>', website_url = 'https://example.com/?a=1&b=<2>',
		transcribe_calls = true, low_balance_alert_at = '2026-11-30 10:11:12.123456+00', created_by_ip = '2001:db8::1'
		WHERE name = 'Linked 002'`).Error; err != nil {
		t.Fatal(err)
	}
	b := a.Instance(func(c *graph.Config) { c.NoPlans = true })
	var ids []string
	if err := a.db.Raw(`SELECT encode(id, 'hex') FROM customers WHERE name LIKE 'Linked%' ORDER BY id`).Scan(&ids).Error; err != nil || len(ids) != 4 {
		t.Fatalf("customers: %v %v", ids, err)
	}
	var admin, outsider string
	a.db.Raw(`SELECT encode(id, 'hex') FROM users WHERE email = 'admin.linked002@example.com'`).Scan(&admin)
	a.db.Raw(`SELECT encode(id, 'hex') FROM users WHERE email = 'billing.linked003@example.com'`).Scan(&outsider)
	var cursor struct {
		Customers struct{ PageInfo struct{ EndCursor string } }
	}
	a.mustData(`{ customers(first: 1) { pageInfo { endCursor } } }`, nil, &cursor)

	user := `{ id customerId email first last status adminPermission billingPermission superAdminPermission version createdAt updatedAt __typename }`
	allLinks := `adminUser ` + user + ` billingUser ` + user + ` callRecordingUser ` + user + ` supportUser ` + user +
		` createdBy ` + user + ` updatedBy { email }`
	byID := map[string]any{"id": ids[1]}
	tests := []struct {
		name, doc string
		vars      map[string]any
		planned   bool
		op        string
	}{
		{"W1", `query LoadtestCustomer($id: ObjectID!) { customer(id: $id) { id name status websiteUrl logo credit
			callForwardingCallLimit automaticRefillAmount lowBalanceAlertAmount internationalCalling accountLock
			callRecording cdrRetention } }`, byID, true, ""},
		{"every field and link", `query($id: ObjectID!) { customer(id: $id) { __typename ` + customerFields + ` ` + allLinks + ` } }`, byID, true, ""},
		{"W2", `query LoadtestCustomersPage($cursor: String) { customers(first: 50, after: $cursor) { edges { cursor
			node { id name status websiteUrl logo credit accountLock internationalCalling callRecording cdrRetention
			adminUser { id email first last } billingUser { id email first last }
			supportUser { id email first last } callRecordingUser { id email first last } } }
			pageInfo { hasNextPage endCursor } } }`, map[string]any{"cursor": cursor.Customers.PageInfo.EndCursor}, true, ""},
		{"nodes, page info and type names", `query { __typename customers(last: 3) { __typename nodes { ` + customerFields + ` ` + allLinks + ` }
			edges { __typename cursor } pageInfo { __typename hasNextPage hasPreviousPage startCursor endCursor } } }`, nil, true, ""},
		{"empty page", `query($c: String) { customers(first: 0, before: $c) { nodes { id } pageInfo { startCursor endCursor hasNextPage } } }`,
			map[string]any{"c": cursor.Customers.PageInfo.EndCursor}, true, ""},
		{"offset", `{ customers(first: 2, offset: 1) { edges { node { id adminUser { email } } } } }`, nil, true, ""},
		{"fragments, aliases, merged fields", `query Q($id: ObjectID!, $other: ObjectID!) {
			one: customer(id: $id) { ...C ... on Customer { name adminUser { first } } }
			two: customer(id: $other) { id theName: name ...C }
			page: customers(first: 2) { ...Page } }
			fragment C on Customer { id adminUser { id } adminUser { last email } supportUser { ...U } }
			fragment U on User { email status }
			fragment Page on CustomerConnection { edges { node { ...C } } edges { cursor } }`,
			map[string]any{"id": ids[1], "other": ids[2]}, true, ""},
		{"chosen operation", `query A($id: ObjectID!) { customer(id: $id) { id } } mutation B { customerDelete(id: "000000000000000000000000") { id } }`,
			byID, true, "A"},
		{"no such customer", `query($id: ObjectID!) { customer(id: $id) { id } }`, map[string]any{"id": "0123456789abcdef01234567"}, true, ""},
		{"page too large", `{ customers(first: 101) { nodes { id } } }`, nil, true, ""},
		{"bad cursor", `query($c: String) { customers(first: 2, after: $c) { nodes { id } } }`, map[string]any{"c": "garbage"}, true, ""},
		{"first and last", `{ customers(first: 2, last: 2) { nodes { id } } }`, nil, true, ""},
		{"two root fields fail, both are reported", `{ a: customers(first: -1) { nodes { id } } b: customers(first: 101) { nodes { id } } }`, nil, true, ""},
		{"one root field fails, data is null", `query($id: ObjectID!) { customer(id: $id) { id } customers(first: -1) { nodes { id } } }`, byID, true, ""},
		{"malformed id", `query($id: ObjectID!) { customer(id: $id) { id } }`, map[string]any{"id": "zz"}, false, ""},
		{"first outside int32", `query($n: Int) { customers(first: $n) { nodes { id } } }`, map[string]any{"n": 1 << 31}, false, ""},
		{"NUL in a cursor", `query($c: String) { customers(first: 1, after: $c) { nodes { id } } }`, map[string]any{"c": "a\x00b"}, false, ""},
		{"directive", `query($all: Boolean!) { customer(id: "` + ids[1] + `") { id name @include(if: $all) } }`, map[string]any{"all": false}, false, ""},
		{"filter", `{ customers(first: 2, filter: {name: {startsWith: "Linked"}}) { nodes { id } } }`, nil, false, ""},
		{"orderBy", `{ customers(first: 2, orderBy: [{field: NAME, direction: DESC}]) { nodes { name } } }`, nil, false, ""},
		{"nested connection", `query($id: ObjectID!) { customer(id: $id) { id users(first: 2) { nodes { email } } } }`, byID, false, ""},
		{"a user's customer", `query($id: ObjectID!) { customer(id: $id) { adminUser { customer { id } } } }`, byID, false, ""},
		{"another root field", `query($id: ObjectID!) { customer(id: $id) { id } viewer { id } }`, byID, false, ""},
		{"invoice link", `query($id: ObjectID!) { customer(id: $id) { lastAutomaticRefillInvoice { id } } }`, byID, false, ""},
		{"total count", `{ customers(first: 1) { totalCount } }`, nil, false, ""},
	}
	for _, tt := range tests {
		for _, who := range []struct{ name, id string }{{"staff", a.staff}, {"admin", admin}, {"outsider", outsider}} {
			a.logs.reset()
			status, got := a.answer(who.id, tt.doc, tt.op, tt.vars)
			planned := a.planned()
			wantStatus, want := b.answer(who.id, tt.doc, tt.op, tt.vars)
			got, want = requestIDs.ReplaceAllString(got, ""), requestIDs.ReplaceAllString(want, "")
			if status != wantStatus || !sameAnswer(got, want) {
				t.Errorf("%s as %s:\nplan   %d %s\ngqlgen %d %s", tt.name, who.name, status, got, wantStatus, want)
			}
			if planned != tt.planned {
				t.Errorf("%s as %s: planned %v, want %v", tt.name, who.name, planned, tt.planned)
			}
		}
	}
}

// TestPlansServeEveryTransport: a persisted query sent by its hash and a query sent
// with GET are answered by their plan, with the data gqlgen gives.
func TestPlansServeEveryTransport(t *testing.T) {
	t.Parallel()
	a := MustAPI(t, func(c *graph.Config) { c.PersistedQueries = 10 })
	a.seedLinked(2)
	b := a.Instance(func(c *graph.Config) { c.NoPlans = true })
	doc := `{ customers(first: 2) { nodes { id name adminUser { email } } } }`
	_, want := b.answer(a.staff, doc, "", nil)
	a.post(persisted(doc, sha(doc)), nil)
	a.logs.reset()
	byHash := a.post(persisted("", sha(doc)), nil)
	if !a.planned() || byHash.Errors != nil || !strings.Contains(want, string(byHash.Data)) {
		t.Errorf("by hash: planned %v, %v %s; want %s", a.planned(), byHash.Errors, byHash.Data, want)
	}
	a.logs.reset()
	req, _ := http.NewRequest(http.MethodGet, a.srv.URL+"/query?query="+url.QueryEscape(doc), nil)
	req.Header.Set("Authorization", a.bearer(a.staff))
	res, err := a.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var got response
	if err := json.NewDecoder(res.Body).Decode(&got); err != nil || res.StatusCode != http.StatusOK {
		t.Fatalf("GET: %d %v", res.StatusCode, err)
	}
	if !a.planned() || got.Errors != nil || !strings.Contains(want, string(got.Data)) {
		t.Errorf("GET: planned %v, %v %s; want %s", a.planned(), got.Errors, got.Data, want)
	}
}
