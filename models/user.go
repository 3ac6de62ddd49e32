package models

import (
	"io"
	"net/mail"
	"slices"
	"strings"
	"time"
	"unicode/utf8"
)

// User is a person linked to one customer: an administrator, a payer, a support
// contact or a recipient of call recordings. Fields mirror the users table.
type User struct {
	ID                   ObjectID    `gorm:"column:id;primaryKey" json:"id"`
	CustomerID           ObjectID    `gorm:"column:customer_id" json:"customerId"`
	Email                string      `gorm:"column:email" json:"email"`
	First                string      `gorm:"column:first" json:"first"`
	Last                 string      `gorm:"column:last" json:"last"`
	Status               UserStatus  `gorm:"column:status" json:"status"`
	AdminPermission      *Permission `gorm:"column:admin_permission" json:"adminPermission"`
	BillingPermission    *Permission `gorm:"column:billing_permission" json:"billingPermission"`
	SuperAdminPermission *Permission `gorm:"column:super_admin_permission" json:"superAdminPermission"`
	Version              int32       `gorm:"column:version" json:"version"`
	CreatedAt            time.Time   `gorm:"column:created_at;autoCreateTime:false" json:"createdAt"`
	UpdatedAt            time.Time   `gorm:"column:updated_at;autoUpdateTime:false" json:"updatedAt"`
}

// TableName tells GORM the table.
func (User) TableName() string { return "users" }

// UserStatus says whether a user may act.
type UserStatus string

// The user statuses; stored as these strings.
const (
	UserActive     UserStatus = "ACTIVE"
	UserDisabled   UserStatus = "DISABLED"
	UserTerminated UserStatus = "TERMINATED"
)

// UserStatuses lists every user status.
var UserStatuses = []UserStatus{UserActive, UserDisabled, UserTerminated}

func (UserStatus) values() []UserStatus { return UserStatuses }

// IsValid reports whether s is a known status.
func (s UserStatus) IsValid() bool { return slices.Contains(UserStatuses, s) }

// MarshalGQL writes the enum value.
func (s UserStatus) MarshalGQL(w io.Writer) { writeEnum(w, string(s)) }

// UnmarshalGQL reads and checks an enum value.
func (s *UserStatus) UnmarshalGQL(v any) error { return readEnum(v, s, "UserStatus") }

// checkPatchable refuses every change of a TERMINATED user: termination is final, so
// such a user can only be deleted. The database holds other writers to the same
// rule for status (trigger users_terminated_is_final, translated by translatePgError).
func (u *User) checkPatchable() error {
	if u.Status == UserTerminated {
		return errUserTerminated()
	}
	return nil
}

// errUserTerminated is the Conflict of a change to a TERMINATED user.
func errUserTerminated() *Error {
	return Errorf(Conflict, "the user is TERMINATED, which is final: it can no longer change, only be deleted")
}

// errEmailTaken refuses an email address that another user has, without regard to
// case. Addresses are unique across customers, so the refusal tells whether another
// customer uses the address: it is marked Probe.
func errEmailTaken() *Error {
	return &Error{Kind: Invalid, Field: "email", Message: "is already taken", Probe: true}
}

// Permission is a level of access: reading, or reading and writing.
type Permission string

// The permission levels; stored as these strings. No permission is null.
const (
	PermissionRead      Permission = "READ"
	PermissionReadWrite Permission = "READ_WRITE"
)

// Permissions lists every level.
var Permissions = []Permission{PermissionRead, PermissionReadWrite}

// IsValid reports whether p is a known level.
func (p Permission) IsValid() bool { return slices.Contains(Permissions, p) }

// MarshalGQL writes the enum value.
func (p Permission) MarshalGQL(w io.Writer) { writeEnum(w, string(p)) }

// UnmarshalGQL reads and checks an enum value.
func (p *Permission) UnmarshalGQL(v any) error { return readEnum(v, p, "Permission") }

// Limits of a user's text fields, in characters.
const (
	MinEmailLength = 5
	MaxEmailLength = 255
)

