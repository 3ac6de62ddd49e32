package graph

import (
	"context"
	"encoding/json"
	"net/http"

	"github.com/99designs/gqlgen/graphql"
	gqlexecutor "github.com/99designs/gqlgen/graphql/executor"
	"github.com/vektah/gqlparser/v2/gqlerror"
)

// executor is gqlgen's executor with the request's document made ready in front of
// it: a persisted query looked up, the trusted-documents list checked, then the
// document parsed, measured and validated by documents, whose bounds gqlgen's own
// parsing does not have. gqlgen then runs the prepared document.
type executor struct {
	*gqlexecutor.Executor
	docs      *documents
	persisted *persistedQueries // nil: automatic persisted queries are off
	trusted   TrustedDocuments  // nil: every document may run
}

// CreateOperationContext prepares the request's document, lets gqlgen build the
// operation (variables, extensions such as the complexity limit) from it, and
// charges the operation's cost to the caller's bucket.
func (e *executor) CreateOperationContext(ctx context.Context, p *graphql.RawParams) (*graphql.OperationContext, gqlerror.List) {
	refuse := func(errs ...*gqlerror.Error) (*graphql.OperationContext, gqlerror.List) {
		return &graphql.OperationContext{RawQuery: p.Query, OperationName: p.OperationName, DisableIntrospection: true}, errs
	}
	var register string
	if e.persisted != nil {
		var err *gqlerror.Error
		if register, err = e.persisted.resolve(p); err != nil {
			return refuse(err)
		}
	}
	if e.trusted != nil {
		if err := e.trusted.check(p.Query); err != nil {
			return refuse(err)
		}
	}
	doc, errs := e.docs.prepare(p.Query)
	if errs != nil {
		return refuse(errs...)
	}
	if register != "" {
		e.persisted.add(register, p.Query)
	}
	oc, errs := e.Executor.CreateOperationContext(context.WithValue(ctx, preparedKey{}, prepared{query: p.Query, doc: doc}), p)
	if errs == nil {
		if err := chargeCost(ctx, oc); err != nil {
			return oc, gqlerror.List{err}
		}
	}
	return oc, errs
}

// graphQLServer serves GraphQL over its transports, as gqlgen's handler.Server
// does; that one runs only gqlgen's own executor.
type graphQLServer struct {
	transports []graphql.Transport
	exec       *executor
}

func (s *graphQLServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	defer func() {
		if p := recover(); p != nil {
			err := s.exec.PresentRecoveredError(r.Context(), p)
			gqlErr, _ := err.(*gqlerror.Error)
			w.WriteHeader(http.StatusInternalServerError)
			_ = json.NewEncoder(w).Encode(&graphql.Response{Errors: gqlerror.List{gqlErr}})
		}
	}()
	r = r.WithContext(graphql.StartOperationTrace(r.Context()))
	for _, t := range s.transports {
		if t.Supports(r) {
			t.Do(w, r, s.exec)
			return
		}
	}
	writeErrors(r.Context(), w, http.StatusBadRequest, "send a GraphQL request: a POST of JSON or a GET with a query", "BAD_REQUEST", "")
}
