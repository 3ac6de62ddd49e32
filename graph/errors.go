package graph

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"strings"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"github.com/cloudcomms/customers/models"
)

// internalMessage is all a client learns of an internal error; the log has the cause.
const internalMessage = "internal server error"

// presentError is the one place where errors become GraphQL errors. A models.Error
// becomes its kind's extensions.code (with extensions.field for input errors), and
// each invalid field of a models.ValidationErrors an error of its own; gqlgen's own
// parse and validation errors pass through; anything else is logged once, with the
// request id, and masked.
func presentError(logger *slog.Logger) graphql.ErrorPresenterFunc {
	present := presentErrorKind(logger)
	return func(ctx context.Context, err error) *gqlerror.Error {
		if list := (models.ValidationErrors)(nil); errors.As(err, &list) {
			// Added one by one, in order, on the same path; nil adds nothing more.
			for _, e := range list {
				graphql.AddError(ctx, e)
			}
			return nil
		}
		g := present(ctx, err)
		code, _ := g.Extensions["code"].(string)
		infoFrom(ctx).addCode(code)
		if e := (*models.Error)(nil); errors.As(err, &e) && e.Probe {
			// The refusal told the caller something about other tenants' data (an
			// email in use): guessing that way costs like guessing credentials.
			chargeFailedAttempt(ctx)
		}
		return g
	}
}

// presentErrorKind is presentError without the bookkeeping.
func presentErrorKind(logger *slog.Logger) graphql.ErrorPresenterFunc {
	return func(ctx context.Context, err error) *gqlerror.Error {
		g := graphql.DefaultErrorPresenter(ctx, err)
		var e *models.Error
		if errors.As(err, &e) && e.Kind != models.Internal {
			field := e.Field
			if field == "" && e.Kind == models.Invalid {
				field = argumentPath(ctx, g.Path)
			}
			return withCode(g, e.Message, e.Kind.Code(), field)
		}
		if field := argumentPath(ctx, g.Path); field != "" {
			// Raised while reading an argument (an Int outside int32, a malformed
			// DateTime): the client's input, not a fault of the server.
			return withCode(g, g.Message, models.Invalid.Code(), field)
		}
		var gerr *gqlerror.Error
		if errors.As(err, &gerr) && gerr.Err == nil {
			if len(g.Path) > 1 && g.Path[0] == ast.PathName("variable") {
				return withCode(g, g.Message, models.Invalid.Code(), pathString(g.Path[1:]))
			}
			if _, ok := g.Extensions["code"]; !ok { // a request gqlgen refused without a code
				g.Extensions = map[string]any{"code": models.Invalid.Code()}
			}
			return g // the parser's and validator's own errors
		}
		id := RequestID(ctx)
		logInternal(ctx, logger, slog.String("path", g.Path.String()), slog.String("err", models.LogSafeError(err)))
		return &gqlerror.Error{
			Message:    internalMessage,
			Path:       g.Path,
			Locations:  g.Locations,
			Extensions: map[string]any{"code": models.Internal.Code(), "requestId": id},
		}
	}
}

// logInternal logs an internal error at ERROR, unless the client has gone: then
// the error is one of the cancellation's (a statement, a dial, a commit cut short),
// its field's answer reaches nobody, and the request's access line says "client
// closed request".
func logInternal(ctx context.Context, logger *slog.Logger, attrs ...slog.Attr) {
	if !clientGone(ctx) {
		logger.LogAttrs(ctx, slog.LevelError, "internal error", attrs...)
	}
}

// clientGone reports whether the client of ctx's request has closed its
// connection: net/http then cancels the request's context, which nothing else
// cancels (the server's base context never is; the request's own deadline,
// REQUEST_TIMEOUT, ends it with DeadlineExceeded, an error that is logged).
func clientGone(ctx context.Context) bool {
	return errors.Is(ctx.Err(), context.Canceled)
}

// withCode sets the message, extensions.code and (when known) extensions.field.
func withCode(g *gqlerror.Error, msg, code, field string) *gqlerror.Error {
	g.Message = msg
	g.Extensions = map[string]any{"code": code}
	if field != "" {
		g.Extensions["field"] = field
	}
	return g
}

// argumentPath returns the part of an error's path below the field being resolved:
// the argument an input error came from ("input.credit", "id"), or "".
func argumentPath(ctx context.Context, path ast.Path) string {
	fc := graphql.GetFieldContext(ctx)
	if fc == nil {
		return ""
	}
	if fp := fc.Path(); len(path) > len(fp) {
		return pathString(path[len(fp):])
	}
	return ""
}

// pathString writes an input path the way extensions.field shows it: filter.or[1].name.
func pathString(path ast.Path) string {
	var b strings.Builder
	for _, el := range path {
		switch el := el.(type) {
		case ast.PathIndex:
			fmt.Fprintf(&b, "[%d]", int(el))
		case ast.PathName:
			if b.Len() > 0 {
				b.WriteByte('.')
			}
			b.WriteString(string(el))
		}
	}
	return b.String()
}

// recoverPanic turns a panic in a resolver into an internal error (logged with its
// stack by presentError) instead of a dropped connection.
func recoverPanic(ctx context.Context, p any) error {
	return fmt.Errorf("panic: %v\n%s", p, debug.Stack())
}
