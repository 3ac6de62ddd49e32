package main

import (
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/cloudcomms/customers/graph"
	"github.com/cloudcomms/customers/internal/auth"
	"github.com/cloudcomms/customers/models"
)

// Config is the service's configuration, read from environment variables.
type Config struct {
	Env              string          // ENV: development or production
	Introspection    bool            // INTROSPECTION
	ListenAddr       string          // LISTEN_ADDR
	DatabaseURL      string          // DATABASE_URL
	ReplicaURLs      []string        // DATABASE_REPLICA_URLS: comma-separated
	ReplicaMaxLag    time.Duration   // REPLICA_MAX_LAG
	LogLevel         slog.Level      // LOG_LEVEL: debug, info, warn, error
	LogFlush         time.Duration   // LOG_FLUSH_INTERVAL: 0 writes each line at once
	DBMaxConns       int             // DB_MAX_CONNS
	DBPipelines      int             // DB_PIPELINES
	DemoData         bool            // DEMO_DATA
	TrustedProxies   []netip.Prefix  // TRUSTED_PROXIES: comma-separated addresses or CIDRs
	CursorSecret     []byte          // CURSOR_SECRET: signs pagination cursors
	ShutdownTimeout  time.Duration   // SHUTDOWN_TIMEOUT
	SlowQuery        time.Duration   // DB_SLOW_QUERY
	Auth             auth.Config     // JWT_SECRET, JWKS_URL, JWT_ISSUER, JWT_AUDIENCE, JWT_LEEWAY, JWT_MAX_TTL
	Limits           graph.Limits    // MAX_BODY_BYTES, MAX_TOKENS, MAX_DEPTH, MAX_FIELDS, MAX_COMPLEXITY, REQUEST_TIMEOUT, MAX_IN_FLIGHT
	StatementTimeout time.Duration   // DB_STATEMENT_TIMEOUT
	PersistedQueries int             // PERSISTED_QUERIES
	TrustedDocuments string          // TRUSTED_DOCUMENTS
	CORSOrigins      []string        // CORS_ORIGINS
	CostLimit        graph.CostLimit // COST_LIMIT, COST_RESTORE_RATE
	GraphiQLAuth     string          // GRAPHIQL_AUTHORIZATION (development only)

	// AuthFailures (AUTH_FAILURE_BURST, AUTH_FAILURE_REFILL) limits failed
	// authentication per client address.
	AuthFailures graph.AuthFailureLimit
	// AdminAddr (ADMIN_ADDR) is the address of the admin listener: /metrics, which
	// the public listener never serves.
	AdminAddr string
	// PprofAddr (PPROF_ADDR) is the address of the profiler's listener,
	// /debug/pprof/; empty: no profiler.
	PprofAddr string
}

