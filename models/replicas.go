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
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"gorm.io/driver/postgres"
	"gorm.io/gorm"
	"gorm.io/plugin/dbresolver"
)

// Read replicas. dbresolver splits statements: writes, locking reads and everything
// in a transaction go to the primary, other reads to replicaPool. That one sends a
// read to a replica only when its context allows it (Replicas.Reads: the GraphQL
// layer allows it for query operations, never for mutations or for
// authentication), the replica answered its last health check, has replayed the
// WAL position the caller asks for (read-your-writes) and lags at most the
// configured bound; else the read goes to the primary. A read a replica fails to
// answer for the replica's own reasons (down, restarting, a recovery conflict) runs
// again on the primary, so a replica going away fails no request.

// replicaCheckEvery is how often the primary's WAL position is sampled and each
// replica checked, at most: a replica's measured lag is up to one check behind.
const replicaCheckEvery = 250 * time.Millisecond

// MinReplicaMaxLag is the least maximum lag: checks come four times within it.
const MinReplicaMaxLag = 100 * time.Millisecond

// replicaCheckTimeout bounds one check: a replica that does not answer in time is
// taken out of use until it does.
const replicaCheckTimeout = time.Second

// LSN is a position in PostgreSQL's write-ahead log.
type LSN uint64

// String is PostgreSQL's form of the LSN, such as 16/B374D848.
func (l LSN) String() string { return fmt.Sprintf("%X/%X", uint64(l)>>32, uint32(l)) }

// ParseLSN reads PostgreSQL's form of an LSN.
func ParseLSN(s string) (LSN, error) {
	hi, lo, ok := strings.Cut(s, "/")
	h, herr := strconv.ParseUint(hi, 16, 32)
	l, lerr := strconv.ParseUint(lo, 16, 32)
	if !ok || herr != nil || lerr != nil {
		return 0, fmt.Errorf("%q is no WAL position (want the form 16/B374D848)", s)
	}
	return LSN(h<<32 | l), nil
}

// Replicas routes the reads that may go to streaming replicas and keeps track of
// the replicas' health and lag; run Run for as long as it serves.
type Replicas struct {
	db      *gorm.DB // the primary's handle, with the routing in place
	primary *sql.DB
	// sampler is a connection to the primary of the checks' own, so that they are
	// not held up by a busy pool (a replica would seem to lag, and its reads move
	// to the primary, busier still).
	sampler *sql.DB
	servers []*replica
	maxLag  time.Duration
	every   time.Duration
	logger  *slog.Logger
	next    atomic.Uint64 // spreads reads over the usable replicas

	mu sync.Mutex
	// samples are the primary's WAL positions over the last maxLag and two
	// checks, oldest first.
	samples []walSample
}

// walSample is the primary's WAL position seen at a moment: every transaction
// committed before at ends at or before lsn.
type walSample struct {
	at  time.Time
	lsn LSN
}

// replica is one replica's pool and what its last check found.
type replica struct {
	name  string  // host and port, for logs
	db    *sql.DB // for the reads
	reads *pipeline
	check *sql.DB // a connection of the checks' own, as Replicas.sampler
	state atomic.Pointer[replicaState]
}

// replicaState is what a replica was found to be; the zero value is a replica
// out of use.
type replicaState struct {
	up bool // answered its last check as a standby
	// replayed is the WAL position it had replayed by then.
	replayed LSN
	// freshAsOf is a moment before which every transaction committed on the
	// primary had been replayed on the replica: its lag is the time since.
	freshAsOf time.Time
	// usable is whether the check found it within the maximum lag, to log
	// changes.
	usable bool
}

// serves tells whether a replica in state st may answer, at now, a read that must
// see the WAL position after.
func (st *replicaState) serves(after LSN, now time.Time, maxLag time.Duration) bool {
	return st != nil && st.up && st.replayed >= after && !st.freshAsOf.IsZero() && now.Sub(st.freshAsOf) <= maxLag
}

type replicaReadsKey struct{}

