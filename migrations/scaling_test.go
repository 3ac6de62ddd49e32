package migrations_test

import (
	"database/sql"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/cloudcomms/customers/internal/pgtest"
)

// TestShardingPlan reads the sharding plan of docs/scaling.md and checks every
// distributed table against the migrated schema: the distribution column exists, is
// NOT NULL, and leads an index (the tenant's queries find their rows by it); and
// every table the migrations make is in the plan.
func TestShardingPlan(t *testing.T) {
	t.Parallel()
	doc, err := os.ReadFile("../docs/scaling.md")
	if err != nil {
		t.Fatal(err)
	}
	row := regexp.MustCompile(`(?m)^\| ([a-z_]+) \| (distributed[^|]*|reference[^|]*) \| ([a-z_-]+) \|$`)
	plan := map[string]string{}
	for _, m := range row.FindAllStringSubmatch(string(doc), -1) {
		if strings.HasPrefix(m[2], "distributed") {
			plan[m[1]] = m[3]
		} else {
			plan[m[1]] = ""
		}
	}
	if len(plan) == 0 {
		t.Fatal("docs/scaling.md has no plan table")
	}
	db, err := sql.Open("pgx", pgtest.NewDatabase(t))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rows, err := db.Query(`SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename <> 'goose_db_version'`)
	if err != nil {
		t.Fatal(err)
	}
	var tables []string
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			t.Fatal(err)
		}
		tables = append(tables, name)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	for _, table := range tables {
		column, ok := plan[table]
		if !ok {
			t.Errorf("table %s is not in the sharding plan of docs/scaling.md", table)
			continue
		}
		if column == "" {
			continue // a reference table, copied to every node
		}
		var notNull, leadsIndex bool
		err := db.QueryRow(`SELECT a.attnotnull,
				EXISTS (SELECT FROM pg_index i WHERE i.indrelid = a.attrelid AND i.indkey[0] = a.attnum)
			FROM pg_attribute a WHERE a.attrelid = $1::regclass AND a.attname = $2 AND NOT a.attisdropped`,
			table, column).Scan(&notNull, &leadsIndex)
		switch {
		case err == sql.ErrNoRows:
			t.Errorf("%s has no column %s, which the plan distributes it by", table, column)
		case err != nil:
			t.Fatal(err)
		case !notNull:
			t.Errorf("%s.%s may be null: a row without it has no shard", table, column)
		case !leadsIndex:
			t.Errorf("%s.%s leads no index: a tenant's rows would be found by a scan", table, column)
		}
	}
}
