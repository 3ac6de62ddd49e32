package graph

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"testing"
	"time"
)

func TestClientKey(t *testing.T) {
	for addr, want := range map[string]string{
		"192.0.2.1":             "192.0.2.1",
		"::ffff:192.0.2.1":      "192.0.2.1",
		"2001:db8::1":           "2001:db8::/64",
		"2001:db8::ffff:ffff:1": "2001:db8::/64",
		"2001:db8:0:1::1":       "2001:db8:0:1::/64",
		"fe80::1%eth0":          "fe80::/64",
		"::1":                   "::/64",
	} {
		if got := clientKey(netip.MustParseAddr(addr)); got != want {
			t.Errorf("clientKey(%s) = %s, want %s", addr, got, want)
		}
	}
}

func TestFailureLimiterRefills(t *testing.T) {
	l := newFailureLimiter(AuthFailureLimit{Burst: 2, Refill: 6 * time.Second})
	t0 := time.Now()
	for _, at := range []time.Time{t0, t0} {
		if w := l.wait("a", at); w != 0 {
			t.Fatalf("within the burst: wait %s", w)
		}
		l.charge("a", at)
	}
	for _, tt := range []struct {
		after time.Duration
		want  time.Duration
	}{{0, 6 * time.Second}, {4 * time.Second, 2 * time.Second}, {6 * time.Second, 0}} {
		if got := l.wait("a", t0.Add(tt.after)); got != tt.want {
			t.Errorf("%s after the burst: wait %s, want %s", tt.after, got, tt.want)
		}
	}
	if w := l.wait("b", t0); w != 0 {
		t.Errorf("another address waits %s", w)
	}
}

// TestFailureLimiterBounded: the limiter remembers at most MaxClients addresses,
// forgetting the least recently failing, and forgets those whose bucket is full.
func TestFailureLimiterBounded(t *testing.T) {
	l := newFailureLimiter(AuthFailureLimit{Burst: 1, Refill: time.Minute, MaxClients: 3})
	t0 := time.Now()
	for i, key := range []string{"a", "b", "c", "d", "e"} {
		l.charge(key, t0.Add(time.Duration(i)*time.Second))
	}
	if n := len(l.clients); n != 3 {
		t.Errorf("%d addresses remembered, want 3", n)
	}
	if l.wait("a", t0.Add(5*time.Second)) != 0 || l.wait("e", t0.Add(5*time.Second)) == 0 {
		t.Error("want the oldest forgotten and the newest still limited")
	}
	l.charge("f", t0.Add(time.Minute+3*time.Second)) // c and d have refilled by now
	if n := len(l.clients); n != 2 {
		t.Errorf("%d addresses remembered after their buckets refilled, want 2 (e, f)", n)
	}
}

// TestChargeFailedAttempt charges a request's address from inside the handler, as
// the error presenter does for a refusal that answers a guess.
func TestChargeFailedAttempt(t *testing.T) {
	chargeFailedAttempt(context.Background()) // outside a limited request: nothing to charge
	probe := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		chargeFailedAttempt(r.Context())
		w.WriteHeader(http.StatusOK)
	})
	h := withCaller(nil, withAuthFailureLimit(AuthFailureLimit{Burst: 2, Refill: time.Hour}, probe))
	send := func(remote, authorization string) *httptest.ResponseRecorder {
		req := httptest.NewRequest(http.MethodPost, "/query", nil)
		req.RemoteAddr = remote
		if authorization != "" {
			req.Header.Set("Authorization", authorization)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec
	}
	for i := range 2 {
		if rec := send("[2001:db8::1]:4000", "Bearer x"); rec.Code != http.StatusOK {
			t.Fatalf("attempt %d within the budget: %d", i+1, rec.Code)
		}
	}
	rec := send("[2001:db8::2]:4000", "Bearer x") // the same /64
	if rec.Code != http.StatusTooManyRequests || rec.Header().Get("Retry-After") != "3600" {
		t.Errorf("after the budget: %d Retry-After %q", rec.Code, rec.Header().Get("Retry-After"))
	}
	if rec := send("[2001:db8:0:1::1]:4000", "Bearer x"); rec.Code != http.StatusOK {
		t.Errorf("another /64: %d", rec.Code)
	}
	if rec := send("[2001:db8::1]:4000", ""); rec.Code != http.StatusOK {
		t.Errorf("a request without a credential: %d", rec.Code)
	}
}
