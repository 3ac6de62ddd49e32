package models

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/singleflight"
)

// CallersChannel is the PostgreSQL channel on which triggers announce every change
// of a user ("user:<id>") or of an API token's validity ("token:<id>"), in the
// writing transaction (migration 00007), so that each instance forgets what it
// cached of them as soon as the change commits, whoever made it.
const CallersChannel = "callers"

// Bounds of the caller cache: entries live callerTTL at most, behind the
// invalidations, and each map holds at most maxCachedCallers. Nothing is answered
// from the cache once the listener has not heard from PostgreSQL for callerSilence
// (Channel.Heard, every 250 ms or so while the connection is well): a connection
// broken without a word, whose invalidations no longer arrive, stops the cache
// within that, well inside the second within which a change must reach every
// instance, and before the listener gives the connection up. A read of a caller
// shared by several requests (shared) for a request without a deadline runs
// callerLoadTimeout at most.
const (
	callerTTL         = 10 * time.Second
	callerSilence     = 750 * time.Millisecond
	maxCachedCallers  = 10_000
	callerLoadTimeout = 5 * time.Second
)

// CallerCache remembers verified callers (a user by id; an API token by the hash of
// its secret, with its user) so that authenticating a request costs no statement.
// It keeps nothing unless it is listening for invalidations: a user disabled or a
// token revoked on any instance is forgotten by every instance within moments, and
// by the writing instance before its write returns.
type CallerCache struct {
	// heard is when the listener last heard from PostgreSQL, in Unix nanoseconds.
	heard     atomic.Int64
	mu        sync.Mutex
	listening bool
	// generation counts invalidations: a lookup that started before one may have
	// read what it invalidated, so its result is not kept.
	generation uint64
	users      map[ObjectID]cachedUser
	tokens     map[[32]byte]cachedToken
	// The tokens by their id and by their user, so that an invalidation finds its
	// entries without a scan: a bulk update of users sends a notification per row.
	tokenByID    map[ObjectID][32]byte
	tokensByUser map[ObjectID]map[[32]byte]bool
	// loads are the reads of callers in flight, by key and generation (shared).
	loads singleflight.Group
}

type cachedUser struct {
	user User
	at   time.Time
}

type cachedToken struct {
	token APIToken
	user  User
	at    time.Time
	// lastUsedNoted is when the token's last_used_at was last written.
	lastUsedNoted time.Time
}

// NewCallerCache returns an empty cache, not listening.
func NewCallerCache() *CallerCache {
	return &CallerCache{users: map[ObjectID]cachedUser{}, tokens: map[[32]byte]cachedToken{},
		tokenByID: map[ObjectID][32]byte{}, tokensByUser: map[ObjectID]map[[32]byte]bool{}}
}

// Channel is what keeps the cache true to the database: run a Listener with it
// for as long as the cache serves.
func (c *CallerCache) Channel() Channel {
	return Channel{
		Name:         CallersChannel,
		Connected:    func() { c.setListening(true) },
		Disconnected: func() { c.setListening(false) },
		Heard:        func() { c.hear(time.Now()) },
		Notify:       c.invalidate,
	}
}

// setListening starts or stops keeping entries; either way what was kept goes, as
// changes may have been missed while not listening. Starting counts as hearing.
func (c *CallerCache) setListening(on bool) {
	c.hear(time.Now())
	c.mu.Lock()
	defer c.mu.Unlock()
	c.listening = on
	c.clear()
}

// hear records that the listener heard from PostgreSQL at.
func (c *CallerCache) hear(at time.Time) { c.heard.Store(at.UnixNano()) }

// trusted tells whether the cache may answer at now: the listener heard from
// PostgreSQL within callerSilence.
func (c *CallerCache) trusted(now time.Time) bool {
	return now.UnixNano()-c.heard.Load() <= int64(callerSilence)
}

// clear forgets everything; c.mu is held.
func (c *CallerCache) clear() {
	c.generation++
	clear(c.users)
	clear(c.tokens)
	clear(c.tokenByID)
	clear(c.tokensByUser)
}

