package graph

import (
	"encoding/hex"
	"strconv"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"

	"github.com/cloudcomms/customers/models"
)

// The writers of plans: each appends the JSON of a value exactly as gqlgen's
// generated code marshals it.

// writeFunc appends the JSON of a selection on v to b.
type writeFunc[T any] func(b []byte, v *T) []byte

type fieldPlan[T any] struct {
	key   string // `"alias":`
	write writeFunc[T]
}

// compileObject compiles a selection on the object type typeName, whose model is
// T; field compiles one of its fields, false when plans do not cover it.
func compileObject[T any](c *graphql.OperationContext, sel ast.SelectionSet, typeName string, field func(graphql.CollectedField) (writeFunc[T], bool)) (writeFunc[T], bool) {
	var fields []fieldPlan[T]
	for _, f := range graphql.CollectFields(c, sel, []string{typeName}) {
		var w writeFunc[T]
		if f.Name == "__typename" {
			w = func(b []byte, _ *T) []byte { return appendString(b, typeName) }
		} else {
			var ok bool
			if w, ok = field(f); !ok {
				return nil, false
			}
		}
		fields = append(fields, fieldPlan[T]{key: objectKey(f.Alias), write: w})
	}
	return func(b []byte, v *T) []byte {
		b = append(b, '{')
		for i, f := range fields {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, f.key...)
			b = f.write(b, v)
		}
		return append(b, '}')
	}, true
}

// scalarFields compiles the fields of table, which need no selection.
func scalarFields[T any](table map[string]writeFunc[T]) func(graphql.CollectedField) (writeFunc[T], bool) {
	return func(f graphql.CollectedField) (writeFunc[T], bool) {
		w, ok := table[f.Name]
		return w, ok
	}
}

// selectionNames collects the names of the fields a plan selects on customers and
// on their linked users, to read only the columns those need.
type selectionNames struct{ customer, user map[string]bool }

func newSelectionNames() selectionNames {
	return selectionNames{customer: map[string]bool{}, user: map[string]bool{}}
}

// selection returns what linkCustomers and the stores need of names.
func (names selectionNames) selection() customerSelection {
	return customerSelection{fields: names.customer, columns: models.CustomerFields(names.customer), users: models.UserFields(names.user)}
}

// compileCustomer compiles a selection on Customer, and adds the names of the
// fields it selects to names.
func compileCustomer(c *graphql.OperationContext, sel ast.SelectionSet, names selectionNames) (writeFunc[models.Customer], bool) {
	scalars := scalarFields(customerScalars)
	userScalars := scalarFields(userScalars)
	userField := func(f graphql.CollectedField) (writeFunc[models.User], bool) {
		names.user[f.Name] = true
		return userScalars(f)
	}
	return compileObject(c, sel, "Customer", func(f graphql.CollectedField) (writeFunc[models.Customer], bool) {
		names.customer[f.Name] = true
		if w, ok := scalars(f); ok {
			return w, true
		}
		for _, link := range customerLinks {
			if link.field == f.Name {
				user, ok := compileObject(c, f.Selections, "User", userField)
				if !ok {
					return nil, false
				}
				return func(b []byte, v *models.Customer) []byte {
					if u := link.user(v); u != nil {
						return user(b, u)
					}
					return appendNull(b)
				}, true
			}
		}
		return nil, false
	})
}

// compileCustomerPage compiles a selection on CustomerConnection, and adds the
// names of the fields it selects on customers to names.
func compileCustomerPage(c *graphql.OperationContext, sel ast.SelectionSet, names selectionNames) (writeFunc[models.CustomerPage], bool) {
	return compileObject(c, sel, "CustomerConnection", func(f graphql.CollectedField) (writeFunc[models.CustomerPage], bool) {
		switch f.Name {
		case "edges":
			edge, ok := compileObject(c, f.Selections, "CustomerEdge", func(f graphql.CollectedField) (writeFunc[models.CustomerEdge], bool) {
				switch f.Name {
				case "cursor":
					return func(b []byte, e *models.CustomerEdge) []byte { return appendString(b, e.Cursor) }, true
				case "node":
					node, ok := compileCustomer(c, f.Selections, names)
					return func(b []byte, e *models.CustomerEdge) []byte { return node(b, e.Node) }, ok
				}
				return nil, false
			})
			return func(b []byte, p *models.CustomerPage) []byte {
				b = append(b, '[')
				for i := range p.Edges {
					if i > 0 {
						b = append(b, ',')
					}
					b = edge(b, &p.Edges[i])
				}
				return append(b, ']')
			}, ok
		case "nodes":
			node, ok := compileCustomer(c, f.Selections, names)
			return func(b []byte, p *models.CustomerPage) []byte {
				b = append(b, '[')
				for i := range p.Edges {
					if i > 0 {
						b = append(b, ',')
					}
					b = node(b, p.Edges[i].Node)
				}
				return append(b, ']')
			}, ok
		case "pageInfo":
			info, ok := compileObject(c, f.Selections, "PageInfo", scalarFields(pageInfoScalars))
			return func(b []byte, p *models.CustomerPage) []byte { return info(b, &p.PageInfo) }, ok
		}
		return nil, false
	})
}

