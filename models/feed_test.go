package models

import (
	"context"
	"fmt"
	"testing"
	"time"
)

// feedWorld is a feed over a database of its own with a staff user, who subscribes
// with ctx; no listener runs: the tests announce what they want the feed to hear.
type feedWorld struct {
	t    *testing.T
	feed *Feed
	ctx  context.Context
}

func newFeedWorld(t *testing.T) *feedWorld {
	t.Helper()
	db := mustDB(t)
	var staff User
	err := db.Raw(`WITH c AS (INSERT INTO customers (name) VALUES ('Platform') RETURNING id)
		INSERT INTO users (customer_id, email, first, last, super_admin_permission) SELECT id, 'staff@example.com', 'S', 'T', 'READ_WRITE' FROM c
		RETURNING *`).Scan(&staff).Error
	if err != nil {
		t.Fatal(err)
	}
	caller := Caller{UserID: &staff.ID, User: &staff}
	ctx, cancel := context.WithCancel(WithCaller(context.Background(), caller))
	t.Cleanup(cancel)
	f := NewFeed(db)
	f.connected()
	return &feedWorld{t: t, feed: f, ctx: ctx}
}

// customer inserts a customer named name and returns its id.
func (w *feedWorld) customer(name string) ObjectID {
	w.t.Helper()
	var id ObjectID
	if err := w.feed.db.Raw(`INSERT INTO customers (name) VALUES (?) RETURNING id`, name).Row().Scan(&id); err != nil {
		w.t.Fatal(err)
	}
	return id
}

func (w *feedWorld) exec(sql string, args ...any) {
	w.t.Helper()
	if err := w.feed.db.Exec(sql, args...).Error; err != nil {
		w.t.Fatal(err)
	}
}

func (w *feedWorld) subscribeCustomer(id ObjectID) *Subscription[*Customer] {
	w.t.Helper()
	s, err := w.feed.SubscribeCustomer(w.ctx, id, func(context.Context) (Caller, error) { return CallerFrom(w.ctx), nil })
	if err != nil {
		w.t.Fatal(err)
	}
	return s
}

// receive returns what s's channel gives within a second: a value, or closed.
func receive[T any](t *testing.T, s *Subscription[T]) (v T, open bool) {
	t.Helper()
	select {
	case v, open = <-s.C:
		return v, open
	case <-time.After(time.Second):
		t.Fatal("nothing within 1 s")
		return v, false
	}
}

// TestFeedResync: after its connection is back, the feed sends each followed
// customer that changed meanwhile as it now is, one deleted meanwhile as it was,
// nothing for one unchanged, and ends the audit event subscriptions with
// EventsMissed.
func TestFeedResync(t *testing.T) {
	t.Parallel()
	w := newFeedWorld(t)
	changed, deleted, same := w.customer("Changed"), w.customer("Deleted"), w.customer("Same")
	subs := map[ObjectID]*Subscription[*Customer]{}
	for _, id := range []ObjectID{changed, deleted, same} {
		subs[id] = w.subscribeCustomer(id)
		if c, _ := receive(t, subs[id]); c == nil || c.ID != id {
			t.Fatalf("first event %+v, want customer %s", c, id)
		}
	}
	events, err := w.feed.SubscribeEvents(w.ctx, nil, func(context.Context) (Caller, error) { return CallerFrom(w.ctx), nil })
	if err != nil {
		t.Fatal(err)
	}

	w.feed.disconnected()
	w.exec(`UPDATE customers SET name = 'Changed meanwhile', version = version + 1 WHERE id = ?`, changed)
	w.exec(`DELETE FROM customers WHERE id = ?`, deleted)
	w.feed.connected()

	if c, _ := receive(t, subs[changed]); c == nil || c.Name != "Changed meanwhile" || c.Version != 2 {
		t.Errorf("changed: %+v", c)
	}
	if c, _ := receive(t, subs[deleted]); c == nil || c.Name != "Deleted" {
		t.Errorf("deleted: %+v, want the customer as it was", c)
	}
	if _, open := receive(t, subs[deleted]); open || subs[deleted].Err() != nil {
		t.Errorf("deleted: still open %v, or ended with %v", open, subs[deleted].Err())
	}
	if _, open := receive(t, events); open || ErrorKind(events.Err()) != EventsMissed {
		t.Errorf("events: still open %v, or ended with %v", open, events.Err())
	}
	select {
	case c := <-subs[same].C:
		t.Errorf("unchanged customer sent again: %+v", c)
	case <-time.After(100 * time.Millisecond):
	}
	if n := w.feed.Len(); n != 2 {
		t.Errorf("%d subscriptions left, want 2", n)
	}
}

