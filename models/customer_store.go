package models

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// CustomerStore reads and writes customers in PostgreSQL.
type CustomerStore struct {
	db      *gorm.DB
	cursors *Cursors
	callers *CallerCache
}

// NewCustomerStore returns a store over db whose connection cursors are signed by
// cursors; deleting a customer forgets its users in callers.
func NewCustomerStore(db *gorm.DB, cursors *Cursors, callers *CallerCache) *CustomerStore {
	return &CustomerStore{db: db, cursors: cursors, callers: callers}
}

// CustomerEdge is one customer of a page with its cursor.
type CustomerEdge struct {
	Cursor string
	Node   *Customer
}

// CustomerPage is one page of a customers connection. Filter is kept so that the
// total can be counted when, and only when, the client asks for it.
type CustomerPage struct {
	Edges    []CustomerEdge
	PageInfo PageInfo
	Filter   *CustomerFilter
}

// Nodes returns the page's customers without their cursors.
func (p *CustomerPage) Nodes() []*Customer {
	out := make([]*Customer, len(p.Edges))
	for i, e := range p.Edges {
		out[i] = e.Node
	}
	return out
}

// FindCustomerByID returns the customer with id, with fields filled in (nil: all),
// or a NotFound error when there is none or the caller may not see it. Errors:
// Unauthenticated, NotFound.
func (s *CustomerStore) FindCustomerByID(ctx context.Context, id ObjectID, fields *Fields[Customer]) (*Customer, error) {
	if err := requireVisibleCustomer(ctx, id); err != nil {
		return nil, err
	}
	cols := columnsOf(fields, customerColumns)
	rows, err := readByID(ctx, s.db, cols, id)
	switch {
	case err != nil:
		return nil, fmt.Errorf("find customer %s: %w", id, err)
	case len(rows) == 0:
		return nil, Errorf(NotFound, "no customer with id %s", id)
	}
	return rows[0], nil
}

// findByID returns the row of T with id, or a NotFound error naming noun.
func findByID[T any](ctx context.Context, db *gorm.DB, noun string, id ObjectID) (*T, error) {
	var row T
	err := db.WithContext(ctx).Where("id = ?", id).Take(&row).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, Errorf(NotFound, "no %s with id %s", noun, id)
	}
	if err != nil {
		return nil, fmt.Errorf("find %s %s: %w", noun, id, err)
	}
	return &row, nil
}

// FindCustomers returns one page of the customers that match filter and that the
// caller may see, in order, with fields filled in (nil: all; every one when order
// is given, whose keys the cursors need).
// Invalid arguments are Invalid errors naming the argument ("filter.name.in",
// "after", "first").
func (s *CustomerStore) FindCustomers(ctx context.Context, filter *CustomerFilter, order []CustomerOrder, page PageArgs, fields *Fields[Customer]) (*CustomerPage, error) {
	cond, args, err := filterSQL(filter, buildCustomerWhere)
	if err != nil {
		return nil, err
	}
	visible, visibleArgs, err := scope(ctx, "id")
	if err != nil {
		return nil, err
	}
	q := selectQuery{from: "customers", alone: filter != nil || len(order) > 0}
	q.and(cond, args...)
	q.and(visible, visibleArgs...)
	cols := columnsOf(fields, customerColumns)
	if len(order) > 0 {
		cols = customerColumns
	}
	rows, cursors, info, err := paginate(ctx, s.db, s.cursors, customerOrdering(order), page, cols, q)
	if err != nil {
		return nil, err
	}
	p := &CustomerPage{Edges: make([]CustomerEdge, len(rows)), PageInfo: info, Filter: filter}
	for i, r := range rows {
		p.Edges[i] = CustomerEdge{Cursor: cursors[i], Node: r}
	}
	return p, nil
}

// CountCustomers returns how many customers match filter.
func (s *CustomerStore) CountCustomers(ctx context.Context, filter *CustomerFilter) (int, error) {
	cond, args, err := filterSQL(filter, buildCustomerWhere)
	if err != nil {
		return 0, err
	}
	q, err := scoped(ctx, s.db.WithContext(ctx).Model(&Customer{}).Where(cond, args...), "id")
	if err != nil {
		return 0, err
	}
	var n int64
	if err := q.Count(&n).Error; err != nil {
		return 0, fmt.Errorf("count customers: %w", err)
	}
	return int(n), nil
}

// CreateCustomer validates in, applies the defaults and stores the new customer.
// The caller in ctx is recorded as its creator; its address is the default createdByIP.
// Platform staff only. Errors: Unauthenticated, Forbidden, Invalid (every invalid
// field at once).
func (s *CustomerStore) CreateCustomer(ctx context.Context, in CustomerInput) (*Customer, error) {
	if err := requireStaff(ctx, "create customers"); err != nil {
		return nil, err
	}
	caller := CallerFrom(ctx)
	c, err := NewCustomer(in, caller.IP)
	if err != nil {
		return nil, err
	}
	c.CreatedByID, c.UpdatedByID = caller.UserID, caller.UserID
	err = inTransaction(ctx, s.db, func(tx *gorm.DB) error {
		if err := tx.Omit("created_at", "updated_at").Clauses(clause.Returning{}).Create(c).Error; err != nil {
			return translatePgError(err)
		}
		return recordEvent(ctx, tx, "customerCreate", "Customer", c.ID, c.ID, nil, c)
	})
	if err != nil {
		return nil, fmt.Errorf("create customer: %w", err)
	}
	return c, nil
}

