package graph_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// Clients of the two subscription protocols, faithful to them as the npm packages
// graphql-ws and graphql-sse are: the tests read every subscription through one
// of them, from the real handler over a real socket.

// event is what a subscription's client receives: a "next" with its response, an
// "error" (graphql-transport-ws's, with its errors), a "complete", or "closed" when
// the connection ends without either.
type event struct {
	kind string
	resp response
}

// stream is one subscription's events, as its client receives them.
type stream struct {
	t      testing.TB
	events chan event
	// stop ends the subscription from the client's side.
	stop func()
}

func newStream(t testing.TB, stop func()) *stream {
	return &stream{t: t, events: make(chan event, 1024), stop: stop}
}

// receive returns the next event within d; ok is false when none came.
func (s *stream) receive(d time.Duration) (event, bool) {
	select {
	case e := <-s.events:
		return e, true
	case <-time.After(d):
		return event{}, false
	}
}

// next returns the response of the next event, which must come within d and be a
// "next" without errors.
func (s *stream) next(d time.Duration) response {
	s.t.Helper()
	e, ok := s.receive(d)
	switch {
	case !ok:
		s.t.Fatalf("no event within %v", d)
	case e.kind != "next" || len(e.resp.Errors) > 0:
		s.t.Fatalf("got %s %s %v, want an event", e.kind, e.resp.Data, e.resp.codes())
	}
	return e.resp
}

// quiet fails when anything comes within d.
func (s *stream) quiet(d time.Duration) {
	s.t.Helper()
	if e, ok := s.receive(d); ok {
		s.t.Fatalf("got %s %s %v, want nothing", e.kind, e.resp.Data, e.resp.codes())
	}
}

// complete fails unless the subscription completes within d, with no event before.
func (s *stream) complete(d time.Duration) {
	s.t.Helper()
	if e, ok := s.receive(d); !ok || e.kind != "complete" {
		s.t.Fatalf("got %q %s %v, want complete within %v", e.kind, e.resp.Data, e.resp.codes(), d)
	}
}

// ends fails unless, within d, the subscription sends a last event carrying errors
// (an "error" message or a "next" with errors and no data) and completes; it
// returns the errors' codes.
func (s *stream) ends(d time.Duration) []string {
	s.t.Helper()
	e, ok := s.receive(d)
	switch {
	case !ok:
		s.t.Fatalf("no event within %v, want the last one, with an error", d)
	case e.kind == "error":
		return e.resp.codes()
	case e.kind != "next" || len(e.resp.Errors) == 0 || string(e.resp.Data) != "null" && len(e.resp.Data) > 0:
		s.t.Fatalf("got %s %s %v, want an event with errors and no data", e.kind, e.resp.Data, e.resp.codes())
	}
	s.complete(time.Second)
	return e.resp.codes()
}

// wsClient speaks graphql-transport-ws as graphql-ws's client does: it sends
// connection_init with its connection parameters as the payload, waits for
// connection_ack, subscribes by id, and answers every ping with a pong.
type wsClient struct {
	t    testing.TB
	conn *websocket.Conn
	// closed is closed when the connection ends; status and reason are its close
	// frame's.
	closed chan struct{}
	status websocket.StatusCode
	reason string

	mu     sync.Mutex
	nextID int
	subs   map[string]*stream
}

type wsMessage struct {
	Type    string          `json:"type"`
	ID      string          `json:"id,omitempty"`
	Payload json.RawMessage `json:"payload,omitempty"`
}

// websocketURL is the WebSocket address of the instance's /query.
func (a *api) websocketURL() string { return "ws" + strings.TrimPrefix(a.srv.URL, "http") + "/query" }

// dialWS opens a graphql-transport-ws connection to the instance for the test t,
// with {"Authorization": auth} as connection_init's payload (none when auth is ""),
// and returns it once acknowledged, or nil with its close status when the server
// refuses it.
func (a *api) dialWS(t testing.TB, auth string) (*wsClient, websocket.StatusCode) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	conn, res, err := websocket.Dial(ctx, a.websocketURL(), &websocket.DialOptions{Subprotocols: []string{"graphql-transport-ws"}})
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	if got := conn.Subprotocol(); got != "graphql-transport-ws" || res.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("subprotocol %q, status %d", got, res.StatusCode)
	}
	c := &wsClient{t: t, conn: conn, closed: make(chan struct{}), subs: map[string]*stream{}}
	t.Cleanup(func() { conn.CloseNow() })
	params := map[string]any{}
	if auth != "" {
		params["Authorization"] = auth
	}
	payload, _ := json.Marshal(params)
	c.send(wsMessage{Type: "connection_init", Payload: payload})
	acked := make(chan struct{})
	go c.read(acked)
	select {
	case <-acked:
		return c, 0
	case <-c.closed:
		return nil, c.status
	case <-time.After(5 * time.Second):
		t.Fatal("no connection_ack within 5 s")
		return nil, 0
	}
}

