package models

import (
	"net/netip"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"
)

// Customer is one customer account: billing balance, refill and alert settings,
// telephony switches and the users linked to it. Fields mirror the customers table.
type Customer struct {
	ID                           ObjectID       `gorm:"column:id;primaryKey" json:"id"`
	Name                         string         `gorm:"column:name" json:"name"`
	Status                       CustomerStatus `gorm:"column:status" json:"status"`
	WebsiteURL                   *string        `gorm:"column:website_url" json:"websiteUrl"`
	Logo                         *string        `gorm:"column:logo" json:"logo"`
	Credit                       int32          `gorm:"column:credit" json:"credit"`
	AdminUserID                  *ObjectID      `gorm:"column:admin_user_id" json:"adminUserId"`
	BillingUserID                *ObjectID      `gorm:"column:billing_user_id" json:"billingUserId"`
	CallRecordingUserID          *ObjectID      `gorm:"column:call_recording_user_id" json:"callRecordingUserId"`
	SupportUserID                *ObjectID      `gorm:"column:support_user_id" json:"supportUserId"`
	CallForwardingCallLimit      int32          `gorm:"column:call_forwarding_call_limit" json:"callForwardingCallLimit"`
	AutomaticRefillAmount        int32          `gorm:"column:automatic_refill_amount" json:"automaticRefillAmount"`
	LowBalanceAlertAmount        int32          `gorm:"column:low_balance_alert_amount" json:"lowBalanceAlertAmount"`
	LowBalanceAlertAt            *time.Time     `gorm:"column:low_balance_alert_at" json:"lowBalanceAlertAt"`
	LowBalanceAlertCount         int32          `gorm:"column:low_balance_alert_count" json:"lowBalanceAlertCount"`
	LastAutomaticRefillInvoiceID *ObjectID      `gorm:"column:last_automatic_refill_invoice_id" json:"lastAutomaticRefillInvoiceId"`
	InternationalCalling         bool           `gorm:"column:international_calling" json:"internationalCalling"`
	CreatedByIP                  *string        `gorm:"column:created_by_ip" json:"createdByIP"`
	CallDebug                    bool           `gorm:"column:call_debug" json:"callDebug"`
	MediaBypass                  bool           `gorm:"column:media_bypass" json:"mediaBypass"`
	AccountLock                  bool           `gorm:"column:account_lock" json:"accountLock"`
	CallRecording                bool           `gorm:"column:call_recording" json:"callRecording"`
	CDRRetention                 int32          `gorm:"column:cdr_retention" json:"cdrRetention"`
	CnamLookUps                  bool           `gorm:"column:cnam_look_ups" json:"cnamLookUps"`
	HoldMusic                    bool           `gorm:"column:hold_music" json:"holdMusic"`
	TranscribeCalls              *bool          `gorm:"column:transcribe_calls" json:"transcribeCalls"`
	MaxOutboundCallRate          int32          `gorm:"column:max_outbound_call_rate" json:"maxOutboundCallRate"`
	DefaultBillMethod            BillMethod     `gorm:"column:default_bill_method" json:"defaultBillMethod"`
	Version                      int32          `gorm:"column:version" json:"version"`
	CreatedAt                    time.Time      `gorm:"column:created_at;autoCreateTime:false" json:"createdAt"`
	UpdatedAt                    time.Time      `gorm:"column:updated_at;autoUpdateTime:false" json:"updatedAt"`
	CreatedByID                  *ObjectID      `gorm:"column:created_by_id" json:"createdById"`
	UpdatedByID                  *ObjectID      `gorm:"column:updated_by_id" json:"updatedById"`

	// The linked records, filled in only when a request selects them (by the
	// GraphQL layer, in one read per kind of record for a whole page). Nil for no
	// link, a deleted record or one the caller may not see. Not stored: the ids
	// above are the links.
	AdminUser                  *User    `gorm:"-" json:"-"`
	BillingUser                *User    `gorm:"-" json:"-"`
	CallRecordingUser          *User    `gorm:"-" json:"-"`
	SupportUser                *User    `gorm:"-" json:"-"`
	CreatedBy                  *User    `gorm:"-" json:"-"`
	UpdatedBy                  *User    `gorm:"-" json:"-"`
	LastAutomaticRefillInvoice *Invoice `gorm:"-" json:"-"`
}

// TableName tells GORM the table.
func (Customer) TableName() string { return "customers" }

