package models

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// UserStore reads and writes users in PostgreSQL.
type UserStore struct {
	db      *gorm.DB
	cursors *Cursors
	callers *CallerCache
}

// NewUserStore returns a store over db whose cursors are signed by cursors and
// whose authenticated users are kept in callers.
func NewUserStore(db *gorm.DB, cursors *Cursors, callers *CallerCache) *UserStore {
	return &UserStore{db: db, cursors: cursors, callers: callers}
}

// UserEdge is one user of a page with its cursor.
type UserEdge struct {
	Cursor string
	Node   *User
}

// UserPage is one page of a users connection. Filter, and for a customer's users
// CustomerID, are kept to count the total when the client asks for it.
type UserPage struct {
	Edges      []UserEdge
	PageInfo   PageInfo
	Filter     *UserFilter
	CustomerID *ObjectID
}

// Nodes returns the page's users without their cursors.
func (p *UserPage) Nodes() []*User {
	out := make([]*User, len(p.Edges))
	for i, e := range p.Edges {
		out[i] = e.Node
	}
	return out
}

func newUserPage(rows []*User, cursors []string, info PageInfo, filter *UserFilter, customerID *ObjectID) *UserPage {
	p := &UserPage{Edges: make([]UserEdge, len(rows)), PageInfo: info, Filter: filter, CustomerID: customerID}
	for i, r := range rows {
		p.Edges[i] = UserEdge{Cursor: cursors[i], Node: r}
	}
	return p
}

// Authenticate returns the user a verified credential names, who must exist and be
// ACTIVE; otherwise the error is Unauthenticated.
func (s *UserStore) Authenticate(ctx context.Context, id ObjectID) (*User, error) {
	u, err := s.callers.loadUser(ctx, id, func(ctx context.Context) (*User, error) {
		return findByID[User](ctx, s.db, "user", id)
	})
	if ErrorKind(err) == NotFound || err == nil && u.Status != UserActive {
		return nil, Errorf(Unauthenticated, "the token's user does not exist or is not active")
	}
	return u, err
}

// FindUserByID returns the user with id, or a NotFound error when there is none or
// the caller may not see it.
func (s *UserStore) FindUserByID(ctx context.Context, id ObjectID) (*User, error) {
	q, err := scoped(ctx, s.db, "customer_id")
	if err != nil {
		return nil, err
	}
	return findByID[User](ctx, q, "user", id)
}

// FindUsersByIDs returns the users with the given ids, by id, in one statement,
// with fields filled in (nil: all).
// Ids with no user are absent from the map.
func (s *UserStore) FindUsersByIDs(ctx context.Context, ids []ObjectID, fields *Fields[User]) (map[ObjectID]*User, error) {
	cond, args, err := scope(ctx, "customer_id")
	if err != nil {
		return nil, err
	}
	distinct := newIDArray(ids)
	q := selectQuery{from: "users"}
	q.and("id = ANY(?)", distinct)
	q.and(cond, args...)
	rows, err := readRows(ctx, s.db, columnsOf(fields, userColumns), q, len(distinct.ids))
	if err != nil {
		return nil, fmt.Errorf("find users by ids: %w", err)
	}
	out := make(map[ObjectID]*User, len(rows))
	for _, u := range rows {
		out[u.ID] = u
	}
	return out, nil
}

// FindUsers returns one page of the users that match filter and that the caller may
// see (staff: of every customer).
func (s *UserStore) FindUsers(ctx context.Context, filter *UserFilter, order []UserOrder, page PageArgs) (*UserPage, error) {
	cond, args, err := filterSQL(filter, buildUserWhere)
	if err != nil {
		return nil, err
	}
	visible, visibleArgs, err := scope(ctx, "customer_id")
	if err != nil {
		return nil, err
	}
	q := selectQuery{from: "users", alone: filter != nil || len(order) > 0}
	q.and(cond, args...)
	q.and(visible, visibleArgs...)
	rows, cursors, info, err := paginate(ctx, s.db, s.cursors, userOrdering(order), page, userColumns, q)
	if err != nil {
		return nil, err
	}
	return newUserPage(rows, cursors, info, filter, nil), nil
}

