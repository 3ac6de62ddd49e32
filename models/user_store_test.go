package models

import (
	"context"
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestEmailTakenIsProbe: every refusal of an email that another user has is marked
// Probe, whether validation finds the clash or the unique index does (a concurrent
// insert), and keeps the mark on its way to the client.
func TestEmailTakenIsProbe(t *testing.T) {
	t.Parallel()
	db := mustDB(t)
	var customer, staffID ObjectID
	err := db.Raw(`WITH c AS (INSERT INTO customers (name) VALUES ('C') RETURNING id)
		INSERT INTO users (customer_id, email, first, last, super_admin_permission) SELECT id, 'staff@example.com', 'S', 'T', 'READ_WRITE' FROM c
		RETURNING customer_id, id`).Row().Scan(&customer, &staffID)
	if err != nil {
		t.Fatal(err)
	}
	rw := PermissionReadWrite
	ctx := WithCaller(context.Background(), Caller{UserID: &staffID, User: &User{ID: staffID, CustomerID: customer, SuperAdminPermission: &rw}})
	users := NewUserStore(db, NewCursors([]byte("k")), NewCallerCache())
	in := UserInput{CustomerID: Opt[ObjectID]{Set: true, Value: customer}, Email: Opt[string]{Set: true, Value: "STAFF@example.com"},
		First: Opt[string]{Set: true, Value: "F"}, Last: Opt[string]{Set: true}}
	_, err = users.CreateUser(ctx, in)
	want := ValidationErrors{FieldError("input.last", "must not be blank"),
		{Kind: Invalid, Field: "input.email", Message: "is already taken", Probe: true}}
	var got ValidationErrors
	if !errors.As(WithFieldPrefix(err, "input"), &got) {
		t.Fatalf("create with a taken email: %v", err)
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("create with a taken email (-want +got):\n%s", d)
	}

	err = db.Exec(`INSERT INTO users (customer_id, email, first, last) VALUES (?, 'Staff@Example.com', 'F', 'L')`, customer).Error
	if d := cmp.Diff(errEmailTaken(), translatePgError(err)); d != "" {
		t.Errorf("unique index (-want +got):\n%s", d)
	}
}
