package models

import "io"

// UserFilter selects users. Every given part must match.
type UserFilter struct {
	ID                   *ObjectIDFilter
	CustomerID           *ObjectIDFilter
	Email                *StringFilter
	First                *StringFilter
	Last                 *StringFilter
	Status               *UserStatusFilter
	AdminPermission      *PermissionFilter
	BillingPermission    *PermissionFilter
	SuperAdminPermission *PermissionFilter
	Version              *IntFilter
	CreatedAt            *DateTimeFilter
	UpdatedAt            *DateTimeFilter
	And                  []UserFilter
	Or                   []UserFilter
	Not                  *UserFilter
}

func buildUserWhere(w *where, path string, f *UserFilter, depth int) {
	field := func(name string) string { return joinPath(path, name) }
	w.id(field("id"), "id", f.ID)
	w.id(field("customerId"), "customer_id", f.CustomerID)
	w.string(field("email"), "email", f.Email)
	w.string(field("first"), "first", f.First)
	w.string(field("last"), "last", f.Last)
	enumFilter(w, field("status"), "status", f.Status)
	enumFilter(w, field("adminPermission"), "admin_permission", f.AdminPermission)
	enumFilter(w, field("billingPermission"), "billing_permission", f.BillingPermission)
	enumFilter(w, field("superAdminPermission"), "super_admin_permission", f.SuperAdminPermission)
	w.int(field("version"), "version", f.Version)
	w.time(field("createdAt"), "created_at", f.CreatedAt)
	w.time(field("updatedAt"), "updated_at", f.UpdatedAt)
	combine(w, path, depth, f.And, f.Or, f.Not, buildUserWhere)
}

// UserOrderField is a column users can be sorted by; each has an index ending in id
// (the primary key, or UNIQUE (customer_id, id) within a customer, for ID).
type UserOrderField string

// The sortable user fields.
const (
	UserOrderEmail     UserOrderField = "EMAIL"
	UserOrderFirst     UserOrderField = "FIRST"
	UserOrderLast      UserOrderField = "LAST"
	UserOrderCreatedAt UserOrderField = "CREATED_AT"
	UserOrderID        UserOrderField = "ID"
)

// IsValid reports whether f is a sortable field.
func (f UserOrderField) IsValid() bool { _, ok := userSortKeys[f]; return ok }

// MarshalGQL writes the enum value.
func (f UserOrderField) MarshalGQL(w io.Writer) { writeEnum(w, string(f)) }

// UnmarshalGQL reads and checks an enum value.
func (f *UserOrderField) UnmarshalGQL(v any) error { return readEnum(v, f, "UserOrderField") }

// UserOrder is one sort key of a users list.
type UserOrder struct {
	Field     UserOrderField
	Direction OrderDirection
}

var userSortKeys = map[UserOrderField]sortKey[User]{
	UserOrderEmail:     {column: "email", kind: keyText, value: func(u *User) any { return u.Email }},
	UserOrderFirst:     {column: "first", kind: keyText, value: func(u *User) any { return u.First }},
	UserOrderLast:      {column: "last", kind: keyText, value: func(u *User) any { return u.Last }},
	UserOrderCreatedAt: {column: "created_at", kind: keyTime, value: func(u *User) any { return u.CreatedAt }},
	UserOrderID:        userIDKey,
}

var userIDKey = sortKey[User]{name: "ID", column: "id", kind: keyID, value: func(u *User) any { return u.ID }}

func userOrdering(order []UserOrder) ordering[User] {
	return makeOrdering(order, userSortKeys, userIDKey, func(o UserOrder) (UserOrderField, OrderDirection) { return o.Field, o.Direction })
}
