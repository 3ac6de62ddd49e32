// Command customers serves the Customers GraphQL API.
//
//	customers                                 serve (GraphQL at /query, GraphiQL at /)
//	customers migrate                         create the database if missing, apply migrations, exit
//	customers token --user <id> [--ttl 1h]    print an Authorization header signed with JWT_SECRET
package main

import (
	"context"
	"crypto/rand"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/signal"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
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
	if os.Getenv("PPROF_ADDR") == "" {
		// Nobody can read a heap profile without the profiler's listener, and
		// sampling one walks the stack every 512 KiB allocated (2.7 % of W2's CPU).
		// Here rather than in run, which tests call, so that their profiles work.
		runtime.MemProfileRate = 0
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "customers:", err)
		os.Exit(1)
	}
}

// run wires the service and serves until ctx ends; it returns only after in-flight
// requests have finished (or the shutdown timeout has passed) and the pool is closed.
// It logs JSON to stdout; in development it also tells a person on stderr where it
// listens.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cfg, err := loadConfig(getenv)
	if err != nil {
		return fmt.Errorf("configuration: %w", err)
	}
	tuneGC(getenv)
	if len(args) > 0 && args[0] == "token" {
		return printToken(cfg, args[1:], stdout)
	}
	procsLowered := tuneProcs(getenv, cfg.DatabaseURL)
	logger, flushLogs := newLogger(stdout, cfg.LogLevel, cfg.LogFlush)
	defer flushLogs()
	logger.Info("starting", slog.Any("config", cfg.logValue()), slog.Int("gomaxprocs", runtime.GOMAXPROCS(0)), slog.Bool("gomaxprocs_lowered", procsLowered))
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
	replicas, closeReplicas, err := openReplicas(ctx, cfg, db, logger)
	if err != nil {
		return err
	}
	defer closeReplicas()
	metrics := graph.NewMetrics(sqlDB)
	metrics.CountPipeline(func() models.PipelineStats {
		if replicas == nil {
			return models.PipelineStatsOf(db)
		}
		return models.PipelineStatsOf(db).Plus(replicas.PipelineStats())
	})
	h, err := newHandler(ctx, cfg, logger, db, replicas, verifier, tracer, metrics)
	if err != nil {
		return err
	}
	servers := []listener{{"", cfg.ListenAddr, h}, {"admin", cfg.AdminAddr, graph.NewAdminHandler(metrics)}}
	if cfg.PprofAddr != "" {
		servers = append(servers, listener{"pprof", cfg.PprofAddr, graph.NewProfilerHandler()})
	}
	var notice io.Writer
	if cfg.Env == "development" {
		notice = stderr
	}
	return serve(ctx, cfg, logger, servers, notice)
}

// listening says, for a person, where the servers listen: their addresses as they
// are once listening (a port 0 resolved), with localhost for an unspecified host.
func listening(listeners []listener, lns []net.Listener) string {
	var parts []string
	for i, l := range listeners {
		base := "http://" + browsable(lns[i].Addr())
		switch l.name {
		case "":
			parts = append(parts, "GraphiQL at "+base+"/, GraphQL at "+base+"/query")
		case "admin":
			parts = append(parts, "metrics at "+base+"/metrics")
		default:
			parts = append(parts, l.name+" at "+base+"/debug/pprof/")
		}
	}
	return "customers: " + strings.Join(parts, "; ")
}

// browsable is addr as a browser on this machine reaches it.
func browsable(addr net.Addr) string {
	tcp, ok := addr.(*net.TCPAddr)
	if !ok || !tcp.IP.IsUnspecified() {
		return addr.String()
	}
	return net.JoinHostPort("localhost", strconv.Itoa(tcp.Port))
}

// listener is one HTTP server of the process: its name ("" for the public one),
// address and handler.
type listener struct {
	name, addr string
	handler    http.Handler
}

// Garbage collector defaults where the operator set none: a request allocates
// much short-lived memory (gqlgen's per-field values), so collecting at 5 times the
// live heap instead of twice halves the collector's work, while the soft memory
// limit keeps the process well under 100 MiB (the live heap under load is about
// 15 MiB).
const (
	defaultGCPercent   = 400
	defaultMemoryLimit = 64 << 20
)

