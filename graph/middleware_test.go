package graph

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"testing"
)

func TestClientIP(t *testing.T) {
	trusted := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("::1/128")}
	tests := []struct {
		name, remote string
		xff          []string
		want         string
	}{
		{"DirectClient", "203.0.113.9:5555", nil, "203.0.113.9"},
		{"DirectClientHeaderIgnored", "203.0.113.9:5555", []string{"1.2.3.4"}, "203.0.113.9"},
		{"TrustedProxy", "10.1.2.3:443", []string{"198.51.100.7"}, "198.51.100.7"},
		{"ChainOfTrustedProxies", "10.1.2.3:443", []string{"198.51.100.7, 10.9.9.9"}, "198.51.100.7"},
		{"SpoofedLeftmostIgnored", "10.1.2.3:443", []string{"1.1.1.1, 198.51.100.7"}, "198.51.100.7"},
		{"SeveralHeaders", "10.1.2.3:443", []string{"1.1.1.1", "198.51.100.8"}, "198.51.100.8"},
		{"MalformedHop", "10.1.2.3:443", []string{"198.51.100.7, junk"}, "10.1.2.3"},
		{"TrustedWithoutHeader", "10.1.2.3:443", nil, "10.1.2.3"},
		{"IPv6Proxy", "[::1]:80", []string{"2001:db8::5"}, "2001:db8::5"},
		{"IPv4MappedIPv6", "[::ffff:203.0.113.9]:80", nil, "203.0.113.9"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodPost, "/query", nil)
			r.RemoteAddr = tt.remote
			for _, h := range tt.xff {
				r.Header.Add("X-Forwarded-For", h)
			}
			if got := clientIP(r, trusted).String(); got != tt.want {
				t.Errorf("clientIP = %s, want %s", got, tt.want)
			}
		})
	}
}

func TestHealthAndReadiness(t *testing.T) {
	ready := errors.New("database down")
	h := NewHandler(Config{
		Logger:   slog.New(slog.NewTextHandler(io.Discard, nil)),
		Resolver: NewResolver(nil, nil),
		Ready:    func(context.Context) error { return ready },
	})
	get := func(path string) int {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
		return rec.Code
	}
	if code := get("/healthz"); code != http.StatusOK {
		t.Errorf("/healthz = %d, want 200 while the database is down", code)
	}
	if code := get("/readyz"); code != http.StatusServiceUnavailable {
		t.Errorf("/readyz = %d, want 503 while the database is down", code)
	}
	ready = nil
	if code := get("/readyz"); code != http.StatusOK {
		t.Errorf("/readyz = %d, want 200 once the database answers", code)
	}
	if code := get("/?query=%7B__typename%7D"); code != http.StatusOK {
		t.Errorf("GraphiQL at / = %d, want 200", code)
	}
	if code := get("/nope"); code != http.StatusNotFound {
		t.Errorf("/nope = %d, want 404", code)
	}
}
