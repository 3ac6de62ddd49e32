package models

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"database/sql/driver"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib"
	"gorm.io/gorm"
)

// pipeline lets the reads that concurrent requests run on the pool, outside
// transactions, share round trips to PostgreSQL, as Npgsql's multiplexing does.
// A read that finds fewer than maxBatches batches in flight is sent at once, alone;
// one that finds them all busy waits in the queue, and the next batch to come back
// hands everything queued to the first read in it, which sends it as one pipeline.
// Under load, the system calls of a round trip, PostgreSQL's and this process's, are
// then shared by many requests.
//
// The reads of one statement in a batch share one Sync, so PostgreSQL starts and
// ends one implicit transaction and sends one answer for them all, which took about
// a sixth off its CPU per read. Each read is still its own statement, with a
// snapshot taken after it was asked for (so it sees every commit made before), and
// its error is its own: the reads PostgreSQL skips after one that fails are sent
// again. The transaction holds the locks of one statement's tables only, as the
// statement alone does, so a migration that locks several tables cannot deadlock
// with a batch. Only reads share batches: a statement that wrote would have its
// writes undone, unreported, when another of the same text failed after it, so a
// statement that is no SELECT goes alone (isSelect). Nothing changes for a read
// that is alone.
type pipeline struct {
	pool       *sql.DB
	maxBatches int

	reads, roundTrips atomic.Uint64 // sent so far

	mu       sync.Mutex
	inFlight int          // batches being sent or read
	queue    []*pipelined // reads waiting for a batch, oldest first
}

// maxPipelined bounds one batch: reads queued beyond it go in the next.
const maxPipelined = 64

// pipelined is one read in a pipeline.
type pipelined struct {
	ctx   context.Context
	query string
	args  []any
	scan  nativeScan
	err   error
	// answered is set with err once the read ran or failed for good.
	answered bool
	// state says whether the rows may be scanned into the caller's memory: the
	// sender takes a waiting read to scanning, its caller to left.
	state atomic.Int32
	// lead is set, before done is signalled, on the read that is to send the batch.
	lead []*pipelined
	done chan struct{}
}

const (
	readWaiting = iota
	readScanning
	readLeft
)

func (r *pipelined) answer(err error) { r.err, r.answered = err, true }

// newPipeline shares round trips on pool among reads, with up to maxBatches
// batches in flight at once (at least 1).
func newPipeline(pool *sql.DB, maxBatches int) *pipeline {
	return &pipeline{pool: pool, maxBatches: max(maxBatches, 1)}
}

// Name and Initialize make the pipeline a GORM plugin: it is GORM's row callback
// (rowQuery), and PipelineStatsOf finds it.
func (p *pipeline) Name() string { return pipelinePlugin }

const pipelinePlugin = "customers:pipeline"

func (p *pipeline) Initialize(db *gorm.DB) error {
	return db.Callback().Row().Replace("gorm:row", p.rowQuery)
}

// PipelineStats counts what a pool's pipeline sent: reads, in round trips (a batch
// takes one, and one more each time it sends again the reads PostgreSQL skipped
// after one that failed or a lost connection left), so that Reads / RoundTrips is
// how many reads shared a round trip on average; and the reads waiting for a batch
// now.
type PipelineStats struct {
	Reads, RoundTrips uint64
	Queued            int
}

// Plus is the counts of s and o together.
func (s PipelineStats) Plus(o PipelineStats) PipelineStats {
	return PipelineStats{Reads: s.Reads + o.Reads, RoundTrips: s.RoundTrips + o.RoundTrips, Queued: s.Queued + o.Queued}
}

// PipelineStatsOf reads the counts of db's pipeline (zero without one).
func PipelineStatsOf(db *gorm.DB) PipelineStats {
	p, ok := db.Config.Plugins[pipelinePlugin].(*pipeline)
	if !ok {
		return PipelineStats{}
	}
	return p.stats()
}

