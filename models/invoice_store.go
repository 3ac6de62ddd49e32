package models

import (
	"context"

	"gorm.io/gorm"
)

// InvoiceStore reads invoices (the billing system writes them).
type InvoiceStore struct {
	db      *gorm.DB
	cursors *Cursors
}

// NewInvoiceStore returns a store over db whose cursors are signed by cursors.
func NewInvoiceStore(db *gorm.DB, cursors *Cursors) *InvoiceStore {
	return &InvoiceStore{db: db, cursors: cursors}
}

// InvoiceEdge is one invoice of a page with its cursor.
type InvoiceEdge struct {
	Cursor string
	Node   *Invoice
}

// InvoicePage is one page of a customer's invoices; CustomerID and Filter are kept
// to count the total when the client asks for it.
type InvoicePage struct {
	Edges      []InvoiceEdge
	PageInfo   PageInfo
	Filter     *InvoiceFilter
	CustomerID ObjectID
}

// Nodes returns the page's invoices without their cursors.
func (p *InvoicePage) Nodes() []*Invoice {
	out := make([]*Invoice, len(p.Edges))
	for i, e := range p.Edges {
		out[i] = e.Node
	}
	return out
}

// FindInvoicesByIDs returns the invoices with the given ids, by id, in one statement.
func (s *InvoiceStore) FindInvoicesByIDs(ctx context.Context, ids []ObjectID) (map[ObjectID]*Invoice, error) {
	q, err := scoped(ctx, s.db, "customer_id")
	if err != nil {
		return nil, err
	}
	return findByIDs(ctx, q, ids, func(v *Invoice) ObjectID { return v.ID })
}

// FindInvoicesOfCustomers returns the same page of invoices for each customer, in
// one statement.
func (s *InvoiceStore) FindInvoicesOfCustomers(ctx context.Context, customerIDs []ObjectID, filter *InvoiceFilter, order []InvoiceOrder, page PageArgs) (map[ObjectID]*InvoicePage, error) {
	cond, args, err := scopedFilter(ctx, filter, buildInvoiceWhere)
	if err != nil {
		return nil, err
	}
	sets, err := paginateEach(s.db.WithContext(ctx), s.cursors, invoiceOrdering(order), page, "invoices", "customer_id",
		customerIDs, func(v *Invoice) ObjectID { return v.CustomerID }, cond, args)
	if err != nil {
		return nil, err
	}
	out := make(map[ObjectID]*InvoicePage, len(sets))
	for id, set := range sets {
		p := &InvoicePage{Edges: make([]InvoiceEdge, len(set.Rows)), PageInfo: set.PageInfo, Filter: filter, CustomerID: id}
		for i, r := range set.Rows {
			p.Edges[i] = InvoiceEdge{Cursor: set.Cursors[i], Node: r}
		}
		out[id] = p
	}
	return out, nil
}

// CountInvoicesOfCustomers returns, per customer, how many of its invoices match
// filter, in one statement.
func (s *InvoiceStore) CountInvoicesOfCustomers(ctx context.Context, customerIDs []ObjectID, filter *InvoiceFilter) (map[ObjectID]int, error) {
	cond, args, err := scopedFilter(ctx, filter, buildInvoiceWhere)
	if err != nil {
		return nil, err
	}
	return countPerParent(ctx, s.db, "invoices", customerIDs, cond, args)
}
