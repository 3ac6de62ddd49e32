package graph

import (
	"context"
	"log/slog"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"

	"github.com/cloudcomms/customers/models"
)

// ReadAfterHeader carries read-your-writes across requests and instances. The
// answer to a mutation carries the primary's WAL position after it; a client that
// sends the last position it got with its next requests reads only from replicas
// that have replayed it (else from the primary), so it sees its own writes
// whichever instance answers.
const ReadAfterHeader = "X-Read-After-LSN"

// routeReads lets the reads of query operations go to replicas (those that have
// replayed the position the request's ReadAfterHeader names), and gives the answer
// to a mutation the position a client sends to read its writes. Everything else
// reads the primary: the mutations, with their own reads and everything after them
// in the request (a request holds one operation); authentication and the cost
// limit, which run before the operation; and a query whose ReadAfterHeader is not
// a WAL position, since what it must see cannot be told.
func routeReads(replicas *models.Replicas, logger *slog.Logger) graphql.OperationMiddleware {
	return func(ctx context.Context, next graphql.OperationHandler) graphql.ResponseHandler {
		oc := graphql.GetOperationContext(ctx)
		switch oc.Operation.Operation {
		case ast.Query:
			var after models.LSN
			if h := oc.Headers.Get(ReadAfterHeader); h != "" {
				var err error
				if after, err = models.ParseLSN(h); err != nil {
					return next(ctx)
				}
			}
			return next(replicas.Reads(ctx, after))
		case ast.Mutation:
			respond := next(ctx)
			return func(ctx context.Context) *graphql.Response {
				resp := respond(ctx)
				lsn, err := replicas.WrittenLSN(ctx)
				if err != nil {
					if !clientGone(ctx) {
						logger.LogAttrs(ctx, slog.LevelWarn, "no "+ReadAfterHeader+" for the mutation", slog.String("err", models.LogSafeError(err)))
					}
					return resp
				}
				setHeader(ctx, ReadAfterHeader, lsn.String())
				return resp
			}
		}
		return next(ctx)
	}
}
