package models

import (
	"context"
	"database/sql"
	"errors"
	"testing"
	"time"

	"gorm.io/gorm"
)

// TestTransactionEndedByItsContext: a transaction whose context ends before it
// commits (its client left) is rolled back, and its error says why, not that the
// rollback came first (sql.ErrTxDone).
func TestTransactionEndedByItsContext(t *testing.T) {
	t.Parallel()
	db := mustDB(t)
	pool, _ := db.DB()
	ctx, cancel := context.WithCancel(context.Background())
	err := inTransaction(ctx, db, func(tx *gorm.DB) error {
		if err := tx.Exec(`INSERT INTO customers (name) VALUES ('Gone')`).Error; err != nil {
			return err
		}
		cancel()
		for deadline := time.Now().Add(5 * time.Second); pool.Stats().InUse > 0 && time.Now().Before(deadline); {
			time.Sleep(time.Millisecond) // until database/sql has rolled back and released the connection
		}
		return nil
	})
	if !errors.Is(err, context.Canceled) || errors.Is(err, sql.ErrTxDone) {
		t.Errorf("commit after the context ended: %v, want context.Canceled", err)
	}
	var n int64
	if err := db.Table("customers").Where("name = 'Gone'").Count(&n).Error; err != nil || n != 0 {
		t.Errorf("%d rows written (%v), want none", n, err)
	}
}