// Limits of the customer's text fields, in characters.
const (
	MaxNameLength = 45
	MaxURLLength  = 255
)

// Opt is one field of an input: whether the client gave it (Set), and if so whether
// it gave null (Null) or a value. Absent, null, false and 0 are all different.
type Opt[T any] struct {
	Set   bool
	Null  bool
	Value T
}

// Some returns a given, non-null value.
func Some[T any](v T) Opt[T] { return Opt[T]{Set: true, Value: v} }

// CustomerInput holds the writable fields of a customer, as given to customerCreate
// (absent fields take their defaults) or customerPatch (absent fields stay as they are).
type CustomerInput struct {
	Name                  Opt[string]
	WebsiteURL            Opt[string]
	Logo                  Opt[string]
	Credit                Opt[int32]
	AdminUserID           Opt[ObjectID]
	BillingUserID         Opt[ObjectID]
	CallRecordingUserID   Opt[ObjectID]
	SupportUserID         Opt[ObjectID]
	AutomaticRefillAmount Opt[int32]
	LowBalanceAlertAmount Opt[int32]
	InternationalCalling  Opt[bool]
	CreatedByIP           Opt[string]
	MediaBypass           Opt[bool]
	AccountLock           Opt[bool]
	CallRecording         Opt[bool]
	CDRRetention          Opt[int32]
	CnamLookUps           Opt[bool]
	HoldMusic             Opt[bool]
	TranscribeCalls       Opt[bool]
	MaxOutboundCallRate   Opt[int32]
	DefaultBillMethod     Opt[BillMethod]
}

// customerUserLinks are the customer's links to its own users: column, API field,
// and where each lives in a Customer and a CustomerInput.
var customerUserLinks = []struct {
	column, field string
	ptr           func(*Customer) **ObjectID
	input         func(*CustomerInput) Opt[ObjectID]
}{
	{"admin_user_id", "adminUserId", func(c *Customer) **ObjectID { return &c.AdminUserID }, func(in *CustomerInput) Opt[ObjectID] { return in.AdminUserID }},
	{"billing_user_id", "billingUserId", func(c *Customer) **ObjectID { return &c.BillingUserID }, func(in *CustomerInput) Opt[ObjectID] { return in.BillingUserID }},
	{"call_recording_user_id", "callRecordingUserId", func(c *Customer) **ObjectID { return &c.CallRecordingUserID }, func(in *CustomerInput) Opt[ObjectID] { return in.CallRecordingUserID }},
	{"support_user_id", "supportUserId", func(c *Customer) **ObjectID { return &c.SupportUserID }, func(in *CustomerInput) Opt[ObjectID] { return in.SupportUserID }},
}

// givenFields names, in API terms, the fields given in in.
func (in *CustomerInput) givenFields() []string {
	var out []string
	for _, f := range []struct {
		name string
		set  bool
	}{
		{"name", in.Name.Set}, {"websiteUrl", in.WebsiteURL.Set}, {"logo", in.Logo.Set}, {"credit", in.Credit.Set},
		{"adminUserId", in.AdminUserID.Set}, {"billingUserId", in.BillingUserID.Set},
		{"callRecordingUserId", in.CallRecordingUserID.Set}, {"supportUserId", in.SupportUserID.Set},
		{"automaticRefillAmount", in.AutomaticRefillAmount.Set}, {"lowBalanceAlertAmount", in.LowBalanceAlertAmount.Set},
		{"internationalCalling", in.InternationalCalling.Set}, {"createdByIP", in.CreatedByIP.Set},
		{"mediaBypass", in.MediaBypass.Set}, {"accountLock", in.AccountLock.Set}, {"callRecording", in.CallRecording.Set},
		{"cdrRetention", in.CDRRetention.Set}, {"cnamLookUps", in.CnamLookUps.Set}, {"holdMusic", in.HoldMusic.Set},
		{"transcribeCalls", in.TranscribeCalls.Set}, {"maxOutboundCallRate", in.MaxOutboundCallRate.Set},
		{"defaultBillMethod", in.DefaultBillMethod.Set},
	} {
		if f.set {
			out = append(out, f.name)
		}
	}
	return out
}

// linkedUserIDs returns the user ids that in links to, by API field.
func (in *CustomerInput) linkedUserIDs() map[string]ObjectID {
	out := map[string]ObjectID{}
	for _, l := range customerUserLinks {
		if o := l.input(in); o.Set && !o.Null {
			out[l.field] = o.Value
		}
	}
	return out
}

