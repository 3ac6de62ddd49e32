package models

import (
	"errors"
	"fmt"
	"slices"
	"strings"
)

// Kind classifies an error for the client; the graph package maps each kind to the
// spec's extensions.code in one place.
type Kind int

// The error kinds, named after the spec's codes.
const (
	Internal Kind = iota
	Invalid
	NotFound
	Conflict
	Unauthenticated
	Forbidden
	// TooManySubscriptions refuses a subscription past a caller's limit.
	TooManySubscriptions
	// EventsMissed ends a subscription that lost events: the server's connection to
	// the database was lost, or the client read more slowly than they came.
	EventsMissed
	// ShuttingDown ends a subscription because its server is stopping: subscribe
	// again, to another instance.
	ShuttingDown
)

// Code returns the GraphQL extensions.code of the kind.
func (k Kind) Code() string {
	switch k {
	case Invalid:
		return "BAD_USER_INPUT"
	case NotFound:
		return "NOT_FOUND"
	case Conflict:
		return "CONFLICT"
	case Unauthenticated:
		return "UNAUTHENTICATED"
	case Forbidden:
		return "FORBIDDEN"
	case TooManySubscriptions:
		return "SUBSCRIPTION_LIMIT_EXCEEDED"
	case EventsMissed:
		return "EVENTS_MISSED"
	case ShuttingDown:
		return "SHUTTING_DOWN"
	default:
		return "INTERNAL_SERVER_ERROR"
	}
}

// Error is an error the client may see: a kind, a message, and for input errors the
// path of the offending field ("input.name", "patch.websiteUrl", "after").
type Error struct {
	Kind    Kind
	Field   string
	Message string
	// Probe says that the refusal answers a question about data the caller cannot
	// see, such as whether an email is used by another tenant; the HTTP layer counts
	// it against the caller's failed attempts.
	Probe bool
}

func (e *Error) Error() string {
	if e.Field != "" {
		return e.Field + ": " + e.Message
	}
	return e.Message
}

// Errorf returns an *Error of the given kind.
func Errorf(kind Kind, format string, args ...any) *Error {
	return &Error{Kind: kind, Message: fmt.Sprintf(format, args...)}
}

// FieldError returns an Invalid error naming a field.
func FieldError(field, format string, args ...any) *Error {
	return &Error{Kind: Invalid, Field: field, Message: fmt.Sprintf(format, args...)}
}

// ErrorKind returns the kind of err, Internal when err is no *Error.
func ErrorKind(err error) Kind {
	if e, ok := errors.AsType[*Error](err); ok {
		return e.Kind
	}
	return Internal
}

// ValidationErrors holds every invalid field of one input, so that the client learns
// of all of them in one response.
type ValidationErrors []*Error

func (v ValidationErrors) Error() string {
	msgs := make([]string, len(v))
	for i, e := range v {
		msgs[i] = e.Error()
	}
	return strings.Join(msgs, "; ")
}

// add records an invalid field.
func (v *ValidationErrors) add(field, format string, args ...any) {
	*v = append(*v, FieldError(field, format, args...))
}

// err returns nil when nothing was recorded, so callers can return it directly.
func (v ValidationErrors) err() error {
	if len(v) == 0 {
		return nil
	}
	return v
}

// joinInvalid returns the invalid fields of err, a validation result (nil,
// ValidationErrors or one Invalid *Error), followed by more, so that the client
// learns of all of them in one response. Any other error is returned as it is.
func joinInvalid(err error, more ValidationErrors) error {
	var list ValidationErrors
	var one *Error
	switch {
	case len(more) == 0:
		return err
	case err == nil:
		return more
	case errors.As(err, &list):
		return append(slices.Clip(list), more...)
	case errors.As(err, &one) && one.Kind == Invalid:
		return append(ValidationErrors{one}, more...)
	}
	return err
}

// WithFieldPrefix prefixes the field path of every *Error in err with prefix and a
// dot, so that rules written for an input type can report the argument they came in
// ("name" becomes "input.name"); each keeps its kind, message and Probe. Other errors
// are returned unchanged.
func WithFieldPrefix(err error, prefix string) error {
	prefixed := func(e *Error) *Error {
		c := *e
		if c.Field == "" {
			c.Field = prefix
		} else {
			c.Field = prefix + "." + c.Field
		}
		return &c
	}
	var list ValidationErrors
	if errors.As(err, &list) {
		out := make(ValidationErrors, len(list))
		for i, e := range list {
			out[i] = prefixed(e)
		}
		return out
	}
	var e *Error
	if errors.As(err, &e) && e.Kind == Invalid {
		return prefixed(e)
	}
	return err
}
