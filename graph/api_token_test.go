package graph_test

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestAPITokens(t *testing.T) {
	t.Parallel()
	a := MustAPI(t)
	a.seedLinked(1)
	admin := a.userID("admin.linked001@example.com")
	customer := a.customerID("Linked 001")
	var created struct {
		APITokenCreate struct {
			Token struct {
				ID, Name   string
				LastUsedAt *string
			}
			Secret string
		}
	}
	r := a.as(admin, `mutation { apiTokenCreate(name: " portal-bff ") { token { id name lastUsedAt } secret } }`, nil)
	if r.Errors != nil {
		t.Fatal(r.Errors)
	}
	_ = jsonInto(r, &created)
	secret, id := created.APITokenCreate.Secret, created.APITokenCreate.Token.ID
	if !strings.HasPrefix(secret, "cca_") || len(secret) < 4+43 || created.APITokenCreate.Token.Name != "portal-bff" {
		t.Fatalf("created %+v", created.APITokenCreate)
	}

	// Only the hash is stored.
	var stored string
	if err := a.db.Raw(`SELECT encode(token_hash, 'hex') FROM api_tokens`).Scan(&stored).Error; err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256([]byte(secret))
	if stored != hex.EncodeToString(sum[:]) {
		t.Errorf("stored %s, want the SHA-256 of the secret", stored)
	}

	withToken := func(tok, doc string) response {
		return a.post(`{"query":"`+doc+`"}`, map[string]string{"Authorization": "Bearer " + tok})
	}
	r = withToken(secret, `{ viewer { email } apiTokens { name lastUsedAt revokedAt } }`)
	if r.Errors != nil || !strings.Contains(string(r.Data), `"email":"admin.linked001@example.com"`) || strings.Contains(string(r.Data), `"lastUsedAt":null`) {
		t.Errorf("acting with the token: %s %v", r.Data, r.codes())
	}
	if strings.Contains(string(r.Data), secret) {
		t.Error("apiTokens shows the secret")
	}

	// The token carries its user's current permissions.
	doc := `mutation { customerPatch(id: \"` + customer + `\", patch: {name: \"Via Token\"}) { name } }`
	if r := withToken(secret, doc); r.Errors != nil {
		t.Errorf("admin token patch: %v", r.codes())
	}
	a.db.Exec(`UPDATE users SET admin_permission = 'READ' WHERE id = decode(?, 'hex')`, admin)
	if r := withToken(secret, doc); cmp.Diff([]string{"FORBIDDEN patch.name"}, r.codes()) != "" {
		t.Errorf("after losing admin rights: %v", r.codes())
	}

	// Another user cannot revoke it; its user can, at once.
	billing := a.userID("billing.linked001@example.com")
	if r := a.as(billing, `mutation($id: ObjectID!) { apiTokenRevoke(id: $id) { id } }`, map[string]any{"id": id}); cmp.Diff([]string{"NOT_FOUND"}, r.codes()) != "" {
		t.Errorf("revoke by another user: %v", r.codes())
	}
	if r := a.as(admin, `mutation($id: ObjectID!) { apiTokenRevoke(id: $id) { revokedAt } }`, map[string]any{"id": id}); r.Errors != nil || strings.Contains(string(r.Data), "null") {
		t.Errorf("revoke: %s %v", r.Data, r.codes())
	}
	for name, tc := range map[string]struct{ token, msg string }{
		"Revoked": {secret, "the API token has been revoked"},
		"Unknown": {"cca_" + strings.Repeat("A", 43), "the API token is unknown"},
	} {
		r := withToken(tc.token, `{ viewer { email } }`)
		if r.Status != 401 || len(r.Errors) != 1 || r.Errors[0].Message != tc.msg {
			t.Errorf("%s: status %d errors %+v", name, r.Status, r.Errors)
		}
	}
}

func TestAPITokenExpiryAndValidation(t *testing.T) {
	t.Parallel()
	a := MustAPI(t)
	var created struct {
		APITokenCreate struct {
			Token  struct{ ID string }
			Secret string
		}
	}
	future := time.Now().Add(time.Hour).UTC().Format(time.RFC3339)
	r := a.do(`mutation($at: DateTime) { apiTokenCreate(name: "short-lived", expiresAt: $at) { token { id } secret } }`, map[string]any{"at": future})
	if r.Errors != nil {
		t.Fatal(r.Errors)
	}
	_ = jsonInto(r, &created)
	a.db.Exec(`UPDATE api_tokens SET expires_at = now() - interval '1 second'`)
	r = a.post(`{"query":"{ viewer { email } }"}`, map[string]string{"Authorization": "Bearer " + created.APITokenCreate.Secret})
	if r.Status != 401 || len(r.Errors) != 1 || r.Errors[0].Message != "the API token has expired" {
		t.Errorf("expired token: %d %+v", r.Status, r.Errors)
	}
	for _, tt := range []struct {
		name string
		vars map[string]any
		want []string
	}{
		{"EmptyName", map[string]any{"name": "  "}, []string{"BAD_USER_INPUT name"}},
		{"LongName", map[string]any{"name": strings.Repeat("n", 101)}, []string{"BAD_USER_INPUT name"}},
		{"PastExpiry", map[string]any{"name": "n", "at": "2020-01-01T00:00:00Z"}, []string{"BAD_USER_INPUT expiresAt"}},
		{"BadDate", map[string]any{"name": "n", "at": "tomorrow"}, []string{"BAD_USER_INPUT expiresAt"}},
	} {
		r := a.do(`mutation($name: String!, $at: DateTime) { apiTokenCreate(name: $name, expiresAt: $at) { secret } }`, tt.vars)
		if d := cmp.Diff(tt.want, r.codes()); d != "" {
			t.Errorf("%s (-want +got):\n%s", tt.name, d)
		}
	}
	if r := a.as("", `{ apiTokens { id } }`, nil); cmp.Diff([]string{"UNAUTHENTICATED"}, r.codes()) != "" {
		t.Errorf("anonymous apiTokens: %v", r.codes())
	}
}

// TestAPITokenCannotMintTokens: a token made by another token would outlive its
// parent's revocation, so a caller authenticated by an API token makes none.
func TestAPITokenCannotMintTokens(t *testing.T) {
	t.Parallel()
	a := MustAPI(t)
	var created struct{ APITokenCreate struct{ Secret string } }
	a.mustData(`mutation { apiTokenCreate(name: "parent") { secret } }`, nil, &created)
	withToken := map[string]string{"Authorization": "Bearer " + created.APITokenCreate.Secret}
	r := a.post(`{"query":"mutation { apiTokenCreate(name: \"child\") { secret } }"}`, withToken)
	if cmp.Diff([]string{"FORBIDDEN"}, r.codes()) != "" || !strings.Contains(r.Errors[0].Message, "sign in with a bearer JWT") {
		t.Errorf("a token minting a token: %s %+v", r.Data, r.Errors)
	}
	var n int
	if err := a.db.Raw(`SELECT count(*) FROM api_tokens`).Scan(&n).Error; err != nil || n != 1 {
		t.Errorf("%d tokens stored (%v), want the parent only", n, err)
	}
	if r := a.post(`{"query":"{ viewer { email } }"}`, withToken); r.Errors != nil {
		t.Errorf("the token still reads: %v", r.codes())
	}
}
