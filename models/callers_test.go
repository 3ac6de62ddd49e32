package models

import (
	"testing"
	"time"
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
