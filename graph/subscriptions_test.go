package graph_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cloudcomms/customers/graph"
)

const (
	customerChangedDoc = `subscription($id: ObjectID!) { customerChanged(id: $id) { id name version adminUser { email } } }`
	customerEventsDoc  = `subscription($c: ObjectID) { customerEvents(customerId: $c) { operation recordId actor { email } changes { field old new } } }`
	renameDoc          = `mutation($id: ObjectID!, $name: String!, $v: Int) { customerPatch(id: $id, patch: {name: $name}, expectedVersion: $v) { version } }`
)

// changed is a customerChanged event.
type changed struct {
	CustomerChanged struct {
		ID, Name  string
		Version   int
		AdminUser *struct{ Email string }
	}
}

// eventOf is a customerEvents event.
type eventOf struct {
	CustomerEvents struct {
		Operation, RecordID string
		Actor               *struct{ Email string }
		Changes             []struct {
			Field    string
			Old, New *string
		}
	}
}

func decode[T any](t testing.TB, r response) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(r.Data, &v); err != nil {
		t.Fatalf("decode %s: %v", r.Data, err)
	}
	return v
}

// rename renames customer through in, as user, and returns the new version.
func (a *api) rename(user, customer, name string) int {
	a.t.Helper()
	r := a.as(user, renameDoc, map[string]any{"id": customer, "name": name})
	if r.Errors != nil {
		a.t.Fatalf("rename: %v", r.codes())
	}
	var out struct{ CustomerPatch struct{ Version int } }
	if err := jsonInto(r, &out); err != nil {
		a.t.Fatal(err)
	}
	return out.CustomerPatch.Version
}

// waitSubscriptions waits until the instance's feed serves n subscriptions (a
// customerEvents subscription sends nothing when it starts).
func (a *api) waitSubscriptions(n int) {
	a.t.Helper()
	if !within(func() bool { return a.resolver.Feed.Len() == n }) {
		a.t.Fatalf("%d subscriptions after 1 s, want %d", a.resolver.Feed.Len(), n)
	}
}

// TestSubscriptionsAcrossInstances: a subscriber on instance b receives, within a
// second, a change made through instance a, over both protocols: the customer as it
// is when it subscribes, then after the change, with its links; and the audit
// event of the change.
func TestSubscriptionsAcrossInstances(t *testing.T) {
	t.Parallel()
	a := MustAPI(t)
	b := a.Instance()
	a.seedLinked(1)
	customer, admin := a.customerID("Linked 001"), a.userID("admin.linked001@example.com")
	for _, p := range protocols {
		t.Run(p.name, func(t *testing.T) {
			changes := p.subscribe(t, b, b.bearer(admin), customerChangedDoc, map[string]any{"id": customer})
			first := decode[changed](t, changes.next(time.Second)).CustomerChanged
			if first.ID != customer || first.AdminUser == nil || first.AdminUser.Email != "admin.linked001@example.com" {
				t.Fatalf("first event: %+v", first)
			}
			events := p.subscribe(t, b, b.bearer(admin), customerEventsDoc, nil) // its own customer's
			b.waitSubscriptions(2)
			version := a.rename(admin, customer, "Renamed by "+p.name)
			got := decode[changed](t, changes.next(time.Second)).CustomerChanged
			if got.Name != "Renamed by "+p.name || got.Version != version || got.Version != first.Version+1 || got.AdminUser == nil {
				t.Errorf("after the change: %+v, want version %d", got, version)
			}
			ev := decode[eventOf](t, events.next(time.Second)).CustomerEvents
			if ev.Operation != "customerPatch" || ev.RecordID != customer || ev.Actor == nil || ev.Actor.Email != "admin.linked001@example.com" ||
				len(ev.Changes) != 1 || ev.Changes[0].Field != "name" || *ev.Changes[0].New != "Renamed by "+p.name {
				t.Errorf("audit event: %+v", ev)
			}
			changes.quiet(200 * time.Millisecond)
			events.quiet(0)
			changes.stop()
			events.stop()
			b.waitSubscriptions(0)
		})
	}
}

