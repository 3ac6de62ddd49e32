// Package testserver starts the API's real HTTP handler over a fresh database, for
// the tests of packages that call the API as its clients do (client/,
// examples/bff/). It wires the handler as server.go does, with the production
// limits; graph's own tests have their own helpers, with more knobs.
package testserver

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/cloudcomms/customers/graph"
	"github.com/cloudcomms/customers/internal/auth"
	"github.com/cloudcomms/customers/internal/pgtest"
	"github.com/cloudcomms/customers/models"
)

// Server is the API serving a database of the test's own.
type Server struct {
	// Endpoint is the GraphQL endpoint, URL/query.
	Endpoint string
	// DB is the server's database, for seeding what no mutation writes (invoices).
	DB *gorm.DB
	// Staff is a platform staff user (superAdminPermission READ_WRITE).
	Staff models.ObjectID
	t     testing.TB
}

// signing is how the test server's JWTs are signed and checked.
var signing = auth.Config{Secret: []byte("testserver secret of at least 32 bytes")}

// Start starts the API over a fresh, migrated database holding one customer, the
// platform's, with its staff user. Everything is gone when the test ends; the
// server's log is shown when it fails.
func Start(t testing.TB) *Server {
	t.Helper()
	dbURL := pgtest.NewDatabase(t)
	logs := &logBuffer{}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("server log:\n%s", logs)
		}
	})
	logger := slog.New(graph.LogHandler{Handler: slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelInfo})})
	db, err := models.OpenDB(models.DBConfig{URL: dbURL, MaxConns: 4, Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	sqlDB, err := db.DB()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sqlDB.Close() })
	verifier, err := auth.NewVerifier(context.Background(), signing)
	if err != nil {
		t.Fatal(err)
	}
	resolver := graph.NewResolver(db, models.NewCursors([]byte("testserver cursor secret")))
	// The listener hears changes to cached callers (a revoked token, a lowered
	// permission) and what subscriptions follow, as on a running server; the first
	// request waits until it listens.
	listen, stop := context.WithCancel(context.Background())
	t.Cleanup(stop)
	resolver.Listener(dbURL, logger).Start(listen)
	srv := httptest.NewServer(graph.NewHandler(graph.Config{
		Logger:   logger,
		Resolver: resolver,
		Ready:    sqlDB.PingContext,
		Verifier: verifier,
		Limits:   graph.DefaultLimits,
	}))
	t.Cleanup(srv.Close)
	s := &Server{Endpoint: srv.URL + "/query", DB: db, t: t}
	s.Staff = s.seedStaff()
	return s
}

func (s *Server) seedStaff() models.ObjectID {
	s.t.Helper()
	var staff models.ObjectID
	err := s.DB.Raw(`WITH c AS (INSERT INTO customers (name) VALUES ('Platform Staff') RETURNING id)
		INSERT INTO users (customer_id, email, first, last, admin_permission, billing_permission, super_admin_permission)
		SELECT id, 'staff@platform.example', 'Pat', 'Staff', 'READ_WRITE', 'READ_WRITE', 'READ_WRITE' FROM c
		RETURNING id`).Row().Scan(&staff)
	if err != nil {
		s.t.Fatal(err)
	}
	return staff
}

// JWT returns a bearer token (without "Bearer ") acting as user for an hour.
func (s *Server) JWT(user models.ObjectID) string {
	s.t.Helper()
	tok, err := auth.Sign(signing, user, time.Hour)
	if err != nil {
		s.t.Fatal(err)
	}
	return tok
}

// APIToken makes an API token of user through apiTokenCreate, as a service's
// operator would, and returns its secret (cca_…).
func (s *Server) APIToken(user models.ObjectID) string {
	s.t.Helper()
	var out struct {
		Data struct {
			APITokenCreate struct{ Secret string }
		}
		Errors []json.RawMessage
	}
	s.post(user, `mutation { apiTokenCreate(name: "testserver") { secret } }`, &out)
	if len(out.Errors) > 0 || !strings.HasPrefix(out.Data.APITokenCreate.Secret, "cca_") {
		s.t.Fatalf("apiTokenCreate: %s", out.Errors)
	}
	return out.Data.APITokenCreate.Secret
}

func (s *Server) post(user models.ObjectID, query string, dst any) {
	s.t.Helper()
	body, _ := json.Marshal(map[string]string{"query": query})
	req, _ := http.NewRequest(http.MethodPost, s.Endpoint, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+s.JWT(user))
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	defer res.Body.Close()
	if err := json.NewDecoder(res.Body).Decode(dst); err != nil {
		s.t.Fatalf("answer of %s: %v", query, err)
	}
}

// Account is a customer seeded with the records a BFF shows with it.
type Account struct {
	Customer models.ObjectID
	// Admin administers the account (adminPermission READ_WRITE).
	Admin models.ObjectID
	// Billing pays for it (billingPermission READ_WRITE): it may change the refill
	// and alert amounts, and nothing but the billing fields.
	Billing models.ObjectID
	// Invoices, oldest first: the newest is the last automatic refill's.
	Invoices [2]models.ObjectID
}

// SeedAccount writes, in SQL, an ACTIVE customer named name (lower-case letters
// and digits: it is part of the users' email addresses) with credit 1200, its
// admin and billing users linked, and two invoices issued 40 and 10 days ago, each
// due 20 days after.
func (s *Server) SeedAccount(name string) Account {
	s.t.Helper()
	var a Account
	err := s.DB.Transaction(func(tx *gorm.DB) error {
		if err := tx.Raw(`INSERT INTO customers (name, credit) VALUES (?, 1200) RETURNING id`, name).Row().Scan(&a.Customer); err != nil {
			return err
		}
		for _, u := range []struct {
			id                   *models.ObjectID
			role                 string
			admin, billing, last any
		}{{&a.Admin, "admin", "READ_WRITE", nil, "Admin"}, {&a.Billing, "billing", nil, "READ_WRITE", "Billing"}} {
			err := tx.Raw(`INSERT INTO users (customer_id, email, first, last, admin_permission, billing_permission)
				VALUES (?, ?, 'Ada', ?, ?, ?) RETURNING id`,
				a.Customer, fmt.Sprintf("%s@%s.example", u.role, name), u.last, u.admin, u.billing).Row().Scan(u.id)
			if err != nil {
				return err
			}
		}
		for i, age := range []int{40, 10} {
			issued := time.Now().AddDate(0, 0, -age).UTC().Truncate(time.Second)
			err := tx.Raw(`INSERT INTO invoices (customer_id, amount, subtotal, tax, due_at, created_at) VALUES (?, ?, ?, ?, ?, ?) RETURNING id`,
				a.Customer, 1100*(i+1), 1000*(i+1), 100*(i+1), issued.AddDate(0, 0, 20), issued).Row().Scan(&a.Invoices[i])
			if err != nil {
				return err
			}
		}
		return tx.Exec(`UPDATE customers SET admin_user_id = ?, billing_user_id = ?, last_automatic_refill_invoice_id = ? WHERE id = ?`,
			a.Admin, a.Billing, a.Invoices[1], a.Customer).Error
	})
	if err != nil {
		s.t.Fatalf("seed account %s: %v", name, err)
	}
	return a
}

// logBuffer collects the server's log; requests log from many goroutines.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