var customerScalars = map[string]writeFunc[models.Customer]{
	"id":                           func(b []byte, c *models.Customer) []byte { return appendID(b, c.ID) },
	"name":                         func(b []byte, c *models.Customer) []byte { return appendString(b, c.Name) },
	"status":                       func(b []byte, c *models.Customer) []byte { return appendEnum(b, c.Status) },
	"websiteUrl":                   func(b []byte, c *models.Customer) []byte { return appendOptString(b, c.WebsiteURL) },
	"logo":                         func(b []byte, c *models.Customer) []byte { return appendOptString(b, c.Logo) },
	"credit":                       func(b []byte, c *models.Customer) []byte { return appendInt(b, c.Credit) },
	"adminUserId":                  func(b []byte, c *models.Customer) []byte { return appendOptID(b, c.AdminUserID) },
	"billingUserId":                func(b []byte, c *models.Customer) []byte { return appendOptID(b, c.BillingUserID) },
	"callRecordingUserId":          func(b []byte, c *models.Customer) []byte { return appendOptID(b, c.CallRecordingUserID) },
	"supportUserId":                func(b []byte, c *models.Customer) []byte { return appendOptID(b, c.SupportUserID) },
	"callForwardingCallLimit":      func(b []byte, c *models.Customer) []byte { return appendInt(b, c.CallForwardingCallLimit) },
	"automaticRefillAmount":        func(b []byte, c *models.Customer) []byte { return appendInt(b, c.AutomaticRefillAmount) },
	"lowBalanceAlertAmount":        func(b []byte, c *models.Customer) []byte { return appendInt(b, c.LowBalanceAlertAmount) },
	"lowBalanceAlertAt":            func(b []byte, c *models.Customer) []byte { return appendOptTime(b, c.LowBalanceAlertAt) },
	"lowBalanceAlertCount":         func(b []byte, c *models.Customer) []byte { return appendInt(b, c.LowBalanceAlertCount) },
	"lastAutomaticRefillInvoiceId": func(b []byte, c *models.Customer) []byte { return appendOptID(b, c.LastAutomaticRefillInvoiceID) },
	"internationalCalling":         func(b []byte, c *models.Customer) []byte { return strconv.AppendBool(b, c.InternationalCalling) },
	"createdByIP":                  func(b []byte, c *models.Customer) []byte { return appendOptString(b, c.CreatedByIP) },
	"callDebug":                    func(b []byte, c *models.Customer) []byte { return strconv.AppendBool(b, c.CallDebug) },
	"mediaBypass":                  func(b []byte, c *models.Customer) []byte { return strconv.AppendBool(b, c.MediaBypass) },
	"accountLock":                  func(b []byte, c *models.Customer) []byte { return strconv.AppendBool(b, c.AccountLock) },
	"callRecording":                func(b []byte, c *models.Customer) []byte { return strconv.AppendBool(b, c.CallRecording) },
	"cdrRetention":                 func(b []byte, c *models.Customer) []byte { return appendInt(b, c.CDRRetention) },
	"cnamLookUps":                  func(b []byte, c *models.Customer) []byte { return strconv.AppendBool(b, c.CnamLookUps) },
	"holdMusic":                    func(b []byte, c *models.Customer) []byte { return strconv.AppendBool(b, c.HoldMusic) },
	"transcribeCalls":              func(b []byte, c *models.Customer) []byte { return appendOptBool(b, c.TranscribeCalls) },
	"maxOutboundCallRate":          func(b []byte, c *models.Customer) []byte { return appendInt(b, c.MaxOutboundCallRate) },
	"defaultBillMethod":            func(b []byte, c *models.Customer) []byte { return appendEnum(b, c.DefaultBillMethod) },
	"version":                      func(b []byte, c *models.Customer) []byte { return appendInt(b, c.Version) },
	"createdAt":                    func(b []byte, c *models.Customer) []byte { return appendTime(b, c.CreatedAt) },
	"updatedAt":                    func(b []byte, c *models.Customer) []byte { return appendTime(b, c.UpdatedAt) },
}

