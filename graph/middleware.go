package graph

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"time"

	"github.com/cloudcomms/customers/internal/auth"
	"github.com/cloudcomms/customers/models"
)

type requestIDKey struct{}

// RequestID returns the id of the request ctx belongs to ("" outside a request).
func RequestID(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey{}).(string)
	return id
}

// validRequestID accepts an incoming X-Request-Id only when it is short and plain,
// so that logs cannot be forged through it.
func validRequestID(s string) bool {
	if len(s) == 0 || len(s) > 64 {
		return false
	}
	for _, r := range s {
		ok := r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-_.:", r)
		if !ok {
			return false
		}
	}
	return true
}

func newRequestID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// withRequestID gives each request an id (a valid incoming X-Request-Id, or a new
// one), echoes it in the response and puts it in the context.
func withRequestID(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.Header.Get("X-Request-Id")
		if !validRequestID(id) {
			id = newRequestID()
		}
		w.Header().Set("X-Request-Id", id)
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), requestIDKey{}, id)))
	})
}

// LogHandler wraps a slog.Handler so that every record logged with a request's
// context carries its request_id.
type LogHandler struct{ slog.Handler }

// Handle adds request_id when the context has one.
func (h LogHandler) Handle(ctx context.Context, r slog.Record) error {
	if id := RequestID(ctx); id != "" {
		r.AddAttrs(slog.String("request_id", id))
	}
	return h.Handler.Handle(ctx, r)
}

// WithAttrs keeps the wrapper around the derived handler.
func (h LogHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return LogHandler{h.Handler.WithAttrs(attrs)}
}

// WithGroup keeps the wrapper around the derived handler.
func (h LogHandler) WithGroup(name string) slog.Handler {
	return LogHandler{h.Handler.WithGroup(name)}
}

// requestInfo is what the layers of one request learn about it, for its access
// log line and its metrics: the operation name and its cost (complexity), and the
// error codes sent.
type requestInfo struct {
	mu        sync.Mutex
	operation string
	cost      int
	codes     []string
	planned   bool // a plan answered it (plans.go), not gqlgen's executor
}

type requestInfoKey struct{}

func infoFrom(ctx context.Context) *requestInfo {
	i, _ := ctx.Value(requestInfoKey{}).(*requestInfo)
	return i
}

func (i *requestInfo) setOperation(name string, cost int) {
	if i != nil {
		i.mu.Lock()
		i.operation, i.cost = name, cost
		i.mu.Unlock()
	}
}

func (i *requestInfo) setPlanned() {
	if i != nil {
		i.mu.Lock()
		i.planned = true
		i.mu.Unlock()
	}
}

func (i *requestInfo) isPlanned() bool {
	if i == nil {
		return false
	}
	i.mu.Lock()
	defer i.mu.Unlock()
	return i.planned
}

func (i *requestInfo) addCode(code string) {
	if i != nil {
		i.mu.Lock()
		i.codes = append(i.codes, code)
		i.mu.Unlock()
	}
}

