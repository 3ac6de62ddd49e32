package graph

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"strings"

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/errcode"
	"github.com/vektah/gqlparser/v2/gqlerror"
)

// persistedQueryBytes bounds the memory of automatic persisted queries, whose
// documents clients choose.
const persistedQueryBytes = 8 << 20

// persistedQueries are automatic persisted queries (Apollo's protocol): once the
// server knows a document, a client sends its SHA-256 instead of its text. A
// document is remembered only after it proved valid, so refused documents take no
// room.
type persistedQueries struct{ cache *sizedLRU[string] }

func newPersistedQueries(entries int) *persistedQueries {
	return &persistedQueries{cache: newSizedLRU(entries, persistedQueryBytes, func(hash, query string) int {
		return len(hash) + len(query)
	})}
}

// resolve fills in the document of a request that sent only its hash. It returns
// the hash to remember the document under once the document proves valid: a
// request that sent both.
func (q *persistedQueries) resolve(p *graphql.RawParams) (register string, err *gqlerror.Error) {
	ext, ok := p.Extensions["persistedQuery"].(map[string]any)
	if !ok {
		return "", nil
	}
	hash, _ := ext["sha256Hash"].(string)
	if fmt.Sprint(ext["version"]) != "1" {
		return "", gqlerror.Errorf("unsupported persisted query version: want 1")
	}
	if p.Query == "" {
		if p.Query, ok = q.cache.get(hash); !ok {
			err := gqlerror.Errorf("PersistedQueryNotFound")
			errcode.Set(err, "PERSISTED_QUERY_NOT_FOUND")
			return "", err
		}
		return "", nil
	}
	if documentHash(p.Query) != hash {
		return "", gqlerror.Errorf("the persisted query's sha256Hash is not the SHA-256 of its query")
	}
	return hash, nil
}

// add remembers the document query under its hash.
func (q *persistedQueries) add(hash, query string) { q.cache.add(hash, query) }

// documentHash is the lower-case hexadecimal SHA-256 of a document's text, as
// persisted queries and trusted documents name documents.
func documentHash(query string) string {
	sum := sha256.Sum256([]byte(query))
	return hex.EncodeToString(sum[:])
}

// TrustedDocuments is an allow-list of GraphQL documents by the SHA-256 of their
// text: in a locked-down deployment, only these run.
type TrustedDocuments map[string]bool

// LoadTrustedDocuments reads an allow-list file: one lower-case hexadecimal
// SHA-256 per line (the same hash Apollo's persisted queries use); blank lines and
// lines starting with # are ignored.
func LoadTrustedDocuments(path string) (TrustedDocuments, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("trusted documents: %w", err)
	}
	defer f.Close()
	docs := TrustedDocuments{}
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if b, err := hex.DecodeString(line); err != nil || len(b) != sha256.Size {
			return nil, fmt.Errorf("trusted documents: %s:%d: not a SHA-256 in hexadecimal", path, n)
		}
		docs[strings.ToLower(line)] = true
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("trusted documents: %w", err)
	}
	return docs, nil
}

// check refuses a document that is not on the list. It runs after automatic
// persisted queries, so a document sent by hash is checked too.
func (t TrustedDocuments) check(query string) *gqlerror.Error {
	if t[documentHash(query)] {
		return nil
	}
	err := gqlerror.Errorf("this server runs only trusted documents, and this one is not on its list")
	errcode.Set(err, "DOCUMENT_NOT_TRUSTED")
	return err
}
