package graph

import (
	"net/http"
	"net/http/pprof"
)

// NewAdminHandler serves what operators need and clients must not see: Prometheus
// metrics at /metrics. It is meant for a listener of its own (ADMIN_ADDR, loopback
// by default), never the public one: metrics name every operation clients send.
func NewAdminHandler(m *Metrics) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", m.Handler())
	return mux
}

// NewProfilerHandler serves Go's profiler under /debug/pprof/, for a listener that
// is off unless an operator asks for it (PPROF_ADDR): profiles cost CPU and reveal
// the program.
func NewProfilerHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	return mux
}
