package models

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"gorm.io/gorm"
)

// The channels on which migration 00009's triggers announce, in the writing
// transaction, what subscriptions follow: a customer's every change, and every new
// audit event.
const (
	CustomersChannel   = "customers"
	AuditEventsChannel = "audit_events"
)

// Limits of subscriptions (README, "Subscriptions").
const (
	// MaxSubscriptionsPerCaller bounds one caller's subscriptions on one instance (a
	// caller is its API token, else its user): each holds a buffer and costs a read
	// per event.
	MaxSubscriptionsPerCaller = 100
	// subscriptionBuffer is how many events wait for a subscriber that reads them
	// slowly. Past it, a customerChanged subscriber skips to the latest state (which
	// is all it needs) and a customerEvents subscriber loses its subscription
	// (EventsMissed): the feed never waits for one subscriber.
	subscriptionBuffer = 64
	// maxPendingNotes bounds the announcements waiting to be fanned out; past it
	// they are dropped and the feed resynchronizes, as after a lost connection.
	maxPendingNotes = 10_000
	// recheckEvery is how often a subscriber's credential is checked again when no
	// change of it was announced: a JWT that expires, or a key removed from the JWK
	// set, ends its subscriptions within this.
	recheckEvery = 30 * time.Second
	// feedTimeout bounds each read the feed makes, and each recheck.
	feedTimeout = 5 * time.Second
	// retryAfter is when a read that failed is tried again.
	retryAfter = time.Second
)

// Recheck authenticates a subscriber again with the credential it subscribed with,
// as a request would be, and returns its caller as it now is. Its error is what
// ends the subscription: Unauthenticated for a revoked or expired credential or a
// user no longer active; Internal when it could not tell.
type Recheck func(context.Context) (Caller, error)

// Feed fans out what PostgreSQL announces on CustomersChannel and
// AuditEventsChannel to this instance's subscriptions, in commit order. Each
// announcement names a record; the feed reads it once, from the primary, and gives
// it to each subscriber that may read it, judged with that subscriber's caller as
// it was last checked (the rules of access.go, as for a query). Changes of callers,
// announced on CallersChannel, have their subscribers checked again at once.
type Feed struct {
	db     *gorm.DB
	logger *slog.Logger

	mu           sync.Mutex
	customerSubs map[ObjectID]map[*subscriber]bool // customerChanged, by customer
	eventSubs    map[ObjectID]map[*subscriber]bool // customerEvents of one customer
	allEventSubs map[*subscriber]bool              // customerEvents of every customer (staff)
	byUser       map[ObjectID]map[*subscriber]bool // every subscriber, by its user
	byToken      map[ObjectID]map[*subscriber]bool // the subscribers of an API token
	perCaller    map[string]int
	closed       bool
	// queue holds the announcements not yet fanned out, worked through by one
	// goroutine at a time (working), so that subscribers see them in commit order.
	queue   []note
	working bool
	// lost says that announcements may have been missed (the connection is down, or
	// was never up): when it is back, the feed resynchronizes.
	lost bool
}

// NewFeed returns a feed that reads from db, which must be the primary: a
// replica may not yet hold what was announced.
func NewFeed(db *gorm.DB) *Feed {
	return &Feed{
		db: db, logger: slog.New(slog.DiscardHandler),
		customerSubs: map[ObjectID]map[*subscriber]bool{}, eventSubs: map[ObjectID]map[*subscriber]bool{},
		allEventSubs: map[*subscriber]bool{}, byUser: map[ObjectID]map[*subscriber]bool{}, byToken: map[ObjectID]map[*subscriber]bool{},
		perCaller: map[string]int{}, lost: true,
	}
}

// Channels are what the feed listens to, on the instance's Listener; logger tells
// of the reads that fail.
func (f *Feed) Channels(logger *slog.Logger) []Channel {
	f.mu.Lock()
	f.logger = logger
	f.mu.Unlock()
	return []Channel{
		{Name: CustomersChannel, Notify: f.customerAnnounced, Connected: f.connected, Disconnected: f.disconnected},
		{Name: AuditEventsChannel, Notify: f.eventAnnounced},
		{Name: CallersChannel, Notify: f.callerAnnounced},
	}
}

// Subscription is one subscriber's stream: C receives its events and is closed
// when the subscription ends; Err then says why (nil: it completed, or its client
// left).
type Subscription[T any] struct {
	C <-chan T
	s *subscriber
}

