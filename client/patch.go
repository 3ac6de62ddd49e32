package client

import (
	"encoding/json"

	"github.com/cloudcomms/customers/models"
)

// CustomerPatch is the GraphQL input CustomerPatch, written by hand because a patch
// field has three states and genqlient's types have two: left out (unchanged), set,
// and, for the fields null clears, null. A field whose zero value is left out:
//
//   - a pointer (*int, *bool, …) for a field that cannot be null: nil is left out;
//   - a Nullable for a field that null clears: Set(v) sets it, Null clears it.
//
// For example, CustomerPatch{AutomaticRefillAmount: new(5000), AdminUserId:
// Null[models.ObjectID]()} sets the refill amount, unlinks the admin user and leaves
// everything else as it is. TestCustomerPatchMatchesSchema keeps the fields in step
// with schema.graphqls.
type CustomerPatch struct {
	// 1 to 45 characters after trimming.
	Name *string `json:"name,omitempty"`
	// Absolute http or https URL, at most 255 characters; null (or "") clears it.
	WebsiteUrl Nullable[string] `json:"websiteUrl,omitzero"`
	// Absolute http or https URL, at most 255 characters; null (or "") clears it.
	Logo Nullable[string] `json:"logo,omitzero"`
	// Credit balance; may be negative. Platform staff only.
	Credit *int `json:"credit,omitempty"`
	// A user of this customer; null clears the link.
	AdminUserId Nullable[models.ObjectID] `json:"adminUserId,omitzero"`
	// A user of this customer; null clears the link.
	BillingUserId Nullable[models.ObjectID] `json:"billingUserId,omitzero"`
	// A user of this customer; null clears the link.
	CallRecordingUserId Nullable[models.ObjectID] `json:"callRecordingUserId,omitzero"`
	// A user of this customer; null clears the link.
	SupportUserId Nullable[models.ObjectID] `json:"supportUserId,omitzero"`
	// 0 or more; 0 turns automatic refills off.
	AutomaticRefillAmount *int `json:"automaticRefillAmount,omitempty"`
	// 0 or more.
	LowBalanceAlertAmount *int  `json:"lowBalanceAlertAmount,omitempty"`
	InternationalCalling  *bool `json:"internationalCalling,omitempty"`
	MediaBypass           *bool `json:"mediaBypass,omitempty"`
	AccountLock           *bool `json:"accountLock,omitempty"`
	CallRecording         *bool `json:"callRecording,omitempty"`
	// Months; 0 or more.
	CdrRetention *int  `json:"cdrRetention,omitempty"`
	CnamLookUps  *bool `json:"cnamLookUps,omitempty"`
	HoldMusic    *bool `json:"holdMusic,omitempty"`
	// Null clears it.
	TranscribeCalls Nullable[bool] `json:"transcribeCalls,omitzero"`
	// 0 or more.
	MaxOutboundCallRate *int        `json:"maxOutboundCallRate,omitempty"`
	DefaultBillMethod   *BillMethod `json:"defaultBillMethod,omitempty"`
}

// Nullable is a patch field that null clears. Its zero value is left out of the
// request (encoding/json's omitzero calls IsZero); Set and Null make one that is sent.
type Nullable[T any] struct {
	value *T // nil: null
	sent  bool
}

// Set returns a Nullable that sets the field to v.
func Set[T any](v T) Nullable[T] { return Nullable[T]{value: &v, sent: true} }

// Null returns a Nullable that clears the field.
func Null[T any]() Nullable[T] { return Nullable[T]{sent: true} }

// IsZero reports whether the field is left out.
func (n Nullable[T]) IsZero() bool { return !n.sent }

// MarshalJSON writes the value, or null.
func (n Nullable[T]) MarshalJSON() ([]byte, error) { return json.Marshal(n.value) }
