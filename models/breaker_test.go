package models

import (
	"context"
	"database/sql/driver"
	"errors"
	"testing"
	"time"
)

// fakeConnector connects with a function; fakeConn is a connection that does nothing.
type fakeConnector func() (driver.Conn, error)

func (f fakeConnector) Connect(context.Context) (driver.Conn, error) { return f() }
func (fakeConnector) Driver() driver.Driver                          { return nil }

type fakeConn struct{ driver.Conn }

func (fakeConn) Close() error { return nil }

// TestConnectBreaker: while the database is down, a thousand connection attempts over two seconds
// reach it only once per back-off (a few dozen times, not a thousand); the first
// dial after it returns succeeds within connectRetryMax, and the breaker closes.
func TestConnectBreaker(t *testing.T) {
	now := time.Unix(0, 0)
	b := &connectBreaker{now: func() time.Time { return now }}
	up, dialled := false, 0
	c := connector{Connector: fakeConnector(func() (driver.Conn, error) {
		dialled++
		if !up {
			return nil, errors.New("connection refused")
		}
		return fakeConn{}, nil
	}), breaker: b}
	dial := func(ctx context.Context, _, _ string) (driver.Conn, error) { return c.Connect(ctx) }
	for range 1000 {
		if _, err := dial(context.Background(), "tcp", "db:5432"); err == nil {
			t.Fatal("a dial succeeded while the database was down")
		}
		now = now.Add(2 * time.Millisecond)
	}
	if want := int(2*time.Second/(connectRetryMax/2)) + 10; dialled > want {
		t.Errorf("%d dials reached a database that was down for 2 s, want at most %d", dialled, want)
	}
	up = true
	back := now
	for {
		if conn, err := dial(context.Background(), "tcp", "db:5432"); err == nil {
			conn.Close()
			break
		}
		if now.Sub(back) > connectRetryMax {
			t.Fatalf("no dial got through %v after the database returned", now.Sub(back))
		}
		now = now.Add(time.Millisecond)
	}
	before := dialled
	for range 10 {
		conn, err := dial(context.Background(), "tcp", "db:5432")
		if err != nil {
			t.Fatalf("the breaker did not close: %v", err)
		}
		conn.Close()
	}
	if dialled != before+10 {
		t.Errorf("%d dials after recovery, want 10", dialled-before)
	}
}
