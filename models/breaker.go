package models

import (
	"context"
	"database/sql/driver"
	"errors"
	"math/rand/v2"
	"sync"
	"time"
)

// errDatabaseDown is a dial the breaker refused without trying.
var errDatabaseDown = errors.New("database unreachable: not connecting again until the back-off passes")

// Back-off of the connect breaker: short enough that the service is ready again well
// within a second of the database's return.
const (
	connectRetryMin = 25 * time.Millisecond
	connectRetryMax = 400 * time.Millisecond
)

// connectBreaker stops connecting to PostgreSQL while it is known to be down. Under load,
// every request would otherwise dial (thousands a second), and a database coming
// back would be stampeded. After a failed dial, dials fail at once until a jittered
// back-off, doubling with each failure, has passed; then one dial at a time probes
// the database, and the first that succeeds closes the breaker.
type connectBreaker struct {
	now func() time.Time

	mu       sync.Mutex
	failures int
	retryAt  time.Time
	probing  bool
}

// connector opens connections through next only when the breaker allows, and
// counts a connection that fails (refused, or no PostgreSQL behind a proxy) against
// the database. One abandoned by its request's context counts neither way.
type connector struct {
	driver.Connector
	breaker *connectBreaker
}

func (c connector) Connect(ctx context.Context) (driver.Conn, error) {
	if !c.breaker.allow() {
		return nil, errDatabaseDown
	}
	conn, err := c.Connector.Connect(ctx)
	switch {
	case err != nil && ctx.Err() != nil:
		c.breaker.abandon()
	default:
		c.breaker.done(err == nil)
	}
	return conn, err
}

func (b *connectBreaker) allow() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.failures == 0 {
		return true
	}
	if b.probing || b.now().Before(b.retryAt) {
		return false
	}
	b.probing = true
	return true
}

// abandon ends a probe that told nothing.
func (b *connectBreaker) abandon() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.probing = false
}

func (b *connectBreaker) done(ok bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.probing = false
	if ok {
		b.failures = 0
		return
	}
	b.failures++
	wait := min(connectRetryMin<<min(b.failures-1, 10), connectRetryMax)
	b.retryAt = b.now().Add(wait/2 + rand.N(wait/2))
}