var userScalars = map[string]writeFunc[models.User]{
	"id":                   func(b []byte, u *models.User) []byte { return appendID(b, u.ID) },
	"customerId":           func(b []byte, u *models.User) []byte { return appendID(b, u.CustomerID) },
	"email":                func(b []byte, u *models.User) []byte { return appendString(b, u.Email) },
	"first":                func(b []byte, u *models.User) []byte { return appendString(b, u.First) },
	"last":                 func(b []byte, u *models.User) []byte { return appendString(b, u.Last) },
	"status":               func(b []byte, u *models.User) []byte { return appendEnum(b, u.Status) },
	"adminPermission":      func(b []byte, u *models.User) []byte { return appendOptEnum(b, u.AdminPermission) },
	"billingPermission":    func(b []byte, u *models.User) []byte { return appendOptEnum(b, u.BillingPermission) },
	"superAdminPermission": func(b []byte, u *models.User) []byte { return appendOptEnum(b, u.SuperAdminPermission) },
	"version":              func(b []byte, u *models.User) []byte { return appendInt(b, u.Version) },
	"createdAt":            func(b []byte, u *models.User) []byte { return appendTime(b, u.CreatedAt) },
	"updatedAt":            func(b []byte, u *models.User) []byte { return appendTime(b, u.UpdatedAt) },
}

var pageInfoScalars = map[string]writeFunc[models.PageInfo]{
	"hasNextPage":     func(b []byte, p *models.PageInfo) []byte { return strconv.AppendBool(b, p.HasNextPage) },
	"hasPreviousPage": func(b []byte, p *models.PageInfo) []byte { return strconv.AppendBool(b, p.HasPreviousPage) },
	"startCursor":     func(b []byte, p *models.PageInfo) []byte { return appendOptString(b, p.StartCursor) },
	"endCursor":       func(b []byte, p *models.PageInfo) []byte { return appendOptString(b, p.EndCursor) },
}

// objectKey is the key of a field in an object, with its colon: aliases are names,
// which need no escaping.
func objectKey(alias string) string { return `"` + alias + `":` }

func appendNull(b []byte) []byte { return append(b, "null"...) }

// appendString appends s quoted as gqlgen's MarshalString quotes it.
func appendString(b []byte, s string) []byte {
	const hexDigits = "0123456789ABCDEF"
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x20 && c != '\\' && c != '"' {
			continue
		}
		b = append(b, s[start:i]...)
		switch c {
		case '\t':
			b = append(b, `\t`...)
		case '\r':
			b = append(b, `\r`...)
		case '\n':
			b = append(b, `\n`...)
		case '\\':
			b = append(b, `\\`...)
		case '"':
			b = append(b, `\"`...)
		default:
			b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
		}
		start = i + 1
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

func appendOptString(b []byte, s *string) []byte {
	if s == nil {
		return appendNull(b)
	}
	return appendString(b, *s)
}

func appendInt(b []byte, n int32) []byte { return strconv.AppendInt(b, int64(n), 10) }

func appendOptBool(b []byte, v *bool) []byte {
	if v == nil {
		return appendNull(b)
	}
	return strconv.AppendBool(b, *v)
}

func appendID(b []byte, id models.ObjectID) []byte {
	b = append(b, '"')
	b = hex.AppendEncode(b, id[:])
	return append(b, '"')
}

func appendOptID(b []byte, id *models.ObjectID) []byte {
	if id == nil {
		return appendNull(b)
	}
	return appendID(b, *id)
}

// appendEnum appends an enum value; the values are names, which need no escaping.
func appendEnum[E ~string](b []byte, v E) []byte {
	b = append(b, '"')
	b = append(b, v...)
	return append(b, '"')
}

func appendOptEnum[E ~string](b []byte, v *E) []byte {
	if v == nil {
		return appendNull(b)
	}
	return appendEnum(b, *v)
}

// appendTime appends t as gqlgen's MarshalTime does: RFC 3339 with nanoseconds,
// null for the zero time.
func appendTime(b []byte, t time.Time) []byte {
	if t.IsZero() {
		return appendNull(b)
	}
	b = append(b, '"')
	b = t.AppendFormat(b, time.RFC3339Nano)
	return append(b, '"')
}

func appendOptTime(b []byte, t *time.Time) []byte {
	if t == nil {
		return appendNull(b)
	}
	return appendTime(b, *t)
}