// Err is why the subscription ended; read it once C is closed.
func (s *Subscription[T]) Err() error {
	s.s.mu.Lock()
	defer s.s.mu.Unlock()
	return s.s.err
}

// Caller is the subscriber as last checked: events are read with its permissions.
func (s *Subscription[T]) Caller() Caller {
	s.s.mu.Lock()
	defer s.s.mu.Unlock()
	return s.s.caller
}

// subscriber is one subscription of the feed.
type subscriber struct {
	recheck Recheck
	key     string // the caller's, for the per-caller limit
	userID  ObjectID
	tokenID *ObjectID
	// customerID is customerChanged's customer, or customerEvents' (nil: every
	// customer's, for staff).
	customerID *ObjectID
	changes    bool // customerChanged; otherwise customerEvents

	mu        sync.Mutex
	caller    Caller
	last      []byte // customerChanged: the customer last sent, as JSON
	customers chan *Customer
	events    chan *AuditEvent
	ended     bool
	err       error
	timer     *time.Timer // the next periodic recheck
	stop      func() bool // stops watching the subscriber's context
}

// SubscribeCustomer follows the customer id for the caller in ctx: the customer as
// it is now, then as it is after each change, and when it is deleted, the customer
// as it was, after which the subscription ends. It ends when ctx does. Errors:
// Unauthenticated, NotFound (no such customer, or the caller may not read it),
// TooManySubscriptions, ShuttingDown.
func (f *Feed) SubscribeCustomer(ctx context.Context, id ObjectID, recheck Recheck) (*Subscription[*Customer], error) {
	if err := requireVisibleCustomer(ctx, id); err != nil {
		return nil, err
	}
	found, err := f.loadCustomers(ctx, []ObjectID{id})
	if err != nil {
		return nil, err
	}
	if found[id] == nil {
		return nil, Errorf(NotFound, "no customer with id %s", id)
	}
	ch := make(chan *Customer, subscriptionBuffer)
	s := &subscriber{customerID: &id, changes: true, customers: ch}
	if err := f.add(ctx, s, recheck); err != nil {
		return nil, err
	}
	// The first event is read by the goroutine that reads every later one, so that
	// no state ever follows a newer one.
	f.enqueue(note{kind: noteInitial, id: id, sub: s})
	return &Subscription[*Customer]{C: ch, s: s}, nil
}

// SubscribeEvents follows the audit events of customerID for the caller in ctx, as
// they are committed; without customerID, every customer's for platform staff, its
// own customer's for anyone else. Readable by staff and by the customer's admins
// (authorizeAuditRead). It ends when ctx does. Errors: Unauthenticated, NotFound,
// Forbidden, TooManySubscriptions, ShuttingDown.
func (f *Feed) SubscribeEvents(ctx context.Context, customerID *ObjectID, recheck Recheck) (*Subscription[*AuditEvent], error) {
	u, err := requireUser(ctx)
	if err != nil {
		return nil, err
	}
	if customerID == nil && !u.isStaff() {
		customerID = &u.CustomerID
	}
	if customerID != nil {
		if err := authorizeAuditRead(ctx, []ObjectID{*customerID}); err != nil {
			return nil, err
		}
	}
	ch := make(chan *AuditEvent, subscriptionBuffer)
	s := &subscriber{customerID: customerID, events: ch}
	if err := f.add(ctx, s, recheck); err != nil {
		return nil, err
	}
	return &Subscription[*AuditEvent]{C: ch, s: s}, nil
}

// Len returns how many subscriptions the feed serves.
func (f *Feed) Len() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for _, c := range f.perCaller {
		n += c
	}
	return n
}

// Close ends every subscription with ShuttingDown, and refuses new ones: the
// server is stopping, and its clients should subscribe again elsewhere.
func (f *Feed) Close() {
	f.mu.Lock()
	f.closed = true
	all := f.all()
	f.mu.Unlock()
	for _, s := range all {
		f.end(s, Errorf(ShuttingDown, "the server is shutting down: subscribe again"))
	}
}

// subscriberKey is whose subscriptions count together: an API token's, else a user's.
func subscriberKey(c Caller) string {
	if c.APITokenID != nil {
		return "token:" + c.APITokenID.String()
	}
	return "user:" + c.UserID.String()
}