func (p *pipeline) stats() PipelineStats {
	p.mu.Lock()
	queued := len(p.queue)
	p.mu.Unlock()
	return PipelineStats{Reads: p.reads.Load(), RoundTrips: p.roundTrips.Load(), Queued: queued}
}

// query runs query with args and reads its rows with scan, in the next batch; alone,
// on a connection of its own and at once, when alone is set or query is no SELECT.
func (p *pipeline) query(ctx context.Context, query string, args []any, scan nativeScan, alone bool) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	r := &pipelined{ctx: ctx, query: query, args: args, scan: scan}
	if alone || !isSelect(query) {
		p.run([]*pipelined{r})
		return r.err
	}
	p.mu.Lock()
	if p.inFlight < p.maxBatches {
		p.inFlight++
		p.mu.Unlock()
		p.send([]*pipelined{r})
		return r.err
	}
	r.done = make(chan struct{}, 1)
	p.queue = append(p.queue, r)
	p.mu.Unlock()
	select {
	case <-r.done:
	case <-ctx.Done():
		if p.leave(r) {
			return ctx.Err()
		}
		<-r.done
	}
	if r.lead != nil {
		p.send(r.lead)
	}
	return r.err
}

// isSelect reports whether query begins with SELECT, as the statements that share
// batches must: one that wrote (an INSERT … RETURNING, a data-modifying WITH) would
// have its writes undone, unreported, when a statement of the same text failed
// after it in the batch's transaction. It reads the text only: a SELECT of a
// function that writes is no read either, and the service sends none.
func isSelect(query string) bool {
	q := strings.TrimLeft(query, " \t\r\n(")
	return len(q) >= len("SELECT") && strings.EqualFold(q[:len("SELECT")], "SELECT")
}

// leave lets r's caller go before r is answered, and reports whether it may: while r
// waits in the queue, or in another read's batch before its rows are scanned (they
// are then read and dropped). A read chosen to send the next batch must send it.
func (p *pipeline) leave(r *pipelined) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if i := slices.Index(p.queue, r); i >= 0 {
		p.queue = slices.Delete(p.queue, i, i+1)
		return true
	}
	return r.lead == nil && r.state.CompareAndSwap(readWaiting, readLeft)
}

// send runs batch, whose first read is the caller's, then answers the others and
// hands what queued meanwhile on to the first read queued, also when run panics
// (a read's own panics, in its arguments or its scan, are its errors; this is for
// the rest): the reads it did not answer then fail, and the panic goes on in the
// caller.
func (p *pipeline) send(batch []*pipelined) {
	defer p.handOff(batch)
	p.run(batch)
}

var errBatchFailed = errors.New("query: the batch of reads it was sent in failed")

func (p *pipeline) handOff(batch []*pipelined) {
	for _, r := range batch[1:] {
		if !r.answered {
			r.answer(errBatchFailed)
		}
		r.done <- struct{}{}
	}
	p.mu.Lock()
	if len(p.queue) == 0 {
		p.inFlight--
		p.mu.Unlock()
		return
	}
	n := min(len(p.queue), maxPipelined)
	next := slices.Clone(p.queue[:n])
	p.queue = slices.Delete(p.queue, 0, n)
	next[0].lead = next
	p.mu.Unlock()
	next[0].done <- struct{}{}
}

// errConnLost marks the error of a batch whose connection broke: the reads it had
// not answered can be sent again.
var errConnLost = errors.New("query: the connection was lost")

// run sends batch on a connection of the pool and answers each read. The reads a
// broken connection left unanswered (their scan never ran; a read runs again
// harmlessly) are sent once more on another connection, as database/sql does.
func (p *pipeline) run(batch []*pipelined) {
	p.reads.Add(uint64(len(batch)))
	ctx, cancel := batchContext(batch)
	defer cancel()
	pending := slices.Clone(batch) // batch itself stays whole for handOff
	var err error
	for try := 0; try < 2 && len(pending) > 0; try++ {
		err = p.runOnce(ctx, pending)
		pending = slices.DeleteFunc(pending, func(r *pipelined) bool { return r.answered })
		if !errors.Is(err, errConnLost) || ctx.Err() != nil {
			break
		}
	}
	if err == nil {
		err = errBatchFailed
	}
	for _, r := range pending {
		r.answer(err)
	}
}

