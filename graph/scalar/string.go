// Package scalar reads and writes the GraphQL scalars whose rules go beyond
// gqlgen's own; gqlgen.yml binds them.
package scalar

import (
	"errors"
	"strings"

	"github.com/99designs/gqlgen/graphql"
)

// MarshalString writes a String as gqlgen does.
func MarshalString(s string) graphql.Marshaler { return graphql.MarshalString(s) }

// UnmarshalString reads a String as gqlgen does, and refuses one that holds the NUL
// character (U+0000): PostgreSQL's text cannot store it, so it would fail as a
// server error deep in a write or a filter instead of as the client's input.
func UnmarshalString(v any) (string, error) {
	s, err := graphql.UnmarshalString(v)
	if err == nil && strings.ContainsRune(s, 0) {
		return "", errors.New("must not contain the NUL character (U+0000)")
	}
	return s, err
}