// TestSubscriptionsOfAnotherTenant: a customer's user cannot subscribe to another
// customer (NOT_FOUND, as a query finds nothing), and its own subscriptions receive
// nothing of the other customer's changes, while they do receive its own.
func TestSubscriptionsOfAnotherTenant(t *testing.T) {
	t.Parallel()
	a := MustAPI(t)
	b := a.Instance()
	a.seedLinked(2)
	mine, theirs := a.customerID("Linked 002"), a.customerID("Linked 001")
	admin := a.userID("admin.linked002@example.com")
	for _, p := range protocols {
		t.Run(p.name, func(t *testing.T) {
			for _, sub := range []struct {
				doc  string
				vars map[string]any
			}{{customerChangedDoc, map[string]any{"id": theirs}}, {customerEventsDoc, map[string]any{"c": theirs}}} {
				if codes := p.subscribe(t, b, b.bearer(admin), sub.doc, sub.vars).ends(time.Second); !slices.Equal(codes, []string{"NOT_FOUND"}) {
					t.Errorf("%s: %v, want NOT_FOUND", sub.doc, codes)
				}
			}
			changes := p.subscribe(t, b, b.bearer(admin), customerChangedDoc, map[string]any{"id": mine})
			changes.next(time.Second)
			events := p.subscribe(t, b, b.bearer(admin), customerEventsDoc, nil)
			staffEvents := p.subscribe(t, b, b.bearer(a.staff), customerEventsDoc, nil) // every customer's
			b.waitSubscriptions(3)
			a.rename(a.staff, theirs, "Theirs "+p.name)
			if ev := decode[eventOf](t, staffEvents.next(time.Second)).CustomerEvents; ev.RecordID != theirs {
				t.Errorf("staff: %+v", ev)
			}
			changes.quiet(300 * time.Millisecond)
			events.quiet(0)
			a.rename(a.staff, mine, "Mine "+p.name)
			if got := decode[changed](t, changes.next(time.Second)).CustomerChanged; got.Name != "Mine "+p.name {
				t.Errorf("own customer: %+v", got)
			}
			if ev := decode[eventOf](t, events.next(time.Second)).CustomerEvents; ev.RecordID != mine {
				t.Errorf("own events: %+v", ev)
			}
			staffEvents.next(time.Second)
			for _, s := range []*stream{changes, events, staffEvents} {
				s.stop()
			}
			b.waitSubscriptions(0)
		})
	}
}

// TestRolledBackMutationSendsNothing: a patch refused for its expectedVersion, and
// a change rolled back in SQL, send nothing; the next change that commits is the
// next event.
func TestRolledBackMutationSendsNothing(t *testing.T) {
	t.Parallel()
	a := MustAPI(t)
	b := a.Instance()
	a.seedLinked(1)
	customer := a.customerID("Linked 001")
	changes := protocols[0].subscribe(t, b, b.bearer(a.staff), customerChangedDoc, map[string]any{"id": customer})
	version := decode[changed](t, changes.next(time.Second)).CustomerChanged.Version
	events := protocols[1].subscribe(t, b, b.bearer(a.staff), customerEventsDoc, map[string]any{"c": customer})
	b.waitSubscriptions(2)

	r := a.do(renameDoc, map[string]any{"id": customer, "name": "Stale", "v": version - 1})
	if !slices.Equal(r.codes(), []string{"CONFLICT expectedVersion"}) {
		t.Fatalf("stale patch: %v", r.codes())
	}
	tx := a.db.Begin()
	if err := tx.Exec(`UPDATE customers SET name = 'Rolled back', version = version + 1 WHERE id = decode(?, 'hex')`, customer).Error; err != nil {
		t.Fatal(err)
	}
	if err := tx.Exec(`INSERT INTO audit_events (customer_id, operation, record_type, record_id) VALUES (decode(?, 'hex'), 'customerPatch', 'Customer', decode(?, 'hex'))`,
		customer, customer).Error; err != nil {
		t.Fatal(err)
	}
	if err := tx.Rollback().Error; err != nil {
		t.Fatal(err)
	}
	changes.quiet(300 * time.Millisecond)
	events.quiet(0)

	next := a.rename(a.staff, customer, "Committed")
	if got := decode[changed](t, changes.next(time.Second)).CustomerChanged; got.Name != "Committed" || got.Version != version+1 || next != version+1 {
		t.Errorf("after the commit: %+v, want version %d", got, version+1)
	}
	if ev := decode[eventOf](t, events.next(time.Second)).CustomerEvents; len(ev.Changes) != 1 || *ev.Changes[0].New != "Committed" {
		t.Errorf("audit event: %+v", ev)
	}
}