// invalidate forgets what a notification names: "user:<id>" or "token:<id>". A
// payload it does not understand makes it forget everything.
func (c *CallerCache) invalidate(payload string) {
	kind, id, ok := parseCallerNote(payload)
	switch {
	case ok && kind == "user":
		c.InvalidateUser(id)
	case ok && kind == "token":
		c.InvalidateToken(id)
	default:
		c.mu.Lock()
		c.clear()
		c.mu.Unlock()
	}
}

// parseCallerNote reads a payload of CallersChannel: "user:<id>" or "token:<id>".
func parseCallerNote(payload string) (kind string, id ObjectID, ok bool) {
	kind, hexID, _ := strings.Cut(payload, ":")
	id, err := ParseObjectID(hexID)
	return kind, id, err == nil && (kind == "user" || kind == "token")
}

// InvalidateUser forgets the user id and the tokens that act as it.
func (c *CallerCache) InvalidateUser(id ObjectID) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.generation++
	delete(c.users, id)
	for hash := range c.tokensByUser[id] {
		c.removeToken(hash)
	}
}

// InvalidateToken forgets the API token id.
func (c *CallerCache) InvalidateToken(id ObjectID) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.generation++
	if hash, ok := c.tokenByID[id]; ok {
		c.removeToken(hash)
	}
}

// InvalidateCustomer forgets every user of the customer id, and their tokens (a
// customer deleted takes its users with it; rare enough for a scan).
func (c *CallerCache) InvalidateCustomer(id ObjectID) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.generation++
	for uid, e := range c.users {
		if e.user.CustomerID == id {
			delete(c.users, uid)
		}
	}
	for hash, e := range c.tokens {
		if e.user.CustomerID == id {
			c.removeToken(hash)
		}
	}
}

// removeToken forgets the token of hash and its index entries; c.mu is held.
func (c *CallerCache) removeToken(hash [32]byte) {
	e, ok := c.tokens[hash]
	if !ok {
		return
	}
	delete(c.tokens, hash)
	delete(c.tokenByID, e.token.ID)
	if byUser := c.tokensByUser[e.user.ID]; byUser != nil {
		delete(byUser, hash)
		if len(byUser) == 0 {
			delete(c.tokensByUser, e.user.ID)
		}
	}
}

// begin returns the generation a lookup starts in, to hand to put.
func (c *CallerCache) begin() uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.generation
}

// user returns a copy of the cached user id.
func (c *CallerCache) user(id ObjectID, now time.Time) (*User, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.users[id]
	if !ok || now.Sub(e.at) > callerTTL || !c.trusted(now) {
		return nil, false
	}
	u := e.user
	return &u, true
}

// loadUser returns a copy of the cached user id, or of the one load reads, active
// or not, and keeps it when it is active. The read is shared (shared).
func (c *CallerCache) loadUser(ctx context.Context, id ObjectID, load func(context.Context) (*User, error)) (*User, error) {
	now := time.Now()
	if u, ok := c.user(id, now); ok {
		return u, nil
	}
	generation := c.begin()
	u, err := shared(c, ctx, fmt.Sprintf("user:%s/%d", id, generation), "find user "+id.String(), func(ctx context.Context) (*User, error) {
		u, err := load(ctx)
		if err == nil && u.Status == UserActive {
			c.putUser(u, generation, now)
		}
		return u, err
	})
	if err != nil {
		return nil, err
	}
	cp := *u
	return &cp, nil
}

// loadToken returns copies of the user and the token of hash that load reads,
// given the generation to keep them in (putToken). The read is shared (shared).
func (c *CallerCache) loadToken(ctx context.Context, hash [32]byte, load func(context.Context, uint64) (*User, *APIToken, error)) (*User, *APIToken, error) {
	generation := c.begin()
	type found struct {
		user  *User
		token *APIToken
	}
	f, err := shared(c, ctx, fmt.Sprintf("token:%x/%d", hash, generation), "authenticate api token", func(ctx context.Context) (found, error) {
		u, t, err := load(ctx, generation)
		return found{u, t}, err
	})
	if err != nil {
		return nil, nil, err
	}
	u, t := *f.user, *f.token
	return &u, &t, nil
}