// add registers s for the caller in ctx, within its limit, until ctx ends.
func (f *Feed) add(ctx context.Context, s *subscriber, recheck Recheck) error {
	c := CallerFrom(ctx)
	s.recheck, s.caller, s.key, s.userID, s.tokenID = recheck, c, subscriberKey(c), *c.UserID, c.APITokenID
	f.mu.Lock()
	defer f.mu.Unlock()
	switch {
	case f.closed:
		return Errorf(ShuttingDown, "the server is shutting down: subscribe again")
	case f.perCaller[s.key] >= MaxSubscriptionsPerCaller:
		return Errorf(TooManySubscriptions, "you have %d subscriptions on this server, the most a caller may have: end one first", MaxSubscriptionsPerCaller)
	}
	f.perCaller[s.key]++
	switch {
	case s.changes:
		addTo(f.customerSubs, *s.customerID, s)
	case s.customerID != nil:
		addTo(f.eventSubs, *s.customerID, s)
	default:
		f.allEventSubs[s] = true
	}
	addTo(f.byUser, s.userID, s)
	if s.tokenID != nil {
		addTo(f.byToken, *s.tokenID, s)
	}
	s.timer = time.AfterFunc(recheckEvery, func() { f.recheck(s) })
	s.stop = context.AfterFunc(ctx, func() { f.end(s, nil) })
	return nil
}

func addTo(m map[ObjectID]map[*subscriber]bool, id ObjectID, s *subscriber) {
	if m[id] == nil {
		m[id] = map[*subscriber]bool{}
	}
	m[id][s] = true
}

func removeFrom(m map[ObjectID]map[*subscriber]bool, id ObjectID, s *subscriber) {
	delete(m[id], s)
	if len(m[id]) == 0 {
		delete(m, id)
	}
}

// end ends s, once: it leaves the feed, err is recorded and its channel closed
// (after the events it holds).
func (f *Feed) end(s *subscriber, err error) {
	f.mu.Lock()
	if s.changes {
		removeFrom(f.customerSubs, *s.customerID, s)
	} else if s.customerID != nil {
		removeFrom(f.eventSubs, *s.customerID, s)
	} else {
		delete(f.allEventSubs, s)
	}
	removeFrom(f.byUser, s.userID, s)
	if s.tokenID != nil {
		removeFrom(f.byToken, *s.tokenID, s)
	}
	s.mu.Lock()
	ended := s.ended
	if !ended {
		s.ended, s.err = true, err
		if s.changes {
			close(s.customers)
		} else {
			close(s.events)
		}
		if f.perCaller[s.key]--; f.perCaller[s.key] == 0 {
			delete(f.perCaller, s.key)
		}
	}
	s.mu.Unlock()
	f.mu.Unlock()
	if !ended {
		s.timer.Stop()
		s.stop()
	}
}

// all returns every subscriber; f.mu is held.
func (f *Feed) all() []*subscriber {
	var out []*subscriber
	for _, set := range f.byUser {
		for s := range set {
			out = append(out, s)
		}
	}
	return out
}

// snapshot returns the members of sets; f.mu is held.
func snapshot(sets ...map[*subscriber]bool) []*subscriber {
	var out []*subscriber
	for _, set := range sets {
		for s := range set {
			out = append(out, s)
		}
	}
	return out
}

// currentCaller is s's caller as last checked, in a context of its own for the
// rules of access.go.
func (s *subscriber) currentCaller() context.Context {
	s.mu.Lock()
	defer s.mu.Unlock()
	return WithCaller(context.Background(), s.caller)
}

// authorize checks that s's caller may still have its subscription.
func (s *subscriber) authorize() error {
	ctx := s.currentCaller()
	switch {
	case s.changes:
		return requireVisibleCustomer(ctx, *s.customerID)
	case s.customerID != nil:
		return authorizeAuditRead(ctx, []ObjectID{*s.customerID})
	default:
		return requireStaff(ctx, "receive every customer's audit events")
	}
}

// sendCustomer gives s its own copy of c, whose JSON is raw, unless it is what s
// was last sent (final: the deletion's last event, sent whatever it holds). A full
// buffer loses its oldest state: a later one supersedes it.
func (s *subscriber) sendCustomer(c *Customer, raw []byte, final bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ended || !final && bytes.Equal(raw, s.last) {
		return
	}
	s.last = raw
	own := *c
	for {
		select {
		case s.customers <- &own:
			return
		default:
		}
		select {
		case <-s.customers:
		default:
		}
	}
}

