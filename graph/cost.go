package graph

import (
	"container/list"
	"context"
	"math"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/handler/extension"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"github.com/cloudcomms/customers/models"
)

// CostLimit gives each caller a bucket of points, charges every request its
// complexity (as GitHub's and Shopify's GraphQL APIs do) and refills the bucket
// continuously: a cheap request is nearly free, a page of 100 with nested lists is
// not. A caller is its API token when staff gave the token a bucket of its own, else
// its user, else its address (IPv6 by /64).
type CostLimit struct {
	// Limit is the points a bucket holds; 0 turns cost limiting off. Staff may give
	// a token a bucket of its own size, refilled in the same time.
	Limit int
	// RestoreRate is the points a bucket regains a second.
	RestoreRate float64
	// MaxCallers bounds the buckets kept; the least recently used is forgotten.
	MaxCallers int
}

// DefaultCostLimit: a request for one customer with every field costs 32 points and
// a page of 50 with its four linked users about 1,650, so 20,000 points a second let
// a person in GraphiQL or a backend-for-frontend service make several hundred such
// requests a second, while a script asking a hundred pages of 100 customers with
// their users a second (550,000 points) is throttled. The bucket holds two seconds
// of refill, for bursts. TestDefaultCostLimitFitsItsCallers checks these figures.
var DefaultCostLimit = CostLimit{Limit: 40_000, RestoreRate: 20_000, MaxCallers: 50_000}

// costLimiter keeps the callers' buckets.
type costLimiter struct {
	cfg     CostLimit
	mu      sync.Mutex
	recent  *list.List // of *costBucket, most recently used first
	buckets map[string]*list.Element
}

type costBucket struct {
	key       string
	available float64
	at        time.Time
}

func newCostLimiter(cfg CostLimit) *costLimiter {
	if cfg.Limit <= 0 {
		return nil
	}
	if cfg.MaxCallers <= 0 {
		cfg.MaxCallers = DefaultCostLimit.MaxCallers
	}
	return &costLimiter{cfg: cfg, recent: list.New(), buckets: map[string]*list.Element{}}
}

// take charges cost points to the bucket of key, which holds limit points and
// regains rate a second, when it has them (with force, whether or not). It returns
// what the bucket has after the charge, and, when it could not pay, how long until
// it could.
func (l *costLimiter) take(key string, limit, rate float64, cost int, force bool, now time.Time) (available float64, wait time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	e, ok := l.buckets[key]
	if ok {
		l.recent.MoveToFront(e)
	} else {
		e = l.recent.PushFront(&costBucket{key: key, available: limit, at: now})
		l.buckets[key] = e
		if l.recent.Len() > l.cfg.MaxCallers {
			delete(l.buckets, l.recent.Remove(l.recent.Back()).(*costBucket).key)
		}
	}
	b := e.Value.(*costBucket)
	b.available = min(limit, b.available+rate*now.Sub(b.at).Seconds())
	b.at = now
	if need := float64(cost) - b.available; need > 0 {
		if force { // what was already spent is owed, down to one bucket's worth
			b.available = max(b.available-float64(cost), -limit)
		}
		return b.available, time.Duration(need / rate * float64(time.Second))
	}
	b.available -= float64(cost)
	return b.available, 0
}

// costAccount is one request's dealings with its caller's bucket, kept for the
// response's extensions.cost.
type costAccount struct {
	limiter     *costLimiter
	key         string
	limit, rate float64

	mu        sync.Mutex
	requested int
	available float64
}

type costAccountKey struct{}

// withCostLimit gives every GraphQL request an account with its caller's bucket;
// the executor charges it once the operation's cost is known. It runs after
// authentication, so that a token or user is one caller wherever it calls from (a
// WebSocket that authenticates in its connection_init is given its caller's account
// then: withCostAccount).
func withCostLimit(cfg CostLimit, next http.Handler) http.Handler {
	l := newCostLimiter(cfg)
	if l == nil {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), costAccountKey{}, l.account(models.CallerFrom(r.Context())))))
	})
}

// account opens an account with the bucket of caller c.
func (l *costLimiter) account(c models.Caller) *costAccount {
	// A token that staff gave a bucket of its own spends it; any other token
	// spends its user's, so that minting tokens does not multiply a budget.
	key := "ip:" + clientKey(c.IP)
	switch {
	case c.APITokenID != nil && c.CostLimit != nil:
		key = "token:" + c.APITokenID.String()
	case c.UserID != nil:
		key = "user:" + c.UserID.String()
	}
	limit, rate := float64(l.cfg.Limit), l.cfg.RestoreRate
	if c.CostLimit != nil { // refilled in the same time as the server's bucket
		limit, rate = float64(*c.CostLimit), l.cfg.RestoreRate*float64(*c.CostLimit)/float64(l.cfg.Limit)
	}
	return &costAccount{limiter: l, key: key, limit: limit, rate: rate, available: limit}
}

