package models

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/cloudcomms/customers/internal/pgtest"
)

// openPipeline opens a pool of conns connections to a new database and a pipeline
// over it with one batch in flight at most.
func openPipeline(t *testing.T, conns int) (*pipeline, *sql.DB) {
	t.Helper()
	db, err := OpenDB(DBConfig{URL: pgtest.NewDatabase(t), MaxConns: conns, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	pool, err := db.DB()
	if err != nil {
		t.Fatal(err)
	}
	return newPipeline(pool, 1), pool
}

// scanInt64s appends each row's int8 columns to *out.
func scanInt64s(out *[]int64) nativeScan {
	return func(rows pgx.Rows) error {
		for rows.Next() {
			vals, err := rows.Values()
			if err != nil {
				return err
			}
			for _, v := range vals {
				*out = append(*out, v.(int64))
			}
		}
		return rows.Err()
	}
}

// holdBatch sends a read that waits for advisory lock 42, held by the test, and
// returns once it is in flight; release lets it finish and returns its error.
func holdBatch(t *testing.T, p *pipeline, pool *sql.DB) (release func() error) {
	t.Helper()
	ctx := context.Background()
	holder, err := pool.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := holder.ExecContext(ctx, "SELECT pg_advisory_lock(42)"); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		var got []int64
		done <- p.query(ctx, "SELECT 1::int8 FROM (SELECT pg_advisory_xact_lock_shared(42)) AS l", nil, scanInt64s(&got), false)
	}()
	eventually(t, "the held read to wait for its lock", func() bool {
		var waiting bool
		err := holder.QueryRowContext(ctx, "SELECT EXISTS (SELECT FROM pg_locks WHERE locktype = 'advisory' AND NOT granted)").Scan(&waiting)
		return err == nil && waiting
	})
	return func() error {
		if _, err := holder.ExecContext(ctx, "SELECT pg_advisory_unlock(42)"); err != nil {
			t.Fatal(err)
		}
		holder.Close()
		return <-done
	}
}

// eventually polls cond for up to 10 s, and fails the test if it stays false.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !cond(); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("waited 10 s for %s", what)
		}
	}
}

func (p *pipeline) queued() int { return p.stats().Queued }

// read is one read a test sends: a statement of int8 columns, and its arguments.
type read struct {
	query string
	args  []any
}

// batchTogether sends reads while a batch is held, each once the one before has
// queued, so that they go in the next batch together and in order; it returns
// their rows and errors (a panic as an error) once all are answered.
func batchTogether(t *testing.T, p *pipeline, pool *sql.DB, reads ...read) ([][]int64, []error) {
	t.Helper()
	release := holdBatch(t, p, pool)
	got := make([][]int64, len(reads))
	errs := make([]error, len(reads))
	var wg sync.WaitGroup
	for i, r := range reads {
		wg.Go(func() {
			defer func() {
				if v := recover(); v != nil {
					errs[i] = fmt.Errorf("panicked: %v", v)
				}
			}()
			errs[i] = p.query(context.Background(), r.query, r.args, scanInt64s(&got[i]), false)
		})
		eventually(t, "the read to queue", func() bool { return p.queued() == i+1 })
	}
	if err := release(); err != nil {
		t.Fatalf("held read: %v", err)
	}
	wg.Wait()
	return got, errs
}

// TestPipelineSharesRoundTrips: reads that come while a batch is in flight go
// together in the next, on one connection, although the pool has more; each gets
// its own answer.
func TestPipelineSharesRoundTrips(t *testing.T) {
	t.Parallel()
	p, pool := openPipeline(t, 8)
	const reads = 10
	var batch []read
	for i := range reads {
		batch = append(batch, read{"SELECT pg_backend_pid()::int8, $1::int8", []any{int64(i)}})
	}
	got, errs := batchTogether(t, p, pool, batch...)
	pids := map[int64]bool{}
	for i := range reads {
		if errs[i] != nil || len(got[i]) != 2 || got[i][1] != int64(i) {
			t.Fatalf("read %d: %v, %v; want [pid %d]", i, got[i], errs[i], i)
		}
		pids[got[i][0]] = true
	}
	if len(pids) != 1 {
		t.Errorf("the queued reads ran on %d connections; want 1 (one batch)", len(pids))
	}
	// The held read, alone, then the ten together.
	if sent, trips := p.reads.Load(), p.roundTrips.Load(); sent != reads+1 || trips != 2 {
		t.Errorf("counted %d reads in %d round trips; want %d in 2", sent, trips, reads+1)
	}
}