// sendEvent gives s the event e, and reports false when s's buffer is full.
func (s *subscriber) sendEvent(e *AuditEvent) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ended {
		return true
	}
	select {
	case s.events <- e:
		return true
	default:
		return false
	}
}

// A note is one piece of work for the feed's goroutine.
type note struct {
	kind noteKind
	// id is the customer (noteCustomer, noteDeleted, noteInitial) or the audit
	// event (noteEvent).
	id         ObjectID
	customerID ObjectID      // noteEvent: the event's customer
	sub        *subscriber   // noteInitial: the new subscriber
	subs       []*subscriber // noteRecheck: the subscribers of a changed caller
}

type noteKind int

const (
	noteCustomer noteKind = iota // a customer was written
	noteDeleted                  // a customer was deleted
	noteEvent                    // an audit event was written
	noteInitial                  // a customerChanged subscriber waits for its first event
	noteResync                   // announcements may have been missed
	noteRecheck                  // a caller changed: its subscribers are checked again
)

// customerAnnounced queues a change of a customer.
func (f *Feed) customerAnnounced(payload string) {
	var p struct {
		Op string   `json:"op"`
		ID ObjectID `json:"id"`
	}
	if err := json.Unmarshal([]byte(payload), &p); err != nil {
		f.enqueue(note{kind: noteResync}) // not understood: as if missed
		return
	}
	kind := noteCustomer
	if p.Op == "DELETE" {
		kind = noteDeleted
	}
	f.enqueue(note{kind: kind, id: p.ID})
}

// eventAnnounced queues a new audit event.
func (f *Feed) eventAnnounced(payload string) {
	var p struct {
		ID         ObjectID `json:"id"`
		CustomerID ObjectID `json:"customer_id"`
	}
	if err := json.Unmarshal([]byte(payload), &p); err != nil {
		f.enqueue(note{kind: noteResync})
		return
	}
	f.enqueue(note{kind: noteEvent, id: p.ID, customerID: p.CustomerID})
}

// callerAnnounced checks again, at once, the subscribers of a user or API token
// that changed ("user:<id>", "token:<id>"); all of them for a payload it does not
// understand.
func (f *Feed) callerAnnounced(payload string) {
	kind, id, ok := parseCallerNote(payload)
	f.mu.Lock()
	var subs []*subscriber
	switch {
	case ok && kind == "user":
		subs = snapshot(f.byUser[id])
	case ok && kind == "token":
		subs = snapshot(f.byToken[id])
	default:
		subs = f.all()
	}
	f.mu.Unlock()
	// In the queue, not beside it: the change of a caller and what its transaction
	// wrote next (its own audit event, say) arrive in that order, and the caller must
	// be checked again before that event is sent to it.
	f.enqueue(note{kind: noteRecheck, subs: subs})
}

// recheckAll checks subs again, one after the other: the first of a caller reads
// it, and the caller cache (or the cache of refused tokens) answers the others
// without a statement, where as many goroutines would each read it at once.
func (f *Feed) recheckAll(subs []*subscriber) {
	for _, s := range subs {
		f.recheck(s)
	}
}

// disconnected and connected follow the listening connection: whatever was
// announced while it was down is caught up with once it is back.
func (f *Feed) disconnected() {
	f.mu.Lock()
	f.lost = true
	f.mu.Unlock()
}

func (f *Feed) connected() {
	f.mu.Lock()
	lost := f.lost
	f.lost = false
	f.mu.Unlock()
	if lost {
		f.enqueue(note{kind: noteResync})
	}
}

// enqueue adds n to the work, and starts the goroutine that does it unless it
// runs. Past maxPendingNotes, the work so far is dropped for a resync.
func (f *Feed) enqueue(n note) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.queue) >= maxPendingNotes {
		// Initial notes are kept: their subscribers wait for them.
		kept := []note{{kind: noteResync}}
		for _, q := range f.queue {
			if q.kind == noteInitial {
				kept = append(kept, q)
			}
		}
		f.queue = kept
	}
	f.queue = append(f.queue, n)
	if !f.working {
		f.working = true
		go f.work()
	}
}

