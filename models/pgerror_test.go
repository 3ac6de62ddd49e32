package models

import (
	"io"
	"log/slog"
	"testing"

	"github.com/google/go-cmp/cmp"
	"gorm.io/gorm"

	"github.com/cloudcomms/customers/internal/pgtest"
)

// mustDB opens a fresh, migrated database of the test's own.
func mustDB(t *testing.T) *gorm.DB {
	t.Helper()
	db, err := OpenDB(DBConfig{URL: pgtest.NewDatabase(t), MaxConns: 2, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	return db
}

// TestTerminatedUserTrigger: an UPDATE that another tool sends to revive a
// TERMINATED user is refused by the database, and that refusal reaches the client
// as the same Conflict the API gives.
func TestTerminatedUserTrigger(t *testing.T) {
	t.Parallel()
	db := mustDB(t)
	err := db.Exec(`WITH c AS (INSERT INTO customers (name) VALUES ('C') RETURNING id)
		INSERT INTO users (customer_id, email, first, last, status) SELECT id, 'gone@example.com', 'G', 'O', 'TERMINATED' FROM c`).Error
	if err != nil {
		t.Fatal(err)
	}
	err = db.Exec(`UPDATE users SET status = 'ACTIVE' WHERE email = 'gone@example.com'`).Error
	if d := cmp.Diff(errUserTerminated(), translatePgError(err)); d != "" {
		t.Errorf("reviving a terminated user (-want +got):\n%s", d)
	}
	var status string
	if err := db.Raw(`SELECT status FROM users`).Scan(&status).Error; err != nil || status != "TERMINATED" {
		t.Errorf("status = %q, %v; want TERMINATED", status, err)
	}
}
