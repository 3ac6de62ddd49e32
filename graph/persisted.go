package graph

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"strings"

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/errcode"
	"github.com/vektah/gqlparser/v2/gqlerror"
)

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

// ExtensionName names the extension for gqlgen.
func (TrustedDocuments) ExtensionName() string { return "TrustedDocuments" }

// Validate accepts every schema.
func (TrustedDocuments) Validate(graphql.ExecutableSchema) error { return nil }

// MutateOperationParameters refuses a document that is not on the list. It runs
// after automatic persisted queries, so a document sent by hash is checked too.
func (t TrustedDocuments) MutateOperationParameters(_ context.Context, p *graphql.RawParams) *gqlerror.Error {
	sum := sha256.Sum256([]byte(p.Query))
	if t[hex.EncodeToString(sum[:])] {
		return nil
	}
	err := gqlerror.Errorf("this server runs only trusted documents, and this one is not on its list")
	errcode.Set(err, "DOCUMENT_NOT_TRUSTED")
	return err
}
