package graph_test

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"strings"
	"testing"
)

// TestLogsHoldNoValues logs every SQL statement (the tests log at DEBUG, a superset
// of the slow ones logged at WARN) while a user is created and searched by email and
// an API token is made, used and guessed, and checks that no value reached the log.
func TestLogsHoldNoValues(t *testing.T) {
	t.Parallel()
	a := MustAPI(t)
	const email = "grace.hopper@example.com"
	a.mustCreateUser(map[string]any{"customerId": a.platform, "email": email, "first": "Grace", "last": "Hopper"})
	a.do(`query($e: String!) { users(filter: {email: {eq: $e}}) { totalCount } }`, map[string]any{"e": email})
	var created struct{ APITokenCreate struct{ Secret string } }
	a.mustData(`mutation { apiTokenCreate(name: "bff") { secret } }`, nil, &created)
	secret, guess := created.APITokenCreate.Secret, "cca_"+strings.Repeat("G", 43)
	for _, tok := range []string{secret, guess} {
		a.post(`{"query":"{ viewer { email } }"}`, map[string]string{"Authorization": "Bearer " + tok})
	}
	logs := a.logs.String()
	if !strings.Contains(logs, `"msg":"sql"`) {
		t.Fatal("no statement was logged")
	}
	for _, tok := range []string{secret, guess} {
		sum := sha256.Sum256([]byte(tok))
		for _, v := range []string{tok, hex.EncodeToString(sum[:]), base64.StdEncoding.EncodeToString(sum[:]), `\\x` + hex.EncodeToString(sum[:])} {
			if strings.Contains(logs, v) {
				t.Errorf("the log shows the token or its hash %q", v)
			}
		}
	}
	if strings.Contains(strings.ToLower(logs), email) {
		t.Errorf("the log shows the email:\n%s", a.sqlLog())
	}
}
