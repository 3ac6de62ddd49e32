package graph

import (
	"testing"
	"time"
)

// TestCostLimiterBoundsCallers: the buckets kept are bounded; the least recently
// used caller is forgotten first (and starts again with a full bucket).
func TestCostLimiterBoundsCallers(t *testing.T) {
	l := newCostLimiter(CostLimit{Limit: 10, RestoreRate: 0.001, MaxCallers: 2})
	now := time.Now()
	for _, key := range []string{"a", "b", "a", "c"} { // b is the least recently used when c comes
		l.take(key, 10, 0.001, 10, false, now)
	}
	if n := len(l.buckets); n != 2 || l.recent.Len() != 2 {
		t.Fatalf("%d buckets kept (%d listed), want 2", n, l.recent.Len())
	}
	if _, wait := l.take("a", 10, 0.001, 1, false, now); wait == 0 {
		t.Error("a, recently used, was forgotten: its empty bucket paid")
	}
	if _, wait := l.take("b", 10, 0.001, 10, false, now); wait != 0 {
		t.Error("b, the least recently used, was kept: its empty bucket could not pay")
	}
}