// UseReplicas opens a pool for each of cfg.ReplicaURLs (as OpenDB does for the
// primary, cfg.URL) and routes db's reads to them as the package comment says.
// The checks have a connection of their own to each server. Nothing goes to a
// replica until Run has checked it.
func UseReplicas(db *gorm.DB, cfg DBConfig) (*Replicas, error) {
	primary, err := db.DB()
	if err != nil {
		return nil, err
	}
	if cfg.ReplicaMaxLag < MinReplicaMaxLag {
		return nil, fmt.Errorf("the replicas' maximum lag must be at least %s", MinReplicaMaxLag)
	}
	r := &Replicas{db: db, primary: primary, maxLag: cfg.ReplicaMaxLag, logger: cfg.Logger,
		// Checks come often enough that a replica within its lag is seen so.
		every: min(replicaCheckEvery, cfg.ReplicaMaxLag/4)}
	checks := cfg
	checks.MaxConns = 1
	if r.sampler, err = openPool(cfg.URL, checks); err != nil {
		return nil, fmt.Errorf("primary: %w", err)
	}
	for _, u := range cfg.ReplicaURLs {
		s := &replica{name: hostOf(u)}
		r.servers = append(r.servers, s)
		if s.db, err = openPool(u, cfg); err == nil {
			s.reads = newPipeline(s.db, cfg.Pipelines)
			s.check, err = openPool(u, checks)
		}
		if err != nil {
			r.Close()
			return nil, fmt.Errorf("replica %s: %w", s.name, err)
		}
	}
	err = db.Use(dbresolver.Register(dbresolver.Config{
		Replicas: []gorm.Dialector{postgres.New(postgres.Config{Conn: replicaPool{r}})},
	}))
	if err != nil {
		r.Close()
		return nil, fmt.Errorf("route reads to replicas: %w", err)
	}
	return r, nil
}

// hostOf is the host and port of a postgres:// URL, never its password.
func hostOf(dbURL string) string {
	if u, err := url.Parse(dbURL); err == nil && u.Host != "" {
		return u.Host
	}
	return "(replica)"
}

// Close closes the replicas' pools and the checks' connections; Run must have
// returned.
func (r *Replicas) Close() {
	r.sampler.Close()
	for _, s := range r.servers {
		for _, pool := range []*sql.DB{s.db, s.check} {
			if pool != nil {
				pool.Close()
			}
		}
	}
}

// Reads returns ctx whose reads outside transactions may go to a replica that has
// replayed at least the WAL position after (0: any).
func (r *Replicas) Reads(ctx context.Context, after LSN) context.Context {
	return context.WithValue(ctx, replicaReadsKey{}, after)
}

// WrittenLSN returns the primary's current WAL position: once a replica has
// replayed it, it holds everything committed before the call. (Commits wait for
// their WAL to be written, with synchronous_commit on, PostgreSQL's default and
// this service's.)
func (r *Replicas) WrittenLSN(ctx context.Context) (LSN, error) {
	var s string
	err := r.db.WithContext(ctx).Clauses(dbresolver.Write).Raw("SELECT pg_current_wal_lsn()::text").Scan(&s).Error
	if err != nil {
		return 0, fmt.Errorf("read the WAL position: %w", err)
	}
	return ParseLSN(s)
}

// Run checks the primary's WAL position and every replica, each every check
// interval, until ctx ends.
func (r *Replicas) Run(ctx context.Context) {
	// A first sample, so that the replicas' first checks can tell their lag.
	first, cancel := context.WithTimeout(ctx, replicaCheckTimeout)
	r.samplePrimary(first)
	cancel()
	var wg sync.WaitGroup
	wg.Go(func() { r.repeat(ctx, r.samplePrimary) })
	for _, s := range r.servers {
		wg.Go(func() { r.repeat(ctx, func(ctx context.Context) { r.check(ctx, s) }) })
	}
	wg.Wait()
}