// tuneGC applies the garbage collector defaults unless GOGC or GOMEMLIMIT is set
// (the runtime reads those itself).
func tuneGC(getenv func(string) string) {
	if getenv("GOGC") == "" {
		debug.SetGCPercent(defaultGCPercent)
	}
	if getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(defaultMemoryLimit)
	}
}

// tuneProcs leaves PostgreSQL a core when DATABASE_URL names this machine and
// GOMAXPROCS is not set (as Go reads it: a positive number): one thread of Go code
// fewer than Go's default, at least 1; it reports whether it lowered it. With a
// thread on every core, the server's threads slept and were woken about once a read
// by id, on cores PostgreSQL needed too; on 2 cores, one thread served 5–27 % more
// (README, "Configuration"). Go then no longer follows changes of the CPU limit.
func tuneProcs(getenv func(string) string, databaseURL string) bool {
	if n, err := strconv.Atoi(getenv("GOMAXPROCS")); (err == nil && n > 0) || !onThisMachine(databaseURL) {
		return false
	}
	runtime.SetDefaultGOMAXPROCS() // what Go chose, again: run may be called more than once
	n := runtime.GOMAXPROCS(0)
	if n < 2 {
		return false
	}
	runtime.GOMAXPROCS(n - 1)
	return true
}

// onThisMachine reports whether a PostgreSQL connection string names a server on
// this machine: a Unix socket, localhost or a loopback address.
func onThisMachine(databaseURL string) bool {
	cfg, err := pgconn.ParseConfig(databaseURL)
	if err != nil {
		return false
	}
	if network, _ := pgconn.NetworkAddress(cfg.Host, cfg.Port); network == "unix" || strings.EqualFold(cfg.Host, "localhost") {
		return true
	}
	addr, err := netip.ParseAddr(cfg.Host)
	return err == nil && addr.IsLoopback()
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
		return fmt.Errorf("token: %w", err)
	}
	_, err = fmt.Fprintf(stdout, "Authorization: Bearer %s\n", token)
	return err
}

// newHandler builds the service's public HTTP handler from its parts; it records
// metrics, which the admin listener serves.
func newHandler(ctx context.Context, cfg Config, logger *slog.Logger, db *gorm.DB, replicas *models.Replicas, verifier *auth.Verifier,
	tracer *sdktrace.TracerProvider, metrics *graph.Metrics) (http.Handler, error) {
	secret := cfg.CursorSecret
	if len(secret) == 0 {
		secret = make([]byte, 32)
		_, _ = rand.Read(secret)
		logger.Warn("CURSOR_SECRET is not set: cursors are signed with a random key and do not survive a restart or work across replicas")
	}
	var trusted graph.TrustedDocuments
	if cfg.TrustedDocuments != "" {
		var err error
		if trusted, err = graph.LoadTrustedDocuments(cfg.TrustedDocuments); err != nil {
			return nil, err
		}
	}
	sqlDB, err := db.DB()
	if err != nil {
		return nil, err
	}
	resolver := graph.NewResolver(db, models.NewCursors(secret))
	// Until ctx ends: authenticated callers are cached while their changes are
	// heard, and subscriptions are served. Then subscriptions end (SHUTTING_DOWN),
	// so that their streams do not hold up the graceful shutdown.
	go resolver.Listener(cfg.DatabaseURL, logger).Run(ctx)
	context.AfterFunc(ctx, resolver.Feed.Close)
	return graph.NewHandler(graph.Config{
		Logger:           logger,
		Resolver:         resolver,
		Ready:            sqlDB.PingContext,
		TrustedProxies:   cfg.TrustedProxies,
		Verifier:         verifier,
		Introspection:    cfg.Introspection,
		Limits:           cfg.Limits,
		PersistedQueries: cfg.PersistedQueries,
		TrustedDocuments: trusted,
		CORSOrigins:      cfg.CORSOrigins,
		CostLimit:        cfg.CostLimit,
		AuthFailures:     cfg.AuthFailures,
		Metrics:          metrics,
		GraphiQLHeaders:  graphiqlHeaders(cfg.GraphiQLAuth),
		Tracer:           tracerProvider(tracer),
		Replicas:         replicas,
	}), nil
}

