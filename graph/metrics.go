package graph

import (
	"database/sql"
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/cloudcomms/customers/models"
)

// Metrics are the service's Prometheus metrics, served at /metrics.
type Metrics struct {
	registry   *prometheus.Registry
	requests   *prometheus.CounterVec
	duration   *prometheus.HistogramVec
	errors     *prometheus.CounterVec
	statements prometheus.Histogram
	cost       prometheus.Histogram

	mu    sync.Mutex
	ops   map[string]*operationMetrics // by operation label
	named int                          // labels that are operation names
}

// operationMetrics are the series of one operation label, looked up once:
// prometheus's WithLabelValues hashes the labels on every call.
type operationMetrics struct {
	duration prometheus.Observer
	outcomes [len(outcomes)]prometheus.Counter
}

// outcomes are the values of customers_requests_total's outcome label.
var outcomes = [...]string{"ok", "error", "refused", "canceled"}

const (
	outcomeOK = iota
	outcomeError
	outcomeRefused
	outcomeCanceled
)

// maxOperationLabels bounds the operation label: clients name operations, and
// every name would otherwise become a time series of its own; maxOperationLabelBytes
// bounds each name.
const (
	maxOperationLabels     = 200
	maxOperationLabelBytes = 64
)

// NewMetrics registers the metrics, with the Go runtime's, the process's and, when
// db is not nil, the connection pool's.
func NewMetrics(db *sql.DB) *Metrics {
	m := &Metrics{
		registry: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "customers_requests_total", Help: "GraphQL requests by operation name and outcome (ok, error, refused, canceled: the client closed the connection first).",
		}, []string{"operation", "outcome"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "customers_request_duration_seconds", Help: "GraphQL request latency by operation name.",
			Buckets: prometheus.ExponentialBuckets(0.001, 2, 14),
		}, []string{"operation"}),
		errors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "customers_errors_total", Help: "Errors sent to clients by extensions.code.",
		}, []string{"code"}),
		statements: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "customers_sql_statements_per_request", Help: "SQL statements one GraphQL request sent.",
			Buckets: []float64{0, 1, 2, 3, 4, 5, 8, 13, 21, 34},
		}),
		cost: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "customers_cost_per_request", Help: "Complexity points one GraphQL request asked for (what the cost limit charges).",
			Buckets: prometheus.ExponentialBuckets(1, 4, 9),
		}),
		ops: map[string]*operationMetrics{},
	}
	m.registry.MustRegister(m.requests, m.duration, m.errors, m.statements, m.cost,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	if db != nil {
		m.registry.MustRegister(collectors.NewDBStatsCollector(db, "customers"))
	}
	return m
}

// CountPipeline exports the counts of the database pools' pipelines
// (models.PipelineStats), the primary's and the read replicas': reads, and the
// round trips they shared.
func (m *Metrics) CountPipeline(stats func() models.PipelineStats) {
	m.registry.MustRegister(
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "customers_sql_pipelined_reads_total",
			Help: "Reads sent through the pools' pipelines (outside transactions); divided by customers_sql_pipeline_round_trips_total, the reads that shared a round trip.",
		}, func() float64 { return float64(stats().Reads) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "customers_sql_pipeline_round_trips_total", Help: "Round trips of the pools' pipelines: one per batch of reads, and one more each time a batch sends again the reads PostgreSQL skipped after one that failed or a lost connection left.",
		}, func() float64 { return float64(stats().RoundTrips) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "customers_sql_pipeline_queued", Help: "Reads waiting for the next batch of a pool's pipeline (all its DB_PIPELINES batches were in flight).",
		}, func() float64 { return float64(stats().Queued) }),
	)
}

// Handler serves the metrics in Prometheus's text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.registry, promhttp.HandlerOpts{})
}

// series returns the latency histogram and the counter of outcome of op's label:
// op, "anonymous" or, for a name longer than maxOperationLabelBytes or past
// maxOperationLabels names, "other".
func (m *Metrics) series(op string, outcome int) (prometheus.Observer, prometheus.Counter) {
	switch {
	case op == "":
		op = "anonymous"
	case len(op) > maxOperationLabelBytes:
		op = "other"
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	o := m.ops[op]
	if o == nil && op != "anonymous" && op != "other" {
		if m.named >= maxOperationLabels {
			op = "other"
			o = m.ops[op]
		} else {
			m.named++
		}
	}
	if o == nil {
		o = &operationMetrics{duration: m.duration.WithLabelValues(op)}
		m.ops[op] = o
	}
	if o.outcomes[outcome] == nil {
		o.outcomes[outcome] = m.requests.WithLabelValues(op, outcomes[outcome])
	}
	return o.duration, o.outcomes[outcome]
}

// observeRequest records one GraphQL request.
func (m *Metrics) observeRequest(op string, status int, hadErrors bool, d time.Duration, statements int64, cost int) {
	if m == nil {
		return
	}
	outcome := outcomeOK
	switch {
	case status == statusClientClosed:
		outcome = outcomeCanceled
	case status >= 400 && status < 500:
		outcome = outcomeRefused
	case status >= 500 || hadErrors:
		outcome = outcomeError
	}
	duration, requests := m.series(op, outcome)
	requests.Inc()
	duration.Observe(d.Seconds())
	m.statements.Observe(float64(statements))
	m.cost.Observe(float64(cost))
}

// watchSubscriptions reports count, the subscriptions the instance serves, as
// customers_subscriptions.
func (m *Metrics) watchSubscriptions(count func() int) {
	if m != nil {
		m.registry.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "customers_subscriptions", Help: "Subscriptions this instance serves (streams are not counted as requests).",
		}, func() float64 { return float64(count()) }))
	}
}

// countError records one error sent to a client.
func (m *Metrics) countError(code string) {
	if m != nil {
		m.errors.WithLabelValues(code).Inc()
	}
}
