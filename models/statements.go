package models

import (
	"context"
	"sync/atomic"

	"gorm.io/gorm"
)

type statementsKey struct{}

// statementCounts are the statements sent under a context, and how many of them a
// replica answered.
type statementCounts struct{ all, replica atomic.Int64 }

// WithStatementCounter returns a context whose SQL statements are counted, for the
// access log, benchmarks and the tests that hold a request to its statement budget.
// A context that already counts keeps its counter.
func WithStatementCounter(ctx context.Context) context.Context {
	if _, ok := ctx.Value(statementsKey{}).(*statementCounts); ok {
		return ctx
	}
	return context.WithValue(ctx, statementsKey{}, new(statementCounts))
}

// Statements returns how many SQL statements were sent under ctx's counter.
func Statements(ctx context.Context) int64 {
	if c, ok := ctx.Value(statementsKey{}).(*statementCounts); ok {
		return c.all.Load()
	}
	return 0
}

// ReplicaStatements returns how many of the statements sent under ctx's counter a
// read replica answered (the others went to the primary).
func ReplicaStatements(ctx context.Context) int64 {
	if c, ok := ctx.Value(statementsKey{}).(*statementCounts); ok {
		return c.replica.Load()
	}
	return 0
}

// countStatement counts a statement sent under ctx.
func countStatement(ctx context.Context) {
	if c, ok := ctx.Value(statementsKey{}).(*statementCounts); ok {
		c.all.Add(1)
	}
}

// countReplicaStatement counts a statement a replica answered under ctx.
func countReplicaStatement(ctx context.Context) {
	if c, ok := ctx.Value(statementsKey{}).(*statementCounts); ok {
		c.replica.Add(1)
	}
}

// countStatements makes every statement GORM sends count against the counter in
// its context.
func countStatements(db *gorm.DB) error {
	count := func(tx *gorm.DB) { countStatement(tx.Statement.Context) }
	cb := db.Callback()
	for _, err := range []error{
		cb.Query().After("gorm:query").Register("customers:count_query", count),
		cb.Create().After("gorm:create").Register("customers:count_create", count),
		cb.Update().After("gorm:update").Register("customers:count_update", count),
		cb.Delete().After("gorm:delete").Register("customers:count_delete", count),
		cb.Row().After("gorm:row").Register("customers:count_row", count),
		cb.Raw().After("gorm:raw").Register("customers:count_raw", count),
	} {
		if err != nil {
			return err
		}
	}
	return nil
}
