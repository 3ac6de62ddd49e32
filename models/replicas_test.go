package models

import (
	"database/sql"
	"testing"
	"time"
)

func TestLSNText(t *testing.T) {
	for _, s := range []string{"0/0", "0/16B3748", "16/B374D848", "FFFFFFFF/FFFFFFFF"} {
		l, err := ParseLSN(s)
		if err != nil || l.String() != s {
			t.Errorf("ParseLSN(%q) = %v, %v; String() = %q", s, uint64(l), err, l.String())
		}
	}
	if l, _ := ParseLSN("16/B374D848"); l != 0x16_B374D848 {
		t.Errorf("16/B374D848 = %#x", uint64(l))
	}
	for _, s := range []string{"", "16", "16/", "/1", "1/2/3", "g/1", "+1/1", "100000000/0", "1/-1", " 1/1"} {
		if _, err := ParseLSN(s); err == nil {
			t.Errorf("ParseLSN(%q) succeeded", s)
		}
	}
}

// TestReplicaFreshness checks how far behind a replica is taken to be, from the
// primary's WAL positions over time and the replica's replay position and last
// replayed commit.
func TestReplicaFreshness(t *testing.T) {
	start := time.Now()
	at := func(ms int) time.Time { return start.Add(time.Duration(ms) * time.Millisecond) }
	r := &Replicas{maxLag: time.Second, every: 250 * time.Millisecond}
	// The primary idles at 100 until 1,000 ms, then writes a little every check.
	for ms := 0; ms <= 2000; ms += 250 {
		lsn := LSN(100)
		if ms > 1000 {
			lsn += LSN(ms - 1000)
		}
		r.record(walSample{at: at(ms), lsn: lsn})
	}
	if first := r.samples[0].at; first != at(500) {
		t.Errorf("the oldest sample kept is from %v, want 500 ms (the maximum lag and two checks before the last)", first.Sub(start))
	}
	none := sql.NullFloat64{}
	long := sql.NullFloat64{Valid: true, Float64: 3600}
	for _, tc := range []struct {
		name        string
		replayed    LSN
		sinceCommit sql.NullFloat64
		want        time.Time
	}{
		{"caught up, its last commit an hour old", 1100, long, at(2000)},
		{"behind every write since 1,000 ms", 100, long, at(1000)},
		{"behind the last write", 600, long, at(1500)},
		{"behind the last write, which it replayed 10 ms before it was asked", 600,
			sql.NullFloat64{Valid: true, Float64: 0.010}, at(1990)},
		{"its clock behind the primary's", 600, sql.NullFloat64{Valid: true, Float64: -0.5}, at(2000)},
		{"behind every sample kept", 50, none, time.Time{}},
	} {
		if got := r.freshAsOf(tc.replayed, at(2000), tc.sinceCommit); !got.Equal(tc.want) {
			t.Errorf("%s: fresh as of %v, want %v", tc.name, got.Sub(start), tc.want.Sub(start))
		}
	}
}
