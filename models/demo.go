package models

import (
	"context"
	_ "embed"
	"fmt"

	"gorm.io/gorm"
)

//go:embed demo.sql
var demoSQL string

// LoadDemoData fills an empty database with the demo accounts that `make run` shows.
// It does nothing when any customer exists, so it never mixes with real data, and it
// reports whether it loaded anything. Two servers starting at once load it once.
func LoadDemoData(ctx context.Context, db *gorm.DB) (loaded bool, err error) {
	err = db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := tx.Exec("LOCK TABLE customers IN SHARE ROW EXCLUSIVE MODE").Error; err != nil {
			return err
		}
		var exists bool
		if err := tx.Raw("SELECT EXISTS (SELECT 1 FROM customers)").Scan(&exists).Error; err != nil {
			return err
		}
		if exists {
			return nil
		}
		loaded = true
		// Sent past GORM's logger: the script's literals (the demo users' emails)
		// would otherwise land in the slow-statement log, which holds no values.
		_, err := tx.Statement.ConnPool.ExecContext(ctx, demoSQL)
		return err
	})
	if err != nil {
		return false, fmt.Errorf("load demo data: %w", err)
	}
	return loaded, nil
}