// UserInput holds the writable fields of a user, for userCreate (absent fields take
// their defaults; customerId, email, first and last are required) or userPatch
// (absent fields stay as they are; the customer cannot change).
type UserInput struct {
	CustomerID           Opt[ObjectID]
	Email                Opt[string]
	First                Opt[string]
	Last                 Opt[string]
	Status               Opt[UserStatus]
	AdminPermission      Opt[Permission]
	BillingPermission    Opt[Permission]
	SuperAdminPermission Opt[Permission]
}

// NewUser returns a user built from in, or ValidationErrors naming every invalid field.
func NewUser(in UserInput) (*User, error) {
	u := &User{ID: NewObjectID(), Status: UserActive, Version: 1}
	var errs ValidationErrors
	for _, r := range []struct {
		field string
		set   bool
	}{{"customerId", in.CustomerID.Set}, {"email", in.Email.Set}, {"first", in.First.Set}, {"last", in.Last.Set}} {
		if !r.set {
			errs.add(r.field, "is required")
		}
	}
	if id, ok := required(&errs, "customerId", in.CustomerID); ok {
		u.CustomerID = id
	}
	changes := in.changes(&errs)
	if err := errs.err(); err != nil {
		return nil, err
	}
	for _, ch := range changes {
		ch.apply(u)
	}
	return u, nil
}

// PatchColumns validates a userPatch input and returns the columns it sets.
func (in UserInput) PatchColumns() (map[string]any, error) {
	var errs ValidationErrors
	if in.CustomerID.Set {
		errs.add("customerId", "cannot change: a user stays with its customer")
	}
	return patchColumns(in.changes(&errs), errs)
}

func (in UserInput) changes(errs *ValidationErrors) []change[User] {
	var out []change[User]
	add := func(col string, v any, apply func(*User)) {
		out = append(out, change[User]{column: col, value: v, apply: apply})
	}
	if v, ok := emailField(errs, "email", in.Email); ok {
		add("email", v, func(u *User) { u.Email = v })
	}
	if v, ok := requiredText(errs, "first", in.First); ok {
		add("first", v, func(u *User) { u.First = v })
	}
	if v, ok := requiredText(errs, "last", in.Last); ok {
		add("last", v, func(u *User) { u.Last = v })
	}
	if v, ok := required(errs, "status", in.Status); ok {
		add("status", string(v), func(u *User) { u.Status = v })
	}
	for _, p := range []struct {
		column string
		opt    Opt[Permission]
		dst    func(*User) **Permission
	}{
		{"admin_permission", in.AdminPermission, func(u *User) **Permission { return &u.AdminPermission }},
		{"billing_permission", in.BillingPermission, func(u *User) **Permission { return &u.BillingPermission }},
		{"super_admin_permission", in.SuperAdminPermission, func(u *User) **Permission { return &u.SuperAdminPermission }},
	} {
		if p.opt.Set {
			v := nullable(p.opt)
			var stored any
			if v != nil {
				stored = string(*v)
			}
			add(p.column, stored, func(u *User) { *p.dst(u) = v })
		}
	}
	return out
}

// emailField trims an email address and checks its length and form: one address,
// no display name, a domain with a dot.
func emailField(errs *ValidationErrors, field string, o Opt[string]) (string, bool) {
	v, ok := required(errs, field, o)
	if !ok {
		return "", false
	}
	v = strings.TrimSpace(v)
	n := utf8.RuneCountInString(v)
	if n < MinEmailLength || n > MaxEmailLength {
		errs.add(field, "must be %d to %d characters (got %d)", MinEmailLength, MaxEmailLength, n)
		return "", false
	}
	addr, err := mail.ParseAddress(v)
	at := strings.LastIndexByte(v, '@')
	if err != nil || addr.Address != v || addr.Name != "" || at < 1 || !strings.Contains(v[at+1:], ".") ||
		strings.HasSuffix(v, ".") || strings.ContainsAny(v, " \t\r\n") {
		errs.add(field, "must be an email address such as ada@example.com")
		return "", false
	}
	return v, true
}
