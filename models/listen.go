package models

import (
	"context"
	"log/slog"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
)

// Listener receives PostgreSQL notifications on several channels over one
// connection of its own (pgx's WaitForNotification), for as long as its context
// lives: an instance holds one such connection, whatever listens. A lost connection
// is dialled again with jittered exponential back-off, so that a recovering
// database is not stampeded by every instance at once.
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
	// Notify is called with each notification's payload, in order, on the
	// listener's goroutine: it must not block.
	Notify func(payload string)
}

// Back-off of the listener's reconnections.
const (
	listenRetryMin = 100 * time.Millisecond
	listenRetryMax = 5 * time.Second
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
	conn, err := pgx.Connect(ctx, l.URL)
	if err != nil {
		return false, err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	byName := map[string][]func(string){}
	for _, name := range l.names() {
		if _, err := conn.Exec(ctx, "LISTEN "+pgx.Identifier{name}.Sanitize()); err != nil {
			return false, err
		}
	}
	for _, c := range l.Channels {
		if c.Notify != nil {
			byName[c.Name] = append(byName[c.Name], c.Notify)
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
	for {
		n, err := conn.WaitForNotification(ctx)
		if err != nil {
			return true, err
		}
		for _, notify := range byName[n.Channel] {
			notify(n.Payload)
		}
	}
}