// withCostAccount gives the operations of ctx the account of caller c, when cost
// limits are on.
func withCostAccount(ctx context.Context, c models.Caller) context.Context {
	a := costAccountFrom(ctx)
	if a == nil {
		return ctx
	}
	return context.WithValue(ctx, costAccountKey{}, a.limiter.account(c))
}

func costAccountFrom(ctx context.Context) *costAccount {
	a, _ := ctx.Value(costAccountKey{}).(*costAccount)
	return a
}

// chargeCost charges the complexity of the operation of oc to the request's
// account, if it has one, and refuses the operation when the bucket cannot pay:
// 429 with Retry-After when it will later, COST_LIMIT_EXCEEDED when it never can.
func chargeCost(ctx context.Context, oc *graphql.OperationContext) *gqlerror.Error {
	a := costAccountFrom(ctx)
	stats, _ := oc.Stats.GetExtension("ComplexityLimit").(*extension.ComplexityStats)
	if a == nil || stats == nil {
		return nil
	}
	cost := stats.Complexity
	a.mu.Lock()
	defer a.mu.Unlock()
	a.requested = cost
	if float64(cost) > a.limit {
		return limitError("COST_LIMIT_EXCEEDED", "the operation costs %d points, more than your bucket of %.0f holds: ask for fewer rows", cost, a.limit)
	}
	var wait time.Duration
	a.available, wait = a.limiter.take(a.key, a.limit, a.rate, cost, false, time.Now())
	if wait > 0 {
		retry := int(math.Ceil(wait.Seconds()))
		setStatus(ctx, http.StatusTooManyRequests, "Retry-After", strconv.Itoa(retry))
		return limitError("RATE_LIMITED", "the operation costs %d points and your bucket has %.0f, regaining %.0f a second: retry after %d s",
			cost, a.available, a.rate, retry)
	}
	return nil
}

// refusalCostBytes is the size of document that costs one point when it is
// refused before it runs: parsing, measuring and validating it cost the server CPU
// though no resolver ran, and a caller must not make it do so for free.
const refusalCostBytes = 100

// requireCredit refuses, before its document is even parsed, a request whose
// caller's bucket is empty (as refused documents leave it): 429 with Retry-After.
func requireCredit(ctx context.Context) *gqlerror.Error {
	a := costAccountFrom(ctx)
	if a == nil {
		return nil
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	a.available, _ = a.limiter.take(a.key, a.limit, a.rate, 0, false, time.Now())
	if a.available >= 1 {
		return nil
	}
	retry := int(math.Ceil((1 - a.available) / a.rate))
	setStatus(ctx, http.StatusTooManyRequests, "Retry-After", strconv.Itoa(retry))
	return limitError("RATE_LIMITED", "your bucket is empty, regaining %.0f points a second: retry after %d s", a.rate, retry)
}

// chargeRefusal charges a document that was refused before it ran one point per
// refusalCostBytes of its text, to the request's account if it has one.
func chargeRefusal(ctx context.Context, size int) {
	a := costAccountFrom(ctx)
	if a == nil {
		return
	}
	cost := 1 + size/refusalCostBytes
	a.mu.Lock()
	defer a.mu.Unlock()
	a.requested = cost
	a.available, _ = a.limiter.take(a.key, a.limit, a.rate, cost, true, time.Now())
}

// addCostExtension puts the request's cost and its caller's bucket in the
// response's extensions.cost, as Shopify's API does, so that clients can pace
// themselves.
func addCostExtension(ctx context.Context, next graphql.ResponseHandler) *graphql.Response {
	resp := next(ctx)
	a := costAccountFrom(ctx)
	if a == nil || resp == nil {
		return resp
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if resp.Extensions == nil {
		resp.Extensions = map[string]any{}
	}
	resp.Extensions["cost"] = map[string]any{
		"requestedQueryCost": a.requested,
		"throttleStatus": map[string]any{
			"maximumAvailable":   a.limit,
			"currentlyAvailable": math.Floor(a.available),
			"restoreRate":        a.rate,
		},
	}
	return resp
}
