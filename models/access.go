package models

import (
	"context"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// Who may do what. Every rule of the spec's "Who may do what" is in this file:
//
//	caller                              reads                        writes
//	platform staff (superAdmin RW)      every customer and user      everything
//	admin RW of customer C              C, its users and invoices    C's fields except staffOnlyFields; C's users but staff
//	billing RW of customer C            C, its users and invoices    C's billingFields
//	any other active user of C          C, its users and invoices    nothing
//	no credential                       nothing (UNAUTHENTICATED)    nothing
//
// C's audit trail is read by staff and by C's admins (READ or READ_WRITE). The
// writes above need C to be ACTIVE: a SUSPENDED, FRAUD or TERMINATED customer is
// read-only to its users, and only staff change it, its users or their API tokens.
//
// Only staff create, delete or change the status of customers, set credit, grant or
// remove superAdminPermission, or create, change or delete a user who holds it (READ
// or READ_WRITE); no user raises its own permissions. Another customer's records
// are invisible: null from lookups, absent from lists and counts, NOT_FOUND from
// mutations, exactly as if they did not exist.

// staffOnlyFields are the customer fields only platform staff write.
var staffOnlyFields = map[string]bool{"credit": true}

// billingFields are the customer fields a billing user (READ_WRITE) writes.
var billingFields = map[string]bool{
	"automaticRefillAmount": true, "lowBalanceAlertAmount": true, "defaultBillMethod": true, "billingUserId": true,
}

// isStaff reports whether u is platform staff.
func (u *User) isStaff() bool { return hasWrite(u.SuperAdminPermission) }

func hasWrite(p *Permission) bool { return p != nil && *p == PermissionReadWrite }

// requireUser returns the caller's user, or Unauthenticated.
func requireUser(ctx context.Context) (*User, error) {
	return Viewer(ctx)
}

// scoped limits q, over a table whose customer column is customerColumn, to the
// rows the caller may read: all for staff, its own customer's for everyone else.
// The limit is part of the SQL, so counts and filters see nothing else either.
func scoped(ctx context.Context, q *gorm.DB, customerColumn string) (*gorm.DB, error) {
	cond, args, err := scope(ctx, customerColumn)
	if err != nil {
		return nil, err
	}
	return q.Where(cond, args...), nil
}

// scope is scoped as a SQL condition.
func scope(ctx context.Context, customerColumn string) (string, []any, error) {
	u, err := requireUser(ctx)
	if err != nil {
		return "", nil, err
	}
	if u.isStaff() {
		return "TRUE", nil, nil
	}
	return customerColumn + " = ?", []any{u.CustomerID}, nil
}

// requireVisibleCustomer returns NotFound, as for a missing customer, when the
// caller may not see customer id.
func requireVisibleCustomer(ctx context.Context, id ObjectID) error {
	u, err := requireUser(ctx)
	if err != nil {
		return err
	}
	if !u.isStaff() && u.CustomerID != id {
		return Errorf(NotFound, "no customer with id %s", id)
	}
	return nil
}

// requireStaff allows platform staff only.
func requireStaff(ctx context.Context, what string) error {
	u, err := requireUser(ctx)
	if err != nil {
		return err
	}
	if !u.isStaff() {
		return Errorf(Forbidden, "only platform staff may %s", what)
	}
	return nil
}

// requireWritableCustomer allows a write to the caller's customer, to its users or
// to their API tokens: staff always; anyone else only while that customer is ACTIVE,
// else Forbidden. Called in the write's transaction, it locks the customer's row for
// anyone but staff until the transaction ends: the status cannot change before the
// write commits, and every write by a customer's users locks the customer first,
// then the user, in one order that cannot deadlock.
func requireWritableCustomer(ctx context.Context, db *gorm.DB) error {
	u, err := requireUser(ctx)
	if err != nil || u.isStaff() {
		return err
	}
	q := db.Clauses(clause.Locking{Strength: "NO KEY UPDATE"}).Select("id", "status")
	c, err := findByID[Customer](ctx, q, "customer", u.CustomerID)
	if err != nil {
		return err
	}
	return refuseInactiveCustomer(c)
}

// refuseInactiveCustomer is requireWritableCustomer's refusal of a write by a user
// of customer c, or nil when c is ACTIVE.
func refuseInactiveCustomer(c *Customer) error {
	if c.Status != CustomerActive {
		return Errorf(Forbidden, "customer %s is %s, not ACTIVE: only platform staff may change it, its users or their API tokens", c.ID, c.Status)
	}
	return nil
}

// writableCustomerGuard is requireWritableCustomer for a write to the caller's own
// customer row, checked on that row by the statement that locks and writes it: nil
// for staff; for anyone else, the row must be ACTIVE.
func writableCustomerGuard(ctx context.Context) (*rowGuard[Customer], error) {
	u, err := requireUser(ctx)
	if err != nil || u.isStaff() {
		return nil, err
	}
	return &rowGuard[Customer]{cond: "old.status = '" + string(CustomerActive) + "'", refuse: refuseInactiveCustomer}, nil
}

// authorizeCustomerPatch checks, field by field, that the caller may write the
// fields given in patch (the customer is one it can see). Every field it may not
// write is reported, as Forbidden with the field's name.
func authorizeCustomerPatch(ctx context.Context, patch *CustomerInput) error {
	u, err := requireUser(ctx)
	if err != nil || u.isStaff() {
		return err
	}
	admin, billing := hasWrite(u.AdminPermission), hasWrite(u.BillingPermission)
	var denied ValidationErrors
	for _, field := range patch.givenFields() {
		allowed := !staffOnlyFields[field] && (admin || billing && billingFields[field])
		if !allowed {
			denied = append(denied, &Error{Kind: Forbidden, Field: field, Message: "you may not change this field"})
		}
	}
	return denied.err()
}

// authorizeUserWrite checks that the caller may create (target nil), change or
// delete (target as stored) a user of customerID, with the given input (nil for a
// delete): staff may; an admin (READ_WRITE) of that customer may, but cannot grant
// or remove superAdminPermission, touch a user who holds it (else a customer's
// admin could disable, rename or delete the platform staff among its users), nor
// raise its own permissions.
func authorizeUserWrite(ctx context.Context, customerID ObjectID, target *User, in *UserInput) error {
	u, err := requireUser(ctx)
	if err != nil || u.isStaff() {
		return err
	}
	if u.CustomerID != customerID {
		return Errorf(NotFound, "no such user or customer")
	}
	if !hasWrite(u.AdminPermission) {
		return Errorf(Forbidden, "only an admin (READ_WRITE) of this customer may manage its users")
	}
	if target != nil && target.SuperAdminPermission != nil {
		return Errorf(Forbidden, "only platform staff may change or delete a user with platform permissions")
	}
	if in == nil {
		return nil
	}
	var denied ValidationErrors
	if in.SuperAdminPermission.Set {
		denied = append(denied, &Error{Kind: Forbidden, Field: "superAdminPermission", Message: "only platform staff may grant or remove platform permissions"})
	}
	if target != nil && target.ID == u.ID {
		for _, p := range []struct {
			field string
			opt   Opt[Permission]
			now   *Permission
		}{{"adminPermission", in.AdminPermission, target.AdminPermission}, {"billingPermission", in.BillingPermission, target.BillingPermission}} {
			if p.opt.Set && !p.opt.Null && rank(&p.opt.Value) > rank(p.now) {
				denied = append(denied, &Error{Kind: Forbidden, Field: p.field, Message: "you may not raise your own permissions"})
			}
		}
	}
	return denied.err()
}

// authorizeAuditRead allows staff, and an admin (READ or READ_WRITE) of the
// customers asked for, to read their audit trail.
func authorizeAuditRead(ctx context.Context, customerIDs []ObjectID) error {
	u, err := requireUser(ctx)
	if err != nil || u.isStaff() {
		return err
	}
	for _, id := range customerIDs {
		if id != u.CustomerID {
			return Errorf(NotFound, "no customer with id %s", id)
		}
	}
	if u.AdminPermission == nil {
		return Errorf(Forbidden, "only platform staff and this customer's admins may read its audit trail")
	}
	return nil
}

// rank orders permission levels: none < READ < READ_WRITE.
func rank(p *Permission) int {
	switch {
	case p == nil:
		return 0
	case *p == PermissionRead:
		return 1
	default:
		return 2
	}
}
