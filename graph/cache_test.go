package graph

import (
	"fmt"
	"strings"
	"testing"

	"github.com/cloudcomms/customers/graph/generated"
)

func TestSizedLRU(t *testing.T) {
	c := newSizedLRU(3, 100, func(k, v string) int { return len(k) + len(v) })
	c.add("a", strings.Repeat("x", 39)) // 40 bytes
	c.add("b", strings.Repeat("x", 39))
	c.get("a") // a is now newer than b
	c.add("c", strings.Repeat("x", 39))
	if _, ok := c.get("b"); ok {
		t.Error("b, the least recently used, outlived a byte budget that holds two entries")
	}
	for _, k := range []string{"a", "c"} {
		if _, ok := c.get(k); !ok {
			t.Errorf("%s was evicted", k)
		}
	}
	c.add("huge", strings.Repeat("x", 200))
	if _, ok := c.get("huge"); ok {
		t.Error("an entry larger than the whole budget was stored")
	}
	for i := range 5 {
		c.add(fmt.Sprint(i), "")
	}
	if n, bytes := c.usage(); n != 3 || bytes != 3 {
		t.Errorf("after five small entries: %d entries of %d bytes, want 3 of 3", n, bytes)
	}
}

// TestDocumentCacheBoundedInBytes: documents of 60 KB (a long comment makes them
// large and still valid) fill the cache to its byte budget and no further.
func TestDocumentCacheBoundedInBytes(t *testing.T) {
	d := newDocuments(generated.NewExecutableSchema(generated.Config{}).Schema(), DefaultLimits)
	for i := range 200 {
		if _, errs := d.prepare(fmt.Sprintf("# %d %s\n{ __typename }", i, strings.Repeat("x", 60_000))); errs != nil {
			t.Fatal(errs)
		}
	}
	n, bytes := d.cache.usage()
	if bytes > documentCacheBytes || n == 0 || n == 200 {
		t.Errorf("the cache holds %d documents in %d bytes; its budget is %d bytes", n, bytes, documentCacheBytes)
	}
}

// TestPersistedQueriesBoundedInBytes: registered documents of 100 KB fill the
// persisted queries to their byte budget and no further.
func TestPersistedQueriesBoundedInBytes(t *testing.T) {
	q := newPersistedQueries(1000)
	for i := range 400 {
		doc := fmt.Sprintf("# %d %s\n{ __typename }", i, strings.Repeat("x", 100_000))
		q.add(documentHash(doc), doc)
	}
	n, bytes := q.cache.usage()
	if bytes > persistedQueryBytes || n == 0 || n == 400 {
		t.Errorf("persisted queries hold %d documents in %d bytes; the budget is %d bytes", n, bytes, persistedQueryBytes)
	}
}
