package models

import (
	"context"
	"crypto/sha256"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/cloudcomms/customers/internal/pgtest"
)

// TestCallerCache: entries are kept only while listening, live callerTTL at most,
// are not answered while the listener has not heard from PostgreSQL for
// callerSilence, go with an invalidation of their user, token or customer, and a
// lookup that an invalidation overtook does not put back what it read.
func TestCallerCache(t *testing.T) {
	now := time.Now()
	u := &User{ID: NewObjectID(), CustomerID: NewObjectID(), Status: UserActive}
	tok := &APIToken{ID: NewObjectID(), UserID: u.ID}
	hash := [32]byte{1}
	c := NewCallerCache()
	c.putUser(u, c.begin(), now)
	if _, ok := c.user(u.ID, now); ok {
		t.Fatal("kept a user while not listening")
	}
	c.setListening(true)
	c.putUser(u, c.begin(), now)
	c.putToken(hash, tok, u, now, c.begin(), now)
	if got, ok := c.user(u.ID, now); !ok || got.ID != u.ID || got == u {
		t.Fatalf("user: %v %v (want a copy)", got, ok)
	}
	c.hear(now.Add(-callerSilence - time.Millisecond))
	if _, ok := c.user(u.ID, now); ok {
		t.Error("a user answered while the listener had been silent for longer than callerSilence")
	}
	if _, _, _, ok := c.token(hash, now); ok {
		t.Error("a token answered while the listener had been silent for longer than callerSilence")
	}
	c.hear(now)
	if _, ok := c.user(u.ID, now); !ok {
		t.Error("the user was not answered once the listener was heard again")
	}
	c.hear(now.Add(callerTTL + time.Second))
	if _, ok := c.user(u.ID, now.Add(callerTTL+time.Second)); ok {
		t.Error("a user outlived callerTTL")
	}
	c.invalidate("user:" + u.ID.String())
	if _, ok := c.user(u.ID, now); ok {
		t.Error("the user outlived its invalidation")
	}
	if _, _, _, ok := c.token(hash, now); ok {
		t.Error("the user's token outlived the user's invalidation")
	}
	generation := c.begin()
	c.InvalidateCustomer(u.CustomerID)
	c.putUser(u, generation, now)
	if _, ok := c.user(u.ID, now); ok {
		t.Error("a lookup overtaken by an invalidation was kept")
	}
	c.putToken(hash, tok, u, now, c.begin(), now)
	c.invalidate("token:" + tok.ID.String())
	if _, _, _, ok := c.token(hash, now); ok {
		t.Error("the token outlived its invalidation")
	}
	c.putUser(u, c.begin(), now)
	c.invalidate("nonsense")
	if _, ok := c.user(u.ID, now); ok {
		t.Error("a payload not understood kept the cache")
	}
	c.putUser(u, c.begin(), now)
	c.setListening(false)
	if _, ok := c.user(u.ID, now); ok {
		t.Error("the cache kept its users after the listener went away")
	}
}

// TestCallerCacheIndexes: a user's tokens go with it, each token by its id, and the
// indexes are left empty once their entries are gone.
func TestCallerCacheIndexes(t *testing.T) {
	now := time.Now()
	c := NewCallerCache()
	c.setListening(true)
	u, other := &User{ID: NewObjectID()}, &User{ID: NewObjectID()}
	t1, t2, t3 := &APIToken{ID: NewObjectID()}, &APIToken{ID: NewObjectID()}, &APIToken{ID: NewObjectID()}
	c.putToken([32]byte{1}, t1, u, now, c.begin(), now)
	c.putToken([32]byte{2}, t2, u, now, c.begin(), now)
	c.putToken([32]byte{3}, t3, other, now, c.begin(), now)
	c.InvalidateToken(t2.ID)
	if _, _, _, ok := c.token([32]byte{2}, now); ok {
		t.Error("the token outlived its invalidation")
	}
	c.InvalidateUser(u.ID)
	if _, _, _, ok := c.token([32]byte{1}, now); ok {
		t.Error("a token outlived its user's invalidation")
	}
	if _, _, _, ok := c.token([32]byte{3}, now); !ok {
		t.Error("another user's token went too")
	}
	if len(c.tokenByID) != 1 || len(c.tokensByUser) != 1 {
		t.Errorf("indexes keep %d tokens by id and %d users, want 1 and 1", len(c.tokenByID), len(c.tokensByUser))
	}
}