// TestRevokedCredentialEndsSubscriptions: a token revoked, or a user disabled,
// through instance a ends its subscriptions on instance b within a second, over
// both protocols, with UNAUTHENTICATED; the token's WebSocket runs nothing more.
func TestRevokedCredentialEndsSubscriptions(t *testing.T) {
	t.Parallel()
	a := MustAPI(t)
	b := a.Instance()
	a.seedLinked(2)
	customer, admin := a.customerID("Linked 001"), a.userID("admin.linked001@example.com")
	t.Run("RevokeAToken", func(t *testing.T) {
		secret := a.apiToken(admin)
		var tokenID string
		a.db.Raw(`SELECT encode(id, 'hex') FROM api_tokens WHERE user_id = decode(?, 'hex')`, admin).Scan(&tokenID)
		conn, _ := b.dialWS(t, "Bearer "+secret)
		byWS := conn.subscribe(customerChangedDoc, map[string]any{"id": customer})
		byWS.next(time.Second)
		events := conn.subscribe(customerEventsDoc, nil)
		bySSE := b.subscribeSSE(t, "Bearer "+secret, customerChangedDoc, map[string]any{"id": customer})
		bySSE.next(time.Second)
		b.waitSubscriptions(3)
		if r := a.as(admin, `mutation($id: ObjectID!) { apiTokenRevoke(id: $id) { id } }`, map[string]any{"id": tokenID}); r.Errors != nil {
			t.Fatalf("revoke: %v", r.codes())
		}
		for _, s := range []*stream{byWS, events, bySSE} {
			if codes := s.ends(time.Second); !slices.Equal(codes, []string{"UNAUTHENTICATED"}) {
				t.Errorf("ended with %v", codes)
			}
		}
		if codes := conn.subscribe(`{ viewer { id } }`, nil).ends(time.Second); !slices.Equal(codes, []string{"UNAUTHENTICATED"}) {
			t.Errorf("a query on the token's WebSocket: %v", codes)
		}
		b.waitSubscriptions(0)
	})
	t.Run("DisableAUser", func(t *testing.T) {
		billing := a.userID("billing.linked001@example.com")
		streams := []*stream{}
		for _, p := range protocols {
			s := p.subscribe(t, b, b.bearer(billing), customerChangedDoc, map[string]any{"id": customer})
			s.next(time.Second)
			streams = append(streams, s)
		}
		if r := a.do(`mutation($id: ObjectID!) { userPatch(id: $id, patch: {status: DISABLED}) { id } }`, map[string]any{"id": billing}); r.Errors != nil {
			t.Fatalf("disable: %v", r.codes())
		}
		for _, s := range streams {
			if codes := s.ends(time.Second); !slices.Equal(codes, []string{"UNAUTHENTICATED"}) {
				t.Errorf("ended with %v", codes)
			}
		}
	})
	t.Run("LowerAPermission", func(t *testing.T) {
		other := a.userID("admin.linked002@example.com")
		events := protocols[0].subscribe(t, b, b.bearer(other), customerEventsDoc, nil)
		b.waitSubscriptions(1)
		if r := a.do(`mutation($id: ObjectID!) { userPatch(id: $id, patch: {adminPermission: null}) { id } }`, map[string]any{"id": other}); r.Errors != nil {
			t.Fatalf("lower: %v", r.codes())
		}
		if codes := events.ends(time.Second); !slices.Equal(codes, []string{"FORBIDDEN"}) {
			t.Errorf("ended with %v", codes)
		}
	})
}