// batchContext is what a batch runs under. A read alone keeps its caller's context.
// A batch shared by several callers ends at the latest of their deadlines, but not
// when one of them leaves, which must not end the others' reads.
func batchContext(batch []*pipelined) (context.Context, context.CancelFunc) {
	if len(batch) == 1 {
		return batch[0].ctx, func() {}
	}
	var latest time.Time
	for _, r := range batch {
		d, ok := r.ctx.Deadline()
		if !ok {
			return context.WithoutCancel(batch[0].ctx), func() {}
		}
		if d.After(latest) {
			latest = d
		}
	}
	return context.WithDeadline(context.WithoutCancel(batch[0].ctx), latest)
}

// runOnce sends batch on a connection of the pool and answers what it can; its
// error is that of the reads it left unanswered.
func (p *pipeline) runOnce(ctx context.Context, batch []*pipelined) error {
	conn, err := p.pool.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	return conn.Raw(func(driverConn any) error {
		c, ok := driverConn.(*stdlib.Conn)
		if !ok {
			return fmt.Errorf("query: the pool's connections are %T, not pgx's", driverConn)
		}
		if c.Conn().IsClosed() {
			// database/sql drops the connection.
			return fmt.Errorf("%w: %w", errConnLost, driver.ErrBadConn)
		}
		return p.sendPipeline(ctx, c.Conn(), batch)
	})
}

// sendPipeline sends batch on conn as one pipeline and reads the answers in order.
// The reads of one statement (the same text) go together, with one Sync after them:
// PostgreSQL skips the statements after one that fails, up to the Sync, and those
// go again in the next pipeline, until every read is answered.
func (p *pipeline) sendPipeline(ctx context.Context, conn *pgx.Conn, batch []*pipelined) error {
	slices.SortStableFunc(batch, func(a, b *pipelined) int { return strings.Compare(a.query, b.query) })
	for len(batch) > 0 {
		var err error
		if batch, err = p.sendOnce(ctx, conn, batch); err != nil {
			return err
		}
	}
	return nil
}

// encodedRead is a read of a pipeline with its prepared statement and arguments.
type encodedRead struct {
	*pipelined
	sd     *pgconn.StatementDescription
	params pgx.ExtendedQueryBuilder
}

// sendOnce sends batch, its reads in order of statement, as one pipeline and
// answers its reads; it returns the reads PostgreSQL skipped after one that failed.
func (p *pipeline) sendOnce(ctx context.Context, conn *pgx.Conn, batch []*pipelined) (skipped []*pipelined, err error) {
	lost := func(err error) error {
		if conn.IsClosed() {
			return fmt.Errorf("%w: %w", errConnLost, err)
		}
		return err
	}
	prepared := preparedOn(conn.PgConn())
	sent := make([]encodedRead, 0, len(batch))
	for _, r := range batch {
		e := encodedRead{pipelined: r}
		if e.sd, err = prepareRead(ctx, conn, prepared, &e.params, r); err != nil {
			if conn.IsClosed() {
				return nil, lost(err)
			}
			r.answer(err)
			continue
		}
		sent = append(sent, e)
	}
	if len(sent) == 0 {
		return nil, nil
	}
	p.roundTrips.Add(1)
	pl := conn.PgConn().StartPipeline(ctx)
	for i, e := range sent {
		pl.SendQueryStatement(e.sd, e.params.ParamValues, e.params.ParamFormats, e.params.ResultFormats)
		if i == len(sent)-1 || sent[i+1].query != e.query {
			pl.SendPipelineSync()
		}
	}
	if err := pl.Flush(); err != nil {
		return nil, lost(err)
	}
	var stale []string
	for len(sent) > 0 {
		n := 1
		for n < len(sent) && sent[n].query == sent[0].query {
			n++
		}
		group := sent[:n]
		sent = sent[n:]
		synced := false
		for i, e := range group {
			ran, err := readAnswer(ctx, conn, pl, e.pipelined)
			if !ran && err == nil {
				if i == 0 {
					return nil, lost(outOfStep(ctx, conn)) // nothing failed before it
				}
				for _, e := range group[i:] {
					skipped = append(skipped, e.pipelined)
				}
				synced = true
				break
			}
			e.answer(err)
			if conn.IsClosed() {
				// The reads after this one are lost with the connection; they never ran.
				return nil, lost(err)
			}
			if isStatementStale(err) {
				stale = append(stale, e.query)
			}
		}
		if !synced {
			if err := readSync(ctx, conn, pl); err != nil {
				if conn.IsClosed() {
					return nil, lost(err)
				}
				// The group's reads shared the implicit transaction that failed to commit.
				for _, e := range group {
					e.answer(err)
				}
			}
		}
	}
	if err := pl.Close(); err != nil {
		return nil, lost(err)
	}
	for _, query := range stale {
		if err := prepared.forget(ctx, conn.PgConn(), query); err != nil {
			return nil, lost(err)
		}
	}
	return skipped, nil
}

