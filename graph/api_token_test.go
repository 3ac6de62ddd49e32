package graph_test

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/cloudcomms/customers/graph"
	"github.com/cloudcomms/customers/models"
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
	r = withToken(secret, `{ viewer { email } apiTokens { nodes { name lastUsedAt revokedAt } } }`)
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
	lower := `mutation($id: ObjectID!) { userPatch(id: $id, patch: {adminPermission: READ}) { id } }`
	if r := a.do(lower, map[string]any{"id": admin}); r.Errors != nil {
		t.Fatalf("lower the admin's permission: %v", r.codes())
	}
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
	if r := a.as("", `{ apiTokens { totalCount } }`, nil); cmp.Diff([]string{"UNAUTHENTICATED"}, r.codes()) != "" {
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

// TestAPITokensPaged pages a user's tokens newest first, as every connection does,
// and prices the list by its page size.
func TestAPITokensPaged(t *testing.T) {
	t.Parallel()
	a := MustAPI(t, func(c *graph.Config) { c.Limits.MaxComplexity = 500 })
	a.seedLinked(1)
	for i := range 5 {
		a.mustData(`mutation($n: String!) { apiTokenCreate(name: $n) { secret } }`, map[string]any{"n": fmt.Sprintf("t%d", i)}, &struct{}{})
	}
	// Another user's token is not listed.
	a.as(a.userID("admin.linked001@example.com"), `mutation { apiTokenCreate(name: "other") { secret } }`, nil)
	type page struct {
		APITokens struct {
			TotalCount int
			Nodes      []struct{ Name string }
			PageInfo   struct {
				HasNextPage bool
				EndCursor   string
			}
		}
	}
	const doc = `query($after: String) { apiTokens(first: 2, after: $after) { totalCount nodes { name } pageInfo { hasNextPage endCursor } } }`
	var names []string
	vars := map[string]any{}
	for range 3 {
		var p page
		a.mustData(doc, vars, &p)
		if p.APITokens.TotalCount != 5 {
			t.Errorf("totalCount %d, want 5", p.APITokens.TotalCount)
		}
		for _, n := range p.APITokens.Nodes {
			names = append(names, n.Name)
		}
		vars["after"] = p.APITokens.PageInfo.EndCursor
		if !p.APITokens.PageInfo.HasNextPage {
			break
		}
	}
	if d := cmp.Diff([]string{"t4", "t3", "t2", "t1", "t0"}, names); d != "" {
		t.Errorf("pages (-want +got):\n%s", d)
	}
	for _, tt := range []struct {
		name, doc string
		want      []string
	}{
		{"TooLarge", `{ apiTokens(first: 101) { totalCount } }`, []string{"BAD_USER_INPUT first"}},
		{"BadCursor", `{ apiTokens(after: "nope") { totalCount } }`, []string{"BAD_USER_INPUT after"}},
		{"PricedByPageSize", `{ apiTokens(first: 100) { nodes { id name createdAt lastUsedAt expiresAt revokedAt } } }`, []string{"COMPLEXITY_LIMIT_EXCEEDED"}},
	} {
		if d := cmp.Diff(tt.want, a.do(tt.doc, nil).codes()); d != "" {
			t.Errorf("%s (-want +got):\n%s", tt.name, d)
		}
	}
}

// TestAPITokenCap refuses a user's token beyond MaxActiveAPITokens active ones, even
// when the creations race; revoked and expired tokens do not count.
func TestAPITokenCap(t *testing.T) {
	t.Parallel()
	a := MustAPI(t)
	err := a.db.Exec(`INSERT INTO api_tokens (customer_id, user_id, name, token_hash, revoked_at, expires_at)
		SELECT decode(?, 'hex'), decode(?, 'hex'), 'seeded', sha256(i::text::bytea),
			CASE WHEN i > ? + 5 THEN now() END, CASE WHEN i > ? AND i <= ? + 5 THEN now() - interval '1 second' END
		FROM generate_series(1, ? + 10) i`, a.platform, a.staff, models.MaxActiveAPITokens-1, models.MaxActiveAPITokens-1,
		models.MaxActiveAPITokens-1, models.MaxActiveAPITokens-1).Error
	if err != nil {
		t.Fatal(err)
	}
	const tries = 8
	var wg sync.WaitGroup
	codes := make([][]string, tries)
	for i := range tries {
		wg.Go(func() { codes[i] = a.do(`mutation { apiTokenCreate(name: "racer") { secret } }`, nil).codes() })
	}
	wg.Wait()
	var ok, conflict int
	for _, c := range codes {
		switch {
		case c == nil:
			ok++
		case cmp.Equal(c, []string{"CONFLICT"}):
			conflict++
		default:
			t.Errorf("unexpected errors %v", c)
		}
	}
	if ok != 1 || conflict != tries-1 {
		t.Errorf("%d created and %d refused, want 1 and %d", ok, conflict, tries-1)
	}
	r := a.do(`mutation { apiTokenCreate(name: "one more") { secret } }`, nil)
	if len(r.Errors) != 1 || !strings.Contains(r.Errors[0].Message, "you have 50 active API tokens, the most allowed") {
		t.Errorf("at the cap: %+v", r.Errors)
	}
	a.db.Exec(`UPDATE api_tokens SET revoked_at = now() WHERE id = (SELECT id FROM api_tokens WHERE revoked_at IS NULL LIMIT 1)`)
	if r := a.do(`mutation { apiTokenCreate(name: "after a revocation") { secret } }`, nil); r.Errors != nil {
		t.Errorf("after revoking one: %v", r.codes())
	}
}