// TestDeletionIsTheLastEvent: a deleted customer's subscribers receive it as it was
// when deleted, then the subscription completes; it cannot be subscribed to since.
func TestDeletionIsTheLastEvent(t *testing.T) {
	t.Parallel()
	a := MustAPI(t)
	b := a.Instance()
	a.seedLinked(1)
	customer := a.customerID("Linked 001")
	version := a.rename(a.staff, customer, "About to go")
	var streams []*stream
	for _, p := range protocols {
		s := p.subscribe(t, b, b.bearer(a.staff), customerChangedDoc, map[string]any{"id": customer})
		s.next(time.Second)
		streams = append(streams, s)
	}
	if r := a.do(`mutation($id: ObjectID!) { customerDelete(id: $id) { id } }`, map[string]any{"id": customer}); r.Errors != nil {
		t.Fatalf("delete: %v", r.codes())
	}
	for i, s := range streams {
		last := decode[changed](t, s.next(time.Second)).CustomerChanged
		if last.ID != customer || last.Name != "About to go" || last.Version != version || last.AdminUser != nil {
			t.Errorf("%s: last event %+v, want the customer as it was (its users went with it)", protocols[i].name, last)
		}
		s.complete(time.Second)
	}
	if codes := protocols[0].subscribe(t, b, b.bearer(a.staff), customerChangedDoc, map[string]any{"id": customer}).ends(time.Second); !slices.Equal(codes, []string{"NOT_FOUND"}) {
		t.Errorf("subscribing to a deleted customer: %v", codes)
	}
}

// TestSubscriptionLimits: a WebSocket carries at most 20 subscriptions, a caller
// at most 100 on an instance, over both protocols; ending one makes room.
func TestSubscriptionLimits(t *testing.T) {
	t.Parallel()
	a := MustAPI(t)
	a.seedLinked(1)
	customer := a.customerID("Linked 001")
	vars := map[string]any{"id": customer}
	var conns []*wsClient
	var first *stream
	for range 5 {
		c, _ := a.dialWS(t, a.bearer(a.staff))
		conns = append(conns, c)
		for range 20 {
			s := c.subscribe(customerChangedDoc, vars)
			s.next(time.Second)
			if first == nil {
				first = s
			}
		}
	}
	if codes := conns[0].subscribe(customerChangedDoc, vars).ends(time.Second); !slices.Equal(codes, []string{"SUBSCRIPTION_LIMIT_EXCEEDED"}) {
		t.Errorf("a 21st on a WebSocket: %v", codes)
	}
	c, _ := a.dialWS(t, a.bearer(a.staff))
	if codes := c.subscribe(customerChangedDoc, vars).ends(time.Second); !slices.Equal(codes, []string{"SUBSCRIPTION_LIMIT_EXCEEDED"}) {
		t.Errorf("a 101st on another WebSocket: %v", codes)
	}
	if codes := a.subscribeSSE(t, a.bearer(a.staff), customerChangedDoc, vars).ends(time.Second); !slices.Equal(codes, []string{"SUBSCRIPTION_LIMIT_EXCEEDED"}) {
		t.Errorf("a 101st over SSE: %v", codes)
	}
	seed := a.userID("admin.linked001@example.com") // another caller has room
	a.subscribeSSE(t, a.bearer(seed), customerChangedDoc, vars).next(time.Second)
	first.stop()
	a.waitSubscriptions(100)
	c.subscribe(customerChangedDoc, vars).next(time.Second)
}