// prepareRead prepares r's statement on conn and encodes its arguments into
// params. A panic (a Valuer's, say) is r's error: the goroutine that sends a batch
// serves other requests too.
func prepareRead(ctx context.Context, conn *pgx.Conn, prepared *prepared, params *pgx.ExtendedQueryBuilder, r *pipelined) (sd *pgconn.StatementDescription, err error) {
	defer func() {
		if v := recover(); v != nil {
			sd, err = nil, fmt.Errorf("query: panic: %v", v)
		}
	}()
	sd, err = prepared.prepare(ctx, conn.PgConn(), r.query)
	if err != nil {
		return nil, err
	}
	if err := params.Build(conn.TypeMap(), sd, r.args); err != nil {
		return nil, fmt.Errorf("query: %w", err)
	}
	return sd, nil
}

// discardRows reads the rows of a read whose caller left.
func discardRows(rows pgx.Rows) error {
	for rows.Next() {
	}
	return rows.Err()
}

// errOutOfStep means the pipeline's answers no longer line up with its statements:
// the connection is closed, so that the reads not yet answered are sent again
// rather than given another's rows.
var errOutOfStep = errors.New("query: the pipeline's answers are out of step")

// readAnswer reads r's rows with r.scan (with discardRows if its caller left), and
// reports whether r ran: PostgreSQL answers the statements after one that failed
// with nothing but the Sync.
func readAnswer(ctx context.Context, conn *pgx.Conn, pl *pgconn.Pipeline, r *pipelined) (ran bool, err error) {
	res, err := pl.GetResults()
	if err != nil {
		return true, err
	}
	switch res := res.(type) {
	case *pgconn.PipelineSync:
		return false, nil
	case *pgconn.ResultReader:
		scan := r.scan
		if r.state.Load() != readScanning && !r.state.CompareAndSwap(readWaiting, readScanning) {
			scan = discardRows // its caller left
		}
		rows := pgx.RowsFromResultReader(conn.TypeMap(), res)
		err = scanSafely(scan, rows)
		rows.Close()
		if err == nil {
			err = rows.Err()
		}
		return true, err
	default:
		return true, outOfStep(ctx, conn)
	}
}

// readSync reads the pipeline's Sync, and the error PostgreSQL sends before it when
// the implicit transaction fails to commit (a deferred constraint).
func readSync(ctx context.Context, conn *pgx.Conn, pl *pgconn.Pipeline) error {
	var err error
	for !conn.IsClosed() {
		res, syncErr := pl.GetResults()
		if syncErr != nil {
			if err == nil {
				err = syncErr
			}
			continue
		}
		if _, ok := res.(*pgconn.PipelineSync); !ok {
			return outOfStep(ctx, conn)
		}
		return err
	}
	return err
}