// NewCustomer returns a customer built from in with the spec's defaults for every
// field not given, or ValidationErrors naming every invalid field. ip is the caller's
// address, used for createdByIP when the input does not give it.
func NewCustomer(in CustomerInput, ip netip.Addr) (*Customer, error) {
	c := &Customer{
		ID:                      NewObjectID(),
		Status:                  CustomerActive,
		CallForwardingCallLimit: 10,
		AccountLock:             true,
		CDRRetention:            12,
		MaxOutboundCallRate:     1,
		DefaultBillMethod:       BillCredit,
		Version:                 1,
	}
	if ip.IsValid() {
		s := ip.Unmap().String()
		c.CreatedByIP = &s
	}
	var errs ValidationErrors
	if !in.Name.Set {
		errs.add("name", "is required")
	}
	changes := in.changes(&errs, true)
	if err := errs.err(); err != nil {
		return nil, err
	}
	for _, ch := range changes {
		ch.apply(c)
	}
	return c, nil
}

// PatchColumns validates a customerPatch input and returns the columns it sets, by
// column name, ready for one UPDATE. An empty patch is an error.
func (in CustomerInput) PatchColumns() (map[string]any, error) {
	var errs ValidationErrors
	if in.CreatedByIP.Set {
		errs.add("createdByIP", "is set on create only")
	}
	return patchColumns(in.changes(&errs, false), errs)
}

// change is one validated field of an input: its column, the value to store, and how
// to set it on a new record.
type change[T any] struct {
	column string
	value  any
	apply  func(*T)
}

// patchColumns returns the columns that changes set, or errs when there are any; a
// patch with no change is an error (the source API demands at least one property).
func patchColumns[T any](changes []change[T], errs ValidationErrors) (map[string]any, error) {
	if err := errs.err(); err != nil {
		return nil, err
	}
	if len(changes) == 0 {
		return nil, Errorf(Invalid, "a patch must set at least one field")
	}
	cols := make(map[string]any, len(changes))
	for _, ch := range changes {
		cols[ch.column] = ch.value
	}
	return cols, nil
}

// changes validates every given field of in and returns one change per field.
// onCreate allows createdByIP, which is written only on create.
func (in CustomerInput) changes(errs *ValidationErrors, onCreate bool) []change[Customer] {
	var out []change[Customer]
	add := func(col string, v any, apply func(*Customer)) {
		out = append(out, change[Customer]{column: col, value: v, apply: apply})
	}
	if v, ok := requiredText(errs, "name", in.Name); ok {
		add("name", v, func(c *Customer) { c.Name = v })
	}
	if v, ok := urlField(errs, "websiteUrl", in.WebsiteURL); ok {
		add("website_url", v, func(c *Customer) { c.WebsiteURL = v })
	}
	if v, ok := urlField(errs, "logo", in.Logo); ok {
		add("logo", v, func(c *Customer) { c.Logo = v })
	}
	if v, ok := number(errs, "credit", in.Credit, false); ok {
		add("credit", v, func(c *Customer) { c.Credit = v })
	}
	for _, l := range customerUserLinks {
		if o := l.input(&in); o.Set {
			v := nullable(o)
			if v != nil && onCreate {
				errs.add(l.field, "cannot name a user on create: a new customer has no users yet; link one with customerPatch")
				continue
			}
			add(l.column, v, func(c *Customer) { *l.ptr(c) = v })
		}
	}
	if v, ok := number(errs, "automaticRefillAmount", in.AutomaticRefillAmount, true); ok {
		add("automatic_refill_amount", v, func(c *Customer) { c.AutomaticRefillAmount = v })
	}
	if v, ok := number(errs, "lowBalanceAlertAmount", in.LowBalanceAlertAmount, true); ok {
		add("low_balance_alert_amount", v, func(c *Customer) { c.LowBalanceAlertAmount = v })
	}
	if v, ok := number(errs, "cdrRetention", in.CDRRetention, true); ok {
		add("cdr_retention", v, func(c *Customer) { c.CDRRetention = v })
	}
	if v, ok := number(errs, "maxOutboundCallRate", in.MaxOutboundCallRate, true); ok {
		add("max_outbound_call_rate", v, func(c *Customer) { c.MaxOutboundCallRate = v })
	}
	for _, s := range []struct {
		field, column string
		opt           Opt[bool]
		dst           func(*Customer) *bool
	}{
		{"internationalCalling", "international_calling", in.InternationalCalling, func(c *Customer) *bool { return &c.InternationalCalling }},
		{"mediaBypass", "media_bypass", in.MediaBypass, func(c *Customer) *bool { return &c.MediaBypass }},
		{"accountLock", "account_lock", in.AccountLock, func(c *Customer) *bool { return &c.AccountLock }},
		{"callRecording", "call_recording", in.CallRecording, func(c *Customer) *bool { return &c.CallRecording }},
		{"cnamLookUps", "cnam_look_ups", in.CnamLookUps, func(c *Customer) *bool { return &c.CnamLookUps }},
		{"holdMusic", "hold_music", in.HoldMusic, func(c *Customer) *bool { return &c.HoldMusic }},
	} {
		if v, ok := required(errs, s.field, s.opt); ok {
			add(s.column, v, func(c *Customer) { *s.dst(c) = v })
		}
	}
	if in.TranscribeCalls.Set {
		v := nullable(in.TranscribeCalls)
		add("transcribe_calls", v, func(c *Customer) { c.TranscribeCalls = v })
	}
	if v, ok := required(errs, "defaultBillMethod", in.DefaultBillMethod); ok {
		add("default_bill_method", v, func(c *Customer) { c.DefaultBillMethod = v })
	}
	if onCreate {
		if v, ok := ipField(errs, "createdByIP", in.CreatedByIP); ok {
			add("created_by_ip", v, func(c *Customer) { c.CreatedByIP = v })
		}
	}
	return out
}

