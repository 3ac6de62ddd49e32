package models

import "io"

// CustomerFilter selects customers. Every given part must match (and); And, Or and
// Not combine nested filters.
type CustomerFilter struct {
	Search                       *string
	ID                           *ObjectIDFilter
	Name                         *StringFilter
	Status                       *CustomerStatusFilter
	WebsiteURL                   *StringFilter
	Logo                         *StringFilter
	Credit                       *IntFilter
	AdminUserID                  *ObjectIDFilter
	BillingUserID                *ObjectIDFilter
	CallRecordingUserID          *ObjectIDFilter
	SupportUserID                *ObjectIDFilter
	CallForwardingCallLimit      *IntFilter
	AutomaticRefillAmount        *IntFilter
	LowBalanceAlertAmount        *IntFilter
	LowBalanceAlertAt            *DateTimeFilter
	LowBalanceAlertCount         *IntFilter
	LastAutomaticRefillInvoiceID *ObjectIDFilter
	InternationalCalling         *BooleanFilter
	CreatedByIP                  *StringFilter
	CallDebug                    *BooleanFilter
	MediaBypass                  *BooleanFilter
	AccountLock                  *BooleanFilter
	CallRecording                *BooleanFilter
	CDRRetention                 *IntFilter
	CnamLookUps                  *BooleanFilter
	HoldMusic                    *BooleanFilter
	TranscribeCalls              *BooleanFilter
	MaxOutboundCallRate          *IntFilter
	DefaultBillMethod            *BillMethodFilter
	Version                      *IntFilter
	CreatedAt                    *DateTimeFilter
	UpdatedAt                    *DateTimeFilter
	And                          []CustomerFilter
	Or                           []CustomerFilter
	Not                          *CustomerFilter
}

func buildCustomerWhere(w *where, path string, f *CustomerFilter, depth int) {
	field := func(name string) string { return joinPath(path, name) }
	if f.Search != nil {
		p := "%" + likePattern(w.text(field("search"), *f.Search)) + "%"
		w.add("(name ILIKE ? OR website_url ILIKE ?)", p, p)
	}
	w.id(field("id"), "id", f.ID)
	w.string(field("name"), "name", f.Name)
	enumFilter(w, field("status"), "status", f.Status)
	w.string(field("websiteUrl"), "website_url", f.WebsiteURL)
	w.string(field("logo"), "logo", f.Logo)
	w.int(field("credit"), "credit", f.Credit)
	w.id(field("adminUserId"), "admin_user_id", f.AdminUserID)
	w.id(field("billingUserId"), "billing_user_id", f.BillingUserID)
	w.id(field("callRecordingUserId"), "call_recording_user_id", f.CallRecordingUserID)
	w.id(field("supportUserId"), "support_user_id", f.SupportUserID)
	w.int(field("callForwardingCallLimit"), "call_forwarding_call_limit", f.CallForwardingCallLimit)
	w.int(field("automaticRefillAmount"), "automatic_refill_amount", f.AutomaticRefillAmount)
	w.int(field("lowBalanceAlertAmount"), "low_balance_alert_amount", f.LowBalanceAlertAmount)
	w.time(field("lowBalanceAlertAt"), "low_balance_alert_at", f.LowBalanceAlertAt)
	w.int(field("lowBalanceAlertCount"), "low_balance_alert_count", f.LowBalanceAlertCount)
	w.id(field("lastAutomaticRefillInvoiceId"), "last_automatic_refill_invoice_id", f.LastAutomaticRefillInvoiceID)
	w.bool("international_calling", f.InternationalCalling)
	w.string(field("createdByIP"), "host(created_by_ip)", f.CreatedByIP)
	w.bool("call_debug", f.CallDebug)
	w.bool("media_bypass", f.MediaBypass)
	w.bool("account_lock", f.AccountLock)
	w.bool("call_recording", f.CallRecording)
	w.int(field("cdrRetention"), "cdr_retention", f.CDRRetention)
	w.bool("cnam_look_ups", f.CnamLookUps)
	w.bool("hold_music", f.HoldMusic)
	w.bool("transcribe_calls", f.TranscribeCalls)
	w.int(field("maxOutboundCallRate"), "max_outbound_call_rate", f.MaxOutboundCallRate)
	enumFilter(w, field("defaultBillMethod"), "default_bill_method", f.DefaultBillMethod)
	w.int(field("version"), "version", f.Version)
	w.time(field("createdAt"), "created_at", f.CreatedAt)
	w.time(field("updatedAt"), "updated_at", f.UpdatedAt)
	combine(w, path, depth, f.And, f.Or, f.Not, buildCustomerWhere)
}

// CustomerOrderField is a column customers can be sorted by; each has an index
// ending in id (the primary key for ID).
type CustomerOrderField string

// The sortable customer fields.
const (
	CustomerOrderName      CustomerOrderField = "NAME"
	CustomerOrderStatus    CustomerOrderField = "STATUS"
	CustomerOrderCredit    CustomerOrderField = "CREDIT"
	CustomerOrderCreatedAt CustomerOrderField = "CREATED_AT"
	CustomerOrderUpdatedAt CustomerOrderField = "UPDATED_AT"
	CustomerOrderID        CustomerOrderField = "ID"
)

// IsValid reports whether f is a sortable field.
func (f CustomerOrderField) IsValid() bool { _, ok := customerSortKeys[f]; return ok }

// MarshalGQL writes the enum value.
func (f CustomerOrderField) MarshalGQL(w io.Writer) { writeEnum(w, string(f)) }

// UnmarshalGQL reads and checks an enum value.
func (f *CustomerOrderField) UnmarshalGQL(v any) error {
	return readEnum(v, f, "CustomerOrderField")
}

// CustomerOrder is one sort key of a customers list.
type CustomerOrder struct {
	Field     CustomerOrderField
	Direction OrderDirection
}

var customerSortKeys = map[CustomerOrderField]sortKey[Customer]{
	CustomerOrderName:      {column: "name", kind: keyText, value: func(c *Customer) any { return c.Name }},
	CustomerOrderStatus:    {column: "status", kind: keyText, value: func(c *Customer) any { return string(c.Status) }},
	CustomerOrderCredit:    {column: "credit", kind: keyInt, value: func(c *Customer) any { return c.Credit }},
	CustomerOrderCreatedAt: {column: "created_at", kind: keyTime, value: func(c *Customer) any { return c.CreatedAt }},
	CustomerOrderUpdatedAt: {column: "updated_at", kind: keyTime, value: func(c *Customer) any { return c.UpdatedAt }},
	CustomerOrderID:        customerIDKey,
}

var customerIDKey = sortKey[Customer]{name: "ID", column: "id", kind: keyID, value: func(c *Customer) any { return c.ID }}

func customerOrdering(order []CustomerOrder) ordering[Customer] {
	return makeOrdering(order, customerSortKeys, customerIDKey, func(o CustomerOrder) (CustomerOrderField, OrderDirection) { return o.Field, o.Direction })
}
