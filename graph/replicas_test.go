package graph_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/cloudcomms/customers/graph"
	"github.com/cloudcomms/customers/internal/auth"
	"github.com/cloudcomms/customers/internal/pgcluster"
	"github.com/cloudcomms/customers/migrations"
	"github.com/cloudcomms/customers/models"
)

// replicaAPI starts the service's handler over the primary at primaryURL with its
// queries' reads routed to the replica at replicaURL, checked in the background.
func replicaAPI(t *testing.T, primaryURL, replicaURL string, maxLag time.Duration) (*api, *models.Replicas) {
	t.Helper()
	logs := &syncBuffer{}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("server log:\n%s", logs)
		}
	})
	logger := slog.New(graph.LogHandler{Handler: slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelInfo})})
	db, err := models.OpenDB(models.DBConfig{URL: primaryURL, MaxConns: 4, Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	sqlDB, _ := db.DB()
	replicas, err := models.UseReplicas(db, models.DBConfig{URL: primaryURL, MaxConns: 4, Logger: logger, ReplicaURLs: []string{replicaURL}, ReplicaMaxLag: maxLag})
	if err != nil {
		t.Fatal(err)
	}
	checks, stop := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		replicas.Run(checks)
	}()
	t.Cleanup(func() {
		stop()
		<-done
		replicas.Close()
		sqlDB.Close()
	})
	verifier, err := auth.NewVerifier(context.Background(), testAuth)
	if err != nil {
		t.Fatal(err)
	}
	resolver := graph.NewResolver(db, models.NewCursors([]byte("test cursor secret")))
	a := &api{t: t, db: db, dbURL: primaryURL, resolver: resolver, logs: logs}
	a.serve(graph.NewHandler(graph.Config{Logger: logger, Resolver: resolver, Ready: sqlDB.PingContext, Verifier: verifier,
		Replicas: replicas}))
	return a, replicas
}

