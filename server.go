// Command customers serves the Customers GraphQL API.
//
//	customers                                 serve (GraphQL at /query, GraphiQL at /)
//	customers migrate                         create the database if missing, apply migrations, exit
//	customers token --user <id> [--ttl 1h]    print an Authorization header signed with JWT_SECRET
package main

import (
	"context"
	"crypto/rand"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
	"gorm.io/gorm"

	"github.com/cloudcomms/customers/graph"
	"github.com/cloudcomms/customers/internal/auth"
	"github.com/cloudcomms/customers/migrations"
	"github.com/cloudcomms/customers/models"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "customers:", err)
		os.Exit(1)
	}
}

// Config is the service's configuration, read from environment variables.
type Config struct {
	Env              string          // ENV: development or production
	Introspection    bool            // INTROSPECTION
	ListenAddr       string          // LISTEN_ADDR
	DatabaseURL      string          // DATABASE_URL
	LogLevel         slog.Level      // LOG_LEVEL: debug, info, warn, error
	DBMaxConns       int             // DB_MAX_CONNS
	DemoData         bool            // DEMO_DATA
	TrustedProxies   []netip.Prefix  // TRUSTED_PROXIES: comma-separated addresses or CIDRs
	CursorSecret     []byte          // CURSOR_SECRET: signs pagination cursors
	ShutdownTimeout  time.Duration   // SHUTDOWN_TIMEOUT
	SlowQuery        time.Duration   // DB_SLOW_QUERY
	Auth             auth.Config     // JWT_SECRET, JWKS_URL, JWT_ISSUER, JWT_AUDIENCE, JWT_LEEWAY
	Limits           graph.Limits    // MAX_BODY_BYTES, MAX_TOKENS, MAX_DEPTH, MAX_FIELDS, MAX_COMPLEXITY, REQUEST_TIMEOUT
	StatementTimeout time.Duration   // DB_STATEMENT_TIMEOUT
	PersistedQueries int             // PERSISTED_QUERIES
	TrustedDocuments string          // TRUSTED_DOCUMENTS
	CORSOrigins      []string        // CORS_ORIGINS
	RateLimit        graph.RateLimit // RATE_LIMIT, RATE_BURST
	GraphiQLAuth     string          // GRAPHIQL_AUTHORIZATION (development only)
}

