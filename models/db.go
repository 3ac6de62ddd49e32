package models

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
	"go.opentelemetry.io/otel/trace"
	"gorm.io/driver/postgres"
	"gorm.io/gorm"
	"gorm.io/gorm/clause"
	gormlogger "gorm.io/gorm/logger"
	"gorm.io/plugin/opentelemetry/tracing"
)

// DBConfig sets up the connection pool.
type DBConfig struct {
	URL      string
	MaxConns int
	// Pipelines is how many batches of reads may be in flight at once (at least 1):
	// the reads that concurrent requests make outside transactions share round trips
	// (pipeline).
	Pipelines int
	// SlowQuery is the duration from which a statement is logged at WARN.
	SlowQuery time.Duration
	// StatementTimeout makes PostgreSQL end any statement that runs longer (0: none),
	// a backstop behind the request deadline.
	StatementTimeout time.Duration
	Logger           *slog.Logger
	// Tracer, when set, records a span per SQL statement (without its values).
	Tracer trace.TracerProvider
	// ReplicaURLs are streaming replicas of URL's server, for UseReplicas; each has a
	// pool of MaxConns connections with the same statement timeout (and one more
	// for its health checks).
	ReplicaURLs []string
	// ReplicaMaxLag is how far behind the primary a replica may be and still be read.
	ReplicaMaxLag time.Duration
}

// OpenDB opens a GORM handle over a pgx connection pool sized by cfg. The pool
// connects on first use and reconnects by itself, but stops dialling while the
// database is known to be down (connectBreaker).
func OpenDB(cfg DBConfig) (*gorm.DB, error) {
	pool, err := openPool(cfg.URL, cfg)
	if err != nil {
		return nil, fmt.Errorf("DATABASE_URL: %w", err)
	}
	db, err := gorm.Open(placeholderDialector{postgres.New(postgres.Config{Conn: pool}).(*postgres.Dialector)}, &gorm.Config{
		// Every write here is one statement or opens its own transaction; GORM's
		// implicit BEGIN/COMMIT around single statements would triple round trips.
		SkipDefaultTransaction: true,
		Logger:                 slogGorm{log: cfg.Logger, slow: cfg.SlowQuery},
	})
	if err != nil {
		pool.Close()
		return nil, fmt.Errorf("open database: %w", err)
	}
	db.ClauseBuilders["LIMIT"] = buildLimit
	if err := db.Use(newPipeline(pool, cfg.Pipelines)); err != nil {
		return nil, fmt.Errorf("open database: %w", err)
	}
	if err := countStatements(db); err != nil {
		return nil, fmt.Errorf("open database: %w", err)
	}
	if cfg.Tracer != nil {
		err := db.Use(tracing.NewPlugin(tracing.WithTracerProvider(cfg.Tracer), tracing.WithoutMetrics(),
			tracing.WithoutQueryVariables(), tracing.WithDBSystem("postgresql")))
		if err != nil {
			return nil, fmt.Errorf("open database: %w", err)
		}
	}
	return db, nil
}

// openPool opens a pool of up to cfg.MaxConns connections to the server at dbURL,
// with cfg's statement timeout, behind a connect breaker of its own.
func openPool(dbURL string, cfg DBConfig) (*sql.DB, error) {
	dsn, err := withStatementTimeout(dbURL, cfg.StatementTimeout)
	if err != nil {
		return nil, err
	}
	connConfig, err := pgx.ParseConfig(dsn)
	if err != nil {
		return nil, err
	}
	pool := sql.OpenDB(connector{stdlib.GetConnector(*connConfig), &connectBreaker{now: time.Now}})
	pool.SetMaxOpenConns(cfg.MaxConns)
	pool.SetMaxIdleConns(cfg.MaxConns)
	pool.SetConnMaxIdleTime(5 * time.Minute)
	pool.SetConnMaxLifetime(30 * time.Minute)
	return pool, nil
}

// inTransaction runs fn in a transaction of db under ctx. When ctx ends first (the
// client left, or the request's deadline passed), database/sql rolls the transaction
// back by itself, and the commit or the statement that comes next fails with
// sql.ErrTxDone ("transaction has already been committed or rolled back"), which
// hides why: the error is then ctx's.
func inTransaction(ctx context.Context, db *gorm.DB, fn func(tx *gorm.DB) error) error {
	err := db.WithContext(ctx).Transaction(fn)
	if errors.Is(err, sql.ErrTxDone) && ctx.Err() != nil {
		return ctx.Err()
	}
	return err
}

