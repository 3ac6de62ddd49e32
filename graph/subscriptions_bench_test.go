package graph_test

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Fan-out of the benchmark: 1,000 subscribers on one instance, as its limits allow
// them: 10 callers with 100 subscriptions each, over 5 WebSockets of 20.
const (
	benchCallers         = 10
	benchConnsPerCaller  = 5
	benchSubsPerConn     = 20
	benchSubscribers     = benchCallers * benchConnsPerCaller * benchSubsPerConn
	benchDeliveryTimeout = 30 * time.Second
)

// subscribers are the benchmark's: what each has received, and when.
type subscribers struct {
	// seen is, per subscriber, the last event it received.
	seen []atomic.Int64
	mu   sync.Mutex
	// receipts are every subscriber's events as received: which, and when.
	receipts []receipt
}

type receipt struct {
	event int
	at    time.Time
}

// subscribeMany subscribes benchSubscribers times to doc on a, as the users given,
// and records every event as the event number index reads from its data; it
// returns once every subscriber has received event ready (0: none). They live as
// long as b.
func (a *api) subscribeMany(b *testing.B, users []string, doc string, vars map[string]any, index func(json.RawMessage) int, ready int) *subscribers {
	a.waitFeed(b, 0) // the previous benchmark's subscribers are gone
	f := &subscribers{seen: make([]atomic.Int64, benchSubscribers)}
	n := 0
	for _, u := range users {
		for range benchConnsPerCaller {
			c, status := a.dialWS(b, a.bearer(u))
			if c == nil {
				b.Fatalf("connection refused: %d", status)
			}
			for range benchSubsPerConn {
				s, seen := c.subscribe(doc, vars), &f.seen[n]
				n++
				go func() {
					for e := range s.events {
						if e.kind != "next" || len(e.resp.Errors) > 0 {
							return // the connection closed at the end, or the benchmark fails on its timeout
						}
						i := index(e.resp.Data)
						f.mu.Lock()
						f.receipts = append(f.receipts, receipt{event: i, at: time.Now()})
						f.mu.Unlock()
						seen.Store(int64(i))
					}
				}()
			}
		}
	}
	a.waitFeed(b, benchSubscribers)
	f.waitFor(b, ready)
	return f
}

// waitFeed waits until the instance's feed serves n subscriptions.
func (a *api) waitFeed(b *testing.B, n int) {
	for deadline := time.Now().Add(benchDeliveryTimeout); a.resolver.Feed.Len() != n; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			b.Fatalf("%d subscriptions after %v, want %d", a.resolver.Feed.Len(), benchDeliveryTimeout, n)
		}
	}
}

// waitFor waits until every subscriber has received event, or one after it.
func (f *subscribers) waitFor(b *testing.B, event int) {
	deadline := time.Now().Add(benchDeliveryTimeout)
	for i := range f.seen {
		for f.seen[i].Load() < int64(event) {
			if time.Now().After(deadline) {
				b.Fatalf("subscriber %d is at event %d after %v, want %d", i, f.seen[i].Load(), benchDeliveryTimeout, event)
			}
			time.Sleep(time.Millisecond)
		}
	}
}

// run commits b.N events numbered from first, with commit, in batches of batch
// events, each batch delivered before the next is committed, and reports the
// deliveries a second and the delay from each event's commit to each of its
// deliveries. It returns the number of the next event.
func (f *subscribers) run(b *testing.B, batch, first int, commit func(event int) error) int {
	commits := map[int]time.Time{}
	f.mu.Lock()
	f.receipts = f.receipts[:0]
	f.mu.Unlock()
	b.ResetTimer()
	start := time.Now()
	next := first
	for next < first+b.N {
		last := min(next+batch, first+b.N) - 1
		for ; next <= last; next++ {
			if err := commit(next); err != nil {
				b.Fatal(err)
			}
			commits[next] = time.Now()
		}
		f.waitFor(b, last)
	}
	elapsed := time.Since(start)
	b.StopTimer()
	f.mu.Lock()
	defer f.mu.Unlock()
	var delays []time.Duration
	for _, r := range f.receipts {
		if at, ok := commits[r.event]; ok {
			delays = append(delays, r.at.Sub(at))
		}
	}
	slices.Sort(delays)
	b.ReportMetric(float64(len(delays))/elapsed.Seconds(), "events/s")
	b.ReportMetric(float64(len(delays))/float64(b.N), "deliveries/event")
	b.ReportMetric(percentile(delays, 0.50).Seconds()*1000, "p50_ms")
	b.ReportMetric(percentile(delays, 0.99).Seconds()*1000, "p99_ms")
	return next
}

