package models_test

import (
	"context"
	"io"
	"log/slog"
	"testing"

	"github.com/cloudcomms/customers/internal/pgtest"
	"github.com/cloudcomms/customers/models"
)

func TestLoadDemoData(t *testing.T) {
	t.Parallel()
	db, err := models.OpenDB(models.DBConfig{URL: pgtest.NewDatabase(t), MaxConns: 2, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if loaded, err := models.LoadDemoData(ctx, db); err != nil || !loaded {
		t.Fatalf("first load = %v, %v; want loaded", loaded, err)
	}
	if loaded, err := models.LoadDemoData(ctx, db); err != nil || loaded {
		t.Fatalf("second load = %v, %v; want nothing loaded", loaded, err)
	}
	checks := []struct {
		name, sql string
		want      int
	}{
		{"customers", "SELECT count(*) FROM customers", 36},
		{"statuses", "SELECT count(DISTINCT status) FROM customers", 4},
		{"bill methods", "SELECT count(DISTINCT default_bill_method) FROM customers", 2},
		{"staff users", "SELECT count(*) FROM users WHERE super_admin_permission = 'READ_WRITE'", 1},
		{"invoice statuses", "SELECT count(DISTINCT status) FROM invoices", 5},
		{"customers without admin", "SELECT count(*) FROM customers WHERE admin_user_id IS NULL", 0},
		{"call-recording links", "SELECT count(*) FROM customers WHERE call_recording_user_id IS NOT NULL", 5},
		{"ids not stamped with their creation second", "SELECT count(*) FROM customers WHERE get_byte(id, 0) * 16777216::bigint + get_byte(id, 1) * 65536 + get_byte(id, 2) * 256 + get_byte(id, 3) <> extract(epoch FROM created_at)::bigint", 0},
	}
	for _, c := range checks {
		var got int
		if err := db.Raw(c.sql).Scan(&got).Error; err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if got != c.want {
			t.Errorf("%s = %d, want %d", c.name, got, c.want)
		}
	}
}
