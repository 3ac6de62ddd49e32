package pgtest

import (
	"net"
	"net/url"
	"sync"
	"testing"
)

// Route is a TCP route to a test database that a test can cut, as a dropped network
// path is cut: the connections it carries then carry nothing more, and nothing
// closes them; the connections opened while it is cut wait, unanswered, until it is
// restored, and then reach the database.
type Route struct {
	// URL is the database's URL through the route.
	URL string

	mu sync.Mutex
	// up is closed while the route is up; every cut makes a new one, so that a
	// connection holds the one it was opened on and stays cut for good.
	up   chan struct{}
	done chan struct{}
}

// NewRoute opens a route to the database at dbURL, closed when the test ends.
func NewRoute(t testing.TB, dbURL string) *Route {
	t.Helper()
	u, err := url.Parse(dbURL)
	if err != nil {
		t.Fatal(err)
	}
	database := u.Host
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	u.Host = l.Addr().String()
	r := &Route{URL: u.String(), up: make(chan struct{}), done: make(chan struct{})}
	close(r.up)
	var conns sync.WaitGroup
	t.Cleanup(func() {
		l.Close()
		close(r.done)
		conns.Wait()
	})
	conns.Go(func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			conns.Go(func() { r.carry(c, database, &conns) })
		}
	})
	return r
}

// Cut takes the route down.
func (r *Route) Cut() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.up = make(chan struct{})
}

// Restore brings the route back, for the connections opened from now on and
// those waiting.
func (r *Route) Restore() {
	r.mu.Lock()
	defer r.mu.Unlock()
	select {
	case <-r.up: // up already
	default:
		close(r.up)
	}
}

func (r *Route) current() chan struct{} {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.up
}

// carry connects c to the database once the route is up, and carries its bytes
// both ways until the route is cut; from then on what either side sends is
// dropped. While the route is up, either side closing closes the other, as a
// connection does.
func (r *Route) carry(c net.Conn, database string, conns *sync.WaitGroup) {
	defer c.Close()
	up := r.current()
	select {
	case <-up:
	case <-r.done:
		return
	}
	db, err := net.Dial("tcp", database)
	if err != nil {
		return
	}
	defer db.Close()
	closed := make(chan struct{})
	var closing sync.Once
	pass := func(dst, src net.Conn) {
		buf := make([]byte, 32<<10)
		for {
			n, err := src.Read(buf)
			if err != nil {
				if r.current() == up {
					closing.Do(func() { close(closed) })
				}
				return
			}
			if r.current() != up {
				continue
			}
			if _, err := dst.Write(buf[:n]); err != nil {
				return
			}
		}
	}
	conns.Go(func() { pass(db, c) })
	conns.Go(func() { pass(c, db) })
	select {
	case <-r.done:
	case <-closed:
	}
}
