package graph

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/errcode"
	"github.com/99designs/gqlgen/graphql/handler/extension"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"github.com/cloudcomms/customers/graph/generated"
	"github.com/cloudcomms/customers/models"
)

// Limits bound what one request may cost. Every limit is checked before any
// resolver runs; zero turns a limit off.
type Limits struct {
	// MaxBodyBytes is the largest request body; a larger one is answered 413.
	MaxBodyBytes int64
	// MaxTokens is the most lexical tokens a document may have. The parser stops
	// there, so a document of 10,000 aliases is refused before it is validated.
	MaxTokens int
	// MaxDepth is the deepest selection nesting (fragments followed).
	MaxDepth int
	// MaxFields is the most fields (aliases included) an operation may select.
	MaxFields int
	// MaxComplexity is the highest complexity: 1 per field, and a connection
	// counts its children once per row it may return (first or last, default 20).
	MaxComplexity int
	// Timeout is the most a request may run; its SQL is cancelled with it.
	Timeout time.Duration
}

// DefaultLimits are the limits when nothing else is configured.
var DefaultLimits = Limits{
	MaxBodyBytes: 1 << 20, MaxTokens: 15000, MaxDepth: 12, MaxFields: 500, MaxComplexity: 10000, Timeout: 10 * time.Second,
}

// withBodyLimit answers 413 when a request body is larger than max bytes.
func withBodyLimit(max int64, next http.Handler) http.Handler {
	if max <= 0 {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, max))
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			writeErrors(r.Context(), w, http.StatusRequestEntityTooLarge,
				fmt.Sprintf("the request body is larger than the limit of %d bytes", max), "REQUEST_TOO_LARGE", "")
			return
		}
		if err != nil {
			writeErrors(r.Context(), w, http.StatusBadRequest, "the request body could not be read", models.Invalid.Code(), "")
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		next.ServeHTTP(w, r)
	})
}

// withTimeout ends a request's context after d, which cancels its SQL.
func withTimeout(d time.Duration, next http.Handler) http.Handler {
	if d <= 0 {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), d)
		defer cancel()
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

// useLimits installs the document limits on a gqlgen server.
func useLimits(srv interface {
	Use(graphql.HandlerExtension)
	SetParserTokenLimit(int)
}, l Limits) {
	if l.MaxTokens > 0 {
		srv.SetParserTokenLimit(l.MaxTokens)
	}
	if l.MaxDepth > 0 || l.MaxFields > 0 {
		srv.Use(shapeLimit{maxDepth: l.MaxDepth, maxFields: l.MaxFields})
	}
	if l.MaxComplexity > 0 {
		srv.Use(extension.FixedComplexityLimit(l.MaxComplexity))
	}
}

// shapeLimit refuses operations that nest too deep or select too many fields.
type shapeLimit struct{ maxDepth, maxFields int }

// ExtensionName names the extension for gqlgen.
func (shapeLimit) ExtensionName() string { return "ShapeLimit" }

// Validate accepts every schema.
func (shapeLimit) Validate(graphql.ExecutableSchema) error { return nil }

// MutateOperationContext measures the operation before it runs.
func (s shapeLimit) MutateOperationContext(_ context.Context, oc *graphql.OperationContext) *gqlerror.Error {
	depth, fields := measure(oc.Operation.SelectionSet, oc.Doc.Fragments, 1, map[string]bool{})
	switch {
	case s.maxDepth > 0 && depth > s.maxDepth:
		return limitError("DEPTH_LIMIT_EXCEEDED", "the operation nests %d levels deep, more than the limit of %d", depth, s.maxDepth)
	case s.maxFields > 0 && fields > s.maxFields:
		return limitError("FIELD_LIMIT_EXCEEDED", "the operation selects %d fields, more than the limit of %d", fields, s.maxFields)
	}
	return nil
}

// measure returns the depth and the number of fields of a selection set, following
// fragment spreads (each fragment once per path, so a cycle cannot loop).
func measure(set ast.SelectionSet, fragments ast.FragmentDefinitionList, level int, seen map[string]bool) (depth, fields int) {
	for _, sel := range set {
		var d, f int
		switch sel := sel.(type) {
		case *ast.Field:
			if sel.Name == "__schema" || sel.Name == "__type" {
				continue // introspection: its size is the schema's, not the client's choice
			}
			d, f = level, 1
			if len(sel.SelectionSet) > 0 {
				cd, cf := measure(sel.SelectionSet, fragments, level+1, seen)
				d, f = max(d, cd), f+cf
			}
		case *ast.InlineFragment:
			d, f = measure(sel.SelectionSet, fragments, level, seen)
		case *ast.FragmentSpread:
			if def := fragments.ForName(sel.Name); def != nil && !seen[sel.Name] {
				seen[sel.Name] = true
				d, f = measure(def.SelectionSet, fragments, level, seen)
				delete(seen, sel.Name)
			}
		}
		depth, fields = max(depth, d), fields+f
	}
	return depth, fields
}

func limitError(code, format string, args ...any) *gqlerror.Error {
	err := gqlerror.Errorf(format, args...)
	errcode.Set(err, code)
	return err
}

// complexity sets the cost of connections: their children count once per row.
func complexity(c *generated.ComplexityRoot) {
	rows := func(first, last *int32) int {
		switch {
		case first != nil:
			return max(int(*first), 1)
		case last != nil:
			return max(int(*last), 1)
		default:
			return models.DefaultPageSize
		}
	}
	c.Query.Customers = func(child int, _ *models.CustomerFilter, _ []models.CustomerOrder, first *int32, _ *string, last *int32, _ *string, _ *int32) int {
		return 1 + rows(first, last)*child
	}
	c.Query.Users = func(child int, _ *models.UserFilter, _ []models.UserOrder, first *int32, _ *string, last *int32, _ *string, _ *int32) int {
		return 1 + rows(first, last)*child
	}
	c.Query.APITokens = func(child int, first *int32, _ *string, last *int32, _ *string) int {
		return 1 + rows(first, last)*child
	}
	c.Customer.Users = func(child int, _ *models.UserFilter, _ []models.UserOrder, first *int32, _ *string, last *int32, _ *string) int {
		return 1 + rows(first, last)*child
	}
	c.Customer.Invoices = func(child int, _ *models.InvoiceFilter, _ []models.InvoiceOrder, first *int32, _ *string, last *int32, _ *string) int {
		return 1 + rows(first, last)*child
	}
	c.Customer.AuditEvents = func(child int, first *int32, _ *string, last *int32, _ *string) int {
		return 1 + rows(first, last)*child
	}
}