// FindUsersOfCustomers returns the same page of users for each customer, in one
// statement. Offset is not offered on these nested lists.
func (s *UserStore) FindUsersOfCustomers(ctx context.Context, customerIDs []ObjectID, filter *UserFilter, order []UserOrder, page PageArgs) (map[ObjectID]*UserPage, error) {
	cond, args, err := scopedFilter(ctx, filter, buildUserWhere)
	if err != nil {
		return nil, err
	}
	sets, err := paginateEach(s.db.WithContext(ctx), s.cursors, userOrdering(order), page, "users", "customer_id",
		customerIDs, func(u *User) ObjectID { return u.CustomerID }, cond, args)
	if err != nil {
		return nil, err
	}
	out := make(map[ObjectID]*UserPage, len(sets))
	for id, set := range sets {
		out[id] = newUserPage(set.Rows, set.Cursors, set.PageInfo, filter, &id)
	}
	return out, nil
}

// CountUsers returns how many users match filter.
func (s *UserStore) CountUsers(ctx context.Context, filter *UserFilter) (int, error) {
	cond, args, err := filterSQL(filter, buildUserWhere)
	if err != nil {
		return 0, err
	}
	q, err := scoped(ctx, s.db.WithContext(ctx).Model(&User{}).Where(cond, args...), "customer_id")
	if err != nil {
		return 0, err
	}
	var n int64
	if err := q.Count(&n).Error; err != nil {
		return 0, fmt.Errorf("count users: %w", err)
	}
	return int(n), nil
}

// CountUsersOfCustomers returns, per customer, how many of its users match filter,
// in one statement.
func (s *UserStore) CountUsersOfCustomers(ctx context.Context, customerIDs []ObjectID, filter *UserFilter) (map[ObjectID]int, error) {
	cond, args, err := scopedFilter(ctx, filter, buildUserWhere)
	if err != nil {
		return nil, err
	}
	return countPerParent(ctx, s.db, "users", customerIDs, cond, args)
}

// CreateUser validates in and stores the new user. Staff, or an admin (READ_WRITE)
// of the user's customer who gives no platform permission. Errors: Unauthenticated,
// Forbidden, Invalid (every invalid field at once, an email that another user has
// without regard to case among them; a customerId that names no customer the caller
// can see).
func (s *UserStore) CreateUser(ctx context.Context, in UserInput) (*User, error) {
	u, invalid := NewUser(in)
	if !in.CustomerID.Set || in.CustomerID.Null {
		return nil, invalid // says customerId is required, with every other invalid field
	}
	if err := authorizeUserWrite(ctx, in.CustomerID.Value, nil, &in); ErrorKind(err) == NotFound {
		return nil, FieldError("customerId", "names no customer")
	} else if err != nil {
		return nil, err
	}
	err := inTransaction(ctx, s.db, func(tx *gorm.DB) error {
		if err := requireWritableCustomer(ctx, tx); err != nil {
			return err
		}
		taken, err := checkEmailFree(ctx, tx, in, ObjectID{})
		if err != nil {
			return err
		}
		if err := joinInvalid(invalid, taken); err != nil {
			return err
		}
		if err := tx.Omit("created_at", "updated_at").Clauses(clause.Returning{}).Create(u).Error; err != nil {
			return translatePgError(err)
		}
		return recordEvent(ctx, tx, "userCreate", "User", u.CustomerID, u.ID, nil, u)
	})
	if err != nil {
		return nil, fmt.Errorf("create user: %w", err)
	}
	return u, nil
}

// checkEmailFree reports the email given in in when a user other than self has it,
// without regard to case, as a refusal marked Probe; an email that validation
// refuses is not looked up. It runs with validation, after authorization, so that the
// clash is reported with every other invalid field; the unique index users_email_key
// still refuses one that a concurrent write makes (translatePgError).
func checkEmailFree(ctx context.Context, tx *gorm.DB, in UserInput, self ObjectID) (ValidationErrors, error) {
	email, ok := emailField(&ValidationErrors{}, "email", in.Email)
	if !ok {
		return nil, nil
	}
	var taken bool
	err := tx.WithContext(ctx).Raw(`SELECT EXISTS (SELECT 1 FROM users WHERE lower(email) = lower(?) AND id <> ?)`, email, self).
		Scan(&taken).Error
	if err != nil {
		return nil, fmt.Errorf("check email: %w", err)
	}
	if taken {
		return ValidationErrors{errEmailTaken()}, nil
	}
	return nil, nil
}

