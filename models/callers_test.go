package models

import (
	"context"
	"errors"
	"log/slog"
	"testing"
	"time"

	"github.com/cloudcomms/customers/internal/pgtest"
)

// TestCallerCache: entries are kept only while listening, live callerTTL at most,
// go with an invalidation of their user, token or customer, and a lookup that an
// invalidation overtook does not put back what it read.
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

// TestCallerReadsAreShared: the lookups of one user that miss the cache together
// send one read of it between them; one that begins after an invalidation of the
// user sends its own; one whose request leaves returns at once, and the others
// still get the user.
func TestCallerReadsAreShared(t *testing.T) {
	db, err := OpenDB(DBConfig{URL: pgtest.NewDatabase(t), MaxConns: 8, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	var id ObjectID
	if err := db.Raw(`WITH c AS (INSERT INTO customers (name) VALUES ('Shared') RETURNING id)
		INSERT INTO users (customer_id, email, first, last) SELECT id, 'shared@example.com', 'S', 'R' FROM c RETURNING id`).Row().Scan(&id); err != nil {
		t.Fatal(err)
	}
	callers := NewCallerCache()
	callers.setListening(true)
	store := NewUserStore(db, nil, callers)
	// A lock on the table holds every read of it until the test lets go.
	lock := db.Begin()
	defer lock.Rollback()
	if err := lock.Exec(`LOCK TABLE users IN ACCESS EXCLUSIVE MODE`).Error; err != nil {
		t.Fatal(err)
	}
	// Read outside the transaction: one reads a snapshot of pg_stat_activity.
	waiting := func() (n int64) {
		if err := db.Raw(`SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'`).Scan(&n).Error; err != nil {
			t.Fatal(err)
		}
		return n
	}
	type lookup struct {
		user       *User
		err        error
		statements int64
	}
	authenticate := func(ctx context.Context) <-chan lookup {
		out := make(chan lookup, 1)
		go func() {
			ctx := WithStatementCounter(ctx)
			u, err := store.Authenticate(ctx, id)
			out <- lookup{u, err, Statements(ctx)}
		}()
		return out
	}
	var together []<-chan lookup
	for range 8 {
		together = append(together, authenticate(context.Background()))
	}
	leaving, leave := context.WithCancel(context.Background())
	left := authenticate(leaving)
	eventually(t, "a read waiting for the lock", func() bool { return waiting() >= 1 })
	time.Sleep(100 * time.Millisecond) // for the other lookups to send reads, if they would
	if n := waiting(); n != 1 {
		t.Errorf("%d reads of the user in flight, want 1", n)
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
	callers.InvalidateUser(id)
	after := authenticate(context.Background())
	eventually(t, "a second read, after the invalidation", func() bool { return waiting() == 2 })
	if err := lock.Rollback().Error; err != nil {
		t.Fatal(err)
	}
	var statements int64
	for _, c := range together {
		r := <-c
		if r.err != nil || r.user == nil || r.user.ID != id {
			t.Fatalf("a lookup: %v %v", r.user, r.err)
		}
		statements += r.statements
	}
	if statements != 1 {
		t.Errorf("8 lookups together sent %d statements, want 1", statements)
	}
	if r := <-after; r.err != nil || r.statements != 1 {
		t.Errorf("the lookup after the invalidation: %v, %d statements, want its own 1", r.err, r.statements)
	}
}
