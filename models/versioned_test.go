package models

import (
	"context"
	"testing"

	"github.com/google/go-cmp/cmp"
	"gorm.io/gorm"
)

// TestVersionedWriteAuditsAsDiff: the changes that writeVersioned's statement lists
// in SQL are, for every column that a patch or a status change writes, to and from
// null, with text that JSON escapes, and with values set to what they were, what diff
// lists from the rows before and after: what the audit trail has always shown.
func TestVersionedWriteAuditsAsDiff(t *testing.T) {
	t.Parallel()
	db := mustDB(t)
	var customer ObjectID
	if err := db.Raw(`INSERT INTO customers (name) VALUES ('C') RETURNING id`).Row().Scan(&customer); err != nil {
		t.Fatal(err)
	}
	var staff, other ObjectID
	for email, id := range map[string]*ObjectID{"staff@example.com": &staff, "other@example.com": &other} {
		err := db.Raw(`INSERT INTO users (customer_id, email, first, last, super_admin_permission) VALUES (?, ?, 'S', 'T', 'READ_WRITE') RETURNING id`,
			customer, email).Row().Scan(id)
		if err != nil {
			t.Fatal(err)
		}
	}
	rw := PermissionReadWrite
	ctx := WithCaller(context.Background(), Caller{UserID: &staff, User: &User{ID: staff, CustomerID: customer, SuperAdminPermission: &rw}, RequestID: "r"})
	text := `O'Brien "quoted" \ <&> ü null`
	customerWrites := []map[string]any{
		{"name": text, "website_url": "https://a.example", "logo": "https://a.example/l.png", "credit": int32(-5),
			"admin_user_id": &other, "billing_user_id": &other, "call_recording_user_id": &staff, "support_user_id": &other,
			"automatic_refill_amount": int32(10), "low_balance_alert_amount": int32(20), "international_calling": true,
			"media_bypass": true, "account_lock": false, "call_recording": true, "cdr_retention": int32(0), "cnam_look_ups": true,
			"hold_music": true, "transcribe_calls": new(true), "max_outbound_call_rate": int32(7), "default_bill_method": BillPaymentMethod,
			"updated_by_id": &staff},
		{"name": "null", "website_url": nil, "logo": "https://a.example/l.png", "credit": int32(-5), "admin_user_id": (*ObjectID)(nil),
			"support_user_id": &staff, "transcribe_calls": (*bool)(nil), "account_lock": true},
		{"status": string(CustomerSuspended)},
	}
	for _, cols := range customerWrites {
		checkAudit(t, ctx, db, versionedWrite[Customer]{op: "customerPatch", r: customerRecord, id: customer, cols: cols})
	}
	userWrites := []map[string]any{
		{"email": "o.ther@example.com", "first": text, "last": "L", "status": string(UserDisabled),
			"admin_permission": "READ", "billing_permission": "READ_WRITE", "super_admin_permission": nil},
		{"first": text, "admin_permission": nil, "super_admin_permission": "READ"},
	}
	for _, cols := range userWrites {
		checkAudit(t, ctx, db, versionedWrite[User]{op: "userPatch", r: userRecord, id: other, cols: cols})
	}
}

// checkAudit makes w and compares the audit event it recorded with diff's.
func checkAudit[T any](t *testing.T, ctx context.Context, db *gorm.DB, w versionedWrite[T]) {
	t.Helper()
	before, err := findByID[T](ctx, db, w.r.noun, w.id)
	if err != nil {
		t.Fatal(err)
	}
	after, err := writeVersioned(ctx, db, w)
	if err != nil {
		t.Fatalf("%v: %v", w.cols, err)
	}
	want, err := diff(before, after)
	if err != nil {
		t.Fatal(err)
	}
	var got AuditEvent
	if err := db.Where("record_id = ?", w.id).Order("id DESC").Take(&got).Error; err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(want, got.Changes); d != "" || len(want) == 0 {
		t.Errorf("%v: audited changes (-diff +SQL):\n%s", w.cols, d)
	}
}