// PatchCustomer writes the fields given in patch, and only those, in one UPDATE that
// also bumps version and updatedAt. When expectedVersion is given and the stored
// version differs, nothing is written and the error is Conflict. Each field must be
// one the caller may write (access.go). Errors: Unauthenticated, NotFound, Forbidden
// (every such field), Invalid, Conflict.
func (s *CustomerStore) PatchCustomer(ctx context.Context, id ObjectID, patch CustomerInput, expectedVersion *int32) (*Customer, error) {
	if err := requireVisibleCustomer(ctx, id); err != nil {
		return nil, err
	}
	if err := authorizeCustomerPatch(ctx, &patch); err != nil {
		return nil, err
	}
	cols, err := patch.PatchColumns()
	var errs ValidationErrors
	if !errors.As(err, &errs) && err != nil {
		return nil, err
	}
	linkErrs, lerr := s.checkUserLinks(ctx, id, &patch)
	if lerr != nil {
		return nil, lerr
	}
	if errs = append(errs, linkErrs...); len(errs) > 0 {
		return nil, errs
	}
	return s.update(ctx, "customerPatch", id, cols, expectedVersion)
}

// checkUserLinks reports each user link in patch that names no user of customer
// id, in one statement. (The database checks the same with composite foreign keys;
// this finds every bad link at once, and names its field.)
func (s *CustomerStore) checkUserLinks(ctx context.Context, id ObjectID, patch *CustomerInput) (ValidationErrors, error) {
	links := patch.linkedUserIDs()
	if len(links) == 0 {
		return nil, nil
	}
	ids := make([]ObjectID, 0, len(links))
	for _, uid := range links {
		ids = append(ids, uid)
	}
	var own []ObjectID
	err := s.db.WithContext(ctx).Model(&User{}).Where("customer_id = ? AND id IN ?", id, ids).Pluck("id", &own).Error
	if err != nil {
		return nil, fmt.Errorf("check user links: %w", err)
	}
	var errs ValidationErrors
	for _, l := range customerUserLinks {
		if uid, ok := links[l.field]; ok && !slices.Contains(own, uid) {
			errs.add(l.field, "names no user of this customer")
		}
	}
	return errs, nil
}

// SetCustomerStatus changes a customer's status. Platform staff only.
// Errors: Unauthenticated, NotFound, Forbidden, Invalid, Conflict.
func (s *CustomerStore) SetCustomerStatus(ctx context.Context, id ObjectID, status CustomerStatus, expectedVersion *int32) (*Customer, error) {
	if err := requireVisibleCustomer(ctx, id); err != nil {
		return nil, err
	}
	if err := requireStaff(ctx, "change a customer's status"); err != nil {
		return nil, err
	}
	if !status.IsValid() {
		return nil, FieldError("status", "is not a customer status")
	}
	return s.update(ctx, "customerSetStatus", id, map[string]any{"status": string(status)}, expectedVersion)
}

// update writes cols to the customer id, with the bookkeeping columns of every
// write, in one statement (writeVersioned). Anyone but staff writes its own customer
// (requireVisibleCustomer), which must be ACTIVE (requireWritableCustomer): that
// statement checks it on the row it locks, instead of a lock of its own.
func (s *CustomerStore) update(ctx context.Context, op string, id ObjectID, cols map[string]any, expectedVersion *int32) (*Customer, error) {
	cols["updated_by_id"] = CallerFrom(ctx).UserID
	guard, err := writableCustomerGuard(ctx)
	if err != nil {
		return nil, err
	}
	c, err := writeVersioned(ctx, s.db, versionedWrite[Customer]{op: op, r: customerRecord, id: id, cols: cols,
		expectedVersion: expectedVersion, guard: guard})
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", op, id, err)
	}
	return c, nil
}

// DeleteCustomer deletes the customer id, with its users and invoices, and returns it
// as it was. Platform staff only. Errors: Unauthenticated, NotFound, Forbidden.
func (s *CustomerStore) DeleteCustomer(ctx context.Context, id ObjectID) (*Customer, error) {
	if err := requireVisibleCustomer(ctx, id); err != nil {
		return nil, err
	}
	if err := requireStaff(ctx, "delete customers"); err != nil {
		return nil, err
	}
	defer s.callers.InvalidateCustomer(id) // its users go with it
	var rows []Customer
	err := inTransaction(ctx, s.db, func(tx *gorm.DB) error {
		if err := tx.Clauses(clause.Returning{}).Where("id = ?", id).Delete(&rows).Error; err != nil {
			return translateDeleteError(err)
		}
		if len(rows) == 0 {
			return Errorf(NotFound, "no customer with id %s", id)
		}
		return recordEvent(ctx, tx, "customerDelete", "Customer", id, id, &rows[0], nil)
	})
	if err != nil {
		return nil, fmt.Errorf("delete customer %s: %w", id, err)
	}
	return &rows[0], nil
}

// FindCustomersByIDs returns the customers with the given ids that the caller may
// see, by id, in one statement.
func (s *CustomerStore) FindCustomersByIDs(ctx context.Context, ids []ObjectID) (map[ObjectID]*Customer, error) {
	q, err := scoped(ctx, s.db, "id")
	if err != nil {
		return nil, err
	}
	return findByIDs(ctx, q, ids, func(c *Customer) ObjectID { return c.ID })
}
