package graph_test

import (
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/cloudcomms/customers/graph"
)

// TestAuthFailureLimit: failed credentials (bad JWTs, unknown API tokens) from one
// address (an IPv6 /64) spend its budget; then even a valid credential from there is
// answered 429 without being looked at, while other addresses go on.
func TestAuthFailureLimit(t *testing.T) {
	t.Parallel()
	a := MustAPI(t, func(c *graph.Config) {
		c.AuthFailures = graph.AuthFailureLimit{Burst: 3, Refill: time.Hour}
		c.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")}
	})
	from := func(addr, authorization string) response {
		return a.post(`{"query":"{ viewer { email } }"}`, map[string]string{"X-Forwarded-For": addr, "Authorization": authorization})
	}
	unknown := "Bearer cca_" + strings.Repeat("U", 43)
	for i, bad := range []string{"Bearer not-a-jwt", unknown, "Basic eDp5"} {
		if r := from("2001:db8::1", bad); r.Status != 401 {
			t.Fatalf("failure %d: status %d, want 401", i+1, r.Status)
		}
	}
	valid := a.bearer(a.staff)
	r := from("2001:db8::2", valid) // the same /64
	if r.Status != 429 || r.Header.Get("Retry-After") != "3600" || len(r.Errors) != 1 ||
		!strings.HasPrefix(r.Errors[0].Message, "too many failed authentication attempts") {
		t.Errorf("after the budget: %d Retry-After %q %+v", r.Status, r.Header.Get("Retry-After"), r.Errors)
	}
	if n := a.statements.Load(); n != 0 {
		t.Errorf("the refused request sent %d statements, want 0", n)
	}
	if r := from("2001:db8:0:1::1", valid); r.Status != 200 || r.Errors != nil {
		t.Errorf("another /64: %d %v", r.Status, r.codes())
	}
	for range 3 {
		from("192.0.2.7", unknown)
	}
	if r := from("192.0.2.7", unknown); r.Status != 429 {
		t.Errorf("unknown API tokens: status %d after the budget, want 429", r.Status)
	}
	if r := from("192.0.2.8", valid); r.Status != 200 {
		t.Errorf("the next IPv4 address: %d", r.Status)
	}
}

// TestRejectedAPITokenCostsNoSQL: an API token found unknown or revoked is refused
// again, with the same message, without a SQL lookup.
func TestRejectedAPITokenCostsNoSQL(t *testing.T) {
	t.Parallel()
	a := MustAPI(t)
	var created struct {
		APITokenCreate struct {
			Token  struct{ ID string }
			Secret string
		}
	}
	a.mustData(`mutation { apiTokenCreate(name: "soon revoked") { token { id } secret } }`, nil, &created)
	a.mustData(`mutation($id: ObjectID!) { apiTokenRevoke(id: $id) { id } }`, map[string]any{"id": created.APITokenCreate.Token.ID}, &struct{}{})
	for _, tc := range []struct{ name, token, msg string }{
		{"Unknown", "cca_" + strings.Repeat("N", 43), "the API token is unknown"},
		{"Revoked", created.APITokenCreate.Secret, "the API token has been revoked"},
	} {
		for i, want := range []int64{1, 0} {
			r := a.post(`{"query":"{ viewer { email } }"}`, map[string]string{"Authorization": "Bearer " + tc.token})
			if r.Status != 401 || len(r.Errors) != 1 || r.Errors[0].Message != tc.msg {
				t.Errorf("%s, try %d: %d %+v", tc.name, i+1, r.Status, r.Errors)
			}
			if n := a.statements.Load(); n != want {
				t.Errorf("%s, try %d: %d statements, want %d", tc.name, i+1, n, want)
			}
		}
	}
}

// TestEmailProbesSpendFailureBudget: asking whether an email is in use (a userCreate
// refused with "is already taken") spends the caller's failed-attempt budget like a
// bad credential, so addresses cannot be enumerated at the API's full speed.
func TestEmailProbesSpendFailureBudget(t *testing.T) {
	t.Parallel()
	a := MustAPI(t, func(c *graph.Config) { c.AuthFailures = graph.AuthFailureLimit{Burst: 2, Refill: time.Hour} })
	a.seedLinked(1)
	admin := a.userID("admin.linked001@example.com")
	customer := a.customerID("Linked 001")
	probe := func(email string) response {
		return a.as(admin, `mutation($in: UserCreateInput!) { userCreate(input: $in) { id } }`,
			map[string]any{"in": map[string]any{"customerId": customer, "email": email, "first": "P", "last": "Robe"}})
	}
	if r := probe("fresh.address@example.com"); r.Errors != nil {
		t.Fatalf("a free address: %v", r.codes())
	}
	for i := range 2 {
		if r := probe("staff@platform.example"); strings.Join(r.codes(), ",") != "BAD_USER_INPUT input.email" {
			t.Fatalf("probe %d: %d %v", i+1, r.Status, r.codes())
		}
	}
	if r := probe("another.address@example.com"); r.Status != 429 {
		t.Errorf("after two probes: %d %v, want 429", r.Status, r.codes())
	}
}