// work does the queued notes in order until there are none.
func (f *Feed) work() {
	for {
		f.mu.Lock()
		if len(f.queue) == 0 {
			f.working = false
			f.queue = nil
			f.mu.Unlock()
			return
		}
		n := f.queue[0]
		f.queue[0] = note{}
		f.queue = f.queue[1:]
		f.mu.Unlock()
		ctx, cancel := context.WithTimeout(context.Background(), feedTimeout)
		f.do(ctx, n)
		cancel()
	}
}

func (f *Feed) do(ctx context.Context, n note) {
	f.mu.Lock()
	var subs []*subscriber
	switch n.kind {
	case noteCustomer, noteDeleted:
		subs = snapshot(f.customerSubs[n.id])
	case noteEvent:
		subs = snapshot(f.eventSubs[n.customerID], f.allEventSubs)
	case noteInitial:
		subs = []*subscriber{n.sub}
	}
	f.mu.Unlock()
	switch n.kind {
	case noteCustomer:
		f.refresh(ctx, n, subs, false)
	case noteInitial:
		// Not there: deleted since it subscribed, perhaps announced before it did.
		f.refresh(ctx, n, subs, true)
	case noteDeleted:
		f.deleted(ctx, n.id, subs)
	case noteEvent:
		f.fanOutEvent(ctx, n, subs)
	case noteResync:
		f.resync(ctx)
	case noteRecheck:
		f.recheckAll(n.subs)
	}
}

// refresh reads the customer of n and sends it to subs, each that may read it and
// was not sent it as it is. A customer no longer there was deleted, and its
// deletion is announced to subs too, unless it may not be (gone), when it is sent
// as deleted.
func (f *Feed) refresh(ctx context.Context, n note, subs []*subscriber, gone bool) {
	if len(subs) == 0 {
		return
	}
	found, err := f.loadCustomers(ctx, []ObjectID{n.id})
	if err != nil {
		f.retry(ctx, "read customer", err, n)
		return
	}
	f.sendCustomer(ctx, n.id, found[n.id], subs, gone)
}

// sendCustomer sends c, the customer id as read (nil: not found), to subs.
func (f *Feed) sendCustomer(ctx context.Context, id ObjectID, c *Customer, subs []*subscriber, gone bool) {
	if c == nil {
		if gone {
			f.deleted(ctx, id, subs)
		}
		return
	}
	raw, err := json.Marshal(c)
	if err != nil {
		panic(err) // a Customer always marshals
	}
	for _, s := range subs {
		if err := s.authorize(); err != nil {
			f.end(s, err)
			continue
		}
		s.sendCustomer(c, raw, false)
	}
}

// deleted sends subs the customer id as it was when deleted, then ends them.
func (f *Feed) deleted(ctx context.Context, id ObjectID, subs []*subscriber) {
	if len(subs) == 0 {
		return
	}
	c, err := f.loadDeletedCustomer(ctx, id)
	if err != nil && ErrorKind(err) != NotFound {
		f.retry(ctx, "read deleted customer", err, note{kind: noteDeleted, id: id})
		return
	}
	for _, s := range subs {
		if err := s.authorize(); err != nil {
			f.end(s, err)
			continue
		}
		if c == nil { // deleted more than a day ago, while this instance was cut off
			f.end(s, Errorf(NotFound, "customer %s was deleted", id))
			continue
		}
		s.sendCustomer(c, nil, true)
		f.end(s, nil)
	}
}

// fanOutEvent reads the audit event of n and sends it to subs, each that may read
// it. A subscriber whose buffer is full, or that cannot have the event because it
// could not be read, loses its subscription: it has missed an event.
func (f *Feed) fanOutEvent(ctx context.Context, n note, subs []*subscriber) {
	if len(subs) == 0 {
		return
	}
	e, err := findByID[AuditEvent](ctx, f.db, "audit event", n.id)
	if err != nil {
		f.logger.LogAttrs(ctx, slog.LevelError, "feed: read audit event", slog.String("err", LogSafeError(err)))
		for _, s := range subs {
			f.end(s, Errorf(EventsMissed, "an audit event could not be read: read the trail with auditEvents and subscribe again"))
		}
		return
	}
	for _, s := range subs {
		if err := s.authorize(); err != nil {
			f.end(s, err)
			continue
		}
		if !s.sendEvent(e) {
			f.end(s, Errorf(EventsMissed, "you fell %d events behind: read the trail with auditEvents and subscribe again", subscriptionBuffer))
		}
	}
}