// TestSubscriptionCost: a subscription is charged when it starts, its selection
// counted for ten events, from the caller's bucket.
func TestSubscriptionCost(t *testing.T) {
	t.Parallel()
	a := MustAPI(t, func(c *graph.Config) { c.CostLimit = graph.CostLimit{Limit: 100, RestoreRate: 1} })
	a.seedLinked(1)
	customer := a.customerID("Linked 001")
	// 1 + 10 × (id, name, version, adminUser { email }: 5) = 51 points.
	for i, p := range protocols {
		t.Run(p.name, func(t *testing.T) {
			user := a.userID([]string{"admin.linked001@example.com", "billing.linked001@example.com"}[i])
			s := p.subscribe(t, a, a.bearer(user), customerChangedDoc, map[string]any{"id": customer})
			s.next(time.Second)
			s.stop()
			wide := `subscription($id: ObjectID!) { customerChanged(id: $id) { id name version credit status websiteUrl logo accountLock adminUser { email } } }`
			if codes := p.subscribe(t, a, a.bearer(a.staff), wide, map[string]any{"id": customer}).ends(time.Second); !slices.Equal(codes, []string{"COST_LIMIT_EXCEEDED"}) {
				t.Errorf("a subscription of 101 points from a bucket of 100: %v", codes)
			}
		})
	}
}

// TestStreamsOutliveTimeouts: a subscription lives past REQUEST_TIMEOUT and the
// server's read and write timeouts, over both protocols; a query on a WebSocket
// still has REQUEST_TIMEOUT.
func TestStreamsOutliveTimeouts(t *testing.T) {
	t.Parallel()
	a := MustAPI(t, func(c *graph.Config) { c.Limits.Timeout = 300 * time.Millisecond })
	a.seedLinked(1)
	customer := a.customerID("Linked 001")
	srv := httptest.NewUnstartedServer(a.srv.Config.Handler)
	srv.Config.ReadTimeout, srv.Config.WriteTimeout = 300*time.Millisecond, 300*time.Millisecond
	srv.Start()
	t.Cleanup(srv.Close)
	short := &api{t: t, srv: srv}
	var streams []*stream
	for _, p := range protocols {
		s := p.subscribe(t, short, a.bearer(a.staff), customerChangedDoc, map[string]any{"id": customer})
		s.next(time.Second)
		streams = append(streams, s)
	}
	time.Sleep(time.Second)
	a.rename(a.staff, customer, "Still here")
	for _, s := range streams {
		if got := decode[changed](t, s.next(time.Second)).CustomerChanged; got.Name != "Still here" {
			t.Errorf("after a second: %+v", got)
		}
	}
	c, _ := short.dialWS(t, a.bearer(a.staff))
	tx := a.db.Begin()
	defer tx.Rollback()
	if err := tx.Exec(`SELECT FROM customers WHERE id = decode(?, 'hex') FOR UPDATE`, customer).Error; err != nil {
		t.Fatal(err)
	}
	late := c.subscribe(`mutation($id: ObjectID!) { customerPatch(id: $id, patch: {name: "Late"}) { id } }`, map[string]any{"id": customer})
	if e, ok := late.receive(2 * time.Second); !ok || !slices.Equal(e.resp.codes(), []string{"INTERNAL_SERVER_ERROR"}) {
		t.Errorf("a mutation past REQUEST_TIMEOUT on a WebSocket: %v %v", ok, e.resp.codes())
	}
	late.complete(time.Second)
}

// TestWebSocketAuthentication: a bad credential in connection_init is refused with
// close code 4403 and counted as a failed attempt; an anonymous connection
// subscribes to nothing.
func TestWebSocketAuthentication(t *testing.T) {
	t.Parallel()
	a := MustAPI(t, func(c *graph.Config) { c.AuthFailures = graph.AuthFailureLimit{Burst: 2, Refill: time.Hour} })
	a.seedLinked(1)
	customer := a.customerID("Linked 001")
	for range 2 {
		if c, status := a.dialWS(t, "Bearer not-a-token"); c != nil || status != 4403 {
			t.Errorf("a bad token: %v, close status %d, want 4403", c != nil, status)
		}
	}
	if c, status := a.dialWS(t, a.bearer(a.staff)); c != nil || status != 4429 {
		t.Errorf("after the failures are spent: %v, close status %d, want 4429", c != nil, status)
	}
	b := a.Instance()
	anonymous, _ := b.dialWS(t, "")
	if codes := anonymous.subscribe(customerChangedDoc, map[string]any{"id": customer}).ends(time.Second); !slices.Equal(codes, []string{"UNAUTHENTICATED"}) {
		t.Errorf("anonymous: %v", codes)
	}
}

