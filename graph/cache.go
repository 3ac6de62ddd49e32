package graph

import (
	"container/list"
	"sync"
)

// sizedLRU is a least-recently-used cache bounded both in entries and in bytes, so
// that clients choosing what it holds (documents, persisted queries) cannot make it
// hold more memory than it was given. sizeOf estimates what an entry costs.
type sizedLRU[V any] struct {
	maxEntries, maxBytes int
	sizeOf               func(key string, v V) int

	mu      sync.Mutex
	bytes   int
	order   *list.List // of *sizedEntry[V], most recently used first
	entries map[string]*list.Element
}

type sizedEntry[V any] struct {
	key   string
	value V
	size  int
}

func newSizedLRU[V any](maxEntries, maxBytes int, sizeOf func(string, V) int) *sizedLRU[V] {
	return &sizedLRU[V]{maxEntries: maxEntries, maxBytes: maxBytes, sizeOf: sizeOf,
		order: list.New(), entries: map[string]*list.Element{}}
}

// get returns the value of key and marks it used.
func (c *sizedLRU[V]) get(key string) (V, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[key]
	if !ok {
		var zero V
		return zero, false
	}
	c.order.MoveToFront(e)
	return e.Value.(*sizedEntry[V]).value, true
}

// add stores value under key, evicting the least recently used entries until both
// bounds hold. A value larger than the whole byte budget is not stored.
func (c *sizedLRU[V]) add(key string, value V) {
	size := c.sizeOf(key, value)
	if size > c.maxBytes || c.maxEntries <= 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.entries[key]; ok {
		c.remove(e)
	}
	c.entries[key] = c.order.PushFront(&sizedEntry[V]{key: key, value: value, size: size})
	c.bytes += size
	for c.bytes > c.maxBytes || c.order.Len() > c.maxEntries {
		c.remove(c.order.Back())
	}
}

func (c *sizedLRU[V]) remove(e *list.Element) {
	entry := c.order.Remove(e).(*sizedEntry[V])
	delete(c.entries, entry.key)
	c.bytes -= entry.size
}

// usage returns the number of entries and their bytes.
func (c *sizedLRU[V]) usage() (entries, bytes int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.order.Len(), c.bytes
}
