package main

import (
	"bufio"
	"context"
	"io"
	"log/slog"
	"sync"
	"time"

	"github.com/cloudcomms/customers/graph"
)

// newLogger returns the server's logger, JSON lines to out at level, and a function
// that writes what it still holds; run calls it last. With flush > 0, lines wait in
// memory for at most flush (see logBuffer).
func newLogger(out io.Writer, level slog.Level, flush time.Duration) (*slog.Logger, func()) {
	opts := &slog.HandlerOptions{Level: level}
	if flush <= 0 {
		return slog.New(graph.LogHandler{Handler: slog.NewJSONHandler(out, opts)}), func() {}
	}
	buf := &logBuffer{out: out, w: bufio.NewWriterSize(out, logBufferSize), interval: flush}
	return slog.New(graph.LogHandler{Handler: flushingHandler{slog.NewJSONHandler(buf, opts), buf}}), buf.close
}

// logBufferSize is how many bytes of lines a logBuffer holds before it writes them
// whatever the time: about 200 access-log lines.
const logBufferSize = 64 << 10

// logBuffer holds log lines and writes them together, at most interval after the
// first of them, or sooner when logBufferSize bytes are waiting. Under load the
// access log made a write system call per request, 4 % of a customer-by-id
// request's CPU. A line at WARN or above is written at once with every line before it
// (flushingHandler), and close writes the rest, so what a crash (a kill, the
// out-of-memory killer) can lose is the INFO lines of its last interval.
type logBuffer struct {
	out      io.Writer
	interval time.Duration

	mu     sync.Mutex
	w      *bufio.Writer
	timer  *time.Timer // writes the waiting lines; nil until the first line
	armed  bool        // timer will fire
	closed bool        // lines are written at once
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return b.out.Write(p)
	}
	if len(p) > b.w.Available() && b.w.Buffered() > 0 {
		b.flushLocked() // a line is never split between two writes
	}
	n, err := b.w.Write(p)
	if err != nil {
		b.w.Reset(b.out) // the lines that failed are lost; the next get a fresh try
	}
	if b.w.Buffered() > 0 && !b.armed {
		b.armed = true
		if b.timer == nil {
			b.timer = time.AfterFunc(b.interval, b.flush)
		} else {
			b.timer.Reset(b.interval)
		}
	}
	return n, err
}

// flush writes the waiting lines.
func (b *logBuffer) flush() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.flushLocked()
}

func (b *logBuffer) flushLocked() {
	b.armed = false
	if b.w.Flush() != nil {
		b.w.Reset(b.out)
	}
}

// close writes the waiting lines; those logged after it are written at once.
func (b *logBuffer) close() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.timer != nil {
		b.timer.Stop()
	}
	b.flushLocked()
	b.closed = true
}

// flushingHandler writes a record at WARN or above at once, with the lines waiting
// before it: a warning or an error is what someone reads after a crash.
type flushingHandler struct {
	slog.Handler
	buf *logBuffer
}

func (h flushingHandler) Handle(ctx context.Context, r slog.Record) error {
	err := h.Handler.Handle(ctx, r)
	if r.Level >= slog.LevelWarn {
		h.buf.flush()
	}
	return err
}

func (h flushingHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return flushingHandler{h.Handler.WithAttrs(attrs), h.buf}
}

func (h flushingHandler) WithGroup(name string) slog.Handler {
	return flushingHandler{h.Handler.WithGroup(name), h.buf}
}
