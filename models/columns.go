package models

import (
	"fmt"

	"gorm.io/gorm"
)

// columns names a model's columns and, for one row of it, pointers to its fields in
// the same order. The hottest reads (a customer by id, a page of customers, the
// users a page links to) scan their rows straight into the fields: a profile of
// those requests found GORM's reflection, in scanning, to be as costly as the
// statement itself. GORM still builds and sends the statement, so its callbacks
// count, log and trace it as any other.
type columns[T any] struct {
	names  string
	fields func(*T) []any
}

// scanRows runs q, which selects cols, and reads each row into a new T.
func scanRows[T any](q *gorm.DB, cols *columns[T]) ([]*T, error) {
	rows, err := q.Rows()
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*T
	for rows.Next() {
		t := new(T)
		if err := rows.Scan(cols.fields(t)...); err != nil {
			return nil, fmt.Errorf("scan: %w", err)
		}
		out = append(out, t)
	}
	return out, rows.Err()
}

// customerColumns are every column of customers, as Customer maps them.
var customerColumns = &columns[Customer]{
	names: "id, name, status, website_url, logo, credit, admin_user_id, billing_user_id, call_recording_user_id, " +
		"support_user_id, call_forwarding_call_limit, automatic_refill_amount, low_balance_alert_amount, " +
		"low_balance_alert_at, low_balance_alert_count, last_automatic_refill_invoice_id, international_calling, " +
		"created_by_ip, call_debug, media_bypass, account_lock, call_recording, cdr_retention, cnam_look_ups, " +
		"hold_music, transcribe_calls, max_outbound_call_rate, default_bill_method, version, created_at, updated_at, " +
		"created_by_id, updated_by_id",
	fields: func(c *Customer) []any {
		return []any{&c.ID, &c.Name, &c.Status, &c.WebsiteURL, &c.Logo, &c.Credit, &c.AdminUserID, &c.BillingUserID,
			&c.CallRecordingUserID, &c.SupportUserID, &c.CallForwardingCallLimit, &c.AutomaticRefillAmount,
			&c.LowBalanceAlertAmount, &c.LowBalanceAlertAt, &c.LowBalanceAlertCount, &c.LastAutomaticRefillInvoiceID,
			&c.InternationalCalling, &c.CreatedByIP, &c.CallDebug, &c.MediaBypass, &c.AccountLock, &c.CallRecording,
			&c.CDRRetention, &c.CnamLookUps, &c.HoldMusic, &c.TranscribeCalls, &c.MaxOutboundCallRate,
			&c.DefaultBillMethod, &c.Version, &c.CreatedAt, &c.UpdatedAt, &c.CreatedByID, &c.UpdatedByID}
	},
}

// userColumns are every column of users, as User maps them.
var userColumns = &columns[User]{
	names: "id, customer_id, email, first, last, status, admin_permission, billing_permission, super_admin_permission, " +
		"version, created_at, updated_at",
	fields: func(u *User) []any {
		return []any{&u.ID, &u.CustomerID, &u.Email, &u.First, &u.Last, &u.Status, &u.AdminPermission,
			&u.BillingPermission, &u.SuperAdminPermission, &u.Version, &u.CreatedAt, &u.UpdatedAt}
	},
}
