package graph_test

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/cloudcomms/customers/internal/pgtest"
)

// within polls check every 20 ms for up to 1 s and reports whether it came true.
func within(check func() bool) bool {
	for deadline := time.Now().Add(time.Second); ; time.Sleep(20 * time.Millisecond) {
		if check() {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
	}
}

// TestAuthenticationCostsNoStatement: once a caller is verified, its requests are
// authenticated from the cache: a customer by id costs its one statement, for a JWT
// and for an API token alike.
func TestAuthenticationCostsNoStatement(t *testing.T) {
	t.Parallel()
	a := MustAPI(t)
	a.seedLinked(1)
	admin, customer := a.userID("admin.linked001@example.com"), a.customerID("Linked 001")
	billing := a.userID("billing.linked001@example.com")
	secret := a.apiToken(admin)
	doc := `query($id: ObjectID!) { customer(id: $id) { id name status credit accountLock } }`
	byToken := func() response {
		return a.post(`{"query":"query($id: ObjectID!) { customer(id: $id) { id name status credit accountLock } }","variables":{"id":"`+customer+`"}}`,
			map[string]string{"Authorization": "Bearer " + secret})
	}
	for _, tc := range []struct {
		name  string
		send  func() response
		first int64 // what verifying the caller costs the first request
	}{
		{"JWT", func() response { return a.as(billing, doc, map[string]any{"id": customer}) }, 1},
		{"APIToken", byToken, 2}, // the token and its user, and noting the token's first use
	} {
		for i, want := range []int64{tc.first + 1, 1} {
			if r := tc.send(); r.Errors != nil || !strings.Contains(string(r.Data), "Linked 001") {
				t.Fatalf("%s, request %d: %v %s", tc.name, i+1, r.codes(), r.Data)
			}
			if got := a.statements.Load(); got != want {
				t.Errorf("%s, request %d: %d statements, want %d:\n%s", tc.name, i+1, got, want, a.sqlLog())
			}
			a.logs.reset()
		}
	}
}

// TestCallerCacheInvalidation: a change to a caller is seen by the next request on
// the instance that made it, and within a second by another instance, whether the
// change came through the API or through SQL from another tool.
func TestCallerCacheInvalidation(t *testing.T) {
	t.Parallel()
	a := MustAPI(t)
	b := a.Instance()
	a.seedLinked(3)
	customer := a.customerID("Linked 001")
	rename := `mutation($id: ObjectID!) { customerPatch(id: $id, patch: {name: "Renamed"}) { name } }`
	renameAs := func(in *api, user string) []string {
		return in.as(user, rename, map[string]any{"id": customer}).codes()
	}
	viewerWith := func(in *api, secret string) int {
		return in.post(`{"query":"{ viewer { email } }"}`, map[string]string{"Authorization": "Bearer " + secret}).Status
	}
	viewerAs := func(in *api, user string) int { return in.as(user, `{ viewer { email } }`, nil).Status }
	patchUser := func(user, patch string) {
		t.Helper()
		if r := a.do(`mutation($id: ObjectID!) { userPatch(id: $id, patch: `+patch+`) { id } }`, map[string]any{"id": user}); r.Errors != nil {
			t.Fatalf("userPatch %s: %v", patch, r.codes())
		}
	}

	t.Run("LowerAPermission", func(t *testing.T) {
		admin := a.userID("admin.linked001@example.com")
		for _, in := range []*api{a, b} {
			if codes := renameAs(in, admin); codes != nil {
				t.Fatalf("the admin renames before: %v", codes)
			}
		}
		patchUser(admin, `{adminPermission: READ}`)
		if codes := renameAs(a, admin); cmp.Diff([]string{"FORBIDDEN patch.name"}, codes) != "" {
			t.Errorf("the same instance, next request: %v", codes)
		}
		if !within(func() bool { return cmp.Diff([]string{"FORBIDDEN patch.name"}, renameAs(b, admin)) == "" }) {
			t.Error("the other instance still lets the admin rename after 1 s")
		}
	})
	t.Run("DisableAUser", func(t *testing.T) {
		billing := a.userID("billing.linked001@example.com")
		for _, in := range []*api{a, b} {
			if status := viewerAs(in, billing); status != 200 {
				t.Fatalf("before: %d", status)
			}
		}
		patchUser(billing, `{status: DISABLED}`)
		if status := viewerAs(a, billing); status != 401 {
			t.Errorf("the same instance, next request: %d, want 401", status)
		}
		if !within(func() bool { return viewerAs(b, billing) == 401 }) {
			t.Error("the other instance still accepts the disabled user after 1 s")
		}
	})
	t.Run("RevokeAToken", func(t *testing.T) {
		admin := a.userID("admin.linked002@example.com")
		secret := a.apiToken(admin)
		for _, in := range []*api{a, b} {
			if status := viewerWith(in, secret); status != 200 {
				t.Fatalf("before: %d", status)
			}
		}
		var id string
		if err := a.db.Raw(`SELECT encode(id, 'hex') FROM api_tokens WHERE user_id = decode(?, 'hex')`, admin).Scan(&id).Error; err != nil {
			t.Fatal(err)
		}
		if r := a.as(admin, `mutation($id: ObjectID!) { apiTokenRevoke(id: $id) { id } }`, map[string]any{"id": id}); r.Errors != nil {
			t.Fatalf("revoke: %v", r.codes())
		}
		if status := viewerWith(a, secret); status != 401 {
			t.Errorf("the same instance, next request: %d, want 401", status)
		}
		if !within(func() bool { return viewerWith(b, secret) == 401 }) {
			t.Error("the other instance still accepts the revoked token after 1 s")
		}
	})
	t.Run("AnotherTool", func(t *testing.T) {
		admin := a.userID("admin.linked003@example.com")
		secret := a.apiToken(admin)
		for _, in := range []*api{a, b} {
			if viewerAs(in, admin) != 200 || viewerWith(in, secret) != 200 {
				t.Fatal("before: refused")
			}
		}
		if err := a.db.Exec(`UPDATE users SET status = 'DISABLED' WHERE id = decode(?, 'hex')`, admin).Error; err != nil {
			t.Fatal(err)
		}
		for name, in := range map[string]*api{"this": a, "the other": b} {
			if !within(func() bool { return viewerAs(in, admin) == 401 && viewerWith(in, secret) == 401 }) {
				t.Errorf("%s instance still accepts the user disabled by SQL after 1 s", name)
			}
		}
	})
}

// TestCallerCacheOfASilentListener: an instance whose listening connection goes
// silent (the route to PostgreSQL is cut, nothing closes the connection) misses the
// invalidations, yet still refuses a user disabled elsewhere within a second: it
// stops trusting its cache once its heartbeat goes unanswered.
func TestCallerCacheOfASilentListener(t *testing.T) {
	t.Parallel()
	a := MustAPI(t)
	route := pgtest.NewRoute(t, a.dbURL)
	b := a.InstanceListeningThrough(route.URL)
	a.seedLinked(1)
	admin := a.userID("admin.linked001@example.com")
	viewerAs := func(in *api) int { return in.as(admin, `{ viewer { email } }`, nil).Status }
	if viewerAs(b) != 200 {
		t.Fatal("before: refused")
	}
	route.Cut()
	if err := a.db.Exec(`UPDATE users SET status = 'DISABLED' WHERE id = decode(?, 'hex')`, admin).Error; err != nil {
		t.Fatal(err)
	}
	if !within(func() bool { return viewerAs(b) == 401 }) {
		t.Error("the instance that no longer hears invalidations still accepts the disabled user after 1 s")
	}
}

// apiToken makes an API token acting as user and returns its secret.
func (a *api) apiToken(user string) string {
	a.t.Helper()
	var out struct {
		APITokenCreate struct{ Secret string }
	}
	r := a.as(user, `mutation { apiTokenCreate(name: "test") { secret } }`, nil)
	if err := jsonInto(r, &out); err != nil || r.Errors != nil || out.APITokenCreate.Secret == "" {
		a.t.Fatalf("apiTokenCreate: %v %v", err, r.codes())
	}
	return out.APITokenCreate.Secret
}