// statusRecorder remembers the status code written by the handler.
type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (s *statusRecorder) WriteHeader(code int) {
	if s.status == 0 {
		s.status = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusRecorder) Write(b []byte) (int, error) {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	return s.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController and the WebSocket upgrade reach the
// connection (to flush a stream, set its deadlines, hijack it).
func (s *statusRecorder) Unwrap() http.ResponseWriter { return s.ResponseWriter }

// statusClientClosed is the access log's status of a request whose client closed
// its connection before the answer was sent (nginx's 499); no client sees it.
const statusClientClosed = 499

// withAccessLog writes one INFO line per request (method, path, status, duration,
// GraphQL operation, SQL statements and how many of them a replica answered,
// whether a plan answered it) and
// records the request's metrics; a stream (a WebSocket, an SSE request) gets its
// line, "stream", when it ends. A request whose client went away is "client closed
// request" with status 499, whatever the handler wrote to the closed connection, and
// the errors it answered with are not counted: they are the cancellation's, and
// nobody read them.
func withAccessLog(logger *slog.Logger, m *Metrics, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		info := &requestInfo{}
		rec := &statusRecorder{ResponseWriter: w}
		ctx := models.WithStatementCounter(context.WithValue(r.Context(), requestInfoKey{}, info))
		next.ServeHTTP(rec, r.WithContext(ctx))
		elapsed := time.Since(start)
		info.mu.Lock()
		op, cost, codes, planned := info.operation, info.cost, info.codes, info.planned
		info.mu.Unlock()
		statements := models.Statements(ctx)
		msg, status := "request", rec.status
		stream := streaming(r)
		switch {
		case stream:
			// It lasts as long as its client wants, which ends it by leaving: its
			// errors are counted, but its duration is no request's latency.
			msg = "stream"
		case clientGone(ctx):
			msg, status, codes = "client closed request", statusClientClosed, nil
		}
		if h := logger.Handler(); h.Enabled(r.Context(), slog.LevelInfo) {
			// A record made here, rather than by logger.LogAttrs, carries no source
			// location: the line has none, and finding it walks the stack.
			line := slog.NewRecord(start.Add(elapsed), slog.LevelInfo, msg, 0)
			line.AddAttrs(
				slog.String("method", r.Method),
				slog.String("path", r.URL.Path),
				slog.String("op", op),
				slog.Int("status", status),
				slog.Float64("duration_ms", float64(elapsed.Microseconds())/1000),
				slog.Int64("statements", statements),
				slog.Int64("replica_statements", models.ReplicaStatements(ctx)),
				slog.Bool("plan", planned),
			)
			_ = h.Handle(r.Context(), line) // as LogAttrs, which drops a handler's error
		}
		if r.URL.Path == "/query" {
			for _, c := range codes {
				m.countError(c)
			}
			if !stream {
				m.observeRequest(op, status, len(codes) > 0, elapsed, statements, cost)
			}
		}
	})
}

// withCaller records who is calling: the client's address is the connection's, or,
// when the connection comes from a trusted proxy, the last X-Forwarded-For address
// that no trusted proxy added.
func withCaller(trusted []netip.Prefix, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c := models.Caller{IP: clientIP(r, trusted), RequestID: RequestID(r.Context())}
		next.ServeHTTP(w, r.WithContext(models.WithCaller(r.Context(), c)))
	})
}

func clientIP(r *http.Request, trusted []netip.Prefix) netip.Addr {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	ip, err := netip.ParseAddr(host)
	if err != nil {
		return netip.Addr{}
	}
	ip = ip.Unmap().WithZone("")
	isTrusted := func(a netip.Addr) bool {
		for _, p := range trusted {
			if p.Contains(a) {
				return true
			}
		}
		return false
	}
	if !isTrusted(ip) {
		return ip
	}
	hops := strings.Split(strings.Join(r.Header.Values("X-Forwarded-For"), ","), ",")
	for i := len(hops) - 1; i >= 0; i-- {
		hop, err := netip.ParseAddr(strings.TrimSpace(hops[i]))
		if err != nil {
			return ip // a malformed hop: trust nothing before it
		}
		ip = hop.Unmap().WithZone("")
		if !isTrusted(ip) {
			return ip
		}
	}
	return ip
}

// authenticator checks bearer credentials: an API token (cca_…) or a JWT. The HTTP
// middleware, a WebSocket's connection_init and the checks that long-lived
// operations make again all go through it.
type authenticator struct {
	verifier *auth.Verifier
	resolver *Resolver
}