// TestReadReplicas runs the service over a private primary and a real streaming
// replica of it (pg_basebackup -R), and pauses the replica's replay
// (pg_wal_replay_pause) to tell which server answered: a read that sees what the
// primary no longer holds came from the replica.
func TestReadReplicas(t *testing.T) {
	t.Parallel()
	primary := pgcluster.New(t)
	primaryDB, err := sql.Open("pgx", primary.URL("postgres"))
	if err != nil {
		t.Fatal(err)
	}
	defer primaryDB.Close()
	if err := migrations.Up(context.Background(), primaryDB); err != nil {
		t.Fatal(err)
	}
	replica := primary.Replica(t)
	replicaDB, err := sql.Open("pgx", replica.URL("postgres"))
	if err != nil {
		t.Fatal(err)
	}
	defer replicaDB.Close()
	const maxLag = 2 * time.Second
	a, replicas := replicaAPI(t, primary.URL("postgres"), replica.URL("postgres"), maxLag)
	a.seedStaff()
	var created struct{ CustomerCreate struct{ ID string } }
	a.mustData(`mutation { customerCreate(input: {name: "Before"}) { id } }`, nil, &created)
	id := created.CustomerCreate.ID

	// name reads the customer's name through the API with the extra headers, and
	// says how many statements a replica answered.
	name := func(header map[string]string) (string, int64) {
		t.Helper()
		body, _ := json.Marshal(map[string]any{"query": `query($id: ObjectID!) { customer(id: $id) { name } }`, "variables": map[string]any{"id": id}})
		r := a.post(string(body), header)
		var out struct{ Customer struct{ Name string } }
		if len(r.Errors) > 0 || jsonInto(r, &out) != nil {
			t.Fatalf("read: %s %+v", r.Data, r.Errors)
		}
		return out.Customer.Name, a.replicaStatements.Load()
	}
	// fromReplica waits until the replica answers the read with header, and
	// answers want.
	fromReplica := func(want string, header map[string]string) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for {
			got, n := name(header)
			if got == want && n > 0 {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("the replica did not answer %q within 10 s (last: %q, %d replica statements)", want, got, n)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	onReplica := func(stmt string) {
		t.Helper()
		if _, err := replicaDB.Exec(stmt); err != nil {
			t.Fatalf("%s: %v", stmt, err)
		}
	}
	pause := func() {
		t.Helper()
		onReplica("SELECT pg_wal_replay_pause()")
		var state string
		for state != "paused" {
			if err := replicaDB.QueryRow("SELECT pg_get_wal_replay_pause_state()").Scan(&state); err != nil {
				t.Fatal(err)
			}
		}
	}
	rename := func(to string) {
		t.Helper()
		if _, err := primaryDB.Exec("UPDATE customers SET name = $1 WHERE id = decode($2, 'hex')", to, id); err != nil {
			t.Fatal(err)
		}
	}

	var wrote time.Time
	t.Run("queries read the replica", func(t *testing.T) {
		fromReplica("Before", nil)
		pause()
		rename("Behind")
		wrote = time.Now()
		before := replicas.PipelineStats()
		if got, n := name(nil); got != "Before" || n != 1 {
			t.Fatalf("with the replica's replay paused: %q from %d replica statements, want the replica's %q", got, n, "Before")
		}
		// The replica's read went through its pipeline, pgx scanning the row.
		if got := replicas.PipelineStats().Reads - before.Reads; got != 1 {
			t.Errorf("%d reads pipelined on the replica, want 1", got)
		}
		// Nothing caches callers here (no listener): authentication reads the user.
		if n := a.statements.Load(); n != 2 {
			t.Errorf("%d statements counted, want 2: authentication's on the primary, the read on the replica", n)
		}
		if log := a.logs.String(); !strings.Contains(log, `"statements":2,"replica_statements":1`) {
			t.Errorf("no access log line with the replica's statement:\n%s", log)
		}
	})

	t.Run("a lagging replica is not read", func(t *testing.T) {
		for {
			got, n := name(nil)
			if got == "Behind" && n == 0 {
				break
			}
			if time.Since(wrote) > maxLag+time.Second {
				t.Fatalf("%v after the write the replica, lagging since, still answers (%q)", time.Since(wrote), got)
			}
			time.Sleep(20 * time.Millisecond)
		}
		if lagged := time.Since(wrote); lagged < maxLag/2 {
			t.Errorf("the replica was left %v after the write, before it lagged %v", lagged, maxLag)
		}
	})

	t.Run("an idle primary does not make the replica lag", func(t *testing.T) {
		onReplica("SELECT pg_wal_replay_resume()")
		fromReplica("Behind", nil)
		time.Sleep(maxLag + 500*time.Millisecond)
		if got, n := name(nil); got != "Behind" || n != 1 {
			t.Errorf("after %v without writes: %q from %d replica statements, want the replica's answer", maxLag+500*time.Millisecond, got, n)
		}
	})

	var readAfter map[string]string
	t.Run("a client reads its writes", func(t *testing.T) {
		pause()
		r := a.do(`mutation($id: ObjectID!) { customerPatch(id: $id, patch: {name: "Mine"}) { name auditEvents(first: 1) { edges { node { operation } } } } }`,
			map[string]any{"id": id})
		if len(r.Errors) > 0 {
			t.Fatal(r.Errors)
		}
		if want := `{"customerPatch":{"name":"Mine","auditEvents":{"edges":[{"node":{"operation":"customerPatch"}}]}}}`; string(r.Data) != want {
			t.Errorf("the mutation's own reads: %s, want %s (from the primary)", r.Data, want)
		}
		if n := a.replicaStatements.Load(); n != 0 {
			t.Errorf("the mutation sent %d statements to the replica", n)
		}
		lsn := r.Header.Get(graph.ReadAfterHeader)
		if _, err := models.ParseLSN(lsn); err != nil {
			t.Fatalf("the mutation's answer: %s %q: %v", graph.ReadAfterHeader, lsn, err)
		}
		readAfter = map[string]string{graph.ReadAfterHeader: lsn}
		if got, n := name(readAfter); got != "Mine" || n != 0 {
			t.Errorf("with the mutation's %s: %q from %d replica statements, want the primary's %q", graph.ReadAfterHeader, got, n, "Mine")
		}
		if got, n := name(nil); got != "Behind" || n != 1 {
			t.Errorf("without it: %q from %d replica statements, want the replica's %q", got, n, "Behind")
		}
		if got, n := name(map[string]string{graph.ReadAfterHeader: "not a position"}); got != "Mine" || n != 0 {
			t.Errorf("with a malformed %s: %q from %d replica statements, want the primary's %q", graph.ReadAfterHeader, got, n, "Mine")
		}
	})

	t.Run("authentication reads the primary", func(t *testing.T) {
		// The replica's replay is still paused: it does not know the new user.
		var user string
		err := primaryDB.QueryRow(`INSERT INTO users (customer_id, email, first, last, admin_permission) VALUES (decode($1, 'hex'), 'new@example.com', 'N', 'U', 'READ')
			RETURNING encode(id, 'hex')`, id).Scan(&user)
		if err != nil {
			t.Fatal(err)
		}
		if r := a.as(user, `{ viewer { email } }`, nil); len(r.Errors) > 0 || string(r.Data) != `{"viewer":{"email":"new@example.com"}}` {
			t.Errorf("a user the replica does not know yet: %s %v", r.Data, r.codes())
		}
	})

	t.Run("the replica serves a client again once it has replayed its write", func(t *testing.T) {
		onReplica("SELECT pg_wal_replay_resume()")
		fromReplica("Mine", readAfter)
	})

	t.Run("a stopped replica is skipped", func(t *testing.T) {
		replica.Stop()
		for i := range 20 {
			start := time.Now()
			if got, n := name(nil); got != "Mine" || n != 0 {
				t.Fatalf("read %d with the replica stopped: %q from %d replica statements", i, got, n)
			}
			if d := time.Since(start); d > time.Second {
				t.Errorf("read %d with the replica stopped took %v", i, d)
			}
		}
		replica.Start()
		fromReplica("Mine", nil)
	})
}