func (c *wsClient) send(m wsMessage) {
	b, _ := json.Marshal(m)
	// The connection may be closing: what the server said is in what it sent.
	_ = c.conn.Write(context.Background(), websocket.MessageText, b)
}

// read reads every message of the connection until it ends.
func (c *wsClient) read(acked chan struct{}) {
	defer close(c.closed)
	defer func() {
		c.mu.Lock()
		defer c.mu.Unlock()
		for _, s := range c.subs {
			s.events <- event{kind: "closed"}
		}
	}()
	for {
		_, b, err := c.conn.Read(context.Background())
		if err != nil {
			c.status, c.reason = websocket.CloseStatus(err), err.Error()
			return
		}
		var m wsMessage
		if err := json.Unmarshal(b, &m); err != nil {
			c.t.Errorf("a message that is no JSON: %s", b)
			return
		}
		switch m.Type {
		case "connection_ack":
			close(acked)
		case "ping":
			c.send(wsMessage{Type: "pong"})
		case "next", "error", "complete":
			var r response
			switch m.Type {
			case "next":
				if err := json.Unmarshal(m.Payload, &r); err != nil {
					c.t.Errorf("next: %v: %s", err, m.Payload)
				}
			case "error":
				if err := json.Unmarshal(m.Payload, &r.Errors); err != nil {
					c.t.Errorf("error: %v: %s", err, m.Payload)
				}
			}
			c.mu.Lock()
			s := c.subs[m.ID]
			if m.Type != "next" {
				delete(c.subs, m.ID)
			}
			c.mu.Unlock()
			if s == nil {
				c.t.Errorf("%s for an operation that is not running: %s", m.Type, b)
				continue
			}
			s.events <- event{kind: m.Type, resp: r}
		default:
			c.t.Errorf("unexpected message %s", b)
		}
	}
}

// subscribe sends an operation (a subscription, or a query or mutation, which
// answers once) and returns its events.
func (c *wsClient) subscribe(query string, vars map[string]any) *stream {
	return c.run(query, "", vars)
}

// run is subscribe of the operation named operationName ("": the only one).
func (c *wsClient) run(query, operationName string, vars map[string]any) *stream {
	c.mu.Lock()
	c.nextID++
	id := strconv.Itoa(c.nextID)
	s := newStream(c.t, func() { c.send(wsMessage{Type: "complete", ID: id}) })
	c.subs[id] = s
	c.mu.Unlock()
	payload, _ := json.Marshal(map[string]any{"query": query, "operationName": operationName, "variables": vars})
	c.send(wsMessage{Type: "subscribe", ID: id, Payload: payload})
	return s
}

// subscribeSSE subscribes over GraphQL over SSE as graphql-sse's client does in its
// distinct connections mode: a POST of the operation accepting text/event-stream,
// with the Authorization header (none when auth is ""), read event by event. It
// fails the test t unless the answer is a 200 stream.
func (a *api) subscribeSSE(t testing.TB, auth, query string, vars map[string]any) *stream {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	body, _ := json.Marshal(map[string]any{"query": query, "variables": vars})
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, a.srv.URL+"/query", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "text/event-stream")
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if res.StatusCode != http.StatusOK || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/event-stream") {
		res.Body.Close()
		t.Fatalf("SSE: status %d, Content-Type %q", res.StatusCode, res.Header.Get("Content-Type"))
	}
	s := newStream(t, cancel)
	go func() {
		defer res.Body.Close()
		sc := bufio.NewScanner(res.Body)
		sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
		var name string
		var data strings.Builder
		for sc.Scan() {
			line := sc.Text()
			switch {
			case line == "":
				if name == "" && data.Len() == 0 {
					continue // a comment's end, or a keep-alive
				}
				e := event{kind: name}
				if data.Len() > 0 {
					if err := json.Unmarshal([]byte(data.String()), &e.resp); err != nil {
						t.Errorf("SSE data is no JSON: %s", data.String())
					}
				}
				s.events <- e
				name = ""
				data.Reset()
			case strings.HasPrefix(line, ":"): // a comment: keep-alive
			case strings.HasPrefix(line, "event:"):
				name = strings.TrimSpace(strings.TrimPrefix(line, "event:"))
			case strings.HasPrefix(line, "data:"):
				data.WriteString(strings.TrimPrefix(strings.TrimPrefix(line, "data:"), " "))
			}
		}
		s.events <- event{kind: "closed"}
	}()
	return s
}

// protocols subscribe through each transport, each subscription on a connection of
// its own.
var protocols = []struct {
	name      string
	subscribe func(t testing.TB, in *api, auth, query string, vars map[string]any) *stream
}{
	{"graphql-ws", func(t testing.TB, in *api, auth, query string, vars map[string]any) *stream {
		t.Helper()
		c, status := in.dialWS(t, auth)
		if c == nil {
			t.Fatalf("connection refused: %d", status)
		}
		return c.subscribe(query, vars)
	}},
	{"SSE", func(t testing.TB, in *api, auth, query string, vars map[string]any) *stream {
		t.Helper()
		return in.subscribeSSE(t, auth, query, vars)
	}},
}