// TestPipelineStatsOf: the pipeline OpenDB installs counts the reads GORM sends
// through it.
func TestPipelineStatsOf(t *testing.T) {
	t.Parallel()
	db, err := OpenDB(DBConfig{URL: pgtest.NewDatabase(t), MaxConns: 2, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if _, err := scanRows(db.Raw("SELECT "+customerColumns.names+" FROM customers"), customerColumns, 0); err != nil {
			t.Fatal(err)
		}
	}
	if got, want := PipelineStatsOf(db), (PipelineStats{Reads: 3, RoundTrips: 3}); got != want {
		t.Errorf("PipelineStatsOf: %+v, want %+v", got, want)
	}
}

// TestPipelineKeepsErrorsApart: a statement that fails in a batch fails alone,
// first, last, next to another that fails or after some of its rows; PostgreSQL
// skips what follows it in the pipeline, and those reads are answered all the same.
func TestPipelineKeepsErrorsApart(t *testing.T) {
	t.Parallel()
	p, pool := openPipeline(t, 4)
	divisors := []int64{0, 1, 0, 0, 3, -1, 2, 0}
	const midRows = 5 // fails after its first row
	var batch []read
	for i, d := range divisors {
		if i == midRows {
			batch = append(batch, read{"SELECT 6 / x FROM (VALUES (1::int8), (0)) AS v (x)", nil})
			continue
		}
		batch = append(batch, read{"SELECT 6 / $1::int8", []any{d}})
	}
	got, errs := batchTogether(t, p, pool, batch...)
	for i, d := range divisors {
		switch pgErr, _ := errors.AsType[*pgconn.PgError](errs[i]); {
		case d <= 0:
			if pgErr == nil || pgErr.Code != "22012" {
				t.Errorf("read %d (%s): %v, %v; want division_by_zero (22012)", i, batch[i].query, got[i], errs[i])
			}
		case errs[i] != nil || len(got[i]) != 1 || got[i][0] != 6/d:
			t.Errorf("read %d (6 / %d): %v, %v; want [%d]", i, d, got[i], errs[i], 6/d)
		}
	}
	// The held read; then the batch, and the reads of 6 / $1 that PostgreSQL skipped
	// after each of its first three failures (6 / 1 and on, 6 / 0 and on, 6 / 3 and
	// on) sent again: each a round trip.
	if trips := p.roundTrips.Load(); trips != 5 {
		t.Errorf("counted %d round trips, want 5", trips)
	}
}

// TestPipelineReadsShareOneSync: the reads of one statement in a batch run in one
// implicit transaction, ended by one Sync (PostgreSQL starts and commits it once),
// each still its own statement.
func TestPipelineReadsShareOneSync(t *testing.T) {
	t.Parallel()
	p, pool := openPipeline(t, 4)
	const q = `SELECT (extract(epoch FROM transaction_timestamp()) * 1e6)::int8,
		(extract(epoch FROM statement_timestamp()) * 1e6)::int8 FROM pg_sleep(0.002)`
	got, errs := batchTogether(t, p, pool, read{query: q}, read{query: q}, read{query: q})
	for i := range got {
		if errs[i] != nil || len(got[i]) != 2 {
			t.Fatalf("read %d: %v, %v", i, got[i], errs[i])
		}
	}
	for i := 1; i < len(got); i++ {
		if got[i][0] != got[0][0] {
			t.Errorf("transaction_timestamp() of read %d: %d, of read 0: %d; want one transaction", i, got[i][0], got[0][0])
		}
		if got[i][1] <= got[i-1][1] {
			t.Errorf("statement_timestamp() of read %d: %d, of the read before: %d; want later", i, got[i][1], got[i-1][1])
		}
	}
}

// TestPipelineLetsAQueuedReadGo: a read whose caller leaves before its batch is
// sent returns at once, and the batch goes on without it.
func TestPipelineLetsAQueuedReadGo(t *testing.T) {
	t.Parallel()
	p, pool := openPipeline(t, 4)
	release := holdBatch(t, p, pool)
	ctx, cancel := context.WithCancel(context.Background())
	left := make(chan error, 1)
	go func() {
		var got []int64
		left <- p.query(ctx, "SELECT 1::int8", nil, scanInt64s(&got), false)
	}()
	var stayed []int64
	stayedErr := make(chan error, 1)
	go func() {
		stayedErr <- p.query(context.Background(), "SELECT 2::int8", nil, scanInt64s(&stayed), false)
	}()
	eventually(t, "the reads to queue", func() bool { return p.queued() == 2 })
	cancel()
	select {
	case err := <-left:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("canceled read: %v; want context.Canceled", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the canceled read still waits for the batch in flight")
	}
	if err := release(); err != nil {
		t.Fatalf("held read: %v", err)
	}
	if err := <-stayedErr; err != nil || len(stayed) != 1 || stayed[0] != 2 {
		t.Errorf("read queued with it: %v, %v; want [2]", stayed, err)
	}
}

// TestPipelinePreparesABoundedNumber: a connection keeps at most maxPrepared
// statements prepared, however many texts it is sent.
func TestPipelinePreparesABoundedNumber(t *testing.T) {
	t.Parallel()
	p, _ := openPipeline(t, 1)
	ctx := context.Background()
	for i := range maxPrepared + 20 {
		var got []int64
		if err := p.query(ctx, fmt.Sprintf("SELECT %d::int8", i), nil, scanInt64s(&got), false); err != nil || len(got) != 1 || got[0] != int64(i) {
			t.Fatalf("statement %d: %v, %v", i, got, err)
		}
	}
	var count []int64
	err := p.query(ctx, "SELECT count(*) FROM pg_prepared_statements WHERE name LIKE 'customers\\_%'", nil, scanInt64s(&count), false)
	if err != nil || len(count) != 1 || count[0] > maxPrepared {
		t.Errorf("statements prepared on the connection: %v, %v; want at most %d", count, err, maxPrepared)
	}
}

// TestPipelinePreparesAStaleStatementAgain: a statement PostgreSQL no longer runs
// as prepared (its table changed shape; it was deallocated behind the pipeline's
// back by DEALLOCATE, DISCARD or a pooler) fails once, as with pgx's own statement
// cache, and is prepared again.
func TestPipelinePreparesAStaleStatementAgain(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name, setup, query, change string
		before, after              []int64
	}{
		{"table changed", "CREATE TABLE shapes (a int8); INSERT INTO shapes VALUES (1)", "SELECT * FROM shapes",
			"ALTER TABLE shapes ADD COLUMN b int8 NOT NULL DEFAULT 2", []int64{1}, []int64{1, 2}},
		{"deallocated", "", "SELECT 7::int8", "DEALLOCATE ALL", []int64{7}, []int64{7}},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			p, pool := openPipeline(t, 1)
			ctx := context.Background()
			if c.setup != "" {
				if _, err := pool.ExecContext(ctx, c.setup); err != nil {
					t.Fatal(err)
				}
			}
			send := func() ([]int64, error) {
				var got []int64
				return got, p.query(ctx, c.query, nil, scanInt64s(&got), false)
			}
			if got, err := send(); err != nil || !slices.Equal(got, c.before) {
				t.Fatalf("before: %v, %v; want %v", got, err, c.before)
			}
			if _, err := pool.ExecContext(ctx, c.change); err != nil {
				t.Fatal(err)
			}
			if _, err := send(); !isStatementStale(err) {
				t.Fatalf("first read after: %v; want the statement refused as stale", err)
			}
			for i := range 2 {
				if got, err := send(); err != nil || !slices.Equal(got, c.after) {
					t.Fatalf("read %d after: %v, %v; want %v", i+2, got, err, c.after)
				}
			}
		})
	}
}

