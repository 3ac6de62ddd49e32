package graph_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/cloudcomms/customers/graph"
	"github.com/cloudcomms/customers/internal/auth"
	"github.com/cloudcomms/customers/models"
)

func TestAuthentication(t *testing.T) {
	t.Parallel()
	a := MustAPI(t)
	a.seedLinked(1)
	admin := a.userID("admin.linked001@example.com")
	support := a.userID("support.linked001@example.com")
	if err := a.db.Exec(`UPDATE users SET status = 'DISABLED' WHERE id = decode(?, 'hex')`, support).Error; err != nil {
		t.Fatal(err)
	}
	sign := func(cfg auth.Config, id string, ttl time.Duration) string {
		tok, err := auth.Sign(cfg, models.MustParseObjectID(id), ttl)
		if err != nil {
			t.Fatal(err)
		}
		return "Bearer " + tok
	}
	other := testAuth
	other.Secret = []byte("another secret, also 32 bytes long")
	wrongIssuer := testAuth
	wrongIssuer.Issuer = "someone-else"
	tests := []struct {
		name, header string
		status       int
		want         string // viewer email, or the error code and message start
	}{
		{"NoCredential", "", 200, "UNAUTHENTICATED send a bearer token"},
		{"Valid", a.bearer(admin), 200, "admin.linked001@example.com"},
		{"NotBearer", "Basic YWRtaW46YWRtaW4=", 401, "UNAUTHENTICATED the Authorization header must be"},
		{"Malformed", "Bearer not-a-jwt", 401, "UNAUTHENTICATED the token is malformed"},
		{"Expired", sign(testAuth, admin, -time.Hour), 401, "UNAUTHENTICATED the token has expired"},
		{"WrongKey", sign(other, admin, time.Hour), 401, "UNAUTHENTICATED the token's signature or algorithm is not accepted"},
		{"WrongIssuer", sign(wrongIssuer, admin, time.Hour), 401, "UNAUTHENTICATED the token's issuer is not accepted"},
		{"DisabledUser", a.bearer(support), 401, "UNAUTHENTICATED the token's user does not exist or is not active"},
		{"UnknownUser", a.bearer("5f0000000000000000000001"), 401, "UNAUTHENTICATED the token's user does not exist or is not active"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := map[string]string{"Authorization": tt.header}
			r := a.post(`{"query":"{ viewer { email } }"}`, h)
			if r.Status != tt.status {
				t.Errorf("status = %d, want %d", r.Status, tt.status)
			}
			var got string
			if len(r.Errors) > 0 {
				got = r.codes()[0] + " " + r.Errors[0].Message
			} else {
				var out struct{ Viewer struct{ Email string } }
				_ = json.Unmarshal(r.Data, &out)
				got = out.Viewer.Email
			}
			if !strings.HasPrefix(got, tt.want) {
				t.Errorf("got %q, want %q…", got, tt.want)
			}
			if tt.status == 401 && r.Header.Get("WWW-Authenticate") == "" {
				t.Error("401 without WWW-Authenticate")
			}
		})
	}
}

// TestCreatedByAndUpdatedByComeFromTheCaller: the audit links name whoever made
// the change.
func TestCreatedByAndUpdatedByComeFromTheCaller(t *testing.T) {
	t.Parallel()
	a := MustAPI(t)
	a.seedLinked(1)
	customer := a.customerID("Linked 001")
	admin, billing := a.userID("admin.linked001@example.com"), a.userID("billing.linked001@example.com")
	var created struct {
		CustomerCreate struct {
			CreatedBy, UpdatedBy struct{ Email string }
		}
	}
	a.mustData(`mutation { customerCreate(input: {name: "Audited"}) { createdBy { email } updatedBy { email } } }`, nil, &created)
	if c := created.CustomerCreate; c.CreatedBy.Email != "staff@platform.example" || c.UpdatedBy.Email != "staff@platform.example" {
		t.Errorf("after create: createdBy %q updatedBy %q", c.CreatedBy.Email, c.UpdatedBy.Email)
	}
	for _, step := range []struct {
		user, patch, want string
	}{
		{admin, `{name: "Linked One"}`, "admin.linked001@example.com"},
		{billing, `{automaticRefillAmount: 500}`, "billing.linked001@example.com"},
	} {
		r := a.as(step.user, `mutation($id: ObjectID!) { customerPatch(id: $id, patch: `+step.patch+`) { updatedBy { email } } }`, map[string]any{"id": customer})
		want := `{"customerPatch":{"updatedBy":{"email":"` + step.want + `"}}}`
		if d := cmp.Diff(want, string(r.Data)); d != "" || r.Errors != nil {
			t.Errorf("patch by %s (-want +got):\n%s %+v", step.want, d, r.Errors)
		}
	}
}

func TestIntrospectionWithoutToken(t *testing.T) {
	t.Parallel()
	for _, enabled := range []bool{true, false} {
		a := MustAPI(t, func(c *graph.Config) { c.Introspection = enabled })
		r := a.as("", `{ __schema { queryType { name } } }`, nil)
		if ok := r.Errors == nil && strings.Contains(string(r.Data), `"Query"`); ok != enabled {
			t.Errorf("introspection enabled=%v: data %s errors %v", enabled, r.Data, r.codes())
		}
	}
}