// loadConfig reads the configuration; every setting has a default next to it.
func loadConfig(getenv func(string) string) (Config, error) {
	get := func(key, def string) string {
		if v := strings.TrimSpace(getenv(key)); v != "" {
			return v
		}
		return def
	}
	cfg := Config{
		Env:         get("ENV", "development"),
		ListenAddr:  get("LISTEN_ADDR", ":8080"),
		DatabaseURL: get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/customers?sslmode=disable"),
	}
	var errs []error
	if cfg.Env != "development" && cfg.Env != "production" {
		errs = append(errs, fmt.Errorf("ENV: want development or production, got %q", cfg.Env))
	}
	var err error
	// Introspection is on in development and off in production unless asked for.
	if cfg.Introspection, err = strconv.ParseBool(get("INTROSPECTION", strconv.FormatBool(cfg.Env == "development"))); err != nil {
		errs = append(errs, fmt.Errorf("INTROSPECTION: want true or false, got %q", getenv("INTROSPECTION")))
	}
	if err := cfg.LogLevel.UnmarshalText([]byte(get("LOG_LEVEL", "info"))); err != nil {
		errs = append(errs, fmt.Errorf("LOG_LEVEL: %w", err))
	}
	n, err := strconv.Atoi(get("DB_MAX_CONNS", "10"))
	if err != nil || n < 1 {
		errs = append(errs, fmt.Errorf("DB_MAX_CONNS: want a whole number of 1 or more, got %q", getenv("DB_MAX_CONNS")))
	}
	cfg.DBMaxConns = n
	if cfg.DemoData, err = strconv.ParseBool(get("DEMO_DATA", "false")); err != nil {
		errs = append(errs, fmt.Errorf("DEMO_DATA: want true or false, got %q", getenv("DEMO_DATA")))
	}
	for _, s := range strings.Split(get("TRUSTED_PROXIES", ""), ",") {
		if s = strings.TrimSpace(s); s == "" {
			continue
		}
		p, err := netip.ParsePrefix(s)
		if err != nil {
			a, aerr := netip.ParseAddr(s)
			if aerr != nil {
				errs = append(errs, fmt.Errorf("TRUSTED_PROXIES: %q is no address or CIDR", s))
				continue
			}
			p = netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen())
		}
		cfg.TrustedProxies = append(cfg.TrustedProxies, p.Masked())
	}
	for _, l := range []struct {
		key string
		def int
		dst func(int)
	}{
		{"MAX_BODY_BYTES", int(graph.DefaultLimits.MaxBodyBytes), func(n int) { cfg.Limits.MaxBodyBytes = int64(n) }},
		{"MAX_TOKENS", graph.DefaultLimits.MaxTokens, func(n int) { cfg.Limits.MaxTokens = n }},
		{"MAX_DEPTH", graph.DefaultLimits.MaxDepth, func(n int) { cfg.Limits.MaxDepth = n }},
		{"MAX_FIELDS", graph.DefaultLimits.MaxFields, func(n int) { cfg.Limits.MaxFields = n }},
		{"MAX_COMPLEXITY", graph.DefaultLimits.MaxComplexity, func(n int) { cfg.Limits.MaxComplexity = n }},
		{"PERSISTED_QUERIES", 1000, func(n int) { cfg.PersistedQueries = n }},
		{"RATE_BURST", 40, func(n int) { cfg.RateLimit.Burst = n }},
	} {
		n, err := strconv.Atoi(get(l.key, strconv.Itoa(l.def)))
		if err != nil || n < 0 {
			errs = append(errs, fmt.Errorf("%s: want a whole number, 0 for no limit, got %q", l.key, getenv(l.key)))
		}
		l.dst(n)
	}
	if cfg.RateLimit.Rate, err = strconv.ParseFloat(get("RATE_LIMIT", "20"), 64); err != nil || cfg.RateLimit.Rate < 0 {
		errs = append(errs, fmt.Errorf("RATE_LIMIT: want requests a second, 0 for no limit, got %q", getenv("RATE_LIMIT")))
	}
	cfg.TrustedDocuments = get("TRUSTED_DOCUMENTS", "")
	if cfg.GraphiQLAuth = get("GRAPHIQL_AUTHORIZATION", ""); cfg.GraphiQLAuth != "" && cfg.Env != "development" {
		errs = append(errs, fmt.Errorf("GRAPHIQL_AUTHORIZATION: only for development, not with ENV=%s", cfg.Env))
	}
	for _, o := range strings.Split(get("CORS_ORIGINS", ""), ",") {
		if o = strings.TrimSpace(o); o != "" {
			cfg.CORSOrigins = append(cfg.CORSOrigins, o)
		}
	}
	cfg.CursorSecret = []byte(getenv("CURSOR_SECRET"))
	cfg.Auth.Secret = []byte(getenv("JWT_SECRET"))
	cfg.Auth.JWKSURL = get("JWKS_URL", "")
	cfg.Auth.Issuer = get("JWT_ISSUER", "")
	cfg.Auth.Audience = get("JWT_AUDIENCE", "")
	if cfg.Env == "production" && len(cfg.Auth.Secret) == 0 && cfg.Auth.JWKSURL == "" {
		errs = append(errs, fmt.Errorf("JWT_SECRET or JWKS_URL: one is required when ENV=production"))
	}
	for _, d := range []struct {
		key, def string
		dst      *time.Duration
	}{
		{"SHUTDOWN_TIMEOUT", "20s", &cfg.ShutdownTimeout}, {"DB_SLOW_QUERY", "200ms", &cfg.SlowQuery}, {"JWT_LEEWAY", "30s", &cfg.Auth.Leeway},
		{"REQUEST_TIMEOUT", graph.DefaultLimits.Timeout.String(), &cfg.Limits.Timeout}, {"DB_STATEMENT_TIMEOUT", "10s", &cfg.StatementTimeout},
	} {
		if *d.dst, err = time.ParseDuration(get(d.key, d.def)); err != nil || *d.dst < 0 {
			errs = append(errs, fmt.Errorf("%s: want a duration such as %s, got %q", d.key, d.def, getenv(d.key)))
		}
	}
	return cfg, errors.Join(errs...)
}