// loadConfig reads the configuration; every setting has a default next to it, and
// every invalid one is reported.
func loadConfig(getenv func(string) string) (Config, error) {
	e := &envReader{getenv: getenv}
	env := e.str("ENV", "development")
	// Development serves this machine only: its GraphiQL page may carry a staff token.
	listen := ":8080"
	if env == "development" {
		listen = "127.0.0.1:8080"
	}
	cfg := Config{
		Env:         env,
		ListenAddr:  e.str("LISTEN_ADDR", listen),
		AdminAddr:   e.str("ADMIN_ADDR", "127.0.0.1:9090"),
		PprofAddr:   e.str("PPROF_ADDR", ""),
		DatabaseURL: e.str("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/customers?sslmode=disable"),
		DBMaxConns:  e.integer("DB_MAX_CONNS", 16, 1),
		DBPipelines: e.integer("DB_PIPELINES", 2, 1),
		DemoData:    e.boolean("DEMO_DATA", false),
		// Introspection is on in development and off in production unless asked for.
		Introspection:    e.boolean("INTROSPECTION", env == "development"),
		TrustedProxies:   e.prefixes("TRUSTED_PROXIES"),
		CursorSecret:     []byte(getenv("CURSOR_SECRET")),
		ShutdownTimeout:  e.duration("SHUTDOWN_TIMEOUT", 20*time.Second),
		LogFlush:         e.duration("LOG_FLUSH_INTERVAL", 100*time.Millisecond),
		SlowQuery:        e.duration("DB_SLOW_QUERY", 200*time.Millisecond),
		StatementTimeout: e.duration("DB_STATEMENT_TIMEOUT", 10*time.Second),
		ReplicaURLs:      e.list("DATABASE_REPLICA_URLS"),
		ReplicaMaxLag:    e.duration("REPLICA_MAX_LAG", time.Second),
		Limits: graph.Limits{
			MaxBodyBytes:  int64(e.integer("MAX_BODY_BYTES", int(graph.DefaultLimits.MaxBodyBytes), 0)),
			MaxTokens:     e.integer("MAX_TOKENS", graph.DefaultLimits.MaxTokens, 0),
			MaxDepth:      e.integer("MAX_DEPTH", graph.DefaultLimits.MaxDepth, 0),
			MaxFields:     e.integer("MAX_FIELDS", graph.DefaultLimits.MaxFields, 1),
			MaxComplexity: e.integer("MAX_COMPLEXITY", graph.DefaultLimits.MaxComplexity, 0),
			Timeout:       e.duration("REQUEST_TIMEOUT", graph.DefaultLimits.Timeout),
			MaxInFlight:   e.integer("MAX_IN_FLIGHT", graph.DefaultLimits.MaxInFlight, 0),
		},
		PersistedQueries: e.integer("PERSISTED_QUERIES", 1000, 0),
		TrustedDocuments: e.str("TRUSTED_DOCUMENTS", ""),
		CORSOrigins:      e.list("CORS_ORIGINS"),
		CostLimit: graph.CostLimit{
			Limit:       e.integer("COST_LIMIT", graph.DefaultCostLimit.Limit, 0),
			RestoreRate: e.float("COST_RESTORE_RATE", graph.DefaultCostLimit.RestoreRate),
			MaxCallers:  graph.DefaultCostLimit.MaxCallers,
		},
		GraphiQLAuth: e.str("GRAPHIQL_AUTHORIZATION", ""),
		Auth: auth.Config{
			Secret: []byte(getenv("JWT_SECRET")), JWKSURL: e.str("JWKS_URL", ""),
			Issuer: e.str("JWT_ISSUER", ""), Audience: e.str("JWT_AUDIENCE", ""),
			Leeway: e.duration("JWT_LEEWAY", 30*time.Second), MaxTTL: e.duration("JWT_MAX_TTL", 24*time.Hour),
		},
		AuthFailures: graph.AuthFailureLimit{
			Burst:      e.integer("AUTH_FAILURE_BURST", graph.DefaultAuthFailureLimit.Burst, 0),
			Refill:     e.duration("AUTH_FAILURE_REFILL", graph.DefaultAuthFailureLimit.Refill),
			MaxClients: graph.DefaultAuthFailureLimit.MaxClients,
		},
	}
	if err := cfg.LogLevel.UnmarshalText([]byte(e.str("LOG_LEVEL", "info"))); err != nil {
		e.fail("LOG_LEVEL", "%v", err)
	}
	if cfg.Env != "development" && cfg.Env != "production" {
		e.fail("ENV", "want development or production, got %q", cfg.Env)
	}
	if cfg.Env == "production" && len(cfg.Auth.Secret) == 0 && cfg.Auth.JWKSURL == "" {
		e.fail("JWT_SECRET or JWKS_URL", "one is required when ENV=production")
	}
	if cfg.Env == "production" && len(cfg.CursorSecret) == 0 {
		// A random key per process breaks every cursor behind a load balancer and
		// across restarts.
		e.fail("CURSOR_SECRET", "required when ENV=production (the same value on every replica)")
	}
	if n := len(cfg.CursorSecret); n > 0 && n < 32 {
		e.fail("CURSOR_SECRET", "want at least 32 bytes, got %d", n)
	}
	if cfg.CostLimit.Limit > 0 && cfg.CostLimit.RestoreRate <= 0 {
		e.fail("COST_RESTORE_RATE", "must be more than 0 when COST_LIMIT is set, or buckets never refill")
	}
	if cfg.ReplicaMaxLag < models.MinReplicaMaxLag {
		e.fail("REPLICA_MAX_LAG", "want at least %s, got %q", models.MinReplicaMaxLag, e.getenv("REPLICA_MAX_LAG"))
	}
	if cfg.GraphiQLAuth != "" && cfg.Env != "development" {
		e.fail("GRAPHIQL_AUTHORIZATION", "only for development, not with ENV=%s", cfg.Env)
	}
	return cfg, errors.Join(e.errs...)
}

// envReader reads typed settings from the environment and collects what is wrong.
type envReader struct {
	getenv func(string) string
	errs   []error
}

func (e *envReader) fail(key, format string, args ...any) {
	e.errs = append(e.errs, fmt.Errorf("%s: %s", key, fmt.Sprintf(format, args...)))
}

// str returns the trimmed value of key, or def when it is unset or blank.
func (e *envReader) str(key, def string) string {
	if v := strings.TrimSpace(e.getenv(key)); v != "" {
		return v
	}
	return def
}