// outOfStep closes conn, whose answers no longer line up with the statements sent.
func outOfStep(ctx context.Context, conn *pgx.Conn) error {
	return errors.Join(errOutOfStep, conn.PgConn().Close(ctx))
}

// scanSafely is scan(rows), with a panic turned into the read's error: the
// goroutine that reads a batch answers other requests too, which a bug in one
// read's scan must not leave waiting.
func scanSafely(scan nativeScan, rows pgx.Rows) (err error) {
	defer func() {
		if v := recover(); v != nil {
			err = fmt.Errorf("scan: panic: %v", v)
		}
	}()
	return scan(rows)
}

// isStatementStale reports that a prepared statement must be prepared again:
// PostgreSQL refuses to run it because its tables changed shape since, or it is
// gone (DEALLOCATE or DISCARD run by someone else).
func isStatementStale(err error) bool {
	pgErr, ok := errors.AsType[*pgconn.PgError](err) // errors.As's target would cost an allocation per read
	if !ok {
		return false
	}
	return pgErr.Code == "26000" || // invalid_sql_statement_name
		pgErr.Code == "0A000" && strings.Contains(pgErr.Message, "cached plan") // feature_not_supported
}

// maxPrepared bounds the statements one connection keeps prepared for pipelines:
// statement texts vary with the columns a request selects and its filter.
const maxPrepared = 256

// prepared is the statements one connection prepared for pipelines, by text.
type prepared struct {
	byQuery map[string]*preparedStatement
	uses    uint64 // a clock: the least recently used statement goes first
}

type preparedStatement struct {
	sd      *pgconn.StatementDescription
	lastUse uint64
}

const preparedKey = "customers:prepared"

// preparedOn is conn's prepared statements, kept with the connection.
func preparedOn(conn *pgconn.PgConn) *prepared {
	p, _ := conn.CustomData()[preparedKey].(*prepared)
	if p == nil {
		p = &prepared{byQuery: map[string]*preparedStatement{}}
		conn.CustomData()[preparedKey] = p
	}
	return p
}

// prepare returns the description of query prepared on conn, preparing it (one
// round trip) the first time, and deallocating the least recently used statement
// when maxPrepared are kept.
func (p *prepared) prepare(ctx context.Context, conn *pgconn.PgConn, query string) (*pgconn.StatementDescription, error) {
	p.uses++
	if s, ok := p.byQuery[query]; ok {
		s.lastUse = p.uses
		return s.sd, nil
	}
	if len(p.byQuery) >= maxPrepared {
		var oldest string
		for q, s := range p.byQuery {
			if oldest == "" || s.lastUse < p.byQuery[oldest].lastUse {
				oldest = q
			}
		}
		if err := p.forget(ctx, conn, oldest); err != nil {
			return nil, err
		}
	}
	sum := sha256.Sum256([]byte(query))
	name := "customers_" + hex.EncodeToString(sum[:12])
	sd, err := conn.Prepare(ctx, name, query, nil)
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "42P05" { // duplicate_prepared_statement
		// Prepared before, and forgotten here (a deallocation failed): again.
		if err = conn.Deallocate(ctx, name); err == nil {
			sd, err = conn.Prepare(ctx, name, query, nil)
		}
	}
	if err != nil {
		var prepErr *pgconn.PrepareError
		if errors.As(err, &prepErr) && prepErr.ParseComplete {
			// The statement exists without a description; it is prepared again next time.
			err = errors.Join(err, conn.Deallocate(ctx, name))
		}
		return nil, err
	}
	p.byQuery[query] = &preparedStatement{sd: sd, lastUse: p.uses}
	return sd, nil
}

// forget deallocates query's statement on conn.
func (p *prepared) forget(ctx context.Context, conn *pgconn.PgConn, query string) error {
	s, ok := p.byQuery[query]
	if !ok {
		return nil
	}
	delete(p.byQuery, query)
	return conn.Deallocate(ctx, s.sd.Name)
}