// panicValuer panics when pgx encodes it, as a bug in an argument's encoding would.
type panicValuer struct{}

func (panicValuer) Value() (driver.Value, error) { panic("encoding bug") }

// TestPipelineAfterAPanic: a read whose argument panics as the batch is encoded
// fails, first in its batch or not, and the reads sent with it are answered.
func TestPipelineAfterAPanic(t *testing.T) {
	t.Parallel()
	for _, culprit := range []int{0, 1} {
		t.Run(fmt.Sprint("culprit ", culprit), func(t *testing.T) {
			t.Parallel()
			p, pool := openPipeline(t, 4)
			args := []any{int64(2), int64(2)}
			args[culprit] = panicValuer{}
			got, errs := batchTogether(t, p, pool, read{"SELECT $1::int8", args[:1]}, read{"SELECT $1::int8", args[1:]})
			for i := range args {
				if i == culprit {
					if errs[i] == nil || !strings.Contains(errs[i].Error(), "query: panic: encoding bug") {
						t.Errorf("read whose argument panics: %v; want the panic as its error", errs[i])
					}
				} else if errs[i] != nil || len(got[i]) != 1 || got[i][0] != 2 {
					t.Errorf("read sent with it: %v, %v; want [2]", got[i], errs[i])
				}
			}
		})
	}
}

