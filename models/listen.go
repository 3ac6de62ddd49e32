package models

import (
	"context"
	"fmt"
	"iter"
	"log/slog"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// Listener receives PostgreSQL notifications on several channels over one
// connection of its own (pgx's WaitForNotification), for as long as its context
// lives: an instance holds one such connection, whatever listens. A lost connection
// is dialled again with jittered exponential back-off, so that a recovering
// database is not stampeded by every instance at once. A connection that breaks
// without a word (a peer gone without a reset, a dropped route) is found by a
// heartbeat and treated as lost.
type Listener struct {
	URL    string
	Logger *slog.Logger
	// Channels are what to do with each channel's notifications; several may name
	// the same channel, and each is then told, in this order.
	Channels []Channel
}

// Channel is what a Listener does with one PostgreSQL channel. Every func may be
// nil.
type Channel struct {
	Name string
	// Connected is called once LISTEN is in place on every channel of the
	// listener: from then on no notification is missed. Disconnected is called when
	// the connection is lost: notifications sent until the next Connected may be
	// missed. Each Channel is told, so a consumer of several channels sets these on
	// one of them.
	Connected, Disconnected func()
	// Heard is called each time the server was heard from on the connection: once
	// LISTEN is in place, then after each notification and each answer to a
	// heartbeat, every notification received until then already told. While the
	// connection is well, that is at least every listenIdle and a round trip. A
	// consumer that trusts what it holds only for a while after Heard stops trusting
	// it when the connection goes quiet, before the connection is known to be lost.
	Heard func()
	// Notify is called with each notification's payload, in order, on the
	// listener's goroutine: it must not block.
	Notify func(payload string)
}

// Back-off of the listener's reconnections.
const (
	listenRetryMin = 100 * time.Millisecond
	listenRetryMax = 5 * time.Second
)

// Heartbeat of the listener's connection: after listenIdle without a notification
// it sends an empty query, so that the channels hear from the server (Heard) while
// the connection is well; one that does not answer within listenPingTimeout is
// lost, a stall of the database or the network that long being worth a resync of the
// subscriptions. Dialling and LISTEN get listenDialTimeout, as a database that
// accepts connections but does not answer would hold them for ever.
const (
	listenIdle        = 250 * time.Millisecond
	listenPingTimeout = 2 * time.Second
	listenDialTimeout = 5 * time.Second
)

// Start runs the listener in the background until ctx ends, and returns once LISTEN
// is in place (or ctx has ended), so that nothing announced after it returns is
// missed: for tests, whose first request must already be heard.
func (l *Listener) Start(ctx context.Context) {
	listening, once := make(chan struct{}), sync.Once{}
	l.Channels = append(l.Channels, Channel{Name: CallersChannel, Connected: func() { once.Do(func() { close(listening) }) }})
	go l.Run(ctx)
	select {
	case <-listening:
	case <-ctx.Done():
	}
}

// Run listens until ctx ends.
func (l *Listener) Run(ctx context.Context) {
	wait := listenRetryMin
	for ctx.Err() == nil {
		connected, err := l.listen(ctx)
		if connected {
			wait = listenRetryMin
		}
		if err != nil && ctx.Err() == nil {
			l.Logger.LogAttrs(ctx, slog.LevelWarn, "listen", slog.Any("channels", l.names()), slog.String("err", LogSafeError(err)),
				slog.Duration("retry_in", wait))
		}
		select {
		case <-ctx.Done():
		case <-time.After(wait/2 + rand.N(wait/2)):
		}
		wait = min(2*wait, listenRetryMax)
	}
}

// names returns the channels listened to, each once, in order.
func (l *Listener) names() []string {
	var out []string
	seen := map[string]bool{}
	for _, c := range l.Channels {
		if !seen[c.Name] {
			seen[c.Name] = true
			out = append(out, c.Name)
		}
	}
	return out
}

// listen holds one connection until it fails or ctx ends; connected says whether
// LISTEN was in place.
func (l *Listener) listen(ctx context.Context) (connected bool, err error) {
	conn, err := l.connect(ctx)
	if err != nil {
		return false, err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	byName := map[string][]func(string){}
	for _, c := range l.Channels {
		if c.Notify != nil {
			byName[c.Name] = append(byName[c.Name], c.Notify)
		}
	}
	notify := func(n *pgconn.Notification) {
		for _, f := range byName[n.Channel] {
			f(n.Payload)
		}
	}
	heard := func() {
		for _, c := range l.Channels {
			if c.Heard != nil {
				c.Heard()
			}
		}
	}
	for _, c := range l.Channels {
		if c.Connected != nil {
			c.Connected()
		}
	}
	defer func() {
		for _, c := range l.Channels {
			if c.Disconnected != nil {
				c.Disconnected()
			}
		}
	}()
	heard()
	for {
		// pgx's context handling only sets a deadline on the socket: a wait that
		// times out leaves the connection usable.
		wait, cancel := context.WithTimeout(ctx, listenIdle)
		n, err := conn.WaitForNotification(wait)
		cancel()
		switch {
		case err == nil:
			notify(n)
		case ctx.Err() == nil && pgconn.Timeout(err):
			if err := ping(ctx, conn); err != nil {
				return true, err
			}
			// The notifications that came before the answer wait in conn: they
			// are told before the server counts as heard.
			for n := range buffered(conn) {
				notify(n)
			}
		default:
			return true, err
		}
		heard()
	}
}

// buffered yields the notifications conn has received and not yet handed out,
// without waiting for more.
func buffered(conn *pgx.Conn) iter.Seq[*pgconn.Notification] {
	return func(yield func(*pgconn.Notification) bool) {
		done, cancel := context.WithCancel(context.Background())
		cancel() // pgx hands out what it holds before it looks at the context
		for {
			n, err := conn.WaitForNotification(done)
			if err != nil || !yield(n) {
				return
			}
		}
	}
}

// connect dials the listener's connection and runs LISTEN on every channel.
func (l *Listener) connect(ctx context.Context) (*pgx.Conn, error) {
	dial, cancel := context.WithTimeout(ctx, listenDialTimeout)
	defer cancel()
	conn, err := pgx.Connect(dial, l.URL)
	if err != nil {
		return nil, err
	}
	for _, name := range l.names() {
		if _, err := conn.Exec(dial, "LISTEN "+pgx.Identifier{name}.Sanitize()); err != nil {
			conn.Close(context.WithoutCancel(ctx))
			return nil, err
		}
	}
	return conn, nil
}

// ping is the heartbeat: an empty query, answered within listenPingTimeout.
// Notifications that arrive meanwhile wait in conn (buffered).
func ping(ctx context.Context, conn *pgx.Conn) error {
	ctx, cancel := context.WithTimeout(ctx, listenPingTimeout)
	defer cancel()
	if err := conn.Ping(ctx); err != nil {
		return fmt.Errorf("no answer to a heartbeat within %v: %w", listenPingTimeout, err)
	}
	return nil
}
