package models_test

import (
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/cloudcomms/customers/internal/pgtest"
	"github.com/cloudcomms/customers/models"
)

func TestStatementTimeout(t *testing.T) {
	t.Parallel()
	db, err := models.OpenDB(models.DBConfig{URL: pgtest.NewDatabase(t), MaxConns: 1, StatementTimeout: 1234 * time.Millisecond,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	var got string
	if err := db.Raw("SHOW statement_timeout").Scan(&got).Error; err != nil || got != "1234ms" {
		t.Errorf("statement_timeout = %q, %v; want 1234ms", got, err)
	}
	if err := db.Exec("SELECT pg_sleep(2)").Error; err == nil || !strings.Contains(err.Error(), "statement timeout") {
		t.Errorf("a 2 s statement: %v, want it cancelled by the timeout", err)
	}
}