// TestPipelineKeepsTheCallersDeadline: a read alone ends at its caller's
// deadline; a read in a shared batch leaves at its own, even when the batch runs
// longer for a read without one.
func TestPipelineKeepsTheCallersDeadline(t *testing.T) {
	t.Parallel()
	t.Run("alone", func(t *testing.T) {
		t.Parallel()
		p, _ := openPipeline(t, 4)
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		defer cancel()
		start := time.Now()
		var got []int64
		err := p.query(ctx, "SELECT 1::int8 FROM pg_sleep(5)", nil, scanInt64s(&got), false)
		if took := time.Since(start); err == nil || took > 3*time.Second {
			t.Errorf("a 5 s read with a 200 ms deadline: %v after %v; want an error within the deadline", err, took)
		}
	})
	t.Run("shared", func(t *testing.T) {
		t.Parallel()
		p, pool := openPipeline(t, 4)
		release := holdBatch(t, p, pool)
		slowDone := make(chan error, 1)
		go func() {
			var got []int64
			slowDone <- p.query(context.Background(), "SELECT 1::int8 FROM pg_sleep(2)", nil, scanInt64s(&got), false)
		}()
		eventually(t, "the slow read to queue", func() bool { return p.queued() == 1 })
		ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
		defer cancel()
		quick := make(chan error, 1)
		var got []int64
		go func() { quick <- p.query(ctx, "SELECT 2::int8", nil, scanInt64s(&got), false) }()
		eventually(t, "the quick read to queue", func() bool { return p.queued() == 2 })
		if err := release(); err != nil {
			t.Fatalf("held read: %v", err)
		}
		select {
		case err := <-quick:
			if !errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("read behind a 2 s one with a 300 ms deadline: %v, %v; want context.DeadlineExceeded", got, err)
			}
		case <-time.After(1500 * time.Millisecond):
			t.Error("the read with a 300 ms deadline still waits for the 2 s read before it")
		}
		if err := <-slowDone; err != nil {
			t.Errorf("the slow read: %v", err)
		}
	})
}

// TestPipelineErrorAtTheSync: an error PostgreSQL sends at a Sync, after the rows
// (a deferred constraint checked at the implicit commit), is the error of every
// read of that statement in the batch, which shared the transaction that failed;
// what that transaction wrote is gone, and another statement's read in the batch
// gets its rows.
func TestPipelineErrorAtTheSync(t *testing.T) {
	t.Parallel()
	p, pool := openPipeline(t, 4)
	ctx := context.Background()
	_, err := pool.ExecContext(ctx, `CREATE TABLE deferred (x int UNIQUE DEFERRABLE INITIALLY DEFERRED);
		CREATE FUNCTION insert_deferred(x int) RETURNS int8 LANGUAGE sql AS 'INSERT INTO deferred VALUES (x); SELECT 1::int8'`)
	if err != nil {
		t.Fatal(err)
	}
	insert := read{"SELECT insert_deferred($1)", []any{1}}
	got, errs := batchTogether(t, p, pool, insert, read{query: "SELECT 2::int8"}, insert)
	for _, i := range []int{0, 2} {
		if pgErr, ok := errors.AsType[*pgconn.PgError](errs[i]); !ok || pgErr.Code != "23505" {
			t.Errorf("read %d (%s): %v, %v; want unique_violation (23505)", i, insert.query, got[i], errs[i])
		}
	}
	if errs[1] != nil || len(got[1]) != 1 || got[1][0] != 2 {
		t.Errorf("the other statement's read: %v, %v; want [2]", got[1], errs[1])
	}
	var rows int
	if err := pool.QueryRowContext(ctx, "SELECT count(*) FROM deferred").Scan(&rows); err != nil || rows != 0 {
		t.Errorf("rows the failed transaction wrote: %d, %v; want 0", rows, err)
	}
	var after []int64
	if err := p.query(ctx, "SELECT 4::int8", nil, scanInt64s(&after), false); err != nil || len(after) != 1 || after[0] != 4 {
		t.Errorf("a read after: %v, %v; want [4]", after, err)
	}
}

