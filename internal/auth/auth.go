// Package auth verifies the bearer JWTs that callers present and mints the ones
// that development and tests use. It knows tokens, not users: it returns the user
// id of a token's subject, and the graph package decides what that user may do.
package auth

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/MicahParks/keyfunc/v3"
	"github.com/golang-jwt/jwt/v5"
	"golang.org/x/time/rate"

	"github.com/cloudcomms/customers/models"
)

// Config says which tokens are trusted: HS256 signed with Secret, and RS256 or ES256
// signed with a key published at JWKSURL. Issuer and Audience are checked when set.
type Config struct {
	Secret   []byte
	JWKSURL  string
	Issuer   string
	Audience string
	// Leeway is the clock skew allowed on exp and nbf.
	Leeway time.Duration
	// MaxTTL is the longest lifetime a token may have (0: no limit), measured as
	// exp − now and, when the token has an iat, as exp − iat, each with the leeway.
	// A stolen token is worth only as long as it lives: a signer that mints tokens
	// valid for years must not make them valid here.
	MaxTTL time.Duration
	// JWKSRefreshLimit is the shortest time between two fetches of the key set that an
	// unknown key id triggers, so that made-up key ids cannot flood the key server.
	JWKSRefreshLimit time.Duration
	// HTTPClient fetches the key set.
	HTTPClient *http.Client
}

// Verifier checks bearer tokens. The zero Verifier refuses every token.
type Verifier struct {
	cfg      Config
	jwks     keyfunc.Keyfunc
	methods  []string
	verified verifiedTokens
}

// Bounds of what Verify remembers: 10,000 tokens (by their SHA-256), each for a
// minute at most, so that a key removed from the JWKS stops its tokens within a
// minute. Only tokens whose signature checked out are remembered, so a guesser
// cannot fill the memory.
const (
	maxVerifiedTokens = 10_000
	verifiedTokenTTL  = time.Minute
)

// verifiedTokens remembers, for each token that passed every check, its subject
// and until when it may be taken as verified, so that a client sending the same
// token with every request costs a hash and a map lookup instead of a signature
// check and a JSON parse.
type verifiedTokens struct {
	mu     sync.Mutex
	tokens map[[sha256.Size]byte]verifiedToken
}

type verifiedToken struct {
	subject models.ObjectID
	until   time.Time // exp with the leeway, or a minute after the check
}

func (t *verifiedTokens) get(token string, now time.Time) (models.ObjectID, bool) {
	key := sha256.Sum256([]byte(token))
	t.mu.Lock()
	defer t.mu.Unlock()
	v, ok := t.tokens[key]
	if !ok || !now.Before(v.until) {
		return models.ObjectID{}, false
	}
	return v.subject, true
}

func (t *verifiedTokens) put(token string, v verifiedToken) {
	key := sha256.Sum256([]byte(token))
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.tokens == nil {
		t.tokens = map[[sha256.Size]byte]verifiedToken{}
	}
	if len(t.tokens) >= maxVerifiedTokens {
		for k := range t.tokens { // an arbitrary one: Go's maps iterate in random order
			delete(t.tokens, k)
			break
		}
	}
	t.tokens[key] = v
}

// ErrNotConfigured is returned by Verify when neither a secret nor a key set is set.
var ErrNotConfigured = errors.New("authentication is not configured on this server")

// NewVerifier returns a Verifier for cfg. With a JWKS URL it starts refreshing the
// key set in the background until ctx ends; the first fetch may fail (the key
// server may start later) and is retried when a token needs a key.
func NewVerifier(ctx context.Context, cfg Config) (*Verifier, error) {
	v := &Verifier{cfg: cfg}
	if len(cfg.Secret) > 0 {
		if len(cfg.Secret) < 32 {
			return nil, fmt.Errorf("JWT_SECRET must be at least 32 bytes")
		}
		v.methods = append(v.methods, jwt.SigningMethodHS256.Alg())
	}
	if cfg.JWKSURL != "" {
		limit := cfg.JWKSRefreshLimit
		if limit == 0 {
			limit = 30 * time.Second
		}
		k, err := keyfunc.NewDefaultOverrideCtx(ctx, []string{cfg.JWKSURL}, keyfunc.Override{
			Client:            cfg.HTTPClient,
			HTTPTimeout:       5 * time.Second,
			RefreshInterval:   time.Hour,
			RefreshUnknownKID: rate.NewLimiter(rate.Every(limit), 1),
			// Also the deadline of the refetch itself. A request never waits for the
			// limiter: a wait longer than this deadline is refused at once.
			RateLimitWaitMax: 5 * time.Second,
		})
		if err != nil {
			return nil, fmt.Errorf("JWKS_URL: %w", err)
		}
		v.jwks = k
		v.methods = append(v.methods, jwt.SigningMethodRS256.Alg(), jwt.SigningMethodES256.Alg())
	}
	return v, nil
}

// Enabled reports whether any token can be verified.
func (v *Verifier) Enabled() bool { return len(v.methods) > 0 }

