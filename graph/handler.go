package graph

import (
	"context"
	"log/slog"
	"math"
	"net/http"
	"net/netip"
	"slices"
	"time"

	"github.com/99designs/gqlgen/graphql"
	gqlexecutor "github.com/99designs/gqlgen/graphql/executor"
	"github.com/99designs/gqlgen/graphql/handler/extension"
	"github.com/99designs/gqlgen/graphql/handler/transport"
	"github.com/coder/websocket"
	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	"go.opentelemetry.io/otel/trace"

	"github.com/cloudcomms/customers/graph/generated"
	"github.com/cloudcomms/customers/internal/auth"
	"github.com/cloudcomms/customers/models"
)

// Config is what the HTTP handler needs from its surroundings.
type Config struct {
	Logger *slog.Logger
	// Resolver holds the stores the resolvers call.
	Resolver *Resolver
	// Ready reports whether the service can serve (the database answers); /readyz.
	Ready func(context.Context) error
	// TrustedProxies are the addresses whose X-Forwarded-For header is believed.
	TrustedProxies []netip.Prefix
	// Verifier checks bearer tokens; without one, every token is refused.
	Verifier *auth.Verifier
	// Introspection serves the schema to anyone, token or not (GraphiQL needs it).
	Introspection bool
	// Limits bound the cost of a request.
	Limits Limits
	// PersistedQueries is how many documents automatic persisted queries remember
	// (Apollo's protocol); 0 turns them off.
	PersistedQueries int
	// TrustedDocuments, when set, is the only documents that run.
	TrustedDocuments TrustedDocuments
	// CORSOrigins are the browser origins allowed to call the API ("*": any).
	CORSOrigins []string
	// CostLimit charges each caller's requests their cost, from a bucket of points.
	CostLimit CostLimit
	// AuthFailures limits failed authentication per client address.
	AuthFailures AuthFailureLimit
	// Metrics, when set, are recorded; NewAdminHandler serves them, on another listener.
	Metrics *Metrics
	// GraphiQLHeaders are sent by GraphiQL with every request (a development token).
	GraphiQLHeaders map[string]string
	// Tracer, when set, records a span per GraphQL request and per resolver; it
	// turns plans off, since they have no resolvers to trace.
	Tracer trace.TracerProvider
	// NoPlans runs every operation in gqlgen's executor, none as a plan (plans.go).
	NoPlans bool
	// Replicas, when set, answer the reads of queries (routeReads).
	Replicas *models.Replicas
}

// NewHandler returns the service's complete public HTTP handler, middleware
// included: GraphQL at /query, GraphiQL at /, /healthz and /readyz (metrics and
// profiles are NewAdminHandler's). Tests use this same handler.
func NewHandler(cfg Config) http.Handler {
	if cfg.Verifier == nil {
		cfg.Verifier = &auth.Verifier{}
	}
	mux := http.NewServeMux()
	authn := authenticator{verifier: cfg.Verifier, resolver: cfg.Resolver}
	gql := withAuthFailureLimit(cfg.AuthFailures,
		withAuthentication(authn, cfg.Logger, withCostLimit(cfg.CostLimit, newGraphQLServer(cfg, authn))))
	query := withCORS(cfg.CORSOrigins, withHTTPRules(withInFlightLimit(cfg.Limits.MaxInFlight,
		withBody(cfg.Limits.MaxBodyBytes, withTimeout(cfg.Limits.Timeout, gql)))))
	if cfg.Tracer != nil {
		query = otelhttp.NewHandler(query, "POST /query", otelhttp.WithTracerProvider(cfg.Tracer))
	}
	mux.Handle("/query", query)
	graphiql := newGraphiQL("/query", cfg.GraphiQLHeaders)
	mux.Handle("GET /{$}", graphiql)
	mux.Handle("GET /graphiql/", graphiql)
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write([]byte("ok\n"))
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		if err := cfg.Ready(ctx); err != nil {
			cfg.Logger.LogAttrs(ctx, slog.LevelWarn, "not ready", slog.String("err", err.Error()))
			http.Error(w, "database unreachable", http.StatusServiceUnavailable)
			return
		}
		_, _ = w.Write([]byte("ready\n"))
	})
	cfg.Metrics.watchSubscriptions(cfg.Resolver.Feed.Len)
	var h http.Handler = mux
	h = withCaller(cfg.TrustedProxies, h)
	h = withAccessLog(cfg.Logger, cfg.Metrics, h)
	return withRequestID(h)
}

