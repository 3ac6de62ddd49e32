package graph

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"sync"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/handler/transport"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"github.com/cloudcomms/customers/models"
)

// Streams: subscriptions over graphql-ws (the graphql-transport-ws protocol, and
// the older graphql-ws one, on a WebSocket to /query) and GraphQL over SSE (a POST
// to /query accepting text/event-stream). README, "Subscriptions".
const (
	// maxSubscriptionsPerConnection bounds the subscriptions one WebSocket carries
	// at once (an SSE request carries one); models.MaxSubscriptionsPerCaller bounds
	// a caller's on the instance.
	maxSubscriptionsPerConnection = 20
	// keepAliveInterval is how often an idle stream shows it is alive: a ping the
	// client answers on graphql-transport-ws (a WebSocket whose client stops
	// answering is closed after two of them), a keep-alive message on graphql-ws,
	// a comment line on SSE (proxies close idle connections).
	keepAliveInterval = 15 * time.Second
	// websocketInitTimeout is how long a WebSocket may take to send its
	// connection_init.
	websocketInitTimeout = 10 * time.Second
	// streamWriteTimeout bounds each write of an SSE stream, as the server's
	// WriteTimeout bounds a whole answer: a client that stops reading is let go.
	streamWriteTimeout = 30 * time.Second
)

// WebSocket close codes of the graphql-transport-ws protocol (its client, graphql-ws,
// does not reconnect after 4403 unless told to, nor after 4429 and 4500).
const (
	closeForbidden       = 4403
	closeTooManyAttempts = 4429
	closeInternalError   = 4500
)

// streaming reports whether r opens a stream: a WebSocket, or GraphQL over SSE.
func streaming(r *http.Request) bool {
	return transport.Websocket{}.Supports(r) || transport.SSE{}.Supports(r)
}

// session is a WebSocket connection's: the credential its operations act with
// (connection_init's, else the upgrade request's), and how many subscriptions it
// carries.
type session struct {
	cred credential // the zero credential: anonymous

	mu            sync.Mutex
	subscriptions int
}

type sessionKey struct{}

func sessionFrom(ctx context.Context) *session {
	s, _ := ctx.Value(sessionKey{}).(*session)
	return s
}

// initWebsocket authenticates a WebSocket with the Authorization value of its
// connection_init's payload ({"Authorization": "Bearer …"}), exactly as a request's
// header is: a failure is counted against the client's address, and refused with
// close code 4403 (4429 once the address has spent its failures, before the
// credential is looked at). Without one, the connection acts as its upgrade request
// did: anonymous, or as its Authorization header.
func initWebsocket(a authenticator, logger *slog.Logger) transport.WebsocketInitFunc {
	return func(ctx context.Context, payload transport.InitPayload) (context.Context, *transport.InitPayload, error) {
		s := &session{}
		s.cred, _ = ctx.Value(credentialKey{}).(credential)
		if header := payload.Authorization(); header != "" {
			if wait := authFailureWait(ctx); wait > 0 {
				ctx = transport.WithWebsocketCloseCode(ctx, closeTooManyAttempts)
				return ctx, nil, fmt.Errorf("too many failed authentication attempts from your address: retry after %d s", int(math.Ceil(wait.Seconds())))
			}
			c, err := a.authenticate(ctx, header)
			switch {
			case models.ErrorKind(err) == models.Unauthenticated:
				chargeFailedAttempt(ctx)
				infoFrom(ctx).addCode(models.Unauthenticated.Code())
				return transport.WithWebsocketCloseCode(ctx, closeForbidden), nil, err
			case err != nil:
				logInternal(ctx, logger, slog.String("op", "authenticate"), slog.String("err", models.LogSafeError(err)))
				return transport.WithWebsocketCloseCode(ctx, closeInternalError), nil, fmt.Errorf("%s (request id %s)", internalMessage, RequestID(ctx))
			}
			ctx = withCostAccount(withCredential(models.WithCaller(ctx, c), a, header), c)
			s.cred = credential{authenticator: a, header: header}
		}
		return context.WithValue(ctx, sessionKey{}, s), nil, nil
	}
}