// authenticate returns the caller of ctx acting as the user that header, an
// Authorization value, names. Errors: Unauthenticated (a malformed header, a
// credential that fails, a user who is missing or not active), or an internal one.
func (a authenticator) authenticate(ctx context.Context, header string) (models.Caller, error) {
	token, ok := auth.BearerToken(header)
	if !ok {
		return models.Caller{}, models.Errorf(models.Unauthenticated, "the Authorization header must be: Bearer <token>")
	}
	var u *models.User
	var apiToken *models.APIToken // the API token authenticated with; nil for a JWT
	var err error
	if strings.HasPrefix(token, models.APITokenPrefix) {
		u, apiToken, err = a.resolver.APITokenStore.AuthenticateAPIToken(ctx, token)
	} else {
		var id models.ObjectID
		if id, err = a.verifier.Verify(ctx, token); err != nil {
			return models.Caller{}, models.Errorf(models.Unauthenticated, "%s", err.Error())
		}
		u, err = a.resolver.UserStore.Authenticate(ctx, id)
	}
	if err != nil {
		return models.Caller{}, err
	}
	c := models.CallerFrom(ctx)
	c.UserID, c.User, c.APITokenID, c.CostLimit = &u.ID, u, nil, nil
	if apiToken != nil {
		c.APITokenID, c.CostLimit = &apiToken.ID, apiToken.CostLimit
	}
	return c, nil
}

// credential is what the caller of a request or connection authenticated with, so
// that a long-lived operation can check it again.
type credential struct {
	authenticator
	header string
}

type credentialKey struct{}

// withCredential records that the caller of ctx authenticated with header.
func withCredential(ctx context.Context, a authenticator, header string) context.Context {
	return context.WithValue(ctx, credentialKey{}, credential{authenticator: a, header: header})
}

// recheckFor returns how the subscriptions of ctx's caller check its credential
// again, as a request with it would be checked.
func recheckFor(ctx context.Context) models.Recheck {
	cred, ok := ctx.Value(credentialKey{}).(credential)
	base := models.CallerFrom(ctx) // its address and request id
	return func(ctx context.Context) (models.Caller, error) {
		if !ok {
			return models.Caller{}, models.Errorf(models.Unauthenticated, "send a bearer token in the Authorization header")
		}
		return cred.authenticate(models.WithCaller(ctx, base), cred.header)
	}
}

// withAuthentication identifies the caller of a GraphQL request from its bearer
// credential. A request without an Authorization header goes on anonymously (and
// every field it asks for but the schema's is UNAUTHENTICATED; a WebSocket may
// still authenticate in its connection_init); one whose credential fails, or names
// a user who is missing or not active, is answered 401 before any GraphQL runs.
func withAuthentication(a authenticator, logger *slog.Logger, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		header := req.Header.Get("Authorization")
		if header == "" {
			next.ServeHTTP(w, req)
			return
		}
		ctx := req.Context()
		c, err := a.authenticate(ctx, header)
		switch {
		case models.ErrorKind(err) == models.Unauthenticated:
			unauthenticated(ctx, w, err.Error())
			return
		case err != nil:
			logInternal(ctx, logger, slog.String("op", "authenticate"), slog.String("err", models.LogSafeError(err)))
			status := http.StatusInternalServerError
			if ctx.Err() != nil { // the request's deadline, as answerEndedRequests answers it
				status = http.StatusGatewayTimeout
			}
			writeErrors(ctx, w, status, internalMessage, models.Internal.Code(), RequestID(ctx))
			return
		}
		next.ServeHTTP(w, req.WithContext(withCredential(models.WithCaller(ctx, c), a, header)))
	})
}

// unauthenticated answers 401 with a GraphQL error body, and charges the failure to
// the client's address.
func unauthenticated(ctx context.Context, w http.ResponseWriter, msg string) {
	chargeFailedAttempt(ctx)
	w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
	writeErrors(ctx, w, http.StatusUnauthorized, msg, models.Unauthenticated.Code(), "")
}

// writeErrors answers with one GraphQL error and no data.
func writeErrors(ctx context.Context, w http.ResponseWriter, status int, msg, code, requestID string) {
	ext := map[string]any{"code": code}
	if requestID != "" {
		ext["requestId"] = requestID
	}
	infoFrom(ctx).addCode(code)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"errors": []any{map[string]any{"message": msg, "extensions": ext}}})
}