// TestFeedSlowSubscribers: the feed never waits for a subscriber. One that reads
// no customer states keeps the latest ones; one that reads no audit events past
// its buffer loses its subscription (EventsMissed).
func TestFeedSlowSubscribers(t *testing.T) {
	t.Parallel()
	w := newFeedWorld(t)
	id := w.customer("Busy")
	changes := w.subscribeCustomer(id)
	events, err := w.feed.SubscribeEvents(w.ctx, &id, func(context.Context) (Caller, error) { return CallerFrom(w.ctx), nil })
	if err != nil {
		t.Fatal(err)
	}
	const n = subscriptionBuffer + 10
	for i := range n {
		w.exec(`UPDATE customers SET credit = ?, version = version + 1 WHERE id = ?`, i, id)
		w.feed.customerAnnounced(fmt.Sprintf(`{"op": "UPDATE", "id": "%s", "version": %d}`, id, i+2))
		var event ObjectID
		if err := w.feed.db.Raw(`INSERT INTO audit_events (customer_id, operation, record_type, record_id) VALUES (?, 'customerPatch', 'Customer', ?) RETURNING id`,
			id, id).Row().Scan(&event); err != nil {
			t.Fatal(err)
		}
		w.feed.eventAnnounced(fmt.Sprintf(`{"id": "%s", "customer_id": "%s"}`, event, id))
		// Each state read before the next is written: none is folded into a later one.
		if !waitFor(w.idle) {
			t.Fatal("the feed is still busy after 1 s")
		}
	}
	if !waitFor(func() bool { return w.feed.Len() == 1 }) {
		t.Fatalf("%d subscriptions, want the audit events' ended", w.feed.Len())
	}
	got := 0
	for range events.C {
		got++
	}
	if got != subscriptionBuffer || ErrorKind(events.Err()) != EventsMissed {
		t.Errorf("events: %d received, ended with %v; want %d and EventsMissed", got, events.Err(), subscriptionBuffer)
	}
	if len(changes.C) != subscriptionBuffer {
		t.Fatalf("%d states waiting, want a full buffer", len(changes.C))
	}
	var last *Customer
	for range subscriptionBuffer {
		last = <-changes.C
	}
	if last.Credit != n-1 || last.Version != n+1 {
		t.Errorf("the latest state waiting: credit %d, version %d; want %d, %d", last.Credit, last.Version, n-1, n+1)
	}
}

// idle reports whether the feed has done everything announced.
func (w *feedWorld) idle() bool {
	w.feed.mu.Lock()
	defer w.feed.mu.Unlock()
	return !w.feed.working
}

// waitFor polls check for up to a second.
func waitFor(check func() bool) bool {
	for deadline := time.Now().Add(time.Second); !check(); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			return false
		}
	}
	return true
}

// TestFeedRecheck: a subscriber checked again (when its caller changes, and every
// recheckEvery) keeps its subscription while its credential passes, also when the
// check cannot be made (the database is down), and loses it, with the reason, when
// its credential fails or its caller lost the permission the subscription needs.
func TestFeedRecheck(t *testing.T) {
	t.Parallel()
	w := newFeedWorld(t)
	id := w.customer("Watched")
	staff := CallerFrom(w.ctx)
	other := *staff.User
	other.SuperAdminPermission = nil // no longer staff: another customer's user
	for _, tc := range []struct {
		name   string
		result func() (Caller, error)
		want   Kind // Internal: kept
	}{
		{"Passes", func() (Caller, error) { return staff, nil }, Internal},
		{"CannotTell", func() (Caller, error) { return Caller{}, fmt.Errorf("database down") }, Internal},
		{"Revoked", func() (Caller, error) { return Caller{}, Errorf(Unauthenticated, "the API token has been revoked") }, Unauthenticated},
		{"NoLongerStaff", func() (Caller, error) { return Caller{UserID: staff.UserID, User: &other}, nil }, NotFound},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := w.feed.SubscribeCustomer(w.ctx, id, func(context.Context) (Caller, error) { return tc.result() })
			if err != nil {
				t.Fatal(err)
			}
			receive(t, s)
			w.feed.recheck(s.s)
			select {
			case _, open := <-s.C:
				if open || tc.want == Internal || ErrorKind(s.Err()) != tc.want {
					t.Errorf("open %v, ended with %v; want kind %v", open, s.Err(), tc.want)
				}
			case <-time.After(100 * time.Millisecond):
				if tc.want != Internal {
					t.Errorf("still subscribed, want it ended with kind %v", tc.want)
				}
			}
		})
	}
}