// openDatabase creates the database if missing, opens the pool and migrates.
func openDatabase(ctx context.Context, cfg Config, logger *slog.Logger, tracer *sdktrace.TracerProvider) (*gorm.DB, error) {
	if err := models.EnsureDatabase(ctx, cfg.DatabaseURL); err != nil {
		return nil, err
	}
	db, err := models.OpenDB(models.DBConfig{
		URL: cfg.DatabaseURL, MaxConns: cfg.DBMaxConns, Pipelines: cfg.DBPipelines, SlowQuery: cfg.SlowQuery,
		StatementTimeout: cfg.StatementTimeout, Logger: logger, Tracer: tracerProvider(tracer),
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

// openReplicas routes db's reads to the replicas of DATABASE_REPLICA_URLS, if any
// (nil: none), and checks them until ctx ends or closeReplicas is called, which
// then closes the replicas' pools.
func openReplicas(ctx context.Context, cfg Config, db *gorm.DB, logger *slog.Logger) (_ *models.Replicas, closeReplicas func(), _ error) {
	if len(cfg.ReplicaURLs) == 0 {
		return nil, func() {}, nil
	}
	replicas, err := models.UseReplicas(db, models.DBConfig{
		URL: cfg.DatabaseURL, MaxConns: cfg.DBMaxConns, Pipelines: cfg.DBPipelines, StatementTimeout: cfg.StatementTimeout,
		Logger: logger, ReplicaURLs: cfg.ReplicaURLs, ReplicaMaxLag: cfg.ReplicaMaxLag,
	})
	if err != nil {
		return nil, nil, fmt.Errorf("DATABASE_REPLICA_URLS: %w", err)
	}
	ctx, stop := context.WithCancel(ctx)
	checks := make(chan struct{})
	go func() {
		defer close(checks)
		replicas.Run(ctx)
	}()
	return replicas, func() {
		stop()
		<-checks
		replicas.Close()
	}, nil
}

// serve runs the HTTP servers, the public one first, until ctx ends, then shuts
// them down gracefully: the public listener closes, in-flight requests finish
// (their contexts are not cancelled by the signal), then the others stop (so that
// metrics can be scraped while requests drain), and only then does serve return.
// Once every server listens, it writes their addresses as URLs to notice, if any.
func serve(ctx context.Context, cfg Config, logger *slog.Logger, listeners []listener, notice io.Writer) error {
	base := func(net.Listener) context.Context { return context.WithoutCancel(ctx) }
	errorLog := slog.NewLogLogger(logger.Handler(), slog.LevelWarn)
	servers := make([]*http.Server, len(listeners))
	lns := make([]net.Listener, len(listeners))
	closeAll := func() {
		for i := range listeners {
			if servers[i] != nil {
				servers[i].Close()
			}
			if lns[i] != nil {
				lns[i].Close()
			}
		}
	}
	for i, l := range listeners {
		// Only the public server has a write timeout: a CPU profile or trace streams
		// for as long as it was asked to.
		srv := &http.Server{Handler: l.handler, ReadHeaderTimeout: 5 * time.Second, IdleTimeout: 2 * time.Minute,
			BaseContext: base, ErrorLog: errorLog}
		if l.name == "" {
			srv.ReadTimeout, srv.WriteTimeout, srv.MaxHeaderBytes = 15*time.Second, 30*time.Second, 64<<10
		}
		ln, err := net.Listen("tcp", l.addr)
		if err != nil {
			closeAll()
			return fmt.Errorf("listen on %s: %w", l.addr, err)
		}
		lns[i] = ln
		servers[i] = srv
		logger.Info(strings.TrimSpace("serving "+l.name), slog.String("addr", ln.Addr().String()))
	}
	if notice != nil {
		fmt.Fprintln(notice, listening(listeners, lns))
	}
	errCh := make(chan error, len(servers))
	for i, srv := range servers {
		go func() { errCh <- srv.Serve(lns[i]) }()
	}
	select {
	case err := <-errCh:
		closeAll()
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	logger.Info("shutting down", slog.Duration("timeout", cfg.ShutdownTimeout))
	sctx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
	defer cancel()
	for i, srv := range servers {
		l := listeners[i]
		if err := srv.Shutdown(sctx); err != nil {
			closeAll()
			return fmt.Errorf("shutdown %s: %w", l.addr, err)
		}
	}
	logger.Info("stopped")
	return nil
}
