package models

import (
	"context"
	"log/slog"
	"math/rand/v2"
	"time"

	"github.com/jackc/pgx/v5"
)

// Listener receives PostgreSQL notifications on one channel over a connection of
// its own (pgx's WaitForNotification), for as long as its context lives. A lost
// connection is dialled again with jittered exponential back-off, so that a
// recovering database is not stampeded by every instance at once.
type Listener struct {
	URL     string
	Channel string
	Logger  *slog.Logger
	// Connected is called once LISTEN is in place: from then on no notification is
	// missed. Disconnected is called when the connection is lost: notifications
	// sent until the next Connected may be missed.
	Connected, Disconnected func()
	// Notify is called with each notification's payload, in order.
	Notify func(payload string)
}

// Back-off of the listener's reconnections.
const (
	listenRetryMin = 100 * time.Millisecond
	listenRetryMax = 5 * time.Second
)

// Run listens until ctx ends.
func (l *Listener) Run(ctx context.Context) {
	wait := listenRetryMin
	for ctx.Err() == nil {
		connected, err := l.listen(ctx)
		if connected {
			wait = listenRetryMin
		}
		if err != nil && ctx.Err() == nil {
			l.Logger.LogAttrs(ctx, slog.LevelWarn, "listen", slog.String("channel", l.Channel), slog.String("err", LogSafeError(err)),
				slog.Duration("retry_in", wait))
		}
		select {
		case <-ctx.Done():
		case <-time.After(wait/2 + rand.N(wait/2)):
		}
		wait = min(2*wait, listenRetryMax)
	}
}

// listen holds one connection until it fails or ctx ends; connected says whether
// LISTEN was in place.
func (l *Listener) listen(ctx context.Context) (connected bool, err error) {
	conn, err := pgx.Connect(ctx, l.URL)
	if err != nil {
		return false, err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	if _, err := conn.Exec(ctx, "LISTEN "+pgx.Identifier{l.Channel}.Sanitize()); err != nil {
		return false, err
	}
	l.Connected()
	defer l.Disconnected()
	for {
		n, err := conn.WaitForNotification(ctx)
		if err != nil {
			return true, err
		}
		l.Notify(n.Payload)
	}
}
