package graph

import (
	"context"
	"encoding/json"
	"net/http"
	"time"

	"github.com/99designs/gqlgen/graphql"
	gqlexecutor "github.com/99designs/gqlgen/graphql/executor"
	"github.com/99designs/gqlgen/graphql/handler/transport"
	"github.com/vektah/gqlparser/v2/ast"
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
		chargeRefusal(ctx, len(p.Query))
		return &graphql.OperationContext{RawQuery: p.Query, OperationName: p.OperationName, DisableIntrospection: true}, errs
	}
	if err := requireCredit(ctx); err != nil {
		return &graphql.OperationContext{RawQuery: p.Query, OperationName: p.OperationName, DisableIntrospection: true}, gqlerror.List{err}
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
	prepared, errs := e.docs.prepare(p.Query)
	if errs != nil {
		return refuse(errs...)
	}
	if register != "" {
		e.persisted.add(register, p.Query)
	}
	oc, errs := e.Executor.CreateOperationContext(context.WithValue(ctx, preparedKey{}, preparedQuery{query: p.Query, doc: prepared.doc, complexity: prepared.complexity}), p)
	if errs == nil {
		if p := prepared.plans[oc.Operation]; p != nil {
			oc.Stats.SetExtension(planStats, p)
		}
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
	sw := &statusWriter{ResponseWriter: w}
	w = sw
	r = r.WithContext(context.WithValue(graphql.StartOperationTrace(r.Context()), statusWriterKey{}, sw))
	for _, t := range s.transports {
		if t.Supports(r) {
			switch t.(type) {
			case transport.SSE:
				sw.stream()
				r = r.WithContext(context.WithValue(r.Context(), streamingKey{}, true))
			case transport.Websocket:
				r = r.WithContext(context.WithValue(r.Context(), streamingKey{}, true))
			}
			t.Do(w, r, s.exec)
			return
		}
	}
	writeErrors(r.Context(), w, http.StatusBadRequest, "send a GraphQL request: a POST of JSON or a GET with a query", "BAD_REQUEST", "")
}

// statusWriter lets the layers below gqlgen's transports choose the HTTP status of
// an answer that the transport writes with its own (a refusal for cost is 429, a
// request past its deadline 504). It also keeps the server's timeouts from ending
// an SSE stream (stream).
type statusWriter struct {
	http.ResponseWriter
	status    int // 0: the transport's
	wrote     bool
	streaming bool
}

// stream readies w for an answer that lasts as long as its subscription: the
// server's read deadline (ReadTimeout) would end the request once it passes, and
// its write deadline (WriteTimeout) is given to each write instead of the whole.
func (w *statusWriter) stream() {
	w.streaming = true
	_ = http.NewResponseController(w.ResponseWriter).SetReadDeadline(time.Time{})
}

// extendWrite gives the next write of a stream streamWriteTimeout.
func (w *statusWriter) extendWrite() {
	if w.streaming {
		_ = http.NewResponseController(w.ResponseWriter).SetWriteDeadline(time.Now().Add(streamWriteTimeout))
	}
}

type statusWriterKey struct{}

// setStatus makes the request of ctx answer with status and the given header
// (name, value pairs), unless its answer is already being written.
func setStatus(ctx context.Context, status int, header ...string) {
	w, ok := ctx.Value(statusWriterKey{}).(*statusWriter)
	if !ok || w.wrote {
		return
	}
	w.status = status
	for i := 0; i+1 < len(header); i += 2 {
		w.Header().Set(header[i], header[i+1])
	}
}

// setHeader gives the answer of the request of ctx a header, unless the answer is
// already being written.
func setHeader(ctx context.Context, name, value string) {
	if w, ok := ctx.Value(statusWriterKey{}).(*statusWriter); ok && !w.wrote {
		w.Header().Set(name, value)
	}
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status != 0 {
		code = w.status
	}
	w.wrote = true
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if !w.wrote {
		w.WriteHeader(http.StatusOK)
	}
	w.extendWrite()
	return w.ResponseWriter.Write(b)
}

// Flush sends what was written so far: gqlgen's SSE transport flushes each event.
func (w *statusWriter) Flush() {
	if !w.wrote {
		w.WriteHeader(http.StatusOK)
	}
	w.extendWrite()
	_ = http.NewResponseController(w.ResponseWriter).Flush()
}

// Unwrap lets http.ResponseController and the WebSocket upgrade reach the
// connection (to flush, set deadlines, hijack).
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// answerEndedRequests gives an operation whose request ended before its answer
// (past its deadline, or its client gone) an error, presented by present, instead
// of gqlgen's null, which marks the end of a subscription's stream and would reach
// a client as a body of "null" with status 200. Only the first answer: the
// streaming transports ask until they get that null.
func answerEndedRequests(present graphql.ErrorPresenterFunc) graphql.OperationMiddleware {
	return func(ctx context.Context, next graphql.OperationHandler) graphql.ResponseHandler {
		respond := next(ctx)
		if graphql.GetOperationContext(ctx).Operation.Operation == ast.Subscription {
			return respond
		}
		answered := false
		return func(ctx context.Context) *graphql.Response {
			resp := respond(ctx)
			if answered || resp != nil || ctx.Err() == nil {
				answered = true
				return resp
			}
			answered = true
			setStatus(ctx, http.StatusGatewayTimeout)
			return &graphql.Response{Errors: gqlerror.List{present(ctx, ctx.Err())}}
		}
	}
}