// TestPipelineDoesNotDeadlockAMigration: a batch holds no statement's locks while
// it runs another: a migration that locks the table of a batch's second read, then
// that of its first, waits for the batch instead of deadlocking with it.
func TestPipelineDoesNotDeadlockAMigration(t *testing.T) {
	t.Parallel()
	p, pool := openPipeline(t, 4)
	ctx := context.Background()
	// count_b locks b as it runs, in the batch, not when its statement is prepared.
	_, err := pool.ExecContext(ctx, `CREATE TABLE a (x int8); CREATE TABLE b (x int8);
		CREATE FUNCTION count_b() RETURNS int8 LANGUAGE plpgsql AS $$BEGIN RETURN (SELECT count(*) FROM b); END$$`)
	if err != nil {
		t.Fatal(err)
	}
	migration, err := pool.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer migration.Close()
	if _, err := migration.ExecContext(ctx, "BEGIN; LOCK TABLE b IN ACCESS EXCLUSIVE MODE"); err != nil {
		t.Fatal(err)
	}
	migrated := make(chan error, 1)
	go func() {
		eventually(t, "the read of b to wait for the migration", func() bool {
			var waiting bool
			err := pool.QueryRowContext(ctx, "SELECT EXISTS (SELECT FROM pg_locks WHERE relation = 'b'::regclass AND NOT granted)").Scan(&waiting)
			return err == nil && waiting
		})
		_, err := migration.ExecContext(ctx, "LOCK TABLE a IN ACCESS EXCLUSIVE MODE; INSERT INTO a VALUES (1); INSERT INTO b VALUES (1), (2); COMMIT")
		migrated <- err
	}()
	got, errs := batchTogether(t, p, pool, read{query: "SELECT count(*)::int8 FROM a"}, read{query: "SELECT count_b()"})
	if err := <-migrated; err != nil {
		t.Errorf("migration: %v", err)
	}
	if errs[0] != nil || len(got[0]) != 1 || got[0][0] != 0 {
		t.Errorf("read of a, before the migration: %v, %v; want [0]", got[0], errs[0])
	}
	if errs[1] != nil || len(got[1]) != 1 || got[1][0] != 2 {
		t.Errorf("read of b, after the migration: %v, %v; want [2]", got[1], errs[1])
	}
}

// TestPipelineSendsAgainWhatALostConnectionLeft: reads queued behind one whose
// connection ended run on another connection; only the read that was running
// when it ended fails.
func TestPipelineSendsAgainWhatALostConnectionLeft(t *testing.T) {
	t.Parallel()
	p, pool := openPipeline(t, 4)
	got, errs := batchTogether(t, p, pool,
		read{query: "SELECT 1::int8 FROM pg_terminate_backend(pg_backend_pid())"}, read{query: "SELECT 2::int8"})
	if errs[0] == nil {
		t.Errorf("the read that ended its connection: %v, no error", got[0])
	}
	if errs[1] != nil || len(got[1]) != 1 || got[1][0] != 2 {
		t.Errorf("the read after it: %v, %v; want [2]", got[1], errs[1])
	}
	// The held read, the batch, and the read after it on another connection.
	if trips := p.roundTrips.Load(); trips != 3 {
		t.Errorf("counted %d round trips, want 3", trips)
	}
}

// openHeldPipeline opens a pipeline whose only batch is held until the test ends,
// and a context that gives up after 5 s: what must not wait for the batch returns
// well before.
func openHeldPipeline(t *testing.T) (*pipeline, *sql.DB, context.Context) {
	t.Helper()
	p, pool := openPipeline(t, 4)
	release := holdBatch(t, p, pool)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	t.Cleanup(func() {
		cancel()
		if err := release(); err != nil {
			t.Errorf("held read: %v", err)
		}
	})
	return p, pool, ctx
}

// TestPipelineSendsASlowReadAlone: a read marked alone (a filtered page) does not
// wait for the batches in flight, and none waits for it.
func TestPipelineSendsASlowReadAlone(t *testing.T) {
	t.Parallel()
	p, _, ctx := openHeldPipeline(t)
	var got []int64
	if err := p.query(ctx, "SELECT 4::int8", nil, scanInt64s(&got), true); err != nil || len(got) != 1 || got[0] != 4 {
		t.Errorf("read alone while the only batch is held: %v, %v; want [4] at once", got, err)
	}
}