// TestCallerReadsAreShared: the lookups of one user, or of one API token, that miss
// the cache together send one read of it between them; one whose request leaves
// returns at once, and the others still get the caller; one that begins after an
// invalidation, while a read that began before it is in flight, sends its own.
func TestCallerReadsAreShared(t *testing.T) {
	db, err := OpenDB(DBConfig{URL: pgtest.NewDatabase(t), MaxConns: 8, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	const secret = "a shared secret"
	hash := sha256.Sum256([]byte(secret))
	var id, tokenID ObjectID
	if err := db.Raw(`WITH c AS (INSERT INTO customers (name) VALUES ('Shared') RETURNING id),
		u AS (INSERT INTO users (customer_id, email, first, last) SELECT id, 'shared@example.com', 'S', 'R' FROM c RETURNING id, customer_id)
		INSERT INTO api_tokens (user_id, customer_id, name, token_hash, last_used_at) SELECT id, customer_id, 'shared', ?, now() FROM u
		RETURNING user_id, id`,
		hash[:]).Row().Scan(&id, &tokenID); err != nil {
		t.Fatal(err)
	}
	callers := NewCallerCache()
	callers.setListening(true)
	users, tokens := NewUserStore(db, nil, callers), NewAPITokenStore(db, nil, callers)
	for _, c := range []struct {
		name, table string
		lookup      func(context.Context) (*User, error)
		invalidate  func()
	}{
		{"User", "users", func(ctx context.Context) (*User, error) { return users.Authenticate(ctx, id) },
			func() { callers.InvalidateUser(id) }},
		// The token's use was just noted: a read of it is one statement.
		{"APIToken", "api_tokens", func(ctx context.Context) (*User, error) {
			u, _, err := tokens.AuthenticateAPIToken(ctx, secret)
			return u, err
		}, func() { callers.InvalidateToken(tokenID) }},
	} {
		t.Run(c.name, func(t *testing.T) {
			// A lock on the table holds every read of it until the test lets go.
			hold := func() (release func()) {
				lock := db.Begin()
				if err := lock.Exec(`LOCK TABLE ` + c.table + ` IN ACCESS EXCLUSIVE MODE`).Error; err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { lock.Rollback() }) // a second rollback does nothing
				return func() { lock.Rollback() }
			}
			// Read outside the lock's transaction, which reads a snapshot of
			// pg_stat_activity.
			waiting := func() (n int64) {
				if err := db.Raw(`SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'`).Scan(&n).Error; err != nil {
					t.Fatal(err)
				}
				return n
			}
			type result struct {
				user *User
				err  error
			}
			// Each lookup counts its statements; a shared read counts in the
			// context of the lookup that began it, also once that one has left.
			lookup := func(ctx context.Context) (<-chan result, context.Context) {
				ctx = WithStatementCounter(ctx)
				out := make(chan result, 1)
				go func() {
					u, err := c.lookup(ctx)
					out <- result{u, err}
				}()
				return out, ctx
			}
			get := func(what string, ch <-chan result) {
				t.Helper()
				if r := <-ch; r.err != nil || r.user == nil || r.user.ID != id {
					t.Fatalf("%s: %v %v", what, r.user, r.err)
				}
			}

			release := hold()
			var together []<-chan result
			var counted []context.Context
			for range 8 {
				ch, ctx := lookup(context.Background())
				together, counted = append(together, ch), append(counted, ctx)
			}
			leaving, leave := context.WithCancel(context.Background())
			left, ctx := lookup(leaving)
			counted = append(counted, ctx)
			eventually(t, "a read waiting for the lock", func() bool { return waiting() >= 1 })
			time.Sleep(100 * time.Millisecond) // for the other lookups to send reads, if they would
			if n := waiting(); n != 1 {
				t.Errorf("%d reads in flight, want 1", n)
			}
			leave()
			select {
			case r := <-left:
				if !errors.Is(r.err, context.Canceled) {
					t.Errorf("the lookup that left: %v, want context.Canceled", r.err)
				}
			case <-time.After(5 * time.Second):
				t.Fatal("a lookup whose request left waited for the read")
			}
			release()
			for _, ch := range together {
				get("a lookup", ch)
			}
			var statements int64
			for _, ctx := range counted {
				statements += Statements(ctx)
			}
			if statements != 1 {
				t.Errorf("9 lookups together sent %d statements, want 1", statements)
			}

			c.invalidate() // what the first read kept
			release = hold()
			before, beforeCount := lookup(context.Background())
			eventually(t, "a read waiting for the lock", func() bool { return waiting() == 1 })
			c.invalidate()
			after, afterCount := lookup(context.Background())
			eventually(t, "a second read, after the invalidation", func() bool { return waiting() == 2 })
			release()
			get("the lookup before the invalidation", before)
			get("the lookup after it", after)
			if b, a := Statements(beforeCount), Statements(afterCount); b != 1 || a != 1 {
				t.Errorf("the lookups before and after the invalidation sent %d and %d statements, want 1 each", b, a)
			}
		})
	}
}

// TestCallerReadPanics: a panic in a shared read is raised again in the lookup that
// waited for it, with the read's stack, as it was when each lookup read alone.
func TestCallerReadPanics(t *testing.T) {
	c := NewCallerCache()
	defer func() {
		p, ok := recover().(*loadPanic)
		if !ok || !strings.Contains(p.Error(), "broken driver") || !strings.Contains(p.Error(), "TestCallerReadPanics") {
			t.Errorf("recovered %v, want the read's panic with its stack", p)
		}
	}()
	_, _ = c.loadUser(context.Background(), NewObjectID(), func(context.Context) (*User, error) { panic("broken driver") })
	t.Error("the lookup returned")
}