func (e *envReader) boolean(key string, def bool) bool {
	v, err := strconv.ParseBool(e.str(key, strconv.FormatBool(def)))
	if err != nil {
		e.fail(key, "want true or false, got %q", e.getenv(key))
	}
	return v
}

// integer reads a whole number of at least min (0 is "no limit" for the limits).
func (e *envReader) integer(key string, def, min int) int {
	v, err := strconv.Atoi(e.str(key, strconv.Itoa(def)))
	if err != nil || v < min {
		e.fail(key, "want a whole number of %d or more, got %q", min, e.getenv(key))
	}
	return v
}

func (e *envReader) float(key string, def float64) float64 {
	v, err := strconv.ParseFloat(e.str(key, strconv.FormatFloat(def, 'f', -1, 64)), 64)
	if err != nil || v < 0 {
		e.fail(key, "want a number of 0 or more, got %q", e.getenv(key))
	}
	return v
}

func (e *envReader) duration(key string, def time.Duration) time.Duration {
	v, err := time.ParseDuration(e.str(key, def.String()))
	if err != nil || v < 0 {
		e.fail(key, "want a duration such as %s, got %q", def, e.getenv(key))
	}
	return v
}

// list reads comma-separated values.
func (e *envReader) list(key string) []string {
	var out []string
	for _, v := range strings.Split(e.str(key, ""), ",") {
		if v = strings.TrimSpace(v); v != "" {
			out = append(out, v)
		}
	}
	return out
}

// prefixes reads comma-separated addresses or CIDRs.
func (e *envReader) prefixes(key string) []netip.Prefix {
	var out []netip.Prefix
	for _, s := range e.list(key) {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			a, aerr := netip.ParseAddr(s)
			if aerr != nil {
				e.fail(key, "%q is no address or CIDR", s)
				continue
			}
			p = netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen())
		}
		out = append(out, p.Masked())
	}
	return out
}

// logValue shows the configuration with secrets masked.
func (c Config) logValue() slog.Value {
	redact := func(dbURL string) string {
		if u, err := url.Parse(dbURL); err == nil {
			return u.Redacted()
		}
		return dbURL
	}
	replicas := make([]string, len(c.ReplicaURLs))
	for i, u := range c.ReplicaURLs {
		replicas[i] = redact(u)
	}
	proxies := make([]string, len(c.TrustedProxies))
	for i, p := range c.TrustedProxies {
		proxies[i] = p.String()
	}
	return slog.GroupValue(
		slog.String("env", c.Env),
		slog.Bool("introspection", c.Introspection),
		slog.String("listen_addr", c.ListenAddr),
		slog.String("admin_addr", c.AdminAddr),
		slog.String("pprof_addr", c.PprofAddr),
		slog.String("database_url", redact(c.DatabaseURL)),
		slog.String("database_replica_urls", strings.Join(replicas, ",")),
		slog.Duration("replica_max_lag", c.ReplicaMaxLag),
		slog.String("log_level", c.LogLevel.String()),
		slog.Duration("log_flush_interval", c.LogFlush),
		slog.Int("db_max_conns", c.DBMaxConns),
		slog.Int("db_pipelines", c.DBPipelines),
		slog.Bool("demo_data", c.DemoData),
		slog.String("trusted_proxies", strings.Join(proxies, ",")),
		slog.Bool("cursor_secret_set", len(c.CursorSecret) > 0),
		slog.Duration("shutdown_timeout", c.ShutdownTimeout),
		slog.Duration("db_slow_query", c.SlowQuery),
		slog.Bool("jwt_secret_set", len(c.Auth.Secret) > 0),
		slog.String("jwks_url", c.Auth.JWKSURL),
		slog.String("jwt_issuer", c.Auth.Issuer),
		slog.String("jwt_audience", c.Auth.Audience),
		slog.Duration("jwt_leeway", c.Auth.Leeway),
		slog.Duration("jwt_max_ttl", c.Auth.MaxTTL),
		slog.Any("limits", c.Limits),
		slog.Duration("db_statement_timeout", c.StatementTimeout),
		slog.Int("persisted_queries", c.PersistedQueries),
		slog.String("trusted_documents", c.TrustedDocuments),
		slog.String("cors_origins", strings.Join(c.CORSOrigins, ",")),
		slog.Int("cost_limit", c.CostLimit.Limit),
		slog.Float64("cost_restore_rate", c.CostLimit.RestoreRate),
		slog.Int("auth_failure_burst", c.AuthFailures.Burst),
		slog.Duration("auth_failure_refill", c.AuthFailures.Refill),
	)
}