func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	return sorted[min(len(sorted)-1, int(float64(len(sorted))*p))]
}

// BenchmarkSubscriptionFanOut: 1,000 subscribers on one instance (10 callers,
// each on 5 WebSockets of 20 subscriptions, as the limits allow) receive events
// committed in SQL one at a time (batch=1) or 10 at a time (batch=10), each batch
// delivered to every subscriber before the next is committed. events/s counts
// deliveries (an event to 1,000 subscribers is 1,000); p50_ms and p99_ms are the
// delay from an event's commit (its statement's return) to each delivery, through
// the complete handler and a loopback WebSocket, the clients on the same cores. A
// customerChanged subscriber may receive fewer events than were committed
// (deliveries/event below 1,000): states committed while it was being sent are
// folded into the latest.
func BenchmarkSubscriptionFanOut(b *testing.B) {
	a := mustAPIAtLevel(b, slog.LevelWarn)
	a.seedLinked(1)
	customer := a.customerID("Linked 001")
	var users []string
	for i := range benchCallers {
		var id string
		err := a.db.Raw(`INSERT INTO users (customer_id, email, first, last, admin_permission) VALUES (decode(?, 'hex'), ?, 'Bench', 'User', 'READ')
			RETURNING encode(id, 'hex')`, customer, fmt.Sprintf("bench%d@example.com", i)).Row().Scan(&id)
		if err != nil {
			b.Fatal(err)
		}
		users = append(users, id)
	}
	for _, kind := range []struct {
		name, doc string
		vars      map[string]any
		index     func(json.RawMessage) int
		ready     int // the event the subscribers receive first
		commit    func(event int) error
	}{
		{
			"customerChanged", `subscription($id: ObjectID!) { customerChanged(id: $id) { id credit version } }`, map[string]any{"id": customer},
			func(data json.RawMessage) int {
				var v struct{ CustomerChanged struct{ Credit int } }
				_ = json.Unmarshal(data, &v)
				return v.CustomerChanged.Credit
			},
			1, // seedLinked gave the customer credit 1: the first event is its state
			func(event int) error {
				return a.db.Exec(`UPDATE customers SET credit = ?, version = version + 1 WHERE id = decode(?, 'hex')`, event, customer).Error
			},
		},
		{
			"customerEvents", `subscription($c: ObjectID) { customerEvents(customerId: $c) { id operation requestId } }`, map[string]any{"c": customer},
			func(data json.RawMessage) int {
				var v struct{ CustomerEvents struct{ RequestID string } }
				_ = json.Unmarshal(data, &v)
				i, _ := strconv.Atoi(strings.TrimPrefix(v.CustomerEvents.RequestID, "bench-"))
				return i
			},
			0,
			func(event int) error {
				return a.db.Exec(`INSERT INTO audit_events (customer_id, operation, record_type, record_id, request_id)
					VALUES (decode(?, 'hex'), 'customerPatch', 'Customer', decode(?, 'hex'), ?)`, customer, customer, fmt.Sprintf("bench-%d", event)).Error
			},
		},
	} {
		b.Run(kind.name, func(b *testing.B) {
			fan := a.subscribeMany(b, users, kind.doc, kind.vars, kind.index, kind.ready)
			next := kind.ready + 1
			for _, batch := range []int{1, 10} {
				b.Run(fmt.Sprintf("batch=%d", batch), func(b *testing.B) {
					next = fan.run(b, batch, next, kind.commit)
				})
			}
		})
	}
}
