package main

import (
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"
)

// TestLogLinesWaitUntilAWarning: INFO lines wait in memory; a WARN line is written at
// once with them, in order, and what is left is written when the logger is flushed
// for the last time, after which lines are written at once.
func TestLogLinesWaitUntilAWarning(t *testing.T) {
	out := &lockedBuffer{}
	logger, flush := newLogger(out, slog.LevelInfo, time.Hour)
	logger.Info("first")
	logger.With("request_id", "r1").Info("second")
	if got := out.String(); got != "" {
		t.Fatalf("INFO lines written before the interval: %q", got)
	}
	logger.With("request_id", "r1").Error("broken")
	if got := messages(out.String()); got != "first second broken" {
		t.Fatalf("after an ERROR line: %q, want the three lines in order", got)
	}
	logger.Info("third")
	if got := messages(out.String()); got != "first second broken" {
		t.Fatalf("an INFO line after the ERROR one was written at once: %q", got)
	}
	flush()
	if got := messages(out.String()); got != "first second broken third" {
		t.Fatalf("after the last flush: %q", got)
	}
	logger.Info("late")
	if got := messages(out.String()); got != "first second broken third late" {
		t.Fatalf("a line logged after the last flush: %q, want it written at once", got)
	}
}

// TestLogLinesAreWrittenWithinTheInterval: lines that no warning follows are written
// once the interval has passed, and again for lines logged after that.
func TestLogLinesAreWrittenWithinTheInterval(t *testing.T) {
	out := &lockedBuffer{}
	logger, flush := newLogger(out, slog.LevelInfo, 10*time.Millisecond)
	defer flush()
	for _, want := range []string{"one", "one two"} {
		logger.Info(want[strings.LastIndex(want, " ")+1:])
		deadline := time.Now().Add(5 * time.Second)
		for messages(out.String()) != want {
			if time.Now().After(deadline) {
				t.Fatalf("after 5 s: %q, want %q", messages(out.String()), want)
			}
			time.Sleep(time.Millisecond)
		}
	}
}

// TestLogLinesAtOnceWithoutAnInterval: LOG_FLUSH_INTERVAL=0 writes every line as it
// is logged.
func TestLogLinesAtOnceWithoutAnInterval(t *testing.T) {
	out := &lockedBuffer{}
	logger, flush := newLogger(out, slog.LevelInfo, 0)
	defer flush()
	logger.Info("one")
	if got := messages(out.String()); got != "one" {
		t.Errorf("got %q, want the line at once", got)
	}
}

// TestLogLinesAfterAFailedWrite: a write that fails loses the lines it carried, not
// the ones logged after it.
func TestLogLinesAfterAFailedWrite(t *testing.T) {
	out := &failingWriter{fails: 1}
	logger, flush := newLogger(out, slog.LevelInfo, time.Hour)
	defer flush()
	logger.Info("lost")
	logger.Warn("lost too")
	logger.Info("kept")
	logger.Warn("kept too")
	if got := messages(out.String()); got != "kept kept too" {
		t.Errorf("got %q, want the lines logged after the failed write", got)
	}
}

// failingWriter fails its first fails writes, then keeps what it is given.
type failingWriter struct {
	lockedBuffer
	fails int
}

func (w *failingWriter) Write(p []byte) (int, error) {
	if w.fails > 0 {
		w.fails--
		return 0, errors.New("disk full")
	}
	return w.lockedBuffer.Write(p)
}

// messages returns the msg of every JSON log line in out, space-separated.
func messages(out string) string {
	var msgs []string
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		if _, rest, ok := strings.Cut(line, `"msg":"`); ok {
			msg, _, _ := strings.Cut(rest, `"`)
			msgs = append(msgs, msg)
		}
	}
	return strings.Join(msgs, " ")
}

// TestLogLinesAreNeverSplit: when the waiting lines fill the buffer, each write
// still carries whole lines, as a pipe shared with other writers needs.
func TestLogLinesAreNeverSplit(t *testing.T) {
	out := &writesRecorder{}
	logger, flush := newLogger(out, slog.LevelInfo, time.Hour)
	long := strings.Repeat("x", 1000)
	for i := range 200 {
		logger.Info("line", "n", i, "pad", long)
	}
	flush()
	if len(out.writes) < 2 {
		t.Fatalf("%d writes for 200 kB of lines, want several", len(out.writes))
	}
	lines := 0
	for _, w := range out.writes {
		if !strings.HasPrefix(w, "{") || !strings.HasSuffix(w, "}\n") {
			t.Fatalf("a write that splits a line: %.40q … %.40q", w, w[max(len(w)-40, 0):])
		}
		lines += strings.Count(w, "\n")
	}
	if lines != 200 {
		t.Errorf("%d lines written, want 200", lines)
	}
}

// writesRecorder keeps each write it is given.
type writesRecorder struct{ writes []string }

func (w *writesRecorder) Write(p []byte) (int, error) {
	w.writes = append(w.writes, string(p))
	return len(p), nil
}