// TestStreamMetrics: the instance's subscriptions are a gauge; a stream is logged
// when it ends, as "stream", and not counted as a request.
func TestStreamMetrics(t *testing.T) {
	t.Parallel()
	m := graph.NewMetrics(nil)
	a := MustAPI(t, func(c *graph.Config) { c.Metrics = m })
	a.seedLinked(1)
	admin := httptest.NewServer(graph.NewAdminHandler(m))
	t.Cleanup(admin.Close)
	metrics := func() string {
		res, err := http.Get(admin.URL + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		body, _ := io.ReadAll(res.Body)
		return string(body)
	}
	s := a.subscribeSSE(t, a.bearer(a.staff), `subscription Follow($id: ObjectID!) { customerChanged(id: $id) { id } }`,
		map[string]any{"id": a.customerID("Linked 001")})
	s.next(time.Second)
	if body := metrics(); !strings.Contains(body, "customers_subscriptions 1\n") {
		t.Errorf("/metrics lacks customers_subscriptions 1:\n%s", body)
	}
	s.stop()
	a.waitSubscriptions(0)
	if !within(func() bool { return strings.Contains(a.logs.String(), `"msg":"stream"`) }) {
		t.Errorf("no stream line in the log:\n%s", a.logs.String())
	}
	if body := metrics(); !strings.Contains(body, "customers_subscriptions 0\n") || strings.Contains(body, `operation="Follow"`) {
		t.Errorf("after the stream: %s", body)
	}
}

// TestLostListenConnection: when an instance's LISTEN connection is lost, its
// subscribers are told once it is back: customerChanged sends the customer as it
// then is, customerEvents ends with EVENTS_MISSED.
func TestLostListenConnection(t *testing.T) {
	t.Parallel()
	a := MustAPI(t)
	a.seedLinked(1)
	customer := a.customerID("Linked 001")
	changes := protocols[0].subscribe(t, a, a.bearer(a.staff), customerChangedDoc, map[string]any{"id": customer})
	version := decode[changed](t, changes.next(time.Second)).CustomerChanged.Version
	events := protocols[1].subscribe(t, a, a.bearer(a.staff), customerEventsDoc, nil)
	a.waitSubscriptions(2)
	if err := a.db.Exec(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity
		WHERE datname = current_database() AND query LIKE 'LISTEN%' AND pid <> pg_backend_pid()`).Error; err != nil {
		t.Fatal(err)
	}
	// Most likely before the listener is back (it waits 50 to 100 ms): only the
	// resync can tell of it.
	if err := a.db.Exec(`UPDATE customers SET name = 'Meanwhile', version = version + 1 WHERE id = decode(?, 'hex')`, customer).Error; err != nil {
		t.Fatal(err)
	}
	if got := decode[changed](t, changes.next(2*time.Second)).CustomerChanged; got.Name != "Meanwhile" || got.Version != version+1 {
		t.Errorf("after the connection is back: %+v", got)
	}
	if codes := events.ends(2 * time.Second); !slices.Equal(codes, []string{"EVENTS_MISSED"}) {
		t.Errorf("audit events: %v", codes)
	}
	a.rename(a.staff, customer, "Live again")
	if got := decode[changed](t, changes.next(time.Second)).CustomerChanged; got.Name != "Live again" {
		t.Errorf("afterwards: %+v", got)
	}
}

// TestSubscriptionNeedsAStream: a subscription sent as a plain POST is refused,
// as it would answer with its first event only.
func TestSubscriptionNeedsAStream(t *testing.T) {
	t.Parallel()
	a := MustAPI(t)
	a.seedLinked(1)
	r := a.do(customerChangedDoc, map[string]any{"id": a.customerID("Linked 001")})
	if r.Status != http.StatusBadRequest || !slices.Equal(r.codes(), []string{"BAD_REQUEST"}) || a.resolver.Feed.Len() != 0 {
		t.Errorf("status %d, %v, %d subscriptions", r.Status, r.codes(), a.resolver.Feed.Len())
	}
}