// Verify checks a bearer token (signature, algorithm, exp, nbf, iss, aud, lifetime) and returns
// the user id in its subject. Its error says which check failed, in words fit for
// the client, never why a signature failed in detail.
func (v *Verifier) Verify(ctx context.Context, token string) (models.ObjectID, error) {
	if !v.Enabled() {
		return models.ObjectID{}, ErrNotConfigured
	}
	now := time.Now()
	if id, ok := v.verified.get(token, now); ok {
		return id, nil
	}
	opts := []jwt.ParserOption{
		jwt.WithValidMethods(v.methods),
		jwt.WithLeeway(v.cfg.Leeway),
		jwt.WithExpirationRequired(),
	}
	if v.cfg.Issuer != "" {
		opts = append(opts, jwt.WithIssuer(v.cfg.Issuer))
	}
	if v.cfg.Audience != "" {
		opts = append(opts, jwt.WithAudience(v.cfg.Audience))
	}
	var claims jwt.RegisteredClaims
	_, err := jwt.ParseWithClaims(token, &claims, func(t *jwt.Token) (any, error) {
		if t.Method.Alg() == jwt.SigningMethodHS256.Alg() {
			return v.cfg.Secret, nil
		}
		if v.jwks == nil {
			return nil, errors.New("no key set")
		}
		return v.jwks.KeyfuncCtx(ctx)(t)
	}, opts...)
	if err != nil {
		return models.ObjectID{}, errors.New(reason(err))
	}
	if err := v.checkLifetime(claims, now); err != nil {
		return models.ObjectID{}, err
	}
	id, err := models.ParseObjectID(claims.Subject)
	if err != nil {
		return models.ObjectID{}, errors.New("the token's subject is not a user id")
	}
	until := claims.ExpiresAt.Add(v.cfg.Leeway)
	if limit := now.Add(verifiedTokenTTL); until.After(limit) {
		until = limit
	}
	v.verified.put(token, verifiedToken{subject: id, until: until})
	return id, nil
}

// checkLifetime refuses a token that lives longer than MaxTTL (with the leeway),
// counted from now and, when it says when it was issued, from then.
func (v *Verifier) checkLifetime(c jwt.RegisteredClaims, now time.Time) error {
	limit := v.cfg.MaxTTL
	if limit <= 0 {
		return nil
	}
	exp := c.ExpiresAt.Time // required by the parser
	tooLong := exp.Sub(now) > limit+v.cfg.Leeway || c.IssuedAt != nil && exp.Sub(c.IssuedAt.Time) > limit+v.cfg.Leeway
	if tooLong {
		return fmt.Errorf("the token lives longer than the %s this server accepts: ask for one that expires sooner", shortDuration(limit))
	}
	return nil
}

// shortDuration writes d without its zero minutes and seconds: 24h, 1h30m, 90s.
func shortDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = s[:len(s)-2]
	}
	if strings.HasSuffix(s, "h0m") {
		s = s[:len(s)-2]
	}
	return s
}

// reason names the failed check of a parse error.
func reason(err error) string {
	switch {
	case errors.Is(err, jwt.ErrTokenMalformed):
		return "the token is malformed"
	case errors.Is(err, jwt.ErrTokenExpired):
		return "the token has expired"
	case errors.Is(err, jwt.ErrTokenNotValidYet), errors.Is(err, jwt.ErrTokenUsedBeforeIssued):
		return "the token is not valid yet"
	case errors.Is(err, jwt.ErrTokenInvalidIssuer):
		return "the token's issuer is not accepted"
	case errors.Is(err, jwt.ErrTokenInvalidAudience):
		return "the token's audience is not accepted"
	case errors.Is(err, jwt.ErrTokenRequiredClaimMissing):
		return "the token lacks a required claim (exp)"
	default:
		return "the token's signature or algorithm is not accepted"
	}
}

// BearerToken returns the token of an "Authorization: Bearer …" header value; ok is
// false when the header is of another form.
func BearerToken(header string) (token string, ok bool) {
	scheme, token, found := strings.Cut(strings.TrimSpace(header), " ")
	if !found || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	token = strings.TrimSpace(token)
	return token, token != ""
}

// Sign returns an HS256 token for user that expires after ttl, with the issuer and
// audience of cfg; a ttl beyond cfg.MaxTTL is refused, as Verify would refuse the
// token. It serves development (`customers token`) and tests.
func Sign(cfg Config, user models.ObjectID, ttl time.Duration) (string, error) {
	if len(cfg.Secret) == 0 {
		return "", fmt.Errorf("no JWT secret to sign with: set JWT_SECRET")
	}
	if cfg.MaxTTL > 0 && ttl > cfg.MaxTTL {
		return "", fmt.Errorf("a lifetime of %s is longer than JWT_MAX_TTL (%s), which the server accepts", shortDuration(ttl), shortDuration(cfg.MaxTTL))
	}
	now := time.Now()
	claims := jwt.RegisteredClaims{
		Subject:   user.String(),
		Issuer:    cfg.Issuer,
		IssuedAt:  jwt.NewNumericDate(now),
		NotBefore: jwt.NewNumericDate(now),
		ExpiresAt: jwt.NewNumericDate(now.Add(ttl)),
	}
	if cfg.Audience != "" {
		claims.Audience = jwt.ClaimStrings{cfg.Audience}
	}
	return jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString(cfg.Secret)
}

// Algorithms lists the algorithms v accepts, for the startup log.
func (v *Verifier) Algorithms() []string { return slices.Clone(v.methods) }