// logValue shows the configuration with secrets masked.
func (c Config) logValue() slog.Value {
	dbURL := c.DatabaseURL
	if u, err := url.Parse(dbURL); err == nil {
		dbURL = u.Redacted()
	}
	proxies := make([]string, len(c.TrustedProxies))
	for i, p := range c.TrustedProxies {
		proxies[i] = p.String()
	}
	return slog.GroupValue(
		slog.String("env", c.Env),
		slog.Bool("introspection", c.Introspection),
		slog.String("listen_addr", c.ListenAddr),
		slog.String("database_url", dbURL),
		slog.String("log_level", c.LogLevel.String()),
		slog.Int("db_max_conns", c.DBMaxConns),
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
		slog.Any("limits", c.Limits),
		slog.Duration("db_statement_timeout", c.StatementTimeout),
		slog.Int("persisted_queries", c.PersistedQueries),
		slog.String("trusted_documents", c.TrustedDocuments),
		slog.String("cors_origins", strings.Join(c.CORSOrigins, ",")),
		slog.Float64("rate_limit", c.RateLimit.Rate),
		slog.Int("rate_burst", c.RateLimit.Burst),
	)
}

// run wires the service and serves until ctx ends; it returns only after in-flight
// requests have finished (or the shutdown timeout has passed) and the pool is closed.
func run(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	cfg, err := loadConfig(getenv)
	if err != nil {
		return fmt.Errorf("configuration: %w", err)
	}
	if len(args) > 0 && args[0] == "token" {
		return printToken(cfg, args[1:], stdout)
	}
	logger := slog.New(graph.LogHandler{Handler: slog.NewJSONHandler(stdout, &slog.HandlerOptions{Level: cfg.LogLevel})})
	logger.Info("starting", slog.Any("config", cfg.logValue()))
	verifier, err := auth.NewVerifier(ctx, cfg.Auth)
	if err != nil {
		return fmt.Errorf("configuration: %w", err)
	}
	if !verifier.Enabled() {
		logger.Warn("neither JWT_SECRET nor JWKS_URL is set: every bearer token is refused")
	}

	tracer, err := newTracer(ctx, getenv)
	if err != nil {
		return err
	}
	if tracer != nil {
		logger.Info("tracing", slog.String("otlp_endpoint", getenv("OTEL_EXPORTER_OTLP_ENDPOINT")))
		defer func() {
			sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			_ = tracer.Shutdown(sctx) // flushes the last spans
		}()
	}
	db, err := openDatabase(ctx, cfg, logger, tracer)
	if err != nil {
		return err
	}
	sqlDB, _ := db.DB()
	defer sqlDB.Close()
	if len(args) > 0 && args[0] == "migrate" {
		logger.Info("migrated")
		return nil
	}
	if len(args) > 0 {
		return fmt.Errorf("unknown command %q (want: migrate or token)", args[0])
	}
	if cfg.DemoData {
		loaded, err := models.LoadDemoData(ctx, db)
		if err != nil {
			return fmt.Errorf("demo data: %w", err)
		}
		logger.Info("demo data", slog.Bool("loaded", loaded))
	}

	secret := cfg.CursorSecret
	if len(secret) == 0 {
		secret = make([]byte, 32)
		_, _ = rand.Read(secret)
		logger.Warn("CURSOR_SECRET is not set: cursors are signed with a random key and do not survive a restart or work across replicas")
	}
	var trusted graph.TrustedDocuments
	if cfg.TrustedDocuments != "" {
		if trusted, err = graph.LoadTrustedDocuments(cfg.TrustedDocuments); err != nil {
			return err
		}
	}
	h := graph.NewHandler(graph.Config{
		Logger:           logger,
		Resolver:         graph.NewResolver(db, models.NewCursors(secret)),
		Ready:            sqlDB.PingContext,
		TrustedProxies:   cfg.TrustedProxies,
		Verifier:         verifier,
		Introspection:    cfg.Introspection,
		Limits:           cfg.Limits,
		PersistedQueries: cfg.PersistedQueries,
		TrustedDocuments: trusted,
		CORSOrigins:      cfg.CORSOrigins,
		RateLimit:        cfg.RateLimit,
		Metrics:          graph.NewMetrics(sqlDB),
		GraphiQLHeaders:  graphiqlHeaders(cfg.GraphiQLAuth),
		Tracer:           tracerProvider(tracer),
	})
	return serve(ctx, cfg, logger, h)
}

