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
// Under load, the system calls of a round trip, the server's and the pool's, are
// then shared by many requests.
//
// Every read stays its own statement with its own Sync: its own implicit
// transaction, so it sees every commit made before it was asked for, and its error
// is its own. Nothing changes for a read that is alone.
type pipeline struct {
	pool       *sql.DB
	maxBatches int

	reads, batches atomic.Uint64 // sent so far

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
	// lead is set, before done is signalled, on the read that is to send the batch.
	lead []*pipelined
	done chan struct{}
}

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

// PipelineStats counts what a pool's pipeline sent: reads, in batches (round
// trips); Reads / Batches is how many reads shared a round trip on average.
type PipelineStats struct{ Reads, Batches uint64 }

// PipelineStatsOf reads the counts of db's pipeline (zero without one).
func PipelineStatsOf(db *gorm.DB) PipelineStats {
	p, ok := db.Config.Plugins[pipelinePlugin].(*pipeline)
	if !ok {
		return PipelineStats{}
	}
	return PipelineStats{Reads: p.reads.Load(), Batches: p.batches.Load()}
}

// query runs query with args and reads its rows with scan, in the next batch.
func (p *pipeline) query(ctx context.Context, query string, args []any, scan nativeScan) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	r := &pipelined{ctx: ctx, query: query, args: args, scan: scan}
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
		if p.dequeue(r) {
			return ctx.Err()
		}
		<-r.done // already in a batch, whose scan writes into the caller's rows
	}
	if r.lead != nil {
		p.send(r.lead)
	}
	return r.err
}

// dequeue takes r out of the queue, and reports whether it was still there.
func (p *pipeline) dequeue(r *pipelined) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	i := slices.Index(p.queue, r)
	if i < 0 {
		return false
	}
	p.queue = slices.Delete(p.queue, i, i+1)
	return true
}

// send runs batch, whose first read is the caller's, answers the others, and hands
// what queued meanwhile on to the first read queued.
func (p *pipeline) send(batch []*pipelined) {
	p.run(batch)
	for _, r := range batch[1:] {
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
	p.mu.Unlock()
	next[0].lead = next
	next[0].done <- struct{}{}
}

// run sends batch on a connection of the pool and sets each read's error. As
// database/sql does, it tries once more on another connection when the first turns
// out closed before anything was sent, and drops that one from the pool.
func (p *pipeline) run(batch []*pipelined) {
	p.reads.Add(uint64(len(batch)))
	p.batches.Add(1)
	pool := p.pool
	// The batch is the whole queue's: the first caller leaving must not end it.
	// Each statement is still bounded by the pool's statement_timeout.
	ctx := context.WithoutCancel(batch[0].ctx)
	err := runOnce(ctx, pool, batch)
	if errors.Is(err, driver.ErrBadConn) {
		err = runOnce(ctx, pool, batch)
	}
	if err != nil {
		for _, r := range batch {
			r.err = err
		}
	}
}

// runOnce returns an error that is every read's, else sets each read's own.
func runOnce(ctx context.Context, pool *sql.DB, batch []*pipelined) error {
	conn, err := pool.Conn(ctx)
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
			return driver.ErrBadConn
		}
		return sendPipeline(ctx, c.Conn(), batch)
	})
}

// sendPipeline sends batch on conn as one pipeline, a Sync after each statement,
// and reads the answers in order.
func sendPipeline(ctx context.Context, conn *pgx.Conn, batch []*pipelined) error {
	stmts := make([]*pgconn.StatementDescription, len(batch))
	params := make([]pgx.ExtendedQueryBuilder, len(batch))
	sent := 0
	for i, r := range batch {
		sd, err := preparedOn(conn.PgConn()).prepare(ctx, conn.PgConn(), r.query)
		if err != nil {
			if conn.IsClosed() {
				if pgconn.SafeToRetry(err) {
					return driver.ErrBadConn
				}
				return err
			}
			r.err = err
			continue
		}
		if err := params[i].Build(conn.TypeMap(), sd, r.args); err != nil {
			r.err = fmt.Errorf("query: %w", err)
			continue
		}
		stmts[i] = sd
		sent++
	}
	if sent == 0 {
		return nil
	}
	pl := conn.PgConn().StartPipeline(ctx)
	for i, sd := range stmts {
		if sd != nil {
			pl.SendQueryStatement(sd, params[i].ParamValues, params[i].ParamFormats, params[i].ResultFormats)
			pl.SendPipelineSync()
		}
	}
	if err := pl.Flush(); err != nil {
		if pgconn.SafeToRetry(err) {
			return driver.ErrBadConn
		}
		return err
	}
	var stale []string
	for i, r := range batch {
		if stmts[i] == nil {
			continue
		}
		r.err = readAnswer(conn, pl, r.scan)
		if conn.IsClosed() {
			// The rest of the answers are lost with the connection.
			for j := i + 1; j < len(batch); j++ {
				if stmts[j] != nil {
					batch[j].err = r.err
				}
			}
			_ = pl.Close()
			return nil
		}
		if isCachedPlanInvalid(r.err) {
			stale = append(stale, r.query)
		}
	}
	if err := pl.Close(); err != nil {
		return err
	}
	for _, query := range stale {
		if err := preparedOn(conn.PgConn()).forget(ctx, conn.PgConn(), query); err != nil {
			return err
		}
	}
	return nil
}

// readAnswer reads one statement's rows with scan, and the Sync after them.
func readAnswer(conn *pgx.Conn, pl *pgconn.Pipeline, scan nativeScan) error {
	res, err := pl.GetResults()
	if err == nil {
		rr, ok := res.(*pgconn.ResultReader)
		if !ok {
			return fmt.Errorf("query: pipeline answered %T, not rows", res)
		}
		rows := pgx.RowsFromResultReader(conn.TypeMap(), rr)
		err = scanSafely(scan, rows)
		rows.Close()
		if err == nil {
			err = rows.Err()
		}
	}
	if conn.IsClosed() {
		return err
	}
	if _, syncErr := pl.GetResults(); syncErr != nil && err == nil {
		err = syncErr
	}
	return err
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

// isCachedPlanInvalid reports PostgreSQL's refusal to run a prepared statement
// whose tables changed shape since it was prepared.
func isCachedPlanInvalid(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && pgErr.Code == "0A000" && strings.Contains(pgErr.Message, "cached plan")
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