// PatchUser writes the given fields of the user id in one UPDATE that bumps version
// and updatedAt; with expectedVersion, a different stored version is Conflict.
// Staff, or an admin (READ_WRITE) of the user's customer who neither gives nor
// takes a platform permission, nor raises its own, on a user without one; judged
// against the locked row. A TERMINATED user never changes again (Conflict).
// Errors: Unauthenticated, NotFound, Forbidden, Invalid, Conflict.
func (s *UserStore) PatchUser(ctx context.Context, id ObjectID, patch UserInput, expectedVersion *int32) (*User, error) {
	defer s.callers.InvalidateUser(id) // after the commit: a refused patch forgets it harmlessly
	return updateVersioned(ctx, s.db, "userPatch", id, expectedVersion, userRecord, func(tx *gorm.DB, old *User) (map[string]any, error) {
		if err := authorizeUserWrite(ctx, old.CustomerID, old, &patch); err != nil {
			return nil, err
		}
		if err := old.checkPatchable(); err != nil {
			return nil, err
		}
		cols, invalid := patch.PatchColumns()
		taken, err := checkEmailFree(ctx, tx, patch, old.ID)
		if err != nil {
			return nil, err
		}
		if err := joinInvalid(invalid, taken); err != nil {
			return nil, err
		}
		return cols, nil
	})
}

// DeleteUser deletes the user id and returns it as it was. A user that a customer
// still names as its admin, billing, support or call-recording user is not deleted:
// the Conflict error names the customer and the field. Staff, or an admin
// (READ_WRITE) of the user's customer when the user has no platform permission;
// judged against the locked row.
// Errors: Unauthenticated, NotFound, Forbidden, Conflict.
func (s *UserStore) DeleteUser(ctx context.Context, id ObjectID) (*User, error) {
	defer s.callers.InvalidateUser(id)
	var deleted *User
	err := inTransaction(ctx, s.db, func(tx *gorm.DB) error {
		if err := requireWritableCustomer(ctx, tx); err != nil {
			return err
		}
		target, err := lockForUpdate(ctx, tx, userRecord, id)
		if err != nil {
			return err
		}
		if err := authorizeUserWrite(ctx, target.CustomerID, target, nil); err != nil {
			return err
		}
		conds := make([]string, len(customerUserLinks))
		for i, l := range customerUserLinks {
			conds[i] = l.column + " = @id"
		}
		var linked Customer
		err = tx.Where(strings.Join(conds, " OR "), map[string]any{"id": id}).Take(&linked).Error
		if err == nil {
			return &Error{Kind: Conflict, Message: fmt.Sprintf("customer %s still names this user as %s; change that link first",
				linked.ID, linkedField(&linked, id))}
		}
		if !errors.Is(err, gorm.ErrRecordNotFound) {
			return err
		}
		if err := tx.Where("id = ?", id).Delete(&User{}).Error; err != nil {
			return translateDeleteError(err)
		}
		deleted = target
		return recordEvent(ctx, tx, "userDelete", "User", deleted.CustomerID, id, deleted, nil)
	})
	if err != nil {
		return nil, fmt.Errorf("delete user %s: %w", id, err)
	}
	return deleted, nil
}

// linkedField names the link of c that points at user id.
func linkedField(c *Customer, id ObjectID) string {
	for _, l := range customerUserLinks {
		if v := *l.ptr(c); v != nil && *v == id {
			return l.field
		}
	}
	return "a user link"
}

// findByIDs loads the rows of T whose id is in ids, in one statement, by id.
func findByIDs[T any](ctx context.Context, db *gorm.DB, ids []ObjectID, idOf func(*T) ObjectID) (map[ObjectID]*T, error) {
	var rows []*T
	if err := db.WithContext(ctx).Where("id = ANY(?)", newIDArray(ids)).Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("find by ids: %w", err)
	}
	out := make(map[ObjectID]*T, len(rows))
	for _, r := range rows {
		out[idOf(r)] = r
	}
	return out, nil
}

// countPerParent counts, per customer, the rows of table that match cond.
func countPerParent(ctx context.Context, db *gorm.DB, table string, customerIDs []ObjectID, cond string, args []any) (map[ObjectID]int, error) {
	var rows []struct {
		CustomerID ObjectID
		N          int
	}
	err := db.WithContext(ctx).Table(table).Select("customer_id, count(*) AS n").
		Where("customer_id IN ?", customerIDs).Where(cond, args...).Group("customer_id").Scan(&rows).Error
	if err != nil {
		return nil, fmt.Errorf("count %s per customer: %w", table, err)
	}
	out := make(map[ObjectID]int, len(customerIDs))
	for _, r := range rows {
		out[r.CustomerID] = r.N
	}
	return out, nil
}