// newTracer exports spans over OTLP/HTTP when OTEL_EXPORTER_OTLP_ENDPOINT is set
// (the exporter reads the other OTEL_* variables itself); nil, tracing off, otherwise.
func newTracer(ctx context.Context, getenv func(string) string) (*sdktrace.TracerProvider, error) {
	if getenv("OTEL_EXPORTER_OTLP_ENDPOINT") == "" {
		return nil, nil
	}
	exp, err := otlptracehttp.New(ctx)
	if err != nil {
		return nil, fmt.Errorf("tracing: %w", err)
	}
	res := resource.NewSchemaless(attribute.String("service.name", "customers"))
	return sdktrace.NewTracerProvider(sdktrace.WithBatcher(exp), sdktrace.WithResource(res)), nil
}

// tracerProvider is tp as the interface the layers take; nil when tracing is off.
func tracerProvider(tp *sdktrace.TracerProvider) trace.TracerProvider {
	if tp == nil {
		return nil
	}
	return tp
}

// graphiqlHeaders are the headers GraphiQL sends: the development Authorization, if any.
func graphiqlHeaders(authorization string) map[string]string {
	if authorization == "" {
		return nil
	}
	return map[string]string{"Authorization": authorization}
}

// printToken mints a bearer token for a user with JWT_SECRET:
// `customers token --user <id> [--ttl 1h]` prints a ready-to-paste header.
func printToken(cfg Config, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("token", flag.ContinueOnError)
	user := fs.String("user", "", "id of the user the token acts as (24 hexadecimal characters)")
	ttl := fs.Duration("ttl", time.Hour, "how long the token is valid")
	if err := fs.Parse(args); err != nil {
		return err
	}
	id, err := models.ParseObjectID(*user)
	if err != nil {
		return fmt.Errorf("--user: %w", err)
	}
	if *ttl <= 0 {
		return fmt.Errorf("--ttl must be positive")
	}
	token, err := auth.Sign(cfg.Auth, id, *ttl)
	if err != nil {
		return fmt.Errorf("set JWT_SECRET: %w", err)
	}
	_, err = fmt.Fprintf(stdout, "Authorization: Bearer %s\n", token)
	return err
}

// openDatabase creates the database if missing, opens the pool and migrates.
func openDatabase(ctx context.Context, cfg Config, logger *slog.Logger, tracer *sdktrace.TracerProvider) (*gorm.DB, error) {
	if err := models.EnsureDatabase(ctx, cfg.DatabaseURL); err != nil {
		return nil, err
	}
	db, err := models.OpenDB(models.DBConfig{
		URL: cfg.DatabaseURL, MaxConns: cfg.DBMaxConns, SlowQuery: cfg.SlowQuery, StatementTimeout: cfg.StatementTimeout, Logger: logger,
		Tracer: tracerProvider(tracer),
	})
	if err != nil {
		return nil, err
	}
	sqlDB, _ := db.DB()
	if err := migrations.Up(ctx, sqlDB); err != nil {
		sqlDB.Close()
		return nil, err
	}
	return db, nil
}

// serve runs the HTTP server until ctx ends, then shuts it down gracefully: the
// listener closes, in-flight requests finish (their contexts are not cancelled by
// the signal), and only then does serve return.
func serve(ctx context.Context, cfg Config, logger *slog.Logger, h http.Handler) error {
	srv := &http.Server{
		Addr:              cfg.ListenAddr,
		Handler:           h,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       15 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		BaseContext:       func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
	ln, err := net.Listen("tcp", cfg.ListenAddr)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	logger.Info("serving", slog.String("addr", ln.Addr().String()))
	errCh := make(chan error, 1)
	go func() { errCh <- srv.Serve(ln) }()
	select {
	case err := <-errCh:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	logger.Info("shutting down", slog.Duration("timeout", cfg.ShutdownTimeout))
	sctx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	logger.Info("stopped")
	return nil
}