// shared returns what load returns, run once for the lookups that ask for key
// while it runs: a caller's entry expires for all its requests at once, and 16 of
// them reading the same row needed as many connections, which database/sql opens
// one at a time (a stall of 450 ms under the load test). Keys name the cache
// generation, so a lookup that began after an invalidation never takes a read that
// began before it. The read outlives a request that leaves, for the others
// waiting, until the deadline of the request that began it (callerLoadTimeout
// without one). A lookup that leaves gets its own context's error wrapped in what;
// a panic in the read, which runs on a goroutine of its own, is raised again in
// every lookup that waited for it, with the read's stack.
func shared[T any](c *CallerCache, ctx context.Context, key, what string, load func(context.Context) (T, error)) (T, error) {
	read := c.loads.DoChan(key, func() (v any, err error) {
		defer func() {
			if p := recover(); p != nil {
				err = &loadPanic{value: p, stack: debug.Stack()}
			}
		}()
		deadline, ok := ctx.Deadline()
		if !ok {
			deadline = time.Now().Add(callerLoadTimeout)
		}
		ctx, cancel := context.WithDeadline(context.WithoutCancel(ctx), deadline)
		defer cancel()
		return load(ctx)
	})
	select {
	case r := <-read:
		if p, ok := errors.AsType[*loadPanic](r.Err); ok {
			panic(p)
		}
		v, _ := r.Val.(T)
		return v, r.Err
	case <-ctx.Done():
		var zero T
		return zero, fmt.Errorf("%s: %w", what, context.Cause(ctx))
	}
}

// loadPanic is a panic in a shared read, with where it happened.
type loadPanic struct {
	value any
	stack []byte
}

func (p *loadPanic) Error() string {
	return fmt.Sprintf("%v\n\nin a shared read of a caller:\n%s", p.value, p.stack)
}

// putUser keeps u, unless the cache is not listening or something was invalidated
// since generation.
func (c *CallerCache) putUser(u *User, generation uint64, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.listening || c.generation != generation {
		return
	}
	if len(c.users) >= maxCachedCallers {
		for id := range c.users { // an arbitrary one: Go's maps iterate in random order
			delete(c.users, id)
			break
		}
	}
	c.users[u.ID] = cachedUser{user: *u, at: now}
}

// token returns copies of the cached token of hash and its user, and when its use
// was last noted.
func (c *CallerCache) token(hash [32]byte, now time.Time) (*APIToken, *User, time.Time, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.tokens[hash]
	if !ok || now.Sub(e.at) > callerTTL || !c.trusted(now) {
		return nil, nil, time.Time{}, false
	}
	t, u := e.token, e.user
	return &t, &u, e.lastUsedNoted, true
}

// putToken keeps t and its user u, as putUser does.
func (c *CallerCache) putToken(hash [32]byte, t *APIToken, u *User, lastUsedNoted time.Time, generation uint64, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.listening || c.generation != generation {
		return
	}
	if len(c.tokens) >= maxCachedCallers {
		for h := range c.tokens { // an arbitrary one: Go's maps iterate in random order
			c.removeToken(h)
			break
		}
	}
	c.removeToken(hash)
	c.tokens[hash] = cachedToken{token: *t, user: *u, at: now, lastUsedNoted: lastUsedNoted}
	c.tokenByID[t.ID] = hash
	if c.tokensByUser[u.ID] == nil {
		c.tokensByUser[u.ID] = map[[32]byte]bool{}
	}
	c.tokensByUser[u.ID][hash] = true
}

// noteTokenUse records that the cached token of hash had its use written at now.
func (c *CallerCache) noteTokenUse(hash [32]byte, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.tokens[hash]; ok {
		e.lastUsedNoted = now
		c.tokens[hash] = e
	}
}
