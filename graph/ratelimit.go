package graph

import (
	"math"
	"net/http"
	"strconv"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/cloudcomms/customers/models"
)

// RateLimit is a token bucket per caller: Rate requests a second on average, Burst
// at once. Zero Rate turns it off.
type RateLimit struct {
	Rate  float64
	Burst int
}

// limiters keeps one bucket per caller (user id, or the client's address when
// anonymous), forgetting buckets that have been idle for a while.
type limiters struct {
	cfg     RateLimit
	mu      sync.Mutex
	buckets map[string]*bucket
	swept   time.Time
}

type bucket struct {
	lim  *rate.Limiter
	seen time.Time
}

const bucketIdle = 10 * time.Minute

func (l *limiters) reserve(key string, now time.Time) *rate.Reservation {
	l.mu.Lock()
	defer l.mu.Unlock()
	if now.Sub(l.swept) > bucketIdle {
		for k, b := range l.buckets {
			if now.Sub(b.seen) > bucketIdle {
				delete(l.buckets, k)
			}
		}
		l.swept = now
	}
	b, ok := l.buckets[key]
	if !ok {
		b = &bucket{lim: rate.NewLimiter(rate.Limit(l.cfg.Rate), l.cfg.Burst)}
		l.buckets[key] = b
	}
	b.seen = now
	return b.lim.ReserveN(now, 1)
}

// withRateLimit answers 429 with Retry-After to a caller that exceeds its bucket.
// It runs after authentication, so that a user is limited wherever it calls from.
func withRateLimit(cfg RateLimit, next http.Handler) http.Handler {
	if cfg.Rate <= 0 {
		return next
	}
	l := &limiters{cfg: cfg, buckets: map[string]*bucket{}}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c := models.CallerFrom(r.Context())
		key := "ip:" + c.IP.String()
		if c.UserID != nil {
			key = "user:" + c.UserID.String()
		}
		now := time.Now()
		res := l.reserve(key, now)
		if delay := res.DelayFrom(now); delay > 0 {
			res.CancelAt(now)
			w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(delay.Seconds()))))
			writeErrors(r.Context(), w, http.StatusTooManyRequests, "too many requests: slow down and retry after the Retry-After seconds", "RATE_LIMITED", "")
			return
		}
		next.ServeHTTP(w, r)
	})
}
