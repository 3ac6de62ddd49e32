package graph_test

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/cloudcomms/customers/graph"
)

func sha(doc string) string {
	s := sha256.Sum256([]byte(doc))
	return hex.EncodeToString(s[:])
}

func persisted(query, hash string) string {
	body := map[string]any{"extensions": map[string]any{"persistedQuery": map[string]any{"version": 1, "sha256Hash": hash}}}
	if query != "" {
		body["query"] = query
	}
	b, _ := json.Marshal(body)
	return string(b)
}

func TestAutomaticPersistedQueries(t *testing.T) {
	t.Parallel()
	a := MustAPI(t, func(c *graph.Config) { c.PersistedQueries = 10 })
	doc := `{ viewer { email } }`
	steps := []struct {
		name, body string
		want       []string
	}{
		{"MissByHash", persisted("", sha(doc)), []string{"PERSISTED_QUERY_NOT_FOUND"}},
		{"RegisterWithQuery", persisted(doc, sha(doc)), nil},
		{"HitByHash", persisted("", sha(doc)), nil},
		{"HashDoesNotMatchQuery", persisted(`{ __typename }`, sha(doc)), []string{"BAD_USER_INPUT"}},
		// A refused document takes no room: it is not remembered.
		{"InvalidRefused", persisted(`{ nope }`, sha(`{ nope }`)), []string{"GRAPHQL_VALIDATION_FAILED"}},
		{"InvalidNotRemembered", persisted("", sha(`{ nope }`)), []string{"PERSISTED_QUERY_NOT_FOUND"}},
	}
	for _, s := range steps {
		r := a.post(s.body, nil)
		if d := cmp.Diff(s.want, r.codes()); d != "" {
			t.Errorf("%s (-want +got):\n%s %+v", s.name, d, r.Errors)
		}
		if s.want == nil && string(r.Data) != `{"viewer":{"email":"staff@platform.example"}}` {
			t.Errorf("%s: data %s", s.name, r.Data)
		}
	}
}

func TestTrustedDocuments(t *testing.T) {
	t.Parallel()
	trusted := `{ viewer { email } }`
	path := filepath.Join(t.TempDir(), "trusted.txt")
	if err := os.WriteFile(path, []byte("# the web console's documents\n"+sha(trusted)+"\n\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	docs, err := graph.LoadTrustedDocuments(path)
	if err != nil {
		t.Fatal(err)
	}
	a := MustAPI(t, func(c *graph.Config) { c.TrustedDocuments = docs; c.PersistedQueries = 10 })
	if r := a.do(trusted, nil); r.Errors != nil {
		t.Errorf("trusted document: %+v", r.Errors)
	}
	if r := a.post(persisted(trusted, sha(trusted)), nil); r.Errors != nil {
		t.Errorf("trusted document sent as a persisted query: %+v", r.Errors)
	}
	if r := a.do(`{ customers { totalCount } }`, nil); cmp.Diff([]string{"DOCUMENT_NOT_TRUSTED"}, r.codes()) != "" || a.statements.Load() != authStatements {
		t.Errorf("untrusted document: %v, %d statements", r.codes(), a.statements.Load())
	}
	if err := os.WriteFile(path, []byte("not-a-hash\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := graph.LoadTrustedDocuments(path); err == nil {
		t.Error("a malformed allow-list was accepted")
	}
}