// repeat runs fn now and every check interval until ctx ends; a check that is
// slow delays the next one rather than piling up.
func (r *Replicas) repeat(ctx context.Context, fn func(context.Context)) {
	t := time.NewTicker(r.every)
	defer t.Stop()
	for {
		cctx, cancel := context.WithTimeout(ctx, replicaCheckTimeout)
		fn(cctx)
		cancel()
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// samplePrimary records the primary's WAL position. The time is taken before
// asking, so that the position read is at least the one of that time.
func (r *Replicas) samplePrimary(ctx context.Context) {
	at := time.Now()
	var lsn int64
	err := r.sampler.QueryRowContext(ctx, "SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), '0/0')::bigint").Scan(&lsn)
	if err != nil {
		// Without samples the replicas' lag cannot be told: once the last sample
		// is older than the maximum lag, every read goes to the primary (which is
		// likely down itself, and logged as such by the requests).
		r.logger.LogAttrs(ctx, slog.LevelDebug, "replicas: primary's WAL position", slog.String("err", LogSafeError(err)))
		return
	}
	r.record(walSample{at: at, lsn: LSN(lsn)})
}

// record keeps sample, and the samples since the maximum lag and two checks before
// it: a replica behind all of those lags too much anyway.
func (r *Replicas) record(sample walSample) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.samples = append(r.samples, sample)
	keep := sample.at.Add(-r.maxLag - 2*r.every)
	drop := 0
	for drop < len(r.samples)-1 && r.samples[drop].at.Before(keep) {
		drop++
	}
	r.samples = r.samples[drop:]
}

// freshAsOf returns a moment before which a replica held every commit made on the
// primary (zero: none known), given the WAL position it has replayed and, when it
// has replayed a commit, the time since that commit as it said when asked: the
// later of the last time the primary was seen at a position the replica has
// replayed, and its last replayed commit's time.
func (r *Replicas) freshAsOf(replayed LSN, asked time.Time, sinceCommit sql.NullFloat64) time.Time {
	var fresh time.Time
	r.mu.Lock()
	for i := len(r.samples) - 1; i >= 0; i-- {
		if r.samples[i].lsn <= replayed {
			fresh = r.samples[i].at
			break
		}
	}
	r.mu.Unlock()
	if sinceCommit.Valid {
		// Taken from asked, the commit's time is at most what it was; a commit
		// time past asked is the clocks disagreeing, and asked bounds it.
		lastCommit := asked.Add(-time.Duration(max(sinceCommit.Float64, 0) * float64(time.Second)))
		if lastCommit.After(fresh) {
			fresh = lastCommit
		}
	}
	return fresh
}

// check asks replica s how far it has replayed and records what it finds. Its lag
// is the time since freshAsOf: the WAL positions are exact to a check interval and
// not fooled by an idle primary, on which the last replayed commit's time
// (pg_last_xact_replay_timestamp()) ages with nothing to replay; that time is
// exact under a steady write load, if the servers' clocks agree.
func (r *Replicas) check(ctx context.Context, s *replica) {
	asked := time.Now()
	var standby bool
	var replayed sql.NullInt64
	var sinceCommit sql.NullFloat64
	err := s.check.QueryRowContext(ctx, `SELECT pg_is_in_recovery(), pg_wal_lsn_diff(pg_last_wal_replay_lsn(), '0/0')::bigint,
		extract(epoch FROM clock_timestamp() - pg_last_xact_replay_timestamp())::float8`).Scan(&standby, &replayed, &sinceCommit)
	switch {
	case ctx.Err() != nil && errors.Is(err, context.Canceled): // shutting down
		return
	case err != nil:
		r.down(ctx, s, err)
		return
	case !standby || !replayed.Valid:
		// Promoted, or not a replica at all: what it holds may have parted from
		// the primary's history.
		r.down(ctx, s, errors.New("not a standby (pg_is_in_recovery() is false)"))
		return
	}
	st := &replicaState{up: true, replayed: LSN(replayed.Int64), freshAsOf: r.freshAsOf(LSN(replayed.Int64), asked, sinceCommit)}
	now := time.Now()
	st.usable = st.serves(0, now, r.maxLag)
	switch old := s.state.Swap(st); {
	case st.usable && (old == nil || !old.usable):
		r.logger.LogAttrs(ctx, slog.LevelInfo, "replica in use", slog.String("replica", s.name),
			slog.Duration("lag", now.Sub(st.freshAsOf)))
	case !st.usable && (old == nil || old.usable):
		r.logger.LogAttrs(ctx, slog.LevelWarn, "replica lagging: reading from the primary", slog.String("replica", s.name),
			slog.Duration("max_lag", r.maxLag))
	}
}

// down takes replica s out of use until a check finds it up again; it is logged
// when it was in use or had not been checked yet.
func (r *Replicas) down(ctx context.Context, s *replica, err error) {
	if old := s.state.Swap(&replicaState{}); old == nil || old.usable {
		r.logger.LogAttrs(ctx, slog.LevelWarn, "replica down: reading from the primary", slog.String("replica", s.name),
			slog.String("err", LogSafeError(err)))
	}
}

// pick returns a replica that may answer a read under ctx now, or nil for the
// primary.
func (r *Replicas) pick(ctx context.Context) *replica {
	after, ok := ctx.Value(replicaReadsKey{}).(LSN)
	if !ok || len(r.servers) == 0 {
		return nil
	}
	now := time.Now()
	first := r.next.Add(1)
	for i := range uint64(len(r.servers)) {
		s := r.servers[(first+i)%uint64(len(r.servers))]
		if s.state.Load().serves(after, now, r.maxLag) {
			return s
		}
	}
	return nil
}

// failOver tells whether a read that failed on replica s with err is to run again
// on the primary: yes when the replica, not the statement, is at fault. A replica
// that is unreachable or going away is also taken out of use at once.
func (r *Replicas) failOver(ctx context.Context, s *replica, err error) bool {
	if ctx.Err() != nil {
		return false
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		switch code := pgErr.Code; {
		case code == "40001":
			// A standby cancels a read that conflicts with replaying the WAL
			// (SQLSTATE 40001); the primary has no such conflict.
			return true
		case code == "57014": // the statement's timeout, on the primary too
			return false
		case strings.HasPrefix(code, "08"), strings.HasPrefix(code, "53"), strings.HasPrefix(code, "57"), strings.HasPrefix(code, "58"):
			// The server's state: connection failures, lack of resources,
			// shutting down or starting up.
		default: // the statement's own error, which the primary would give as well
			return false
		}
	}
	r.down(ctx, s, err)
	return true
}

// PipelineStats sums what the replicas' pipelines sent.
func (r *Replicas) PipelineStats() PipelineStats {
	var sum PipelineStats
	for _, s := range r.servers {
		sum = sum.Plus(s.reads.stats())
	}
	return sum
}

// replicaPool is the connection pool dbresolver sends reads to.
type replicaPool struct{ r *Replicas }

// query is QueryContext for a read whose rows pgx scans (pipeline.rowQuery): it
// runs in the pipeline of the replica picked, else of the primary (primary). A
// replica's failure sends the read to the primary only if none of its rows was
// scanned, so that no row is read twice.
func (p replicaPool) query(ctx context.Context, query string, args []any, scan nativeScan, alone bool, primary *pipeline) error {
	if s := p.r.pick(ctx); s != nil {
		scanned := false
		err := s.reads.query(ctx, query, args, func(rows pgx.Rows) error {
			scanned = true
			return scan(rows)
		}, alone)
		if err == nil || scanned || !p.r.failOver(ctx, s, err) {
			countReplicaStatement(ctx)
			return err
		}
	}
	return primary.query(ctx, query, args, scan, alone)
}

func (p replicaPool) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	if s := p.r.pick(ctx); s != nil {
		rows, err := s.db.QueryContext(ctx, query, args...)
		if err == nil || !p.r.failOver(ctx, s, err) {
			countReplicaStatement(ctx)
			return rows, err
		}
	}
	return p.r.primary.QueryContext(ctx, query, args...)
}

func (p replicaPool) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	if s := p.r.pick(ctx); s != nil {
		row := s.db.QueryRowContext(ctx, query, args...)
		if err := row.Err(); err == nil || !p.r.failOver(ctx, s, err) {
			countReplicaStatement(ctx)
			return row
		}
	}
	return p.r.primary.QueryRowContext(ctx, query, args...)
}

// ExecContext runs on the primary: dbresolver takes a raw SELECT for a read, but one
// run with Exec is run for its side effects (pg_notify).
func (p replicaPool) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	return p.r.primary.ExecContext(ctx, query, args...)
}

// PrepareContext prepares on the primary, where a prepared statement can run
// whatever it is.
func (p replicaPool) PrepareContext(ctx context.Context, query string) (*sql.Stmt, error) {
	return p.r.primary.PrepareContext(ctx, query)
}
