package models_test

import (
	"context"
	"database/sql"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/cloudcomms/customers/internal/pgtest"
	"github.com/cloudcomms/customers/models"
)

// TestListenerReconnects: a listener whose connection is killed says so, dials
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
	l := &models.Listener{
		URL: url, Channel: "test_channel", Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Connected:    func() { events <- "connected" },
		Disconnected: func() { events <- "disconnected" },
		Notify:       func(p string) { events <- "notify " + p },
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go l.Run(ctx)
	expect := func(want string) {
		t.Helper()
		select {
		case got := <-events:
			if got != want {
				t.Fatalf("event %q, want %q", got, want)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("no %q within 5 s", want)
		}
	}
	notify := func(payload string) {
		t.Helper()
		if _, err := db.Exec(`SELECT pg_notify('test_channel', $1)`, payload); err != nil {
			t.Fatal(err)
		}
	}
	expect("connected")
	notify("one")
	expect("notify one")
	if _, err := db.Exec(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity
		WHERE datname = current_database() AND query LIKE 'LISTEN%' AND pid <> pg_backend_pid()`); err != nil {
		t.Fatal(err)
	}
	expect("disconnected")
	expect("connected")
	notify("two")
	expect("notify two")
}
