package models

import (
	"testing"
	"time"
)

// TestCursorsStayTheSame: a cursor handed out before stays valid, so the bytes a
// row's cursor is made of must not change. The golden cursors were signed by the
// earlier encoder (encoding/json and a new HMAC per cursor).
func TestCursorsStayTheSame(t *testing.T) {
	t.Parallel()
	c := NewCursors([]byte("loadtest-cursor-secret-not-a-secret-0123456789"))
	row := &Customer{ID: MustParseObjectID("6b0f0a736cf6cf4a960002ee"), Name: `Ann "A" <&>`, Credit: -42,
		CreatedAt: time.Date(2026, 11, 30, 10, 11, 12, 123456000, time.FixedZone("", 3600))}
	for _, tt := range []struct {
		order []CustomerOrder
		want  string
	}{
		{nil, "ASeNrR-Sj6pRAgz47R-9Y857Im8iOiJJRDpBU0MiLCJ2IjpbIjZiMGYwYTczNmNmNmNmNGE5NjAwMDJlZSJdfQ"},
		{[]CustomerOrder{{Field: CustomerOrderName, Direction: Desc}},
			"AbKbXvjmhhV24328vuMVKiJ7Im8iOiJOQU1FOkRFU0MsSUQ6QVNDIiwidiI6WyJBbm4gXCJBXCIgXHUwMDNjXHUwMDI2XHUwMDNlIiwiNmIwZjBhNzM2Y2Y2Y2Y0YTk2MDAwMmVlIl19"},
		{[]CustomerOrder{{Field: CustomerOrderCreatedAt}, {Field: CustomerOrderCredit, Direction: Desc}},
			"AdhCO-vEddzoUsjnpPV2NiF7Im8iOiJDUkVBVEVEX0FUOkFTQyxDUkVESVQ6REVTQyxJRDpBU0MiLCJ2IjpbIjIwMjYtMTEtMzBUMDk6MTE6MTIuMTIzNDU2WiIsLTQyLCI2YjBmMGE3MzZjZjZjZjRhOTYwMDAyZWUiXX0"},
	} {
		o := customerOrdering(tt.order)
		got, err := encodeCursors(c, o, []*Customer{row, row})
		if err != nil || len(got) != 2 || got[0] != tt.want || got[1] != tt.want {
			t.Errorf("%v: %q, %v; want %q twice", tt.order, got, err, tt.want)
		}
		vals, err := decodeCursor(c, o, "after", tt.want)
		if err != nil || len(vals) != len(o) {
			t.Errorf("%v: decode: %v, %v", tt.order, vals, err)
		}
	}
}

// TestFetchLimit: a page reads more rows than its size, from a handful of limits.
func TestFetchLimit(t *testing.T) {
	t.Parallel()
	seen := map[int]bool{}
	for size := 0; size <= MaxPageSize; size++ {
		n := fetchLimit(size)
		if n <= size || n > max(2*(size+1), 6) {
			t.Errorf("fetchLimit(%d) = %d, want more than the size and at most twice one more", size, n)
		}
		seen[n] = true
	}
	if len(seen) > len(fetchLimits) || fetchLimit(DefaultPageSize) != DefaultPageSize+1 || fetchLimit(50) != 51 {
		t.Errorf("limits %v; want at most %d, with 21 for the default page and 51 for a page of 50", seen, len(fetchLimits))
	}
}
