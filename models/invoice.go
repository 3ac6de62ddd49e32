package models

import (
	"io"
	"slices"
	"time"
)

// Invoice is a bill of a customer. The billing system writes invoices; this API
// only reads them. Fields mirror the invoices table.
type Invoice struct {
	ID         ObjectID      `gorm:"column:id;primaryKey"`
	CustomerID ObjectID      `gorm:"column:customer_id"`
	Amount     int32         `gorm:"column:amount"`
	Subtotal   int32         `gorm:"column:subtotal"`
	Tax        *int32        `gorm:"column:tax"`
	Setup      *int32        `gorm:"column:setup"`
	Discount   *int32        `gorm:"column:discount"`
	Status     InvoiceStatus `gorm:"column:status"`
	Error      *string       `gorm:"column:error"`
	DueAt      time.Time     `gorm:"column:due_at"`
	ClosedAt   *time.Time    `gorm:"column:closed_at"`
	CreatedAt  time.Time     `gorm:"column:created_at;autoCreateTime:false"`
}

// TableName tells GORM the table.
func (Invoice) TableName() string { return "invoices" }

// InvoiceStatus is where an invoice stands in collection.
type InvoiceStatus string

// The invoice statuses; stored as these strings.
const (
	InvoiceOpen       InvoiceStatus = "OPEN"
	InvoiceClosed     InvoiceStatus = "CLOSED"
	InvoiceCollection InvoiceStatus = "COLLECTION"
	InvoiceOnHold     InvoiceStatus = "ON_HOLD"
	InvoiceError      InvoiceStatus = "ERROR"
)

// InvoiceStatuses lists every invoice status.
var InvoiceStatuses = []InvoiceStatus{InvoiceOpen, InvoiceClosed, InvoiceCollection, InvoiceOnHold, InvoiceError}

// IsValid reports whether s is a known status.
func (s InvoiceStatus) IsValid() bool { return slices.Contains(InvoiceStatuses, s) }

// MarshalGQL writes the enum value.
func (s InvoiceStatus) MarshalGQL(w io.Writer) { writeEnum(w, string(s)) }

// UnmarshalGQL reads and checks an enum value.
func (s *InvoiceStatus) UnmarshalGQL(v any) error { return readEnum(v, s, "InvoiceStatus") }

// InvoiceFilter selects invoices.
type InvoiceFilter struct {
	ID        *ObjectIDFilter
	Amount    *IntFilter
	Subtotal  *IntFilter
	Status    *InvoiceStatusFilter
	DueAt     *DateTimeFilter
	ClosedAt  *DateTimeFilter
	CreatedAt *DateTimeFilter
	And       []InvoiceFilter
	Or        []InvoiceFilter
	Not       *InvoiceFilter
}

func buildInvoiceWhere(w *where, path string, f *InvoiceFilter, depth int) {
	field := func(name string) string { return joinPath(path, name) }
	w.id(field("id"), "id", f.ID)
	w.int(field("amount"), "amount", f.Amount)
	w.int(field("subtotal"), "subtotal", f.Subtotal)
	enumFilter(w, field("status"), "status", f.Status)
	w.time(field("dueAt"), "due_at", f.DueAt)
	w.time(field("closedAt"), "closed_at", f.ClosedAt)
	w.time(field("createdAt"), "created_at", f.CreatedAt)
	combine(w, path, depth, f.And, f.Or, f.Not, buildInvoiceWhere)
}

// InvoiceOrderField is a column a customer's invoices can be sorted by; each has an
// index (customer_id, column, id), UNIQUE (customer_id, id) for ID.
type InvoiceOrderField string

// The sortable invoice fields.
const (
	InvoiceOrderCreatedAt InvoiceOrderField = "CREATED_AT"
	InvoiceOrderDueAt     InvoiceOrderField = "DUE_AT"
	InvoiceOrderAmount    InvoiceOrderField = "AMOUNT"
	InvoiceOrderID        InvoiceOrderField = "ID"
)

// IsValid reports whether f is a sortable field.
func (f InvoiceOrderField) IsValid() bool { _, ok := invoiceSortKeys[f]; return ok }

// MarshalGQL writes the enum value.
func (f InvoiceOrderField) MarshalGQL(w io.Writer) { writeEnum(w, string(f)) }

// UnmarshalGQL reads and checks an enum value.
func (f *InvoiceOrderField) UnmarshalGQL(v any) error { return readEnum(v, f, "InvoiceOrderField") }

// InvoiceOrder is one sort key of an invoices list.
type InvoiceOrder struct {
	Field     InvoiceOrderField
	Direction OrderDirection
}

var invoiceSortKeys = map[InvoiceOrderField]sortKey[Invoice]{
	InvoiceOrderCreatedAt: {column: "created_at", kind: keyTime, value: func(v *Invoice) any { return v.CreatedAt }},
	InvoiceOrderDueAt:     {column: "due_at", kind: keyTime, value: func(v *Invoice) any { return v.DueAt }},
	InvoiceOrderAmount:    {column: "amount", kind: keyInt, value: func(v *Invoice) any { return v.Amount }},
	InvoiceOrderID:        invoiceIDKey,
}

var invoiceIDKey = sortKey[Invoice]{name: "ID", column: "id", kind: keyID, value: func(v *Invoice) any { return v.ID }}

func invoiceOrdering(order []InvoiceOrder) ordering[Invoice] {
	return makeOrdering(order, invoiceSortKeys, invoiceIDKey, func(o InvoiceOrder) (InvoiceOrderField, OrderDirection) { return o.Field, o.Direction })
}