// TestFilteredPagesAreSentAlone: a page with a filter or an ordering, which can be
// slow, does not go in a batch with other requests' reads; a page without goes.
func TestFilteredPagesAreSentAlone(t *testing.T) {
	t.Parallel()
	db, err := OpenDB(DBConfig{URL: pgtest.NewDatabase(t), MaxConns: 4, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	p := db.Config.Plugins[pipelinePlugin].(*pipeline)
	pool, err := db.DB()
	if err != nil {
		t.Fatal(err)
	}
	var customer, staffID ObjectID
	err = db.Raw(`WITH c AS (INSERT INTO customers (name) VALUES ('C') RETURNING id)
		INSERT INTO users (customer_id, email, first, last, super_admin_permission) SELECT id, 'staff@example.com', 'S', 'T', 'READ_WRITE' FROM c
		RETURNING customer_id, id`).Row().Scan(&customer, &staffID)
	if err != nil {
		t.Fatal(err)
	}
	rw := PermissionReadWrite
	ctx, cancel := context.WithTimeout(WithCaller(context.Background(), Caller{UserID: &staffID, User: &User{ID: staffID, CustomerID: customer, SuperAdminPermission: &rw}}), 5*time.Second)
	defer cancel()
	customers := NewCustomerStore(db, NewCursors([]byte("k")), NewCallerCache())
	users := NewUserStore(db, NewCursors([]byte("k")), NewCallerCache())
	first := int32(10)
	name := "C"
	release := holdBatch(t, p, pool)
	if page, err := customers.FindCustomers(ctx, &CustomerFilter{Name: &StringFilter{Eq: &name}}, nil, PageArgs{First: &first}, nil); err != nil || len(page.Edges) != 1 {
		t.Errorf("filtered customers while the batches are held: %v, %v; want 1 customer at once", page, err)
	}
	if page, err := users.FindUsers(ctx, nil, []UserOrder{{Field: UserOrderEmail, Direction: Asc}}, PageArgs{First: &first}); err != nil || len(page.Edges) != 1 {
		t.Errorf("users in order of email while the batches are held: %v, %v; want 1 user at once", page, err)
	}
	queued := make(chan error, 1)
	go func() {
		_, err := customers.FindCustomers(ctx, nil, nil, PageArgs{First: &first}, nil)
		queued <- err
	}()
	eventually(t, "the page without a filter to queue", func() bool { return p.queued() == 1 })
	if err := release(); err != nil {
		t.Fatalf("held read: %v", err)
	}
	if err := <-queued; err != nil {
		t.Errorf("page without a filter: %v", err)
	}
}

// TestPipelineSendsAWriteAlone: a statement that is no SELECT never shares a batch,
// where a failure of its batch-mates would undo its write: it is sent at once, alone,
// while the only batch is held, and its write stays.
func TestPipelineSendsAWriteAlone(t *testing.T) {
	t.Parallel()
	p, pool, ctx := openHeldPipeline(t)
	for _, q := range []string{
		"INSERT INTO customers (name) VALUES ('Alone 1') RETURNING 1::int8",
		" with c AS (INSERT INTO customers (name) VALUES ('Alone 2') RETURNING id) SELECT count(*) FROM c",
	} {
		var got []int64
		if err := p.query(ctx, q, nil, scanInt64s(&got), false); err != nil || len(got) != 1 || got[0] != 1 {
			t.Errorf("%s, while the only batch is held: %v, %v; want [1] at once", q, got, err)
		}
	}
	var n int
	if err := pool.QueryRowContext(ctx, "SELECT count(*) FROM customers WHERE name LIKE 'Alone %'").Scan(&n); err != nil || n != 2 {
		t.Errorf("%d customers written, %v; want 2", n, err)
	}
	for q, want := range map[string]bool{"SELECT 1": true, "\n\t select 1": true, "(SELECT 1) UNION (SELECT 2)": true,
		"WITH c AS (SELECT 1) SELECT * FROM c": false, "UPDATE x SET y = 1": false, "SEL": false, "": false} {
		if got := isSelect(q); got != want {
			t.Errorf("isSelect(%q) = %v, want %v", q, got, want)
		}
	}
}
