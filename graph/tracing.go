package graph

import (
	"context"

	"github.com/99designs/gqlgen/graphql"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
)

// traceResolvers records a span for each field that runs a resolver (a lookup, a
// page, a mutation); fields read from a loaded struct cost nothing worth a span.
func traceResolvers(tracer trace.Tracer) graphql.FieldMiddleware {
	return func(ctx context.Context, next graphql.Resolver) (any, error) {
		fc := graphql.GetFieldContext(ctx)
		if fc == nil || !fc.IsResolver {
			return next(ctx)
		}
		ctx, span := tracer.Start(ctx, "resolve "+fc.Object+"."+fc.Field.Name,
			trace.WithAttributes(attribute.String("graphql.path", fc.Path().String()), attribute.String("request_id", RequestID(ctx))))
		defer span.End()
		res, err := next(ctx)
		if err != nil {
			span.SetStatus(codes.Error, "resolver error")
		}
		return res, err
	}
}
