package graph

import (
	"container/list"
	"context"
	"math"
	"net/http"
	"net/netip"
	"strconv"
	"sync"
	"time"

	"github.com/cloudcomms/customers/models"
)

// AuthFailureLimit bounds the failed authentication attempts of each client address
// (clientKey): a bucket of Burst failures that refills by one every Refill. Once an
// address has spent its bucket, its requests that carry a credential are answered
// 429 with Retry-After before the credential is looked at, so guessing tokens costs
// neither a signature check nor a SQL lookup. Zero Burst or Refill turns it off.
type AuthFailureLimit struct {
	Burst  int
	Refill time.Duration
	// MaxClients is how many addresses with recent failures are remembered; beyond
	// it the one that failed least recently is forgotten (0: the default).
	MaxClients int
}

// DefaultAuthFailureLimit allows a person who mistypes, or a service started with a
// stale token, 10 failures at once and 10 a minute after that: enough to notice and
// fix, and at most one lookup every 6 s per address for a guesser. 50,000 remembered
// addresses take about 10 MB.
var DefaultAuthFailureLimit = AuthFailureLimit{Burst: 10, Refill: 6 * time.Second, MaxClients: 50_000}

// clientKey is the key under which limits count a client's address: an IPv4 address
// by itself, an IPv6 address by its /64, because a single host or subscriber is
// usually given a whole /64 and could otherwise take a fresh address per request.
func clientKey(a netip.Addr) string {
	a = a.Unmap()
	if a.Is6() {
		return netip.PrefixFrom(a, 64).Masked().String()
	}
	return a.String()
}

// failureLimiter keeps a bucket for each address that has failed recently. An
// address that never failed has no entry, so honest traffic costs no memory.
type failureLimiter struct {
	cfg     AuthFailureLimit
	mu      sync.Mutex
	clients map[string]*list.Element // of *failures
	recent  *list.List               // most recently failing first
}

// failures is an address's bucket: tokens failures still allowed, as of at.
type failures struct {
	key    string
	tokens float64
	at     time.Time
}

// newFailureLimiter returns a limiter for cfg, or nil when cfg turns it off.
func newFailureLimiter(cfg AuthFailureLimit) *failureLimiter {
	if cfg.Burst <= 0 || cfg.Refill <= 0 {
		return nil
	}
	if cfg.MaxClients <= 0 {
		cfg.MaxClients = DefaultAuthFailureLimit.MaxClients
	}
	return &failureLimiter{cfg: cfg, clients: map[string]*list.Element{}, recent: list.New()}
}

// level is f's bucket at now, refilled since f.at.
func (l *failureLimiter) level(f *failures, now time.Time) float64 {
	return min(float64(l.cfg.Burst), f.tokens+float64(now.Sub(f.at))/float64(l.cfg.Refill))
}

// wait returns how long key must wait before its next attempt; 0 when it may try now.
func (l *failureLimiter) wait(key string, now time.Time) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	e, ok := l.clients[key]
	if !ok {
		return 0
	}
	lvl := l.level(e.Value.(*failures), now)
	if lvl >= 1 {
		return 0
	}
	return time.Duration((1 - lvl) * float64(l.cfg.Refill))
}

// charge takes one failure from key's bucket.
func (l *failureLimiter) charge(key string, now time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.forgetFull(now)
	var f *failures
	if e, ok := l.clients[key]; ok {
		f = e.Value.(*failures)
		f.tokens = l.level(f, now)
		l.recent.MoveToFront(e)
	} else {
		f = &failures{key: key, tokens: float64(l.cfg.Burst)}
		l.clients[key] = l.recent.PushFront(f)
	}
	f.tokens, f.at = max(f.tokens-1, 0), now
	for l.recent.Len() > l.cfg.MaxClients {
		l.remove(l.recent.Back())
	}
}

// forgetFull drops the entries whose bucket has refilled completely: they are no
// different from an address that never failed. The list is ordered by last
// failure, so they are at its back.
func (l *failureLimiter) forgetFull(now time.Time) {
	full := time.Duration(l.cfg.Burst) * l.cfg.Refill
	for e := l.recent.Back(); e != nil && now.Sub(e.Value.(*failures).at) >= full; e = l.recent.Back() {
		l.remove(e)
	}
}

func (l *failureLimiter) remove(e *list.Element) {
	delete(l.clients, e.Value.(*failures).key)
	l.recent.Remove(e)
}

type failureChargeKey struct{}

// failureCharge is what chargeFailedAttempt needs: the limiter and the address.
type failureCharge struct {
	limiter *failureLimiter
	key     string
}

// withAuthFailureLimit answers 429 with Retry-After, before authentication, to a
// request that carries a credential from an address that has spent its failure
// budget; every request it passes on can be charged with chargeFailedAttempt.
// Requests without a credential pass: they guess nothing, and the rate limit
// covers them. Requests in flight when the budget runs out still finish, so a
// burst of concurrent guesses may overshoot it by their number, once.
func withAuthFailureLimit(cfg AuthFailureLimit, next http.Handler) http.Handler {
	l := newFailureLimiter(cfg)
	if l == nil {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		key := clientKey(models.CallerFrom(ctx).IP)
		if r.Header.Get("Authorization") != "" {
			if wait := l.wait(key, time.Now()); wait > 0 {
				w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(wait.Seconds()))))
				writeErrors(ctx, w, http.StatusTooManyRequests,
					"too many failed authentication attempts from your address: retry after the Retry-After seconds", "RATE_LIMITED", "")
				return
			}
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(ctx, failureChargeKey{}, failureCharge{limiter: l, key: key})))
	})
}

// chargeFailedAttempt counts one failed attempt against the budget of the address
// the request of ctx comes from: a credential that does not authenticate, or a
// refusal that answers a guess (the error presenter charges errors marked Probe).
// Outside withAuthFailureLimit, or with the limit off, it does nothing.
func chargeFailedAttempt(ctx context.Context) {
	if c, ok := ctx.Value(failureChargeKey{}).(failureCharge); ok {
		c.limiter.charge(c.key, time.Now())
	}
}

// authFailureWait returns how long the address the request of ctx comes from must
// wait before its credential is looked at (0: not at all), for a credential that
// comes after the request, in a WebSocket's connection_init.
func authFailureWait(ctx context.Context) time.Duration {
	if c, ok := ctx.Value(failureChargeKey{}).(failureCharge); ok {
		return c.limiter.wait(c.key, time.Now())
	}
	return 0
}
