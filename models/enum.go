package models

import (
	"fmt"
	"io"
	"slices"
	"strconv"
)

// CustomerStatus is the lifecycle state of a customer account.
type CustomerStatus string

// The customer statuses; stored as these strings.
const (
	CustomerActive     CustomerStatus = "ACTIVE"
	CustomerSuspended  CustomerStatus = "SUSPENDED"
	CustomerTerminated CustomerStatus = "TERMINATED"
	CustomerFraud      CustomerStatus = "FRAUD"
)

// CustomerStatuses lists every customer status.
var CustomerStatuses = []CustomerStatus{CustomerActive, CustomerSuspended, CustomerTerminated, CustomerFraud}

// BillMethod is how a customer's calls are paid for.
type BillMethod string

// The bill methods; stored as these strings.
const (
	BillCredit        BillMethod = "CREDIT"
	BillPaymentMethod BillMethod = "PAYMENTMETHOD"
)

// BillMethods lists every bill method.
var BillMethods = []BillMethod{BillCredit, BillPaymentMethod}

// OrderDirection is the direction of one sort key.
type OrderDirection string

// The sort directions.
const (
	Asc  OrderDirection = "ASC"
	Desc OrderDirection = "DESC"
)

// OrderDirections lists both directions.
var OrderDirections = []OrderDirection{Asc, Desc}

func (CustomerStatus) values() []CustomerStatus { return CustomerStatuses }

func (BillMethod) values() []BillMethod { return BillMethods }

// IsValid reports whether s is a known status.
func (s CustomerStatus) IsValid() bool { return slices.Contains(CustomerStatuses, s) }

// IsValid reports whether m is a known bill method.
func (m BillMethod) IsValid() bool { return slices.Contains(BillMethods, m) }

// IsValid reports whether d is a known direction.
func (d OrderDirection) IsValid() bool { return slices.Contains(OrderDirections, d) }

// MarshalGQL writes the enum value.
func (s CustomerStatus) MarshalGQL(w io.Writer) { writeEnum(w, string(s)) }

// UnmarshalGQL reads and checks an enum value.
func (s *CustomerStatus) UnmarshalGQL(v any) error { return readEnum(v, s, "CustomerStatus") }

// MarshalGQL writes the enum value.
func (m BillMethod) MarshalGQL(w io.Writer) { writeEnum(w, string(m)) }

// UnmarshalGQL reads and checks an enum value.
func (m *BillMethod) UnmarshalGQL(v any) error { return readEnum(v, m, "BillMethod") }

// MarshalGQL writes the enum value.
func (d OrderDirection) MarshalGQL(w io.Writer) { writeEnum(w, string(d)) }

// UnmarshalGQL reads and checks an enum value.
func (d *OrderDirection) UnmarshalGQL(v any) error { return readEnum(v, d, "OrderDirection") }

// enum is a string enum type that knows its values.
type enum interface {
	~string
	IsValid() bool
}

func writeEnum(w io.Writer, s string) { _, _ = io.WriteString(w, strconv.Quote(s)) }

func readEnum[E enum](v any, dst *E, name string) error {
	s, ok := v.(string)
	if !ok || !E(s).IsValid() {
		return Errorf(Invalid, "%s", fmt.Sprintf("%v is not a valid %s", v, name))
	}
	*dst = E(s)
	return nil
}
