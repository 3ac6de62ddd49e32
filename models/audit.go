package models

import (
	"bytes"
	"context"
	"database/sql/driver"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"gorm.io/gorm"
)

// AuditEvent records one successful mutation: who, when, in which request, what
// record, and each changed field with its old and new value.
type AuditEvent struct {
	ID         ObjectID     `gorm:"column:id;primaryKey"`
	CustomerID ObjectID     `gorm:"column:customer_id"`
	ActorID    *ObjectID    `gorm:"column:actor_id"`
	RequestID  string       `gorm:"column:request_id"`
	At         time.Time    `gorm:"column:at;autoCreateTime:false"`
	Operation  string       `gorm:"column:operation"`
	RecordType string       `gorm:"column:record_type"`
	RecordID   ObjectID     `gorm:"column:record_id"`
	Changes    FieldChanges `gorm:"column:changes"`
}

// TableName tells GORM the table.
func (AuditEvent) TableName() string { return "audit_events" }

// FieldChange is one changed field: its API name and its values before and after,
// as text (JSON for anything but strings); nil is null or absent.
type FieldChange struct {
	Field string  `json:"field"`
	Old   *string `json:"old"`
	New   *string `json:"new"`
}

// FieldChanges is stored as a JSON array.
type FieldChanges []FieldChange

// Value writes the JSON array.
func (f FieldChanges) Value() (driver.Value, error) {
	if f == nil {
		f = FieldChanges{}
	}
	b, err := json.Marshal(f)
	return string(b), err
}

// Scan reads the JSON array.
func (f *FieldChanges) Scan(src any) error {
	switch v := src.(type) {
	case []byte:
		return json.Unmarshal(v, f)
	case string:
		return json.Unmarshal([]byte(v), f)
	}
	return fmt.Errorf("field changes: cannot scan %T", src)
}

// bookkeeping fields change on every write and are not listed as changes.
var bookkeeping = map[string]bool{"version": true, "updatedAt": true, "updatedById": true}

// diff lists the fields that differ between before and after (nil for a record
// that did not exist), by API name in name order.
func diff[T any](before, after *T) (FieldChanges, error) {
	fields := func(r *T) (map[string]json.RawMessage, error) {
		m := map[string]json.RawMessage{}
		if r == nil {
			return m, nil
		}
		b, err := json.Marshal(r)
		if err != nil {
			return nil, err
		}
		return m, json.Unmarshal(b, &m)
	}
	old, err := fields(before)
	if err != nil {
		return nil, err
	}
	cur, err := fields(after)
	if err != nil {
		return nil, err
	}
	var names []string
	for _, m := range []map[string]json.RawMessage{old, cur} {
		for k := range m {
			if !bookkeeping[k] && !slices.Contains(names, k) {
				names = append(names, k)
			}
		}
	}
	slices.Sort(names)
	var out FieldChanges
	for _, k := range names {
		if !bytes.Equal(old[k], cur[k]) {
			out = append(out, FieldChange{Field: k, Old: text(old[k]), New: text(cur[k])})
		}
	}
	return out, nil
}

// text shows a JSON value as a client reads it: strings bare, null as nil.
func text(raw json.RawMessage) *string {
	if raw == nil || string(raw) == "null" {
		return nil
	}
	var s string
	if json.Unmarshal(raw, &s) != nil {
		s = string(raw)
	}
	return &s
}

// recordEvent writes the audit event of a mutation inside its transaction tx.
func recordEvent[T any](ctx context.Context, tx *gorm.DB, op, recordType string, customerID, recordID ObjectID, before, after *T) error {
	changes, err := diff(before, after)
	if err != nil {
		return fmt.Errorf("audit %s: %w", op, err)
	}
	c := CallerFrom(ctx)
	ev := AuditEvent{
		ID: NewObjectID(), CustomerID: customerID, ActorID: c.UserID, RequestID: c.RequestID,
		Operation: op, RecordType: recordType, RecordID: recordID, Changes: changes,
	}
	if err := tx.Omit("at").Create(&ev).Error; err != nil {
		return fmt.Errorf("audit %s: %w", op, err)
	}
	return nil
}

// AuditEventEdge is one event of a page with its cursor.
type AuditEventEdge struct {
	Cursor string
	Node   *AuditEvent
}

// AuditEventPage is one page of a customer's audit events.
type AuditEventPage struct {
	Edges      []AuditEventEdge
	PageInfo   PageInfo
	CustomerID ObjectID
}

// Nodes returns the page's events without their cursors.
func (p *AuditEventPage) Nodes() []*AuditEvent {
	out := make([]*AuditEvent, len(p.Edges))
	for i, e := range p.Edges {
		out[i] = e.Node
	}
	return out
}

// auditOrdering is newest first: ids begin with their creation second.
var auditOrdering = ordering[AuditEvent]{{name: "ID", column: "id", desc: true, kind: keyID, value: func(e *AuditEvent) any { return e.ID }}}

// AuditStore reads the audit trail (the mutations of the other stores write it).
type AuditStore struct {
	db      *gorm.DB
	cursors *Cursors
}

// NewAuditStore returns a store over db whose cursors are signed by cursors.
func NewAuditStore(db *gorm.DB, cursors *Cursors) *AuditStore {
	return &AuditStore{db: db, cursors: cursors}
}

// FindEventsOfCustomers returns the same page of events for each customer, in one
// statement. Staff, or an admin (any level) of the one customer. Errors:
// Unauthenticated, Forbidden, Invalid.
func (s *AuditStore) FindEventsOfCustomers(ctx context.Context, customerIDs []ObjectID, page PageArgs) (map[ObjectID]*AuditEventPage, error) {
	if err := authorizeAuditRead(ctx, customerIDs); err != nil {
		return nil, err
	}
	sets, err := paginateEach(s.db.WithContext(ctx), s.cursors, auditOrdering, page, "audit_events", "customer_id",
		customerIDs, func(e *AuditEvent) ObjectID { return e.CustomerID }, "TRUE", nil)
	if err != nil {
		return nil, err
	}
	out := make(map[ObjectID]*AuditEventPage, len(sets))
	for id, set := range sets {
		p := &AuditEventPage{Edges: make([]AuditEventEdge, len(set.Rows)), PageInfo: set.PageInfo, CustomerID: id}
		for i, r := range set.Rows {
			p.Edges[i] = AuditEventEdge{Cursor: set.Cursors[i], Node: r}
		}
		out[id] = p
	}
	return out, nil
}

// CountEventsOfCustomers returns how many events each customer has, in one statement.
func (s *AuditStore) CountEventsOfCustomers(ctx context.Context, customerIDs []ObjectID) (map[ObjectID]int, error) {
	if err := authorizeAuditRead(ctx, customerIDs); err != nil {
		return nil, err
	}
	return countPerParent(ctx, s.db, "audit_events", customerIDs, "TRUE", nil)
}

// FindEvents returns one page of the events of customer id, which may have been
// deleted since. Staff, or an admin of that customer. Errors: Unauthenticated,
// Forbidden, NotFound, Invalid.
func (s *AuditStore) FindEvents(ctx context.Context, customerID ObjectID, page PageArgs) (*AuditEventPage, error) {
	pages, err := s.FindEventsOfCustomers(ctx, []ObjectID{customerID}, page)
	if err != nil {
		return nil, err
	}
	return pages[customerID], nil
}
