package models_test

import (
	"context"
	"database/sql"
	"io"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cloudcomms/customers/internal/pgtest"
	"github.com/cloudcomms/customers/models"
)

// TestListenerReconnects: a listener of two channels holds one connection, tells
// each channel's handlers (two on one channel, in order) of its notifications and
// every handler of its connection; when the connection is killed it says so, dials
// again, and receives the notifications sent after it is back.
func TestListenerReconnects(t *testing.T) {
	t.Parallel()
	url := pgtest.NewDatabase(t)
	db, err := sql.Open("pgx", url)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	events := make(chan string, 16)
	handler := func(name, channel string, connection bool) models.Channel {
		c := models.Channel{Name: channel, Notify: func(p string) { events <- name + " " + p }}
		if connection {
			c.Connected = func() { events <- name + " connected" }
			c.Disconnected = func() { events <- name + " disconnected" }
		}
		return c
	}
	l := &models.Listener{
		URL: url, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Channels: []models.Channel{handler("a", "channel_a", true), handler("b", "channel_b", false), handler("a2", "channel_a", true)},
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go l.Run(ctx)
	expect := func(want ...string) {
		t.Helper()
		for _, w := range want {
			select {
			case got := <-events:
				if got != w {
					t.Fatalf("event %q, want %q", got, w)
				}
			case <-time.After(5 * time.Second):
				t.Fatalf("no %q within 5 s", w)
			}
		}
	}
	notify := func(channel, payload string) {
		t.Helper()
		if _, err := db.Exec(`SELECT pg_notify($1, $2)`, channel, payload); err != nil {
			t.Fatal(err)
		}
	}
	expect("a connected", "a2 connected")
	var listeners int
	if err := db.QueryRow(`SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND query LIKE 'LISTEN%'`).Scan(&listeners); err != nil || listeners != 1 {
		t.Fatalf("%d listening connections (%v), want 1", listeners, err)
	}
	notify("channel_a", "one")
	expect("a one", "a2 one")
	notify("channel_b", "two")
	expect("b two")
	if _, err := db.Exec(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity
		WHERE datname = current_database() AND query LIKE 'LISTEN%' AND pid <> pg_backend_pid()`); err != nil {
		t.Fatal(err)
	}
	expect("a disconnected", "a2 disconnected", "a connected", "a2 connected")
	notify("channel_b", "three")
	expect("b three")
}

// TestListenerNoticesASilentConnection: while the connection is well and idle, the
// heartbeat keeps the channels hearing from the server; once it stops carrying
// anything without being closed (a route dropped between the instance and
// PostgreSQL), they hear nothing more, and the connection is given up as lost after
// the heartbeat's timeout and dialled again once the route is back.
func TestListenerNoticesASilentConnection(t *testing.T) {
	t.Parallel()
	dbURL := pgtest.NewDatabase(t)
	db, err := sql.Open("pgx", dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	route := pgtest.NewRoute(t, dbURL)
	events := make(chan string, 16)
	var heard atomic.Int64 // when Heard was last called, in Unix nanoseconds
	l := &models.Listener{
		URL: route.URL, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Channels: []models.Channel{{
			Name:         "channel_a",
			Notify:       func(p string) { events <- p },
			Connected:    func() { events <- "connected" },
			Disconnected: func() { events <- "disconnected" },
			Heard:        func() { heard.Store(time.Now().UnixNano()) },
		}},
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go l.Run(ctx)
	next := func(within time.Duration) string {
		t.Helper()
		select {
		case got := <-events:
			return got
		case <-time.After(within):
			return "nothing"
		}
	}
	if got := next(5 * time.Second); got != "connected" {
		t.Fatalf("first event %q, want connected", got)
	}
	if got := next(time.Second); got != "nothing" {
		t.Fatalf("idle for a second on a healthy connection: %q", got)
	}
	if silent := time.Since(time.Unix(0, heard.Load())); silent > 500*time.Millisecond {
		t.Errorf("idle and well, the connection was last heard %v ago", silent)
	}
	route.Cut()
	cut := time.Now()
	if got := next(5 * time.Second); got != "disconnected" {
		t.Fatalf("after the route was cut: %q, want disconnected", got)
	}
	// What was on its way when the route was cut may still be read.
	if last := time.Unix(0, heard.Load()); last.After(cut.Add(100 * time.Millisecond)) {
		t.Errorf("the cut connection was heard %v after the cut", last.Sub(cut))
	}
	route.Restore()
	if got := next(10 * time.Second); got != "connected" {
		t.Fatalf("after the route was back: %q, want connected", got)
	}
	if _, err := db.Exec(`SELECT pg_notify('channel_a', 'after')`); err != nil {
		t.Fatal(err)
	}
	if got := next(5 * time.Second); got != "after" {
		t.Errorf("notification after the reconnection: %q", got)
	}
}
