package pgtest_test

import (
	"database/sql"
	"errors"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/cloudcomms/customers/internal/pgtest"
)

// TestNewDatabase checks the promise every database test relies on: each call gives a
// migrated database that no other test sees, and it is gone once the test ends.
func TestNewDatabase(t *testing.T) {
	t.Parallel()
	var urls [2]string
	t.Run("Isolated", func(t *testing.T) {
		var dbs [2]*sql.DB
		for i := range urls {
			urls[i] = pgtest.NewDatabase(t)
			dbs[i] = MustOpen(t, urls[i])
		}
		if urls[0] == urls[1] {
			t.Fatalf("the same database twice: %s", urls[0])
		}
		if _, err := dbs[0].Exec(`INSERT INTO customers (name) VALUES ('Only in the first')`); err != nil {
			t.Fatal(err)
		}
		for i, want := range []int{1, 0} {
			var n int
			if err := dbs[i].QueryRow(`SELECT count(*) FROM customers`).Scan(&n); err != nil {
				t.Fatal(err)
			}
			if n != want {
				t.Errorf("database %d has %d customers, want %d", i, n, want)
			}
		}
	})
	// The subtest's cleanup has run: its databases must be gone.
	for _, u := range urls {
		err := MustOpen(t, u).Ping()
		if pgErr := (*pgconn.PgError)(nil); !errors.As(err, &pgErr) || pgErr.Code != "3D000" {
			t.Errorf("connect to %s after cleanup: %v, want invalid_catalog_name (3D000)", u, err)
		}
	}
}

// MustOpen opens dsn and closes it when the test ends.
func MustOpen(t testing.TB, dsn string) *sql.DB {
	t.Helper()
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}