// resync catches up with whatever was announced while the feed was not listening:
// every followed customer is read again and sent where it changed (or as deleted);
// audit events cannot be told apart from those already sent, so their
// subscriptions end with EventsMissed; and every subscriber is checked again.
func (f *Feed) resync(ctx context.Context) {
	f.mu.Lock()
	byCustomer := map[ObjectID][]*subscriber{}
	for id, set := range f.customerSubs {
		byCustomer[id] = snapshot(set)
	}
	events := snapshot(f.allEventSubs)
	for _, set := range f.eventSubs {
		events = append(events, snapshot(set)...)
	}
	all := f.all()
	f.mu.Unlock()
	for _, s := range events {
		f.end(s, Errorf(EventsMissed, "the server lost its connection to the database and may have missed audit events: "+
			"read the trail with auditEvents and subscribe again"))
	}
	go f.recheckAll(all)
	if len(byCustomer) == 0 {
		return
	}
	ids := make([]ObjectID, 0, len(byCustomer))
	for id := range byCustomer {
		ids = append(ids, id)
	}
	found, err := f.loadCustomers(ctx, ids)
	if err != nil {
		f.retry(ctx, "resync", err, note{kind: noteResync})
		return
	}
	for id, subs := range byCustomer {
		f.sendCustomer(ctx, id, found[id], subs, true)
	}
}

// retry logs a read that failed and does n again in a while.
func (f *Feed) retry(ctx context.Context, what string, err error, n note) {
	f.logger.LogAttrs(ctx, slog.LevelWarn, "feed: "+what, slog.String("err", LogSafeError(err)), slog.Duration("retry_in", retryAfter))
	time.AfterFunc(retryAfter, func() { f.enqueue(n) })
}

// recheck authenticates s's caller again and checks that it may still have its
// subscription; if not, s ends with the reason. When it cannot tell (the database
// is unreachable), s is kept and checked again later.
func (f *Feed) recheck(s *subscriber) {
	s.mu.Lock()
	ended := s.ended
	s.mu.Unlock()
	if ended {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), feedTimeout)
	defer cancel()
	caller, err := s.recheck(ctx)
	switch {
	case ErrorKind(err) == Internal && err != nil:
		f.logger.LogAttrs(ctx, slog.LevelWarn, "feed: recheck", slog.String("err", LogSafeError(err)))
	case err != nil:
		f.end(s, err)
		return
	default:
		s.mu.Lock()
		s.caller = caller
		s.mu.Unlock()
		if err := s.authorize(); err != nil {
			f.end(s, err)
			return
		}
	}
	s.mu.Lock()
	if !s.ended {
		s.timer.Reset(recheckEvery)
	}
	s.mu.Unlock()
}

// loadCustomers reads the customers ids, whoever may see them, in one statement.
func (f *Feed) loadCustomers(ctx context.Context, ids []ObjectID) (map[ObjectID]*Customer, error) {
	rows, err := scanRows(f.db.WithContext(ctx).Raw("SELECT "+customerColumns.names+" FROM customers WHERE id IN ?", ids), customerColumns, len(ids))
	if err != nil {
		return nil, fmt.Errorf("feed: read customers: %w", err)
	}
	out := make(map[ObjectID]*Customer, len(rows))
	for _, c := range rows {
		out[c.ID] = c
	}
	return out, nil
}

// loadDeletedCustomer reads the customer id as it was when deleted (migration
// 00009 keeps it a day), or NotFound.
func (f *Feed) loadDeletedCustomer(ctx context.Context, id ObjectID) (*Customer, error) {
	rows, err := scanRows(f.db.WithContext(ctx).Raw("SELECT "+customerColumns.names+
		" FROM (SELECT (jsonb_populate_record(NULL::customers, customer)).* FROM deleted_customers WHERE id = ?) AS c", id), customerColumns, 1)
	switch {
	case err != nil:
		return nil, fmt.Errorf("feed: read deleted customer: %w", err)
	case len(rows) == 0:
		return nil, Errorf(NotFound, "no deleted customer with id %s", id)
	}
	return rows[0], nil
}