// required returns the value of a given field that may not be null.
func required[T any](errs *ValidationErrors, field string, o Opt[T]) (T, bool) {
	if o.Set && o.Null {
		errs.add(field, "must not be null")
	}
	return o.Value, o.Set && !o.Null
}

// nullable returns a given field's value, nil for null.
func nullable[T any](o Opt[T]) *T {
	if o.Null {
		return nil
	}
	v := o.Value
	return &v
}

// requiredText trims a required text field and checks its length.
func requiredText(errs *ValidationErrors, field string, o Opt[string]) (string, bool) {
	v, ok := required(errs, field, o)
	if !ok {
		return "", false
	}
	v = strings.TrimSpace(v)
	switch n := utf8.RuneCountInString(v); {
	case n == 0:
		errs.add(field, "must not be blank")
	case n > MaxNameLength:
		errs.add(field, "must be at most %d characters (got %d)", MaxNameLength, n)
	default:
		return v, true
	}
	return "", false
}

// number checks an int32 field that may not be null and, when nonNegative, not below 0.
func number(errs *ValidationErrors, field string, o Opt[int32], nonNegative bool) (int32, bool) {
	v, ok := required(errs, field, o)
	if ok && nonNegative && v < 0 {
		errs.add(field, "must be 0 or more (got %d)", v)
		return 0, false
	}
	return v, ok
}

// urlField trims a nullable URL field; blank means null. A value must be an absolute
// http or https URL of at most MaxURLLength characters.
func urlField(errs *ValidationErrors, field string, o Opt[string]) (*string, bool) {
	if !o.Set {
		return nil, false
	}
	v := strings.TrimSpace(o.Value)
	if o.Null || v == "" {
		return nil, true
	}
	if n := utf8.RuneCountInString(v); n > MaxURLLength {
		errs.add(field, "must be at most %d characters (got %d)", MaxURLLength, n)
		return nil, false
	}
	u, err := url.Parse(v)
	if err != nil || (!strings.EqualFold(u.Scheme, "http") && !strings.EqualFold(u.Scheme, "https")) ||
		u.Host == "" || u.Hostname() == "" || strings.ContainsAny(v, " \t\r\n") {
		errs.add(field, "must be an absolute http or https URL")
		return nil, false
	}
	return &v, true
}

// ipField checks a nullable IP address field and stores its canonical form.
func ipField(errs *ValidationErrors, field string, o Opt[string]) (*string, bool) {
	if !o.Set {
		return nil, false
	}
	v := strings.TrimSpace(o.Value)
	if o.Null || v == "" {
		return nil, true
	}
	ip, err := netip.ParseAddr(v)
	if err != nil || ip.Zone() != "" {
		errs.add(field, "must be an IPv4 or IPv6 address")
		return nil, false
	}
	s := ip.Unmap().String()
	return &s, true
}
