package client

import (
	"errors"
	"fmt"
	"strings"

	"github.com/Khan/genqlient/graphql"
	"github.com/vektah/gqlparser/v2/gqlerror"
)

// The extensions.code values a caller acts on; schema.graphqls says which operation
// gives which.
const (
	// CodeBadUserInput: an argument is invalid; Field names it ("patch.cdrRetention").
	CodeBadUserInput = "BAD_USER_INPUT"
	// CodeNotFound: no such record, or one the caller may not see.
	CodeNotFound = "NOT_FOUND"
	// CodeConflict: expectedVersion is not the record's version, or the change
	// contradicts the stored data (an email in use, a user still linked).
	CodeConflict = "CONFLICT"
	// CodeForbidden: the caller may not do this; Field names a field it may not write.
	CodeForbidden = "FORBIDDEN"
	// CodeUnauthenticated: the token is missing, unknown, revoked or expired.
	CodeUnauthenticated = "UNAUTHENTICATED"
)

// Error is one GraphQL error of an answer, with the server's extensions.
type Error struct {
	Message string
	// Code is extensions.code (one of the Code constants, or another the server
	// gives, e.g. RATE_LIMITED, INTERNAL_SERVER_ERROR).
	Code string
	// Field is extensions.field: the argument an input error is about, as a path
	// ("patch.automaticRefillAmount", "input.name", "id"); empty when none.
	Field string
	// Path is where in the answer's data the error is ("customerPatch"); empty for
	// a request refused as a whole.
	Path string
	// RequestID is extensions.requestId of an internal error: what the API's
	// operators find it by in their logs.
	RequestID string
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.Code)
	if e.Field != "" {
		fmt.Fprintf(&b, " %s", e.Field)
	}
	fmt.Fprintf(&b, ": %s", e.Message)
	if e.RequestID != "" {
		fmt.Fprintf(&b, " (request %s)", e.RequestID)
	}
	return b.String()
}

// Errors is every error of one answer, in the server's order. errors.As(err, &e)
// with e an *Error finds the first; errors.As(err, &list) with list an Errors finds
// them all (an invalid patch reports each invalid field).
type Errors []*Error

func (l Errors) Error() string {
	msgs := make([]string, len(l))
	for i, e := range l {
		msgs[i] = e.Error()
	}
	return strings.Join(msgs, "; ")
}

// Unwrap gives errors.Is and errors.As each error.
func (l Errors) Unwrap() []error {
	errs := make([]error, len(l))
	for i, e := range l {
		errs[i] = e
	}
	return errs
}

// typedErrors turns the GraphQL errors genqlient returns, as gqlerror.List or
// inside an HTTP error (the server answers 4xx and 5xx with GraphQL errors too, e.g.
// 401 UNAUTHENTICATED, 429 RATE_LIMITED), into Errors. Other errors pass unchanged:
// transport failures, and an HTTP error whose body is not the server's GraphQL
// answer (a proxy's 502 page), which genqlient reports as one error without a code.
func typedErrors(err error) error {
	var list gqlerror.List
	var httpErr *graphql.HTTPError
	switch {
	case errors.As(err, &list):
	case errors.As(err, &httpErr) && hasCodes(httpErr.Response.Errors):
		list = httpErr.Response.Errors
	default:
		return err
	}
	out := make(Errors, len(list))
	for i, g := range list {
		out[i] = &Error{
			Message:   g.Message,
			Code:      extension(g, "code"),
			Field:     extension(g, "field"),
			Path:      g.Path.String(),
			RequestID: extension(g, "requestId"),
		}
	}
	return out
}

func hasCodes(list gqlerror.List) bool {
	for _, g := range list {
		if extension(g, "code") == "" {
			return false
		}
	}
	return len(list) > 0
}

func extension(g *gqlerror.Error, key string) string {
	s, _ := g.Extensions[key].(string)
	return s
}