// buildLimit writes a LIMIT clause as GORM does, but with the limit as a number in
// the statement, where GORM passes a parameter. PostgreSQL's generic plan of a
// prepared statement takes a parameter's LIMIT for a tenth of the table, so it never
// beats a custom one: every execution of a page's statement was planned anew, which
// cost PostgreSQL more than running it. Pages read one of a few limits
// (fetchLimit), so statements stay few. Offsets stay parameters (up to MaxOffset of
// them would each be a statement), so a page with one is still planned every time.
func buildLimit(c clause.Clause, builder clause.Builder) {
	limit, ok := c.Expression.(clause.Limit)
	if !ok {
		c.Build(builder)
		return
	}
	if limit.Limit != nil && *limit.Limit >= 0 {
		builder.WriteString("LIMIT ")
		builder.WriteString(strconv.Itoa(*limit.Limit))
	}
	if limit.Offset > 0 {
		if limit.Limit != nil && *limit.Limit >= 0 {
			builder.WriteByte(' ')
		}
		builder.WriteString("OFFSET ")
		builder.AddVar(builder, limit.Offset)
	}
}

// placeholderDialector is PostgreSQL's dialector rendering statements for logs and
// spans with their placeholders ($1, …) instead of their values (emails, filter
// values, token hashes). GORM renders every logged statement with Explain; its
// ParamsFilter hook is not enough, because Scan logs through a recorder that ignores
// the logger's filter.
type placeholderDialector struct{ *postgres.Dialector }

// Explain returns the statement as sent, without its values.
func (placeholderDialector) Explain(sql string, _ ...any) string { return sql }

// withStatementTimeout adds PostgreSQL's statement_timeout to a postgres:// URL,
// unless the URL sets it already.
func withStatementTimeout(dbURL string, d time.Duration) (string, error) {
	if d <= 0 {
		return dbURL, nil
	}
	u, err := url.Parse(dbURL)
	if err != nil {
		return "", fmt.Errorf("want a postgres:// URL")
	}
	q := u.Query()
	if q.Get("statement_timeout") == "" {
		q.Set("statement_timeout", strconv.FormatInt(d.Milliseconds(), 10))
	}
	u.RawQuery = q.Encode()
	return u.String(), nil
}

// EnsureDatabase creates the database named in dbURL when it does not exist yet,
// connecting to the same server's maintenance database "postgres".
func EnsureDatabase(ctx context.Context, dbURL string) error {
	u, err := url.Parse(dbURL)
	if err != nil || u.Scheme == "" {
		return fmt.Errorf("DATABASE_URL must be a postgres:// URL")
	}
	name := strings.TrimPrefix(u.Path, "/")
	if name == "" || name == "postgres" {
		return nil
	}
	u.Path = "/postgres"
	conn, err := pgx.Connect(ctx, u.String())
	if err != nil {
		return fmt.Errorf("connect to the server of %q: %w", name, err)
	}
	defer conn.Close(ctx)
	var exists bool
	if err := conn.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)", name).Scan(&exists); err != nil {
		return fmt.Errorf("look up database %q: %w", name, err)
	}
	if exists {
		return nil
	}
	_, err = conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize())
	var pgErr interface{ SQLState() string }
	if errors.As(err, &pgErr) && pgErr.SQLState() == "42P04" { // created meanwhile by another process
		return nil
	}
	if err != nil {
		return fmt.Errorf("create database %q: %w", name, err)
	}
	return nil
}

// slogGorm sends GORM's log to slog: statements at DEBUG, slow ones at WARN.
// Failed statements are logged at DEBUG only: the error travels up and is logged
// once where it is handled. Statements come with their placeholders ($1, …), never
// their values (placeholderDialector), and errors through LogSafeError.
type slogGorm struct {
	log  *slog.Logger
	slow time.Duration
}

func (l slogGorm) LogMode(gormlogger.LogLevel) gormlogger.Interface { return l }

func (l slogGorm) Info(ctx context.Context, msg string, args ...any) {
	l.log.InfoContext(ctx, fmt.Sprintf(msg, args...))
}

func (l slogGorm) Warn(ctx context.Context, msg string, args ...any) {
	l.log.WarnContext(ctx, fmt.Sprintf(msg, args...))
}

func (l slogGorm) Error(ctx context.Context, msg string, args ...any) {
	l.log.ErrorContext(ctx, fmt.Sprintf(msg, args...))
}

func (l slogGorm) Trace(ctx context.Context, begin time.Time, fc func() (string, int64), err error) {
	elapsed := time.Since(begin)
	level := slog.LevelDebug
	if l.slow > 0 && elapsed >= l.slow {
		level = slog.LevelWarn
	}
	if !l.log.Enabled(ctx, level) {
		return
	}
	sql, rows := fc()
	attrs := []slog.Attr{
		slog.String("sql", sql),
		slog.Int64("rows", rows),
		slog.Float64("duration_ms", float64(elapsed.Microseconds())/1000),
	}
	if err != nil {
		attrs = append(attrs, slog.String("err", LogSafeError(err)))
	}
	l.log.LogAttrs(ctx, level, "sql", attrs...)
}
