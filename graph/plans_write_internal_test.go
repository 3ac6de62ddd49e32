package graph

import (
	"bytes"
	"strings"
	"testing"

	"github.com/99designs/gqlgen/graphql"
)

// FuzzAppendString: a plan quotes every string as gqlgen's MarshalString does,
// whatever bytes it holds.
func FuzzAppendString(f *testing.F) {
	for _, s := range []string{"", "plain", "exactly8", "sixteen byte str", `a"b`, `back\slash`, "tab\there",
		"\x00\x01\x1f\x7f", "new\nline\r", "ünïcödé ✓", "\xff\xfe invalid", strings.Repeat("x", 7) + `"`,
		strings.Repeat("y", 8) + "\n" + strings.Repeat("z", 9), "\u2028\u2029<>&"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		var want bytes.Buffer
		graphql.MarshalString(s).MarshalGQL(&want)
		if got := appendString([]byte("prefix"), s); string(got) != "prefix"+want.String() {
			t.Errorf("appendString(%q) = %s, want %s", s, got[len("prefix"):], want.String())
		}
	})
}