// newGraphQLServer sets up gqlgen's executor behind explicit transports, with the
// documents prepared in front of it, the error presenter and the panic handler.
func newGraphQLServer(cfg Config, authn authenticator) *graphQLServer {
	schema := generated.Config{Resolvers: cfg.Resolver}
	complexity(&schema.Complexity)
	generatedSchema := generated.NewExecutableSchema(schema)
	docs := newDocuments(generatedSchema.Schema(), cfg.Limits)
	docs.plans = !cfg.NoPlans && cfg.Tracer == nil
	docs.es = generatedSchema
	es := plannedSchema{ExecutableSchema: generatedSchema, resolver: cfg.Resolver}
	exec := &executor{Executor: gqlexecutor.New(es), docs: docs, trusted: cfg.TrustedDocuments}
	if cfg.PersistedQueries > 0 {
		exec.persisted = newPersistedQueries(cfg.PersistedQueries)
	}
	exec.SetQueryCache(preparedDocument{})
	if cfg.Introspection {
		exec.Use(extension.Introspection{})
	}
	// Measured even when not limited: the cost limit charges it.
	maxComplexity := cfg.Limits.MaxComplexity
	if maxComplexity <= 0 {
		maxComplexity = math.MaxInt
	}
	exec.Use(&complexityLimit{limit: maxComplexity})
	exec.AroundResponses(addCostExtension)
	present := presentError(cfg.Logger)
	exec.SetErrorPresenter(present)
	exec.AroundOperations(prepareOperations(cfg.Resolver, present))
	exec.AroundResponses(respondToEvents(cfg.Resolver, present))
	exec.AroundOperations(answerEndedRequests(present))
	if cfg.Tracer != nil {
		exec.AroundFields(traceResolvers(cfg.Tracer.Tracer("github.com/cloudcomms/customers/graph")))
	}
	exec.SetRecoverFunc(recoverPanic)
	if cfg.Replicas != nil {
		exec.AroundOperations(routeReads(cfg.Replicas, cfg.Logger))
	}
	exec.AroundOperations(func(ctx context.Context, next graphql.OperationHandler) graphql.ResponseHandler {
		oc := graphql.GetOperationContext(ctx)
		name := oc.OperationName
		if name == "" && oc.Operation != nil {
			name = oc.Operation.Name
		}
		cost := 0
		if stats := extension.GetComplexityStats(ctx); stats != nil {
			cost = stats.Complexity
		}
		infoFrom(ctx).setOperation(name, cost)
		return next(ctx)
	})
	readLimit := cfg.Limits.MaxBodyBytes // a WebSocket message is a request's body
	if readLimit <= 0 {
		readLimit = -1
	}
	websocket := transport.Websocket{
		Implementation:        transport.CoderWebsocketImplementation{AcceptOptions: websocketOrigins(cfg.CORSOrigins)},
		InitFunc:              initWebsocket(authn, cfg.Logger),
		InitTimeout:           websocketInitTimeout,
		PingPongInterval:      keepAliveInterval,
		KeepAlivePingInterval: keepAliveInterval,
		PayloadReadLimit:      &readLimit,
	}
	sse := transport.SSE{KeepAlivePingInterval: keepAliveInterval}
	// In this order: a WebSocket upgrade is a GET, and an SSE request a POST.
	transports := []graphql.Transport{transport.Options{}, websocket, sse, transport.GET{}, postTransport{}}
	return &graphQLServer{transports: transports, exec: exec}
}

// websocketOrigins lets the browser pages of CORS_ORIGINS open WebSockets, as they
// may call /query, besides the API's own (GraphiQL); "*": any page.
func websocketOrigins(origins []string) websocket.AcceptOptions {
	if slices.Contains(origins, "*") {
		return websocket.AcceptOptions{InsecureSkipVerify: true}
	}
	return websocket.AcceptOptions{OriginPatterns: origins}
}