// takeSubscriptionSlot counts a subscription against its WebSocket's limit, until
// release is called.
func takeSubscriptionSlot(ctx context.Context) (release func(), err error) {
	s := sessionFrom(ctx)
	if s == nil {
		return func() {}, nil // an SSE request carries one subscription
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.subscriptions >= maxSubscriptionsPerConnection {
		return nil, models.Errorf(models.TooManySubscriptions,
			"a WebSocket carries at most %d subscriptions at once: end one, or open another connection", maxSubscriptionsPerConnection)
	}
	s.subscriptions++
	return sync.OnceFunc(func() {
		s.mu.Lock()
		s.subscriptions--
		s.mu.Unlock()
	}), nil
}

// streamingKey marks the operations of a stream, the only ones that may subscribe.
type streamingKey struct{}

// operationTimeoutKey carries REQUEST_TIMEOUT into a stream, whose request has no
// deadline of its own: its queries and mutations get one each.
type operationTimeoutKey struct{}

// prepareOperations gives every operation its own loaders (nothing read for one
// operation of a WebSocket reaches the next), authenticates each operation of a
// WebSocket again (a token revoked after connection_init refuses the next
// operation), gives the queries and mutations of a stream REQUEST_TIMEOUT, and a
// subscription its stream; a subscription sent as a plain POST is refused (400),
// as it would answer with its first event only.
func prepareOperations(r *Resolver, present graphql.ErrorPresenterFunc) graphql.OperationMiddleware {
	return func(ctx context.Context, next graphql.OperationHandler) graphql.ResponseHandler {
		ctx = withLoaders(ctx, r)
		if s := sessionFrom(ctx); s != nil && s.cred.header != "" {
			c, err := s.cred.authenticate(ctx, s.cred.header)
			if err != nil {
				return graphql.OneShot(&graphql.Response{Errors: gqlerror.List{present(ctx, err)}})
			}
			ctx = models.WithCaller(ctx, c)
		}
		if graphql.GetOperationContext(ctx).Operation.Operation == ast.Subscription {
			if ctx.Value(streamingKey{}) == nil {
				setStatus(ctx, http.StatusBadRequest)
				return graphql.OneShot(&graphql.Response{Errors: gqlerror.List{limitError("BAD_REQUEST",
					"subscribe over a WebSocket (graphql-transport-ws) or as GraphQL over SSE (Accept: text/event-stream)")}})
			}
			return next(context.WithValue(ctx, streamKey{}, &stream{answered: make(chan struct{}, 1)}))
		}
		d, ok := ctx.Value(operationTimeoutKey{}).(time.Duration)
		if !ok {
			return next(ctx)
		}
		ctx, cancel := context.WithTimeout(ctx, d)
		respond := next(ctx)
		return func(ctx context.Context) *graphql.Response {
			resp := respond(ctx)
			if resp == nil { // the transports ask until there is no more
				cancel()
			}
			return resp
		}
	}
}

// stream is what a subscription's resolver tells the response of each of its
// events: the subscriber as last checked, the errors of the event, and the error
// that ends the subscription.
type stream struct {
	// answered has a value once an event's response is made, so that the resolver
	// prepares the next event only then, and its errors go with the right one.
	answered chan struct{}

	mu     sync.Mutex
	path   ast.Path
	caller func() models.Caller // nil until subscribed
	errs   []error
	end    error
}

type streamKey struct{}

func streamFrom(ctx context.Context) *stream {
	s, _ := ctx.Value(streamKey{}).(*stream)
	return s
}

// take returns, and forgets, the errors of the event just sent and the error that
// ends the subscription, and lets the resolver go on.
func (s *stream) take() (errs []error, end error) {
	s.mu.Lock()
	errs, end = s.errs, s.end
	s.errs, s.end = nil, nil
	s.mu.Unlock()
	select {
	case s.answered <- struct{}{}:
	default:
	}
	return errs, end
}

// respondToEvents makes each event of a subscription with fresh loaders (what the
// previous event read is not reused) and as its subscriber as last checked (a
// permission lowered since it subscribed applies to the next event), and adds the
// errors its resolver met. The error that ends the subscription replaces the
// event's data.
func respondToEvents(r *Resolver, present graphql.ErrorPresenterFunc) graphql.ResponseMiddleware {
	return func(ctx context.Context, next graphql.ResponseHandler) *graphql.Response {
		s := streamFrom(ctx)
		if s == nil {
			return next(ctx)
		}
		s.mu.Lock()
		caller, path := s.caller, s.path
		s.mu.Unlock()
		if caller != nil {
			ctx = models.WithCaller(ctx, caller())
		}
		resp := next(withLoaders(ctx, r))
		if resp == nil {
			return nil
		}
		errs, end := s.take()
		if end != nil {
			g := present(ctx, end)
			g.Path = path
			resp.Data, resp.Errors = nil, gqlerror.List{g}
		}
		for _, err := range errs {
			if g := present(ctx, err); g != nil {
				g.Path = path
				resp.Errors = append(resp.Errors, g)
			}
		}
		return resp
	}
}

// forward streams the events of sub to gqlgen, each made ready by prepare (nil:
// as they are) with its subscriber's permissions, one at a time. When sub ends with
// an error, a last event carries it. release is called once it is over.
func forward[T any](ctx context.Context, r *Resolver, sub *models.Subscription[T], release func(), prepare func(context.Context, T) error) <-chan T {
	s := streamFrom(ctx)
	s.mu.Lock()
	s.caller, s.path = sub.Caller, graphql.GetFieldContext(ctx).Path()
	s.mu.Unlock()
	out := make(chan T)
	send := func(v T) bool {
		select {
		case out <- v:
		case <-ctx.Done():
			return false
		}
		select {
		case <-s.answered:
			return true
		case <-ctx.Done():
			return false
		}
	}
	go func() {
		defer close(out)
		defer release()
		for v := range sub.C {
			if prepare != nil {
				pctx := withLoaders(models.WithCaller(ctx, sub.Caller()), r)
				if err := prepare(pctx, v); err != nil {
					s.mu.Lock()
					s.errs = append(s.errs, err)
					s.mu.Unlock()
				}
			}
			if !send(v) {
				return
			}
		}
		if err := sub.Err(); err != nil {
			s.mu.Lock()
			s.end = err
			s.mu.Unlock()
			var none T // null: the response carries the error instead
			send(none)
		}
	}()
	return out
}
