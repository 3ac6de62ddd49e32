package auth_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/MicahParks/jwkset"
	"github.com/golang-jwt/jwt/v5"

	"github.com/cloudcomms/customers/internal/auth"
	"github.com/cloudcomms/customers/models"
)

var (
	secret = []byte("0123456789abcdef0123456789abcdef")
	user   = models.MustParseObjectID("677b9b9000000000000003ec")
)

// keyServer serves a JWK set that a test can rotate, and counts fetches.
type keyServer struct {
	*httptest.Server
	mu      sync.Mutex
	keys    map[string]any // kid → public key
	fetches atomic.Int32
}

func newKeyServer(t *testing.T) *keyServer {
	ks := &keyServer{keys: map[string]any{}}
	ks.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ks.fetches.Add(1)
		ks.mu.Lock()
		defer ks.mu.Unlock()
		var set jwkset.JWKSMarshal
		for kid, pub := range ks.keys {
			jwk, err := jwkset.NewJWKFromKey(pub, jwkset.JWKOptions{Metadata: jwkset.JWKMetadataOptions{KID: kid}})
			if err != nil {
				t.Error(err)
				return
			}
			set.Keys = append(set.Keys, jwk.Marshal())
		}
		_ = json.NewEncoder(w).Encode(set)
	}))
	t.Cleanup(ks.Close)
	return ks
}

func (ks *keyServer) publish(kid string, pub any) {
	ks.mu.Lock()
	defer ks.mu.Unlock()
	ks.keys[kid] = pub
}

func claims(mod func(*jwt.RegisteredClaims)) jwt.RegisteredClaims {
	now := time.Now()
	c := jwt.RegisteredClaims{
		Subject: user.String(), Issuer: "https://issuer.example", Audience: jwt.ClaimStrings{"customers-api"},
		IssuedAt: jwt.NewNumericDate(now), NotBefore: jwt.NewNumericDate(now), ExpiresAt: jwt.NewNumericDate(now.Add(time.Hour)),
	}
	if mod != nil {
		mod(&c)
	}
	return c
}

func sign(t *testing.T, method jwt.SigningMethod, kid string, key any, c jwt.RegisteredClaims) string {
	t.Helper()
	tok := jwt.NewWithClaims(method, c)
	if kid != "" {
		tok.Header["kid"] = kid
	}
	s, err := tok.SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestVerify(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	rsaKey, _ := rsa.GenerateKey(rand.Reader, 2048)
	ecKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	otherRSA, _ := rsa.GenerateKey(rand.Reader, 2048)
	ks := newKeyServer(t)
	ks.publish("rsa-1", &rsaKey.PublicKey)
	ks.publish("ec-1", &ecKey.PublicKey)
	v, err := auth.NewVerifier(ctx, auth.Config{
		Secret: secret, JWKSURL: ks.URL, Issuer: "https://issuer.example", Audience: "customers-api",
		Leeway: 30 * time.Second, JWKSRefreshLimit: time.Hour,
	})
	if err != nil {
		t.Fatal(err)
	}
	pubPEM := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: must(x509.MarshalPKIXPublicKey(&rsaKey.PublicKey))})
	none := sign(t, jwt.SigningMethodNone, "", jwt.UnsafeAllowNoneSignatureType, claims(nil))
	tests := []struct {
		name, token, want string // want: "" for accepted, else the start of the error
	}{
		{"HS256", sign(t, jwt.SigningMethodHS256, "", secret, claims(nil)), ""},
		{"RS256FromJWKS", sign(t, jwt.SigningMethodRS256, "rsa-1", rsaKey, claims(nil)), ""},
		{"ES256FromJWKS", sign(t, jwt.SigningMethodES256, "ec-1", ecKey, claims(nil)), ""},
		{"ExpiredWithinLeeway", sign(t, jwt.SigningMethodHS256, "", secret, claims(func(c *jwt.RegisteredClaims) { c.ExpiresAt = jwt.NewNumericDate(time.Now().Add(-10 * time.Second)) })), ""},
		{"Malformed", "not.a.jwt", "the token is malformed"},
		{"Garbage", "abc", "the token is malformed"},
		{"Expired", sign(t, jwt.SigningMethodHS256, "", secret, claims(func(c *jwt.RegisteredClaims) { c.ExpiresAt = jwt.NewNumericDate(time.Now().Add(-time.Minute)) })), "the token has expired"},
		{"NoExpiry", sign(t, jwt.SigningMethodHS256, "", secret, claims(func(c *jwt.RegisteredClaims) { c.ExpiresAt = nil })), "the token lacks a required claim"},
		{"NotYetValid", sign(t, jwt.SigningMethodHS256, "", secret, claims(func(c *jwt.RegisteredClaims) { c.NotBefore = jwt.NewNumericDate(time.Now().Add(time.Minute)) })), "the token is not valid yet"},
		{"WrongIssuer", sign(t, jwt.SigningMethodHS256, "", secret, claims(func(c *jwt.RegisteredClaims) { c.Issuer = "https://evil.example" })), "the token's issuer"},
		{"WrongAudience", sign(t, jwt.SigningMethodHS256, "", secret, claims(func(c *jwt.RegisteredClaims) { c.Audience = jwt.ClaimStrings{"billing-api"} })), "the token's audience"},
		{"WrongSecret", sign(t, jwt.SigningMethodHS256, "", []byte("another secret of at least 32 bytes!"), claims(nil)), "the token's signature"},
		{"WrongRSAKey", sign(t, jwt.SigningMethodRS256, "rsa-1", otherRSA, claims(nil)), "the token's signature"},
		{"AlgNone", none, "the token's signature"},
		{"AlgorithmConfusion", sign(t, jwt.SigningMethodHS256, "rsa-1", pubPEM, claims(nil)), "the token's signature"},
		{"HS512NotAllowed", sign(t, jwt.SigningMethodHS512, "", secret, claims(nil)), "the token's signature"},
		{"UnknownKID", sign(t, jwt.SigningMethodRS256, "rsa-unknown", rsaKey, claims(nil)), "the token's signature"},
		{"SubjectNotAnID", sign(t, jwt.SigningMethodHS256, "", secret, claims(func(c *jwt.RegisteredClaims) { c.Subject = "ada" })), "the token's subject"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := v.Verify(ctx, tt.token)
			if tt.want == "" {
				if err != nil || got != user {
					t.Errorf("Verify = %s, %v; want %s", got, err, user)
				}
				return
			}
			if err == nil || !strings.HasPrefix(err.Error(), tt.want) {
				t.Errorf("Verify error = %v, want %q…", err, tt.want)
			}
		})
	}
}

// TestJWKSRotation publishes a new key after the verifier has cached the set: a
// token signed with it is accepted after one refetch, and made-up key ids do not
// make the verifier fetch again within the refresh limit.
func TestJWKSRotation(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	oldKey, _ := rsa.GenerateKey(rand.Reader, 2048)
	newKey, _ := rsa.GenerateKey(rand.Reader, 2048)
	ks := newKeyServer(t)
	ks.publish("old", &oldKey.PublicKey)
	v, err := auth.NewVerifier(ctx, auth.Config{JWKSURL: ks.URL, JWKSRefreshLimit: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	c := claims(func(c *jwt.RegisteredClaims) { c.Issuer, c.Audience = "", nil })
	if _, err := v.Verify(ctx, sign(t, jwt.SigningMethodRS256, "old", oldKey, c)); err != nil {
		t.Fatalf("old key: %v", err)
	}
	ks.publish("new", &newKey.PublicKey)
	before := ks.fetches.Load()
	if _, err := v.Verify(ctx, sign(t, jwt.SigningMethodRS256, "new", newKey, c)); err != nil {
		t.Fatalf("rotated key: %v", err)
	}
	if ks.fetches.Load() != before+1 {
		t.Errorf("key set fetched %d times for the new key, want 1", ks.fetches.Load()-before)
	}
	before = ks.fetches.Load()
	for i := range 5 {
		if _, err := v.Verify(ctx, sign(t, jwt.SigningMethodRS256, "made-up-"+string(rune('a'+i)), newKey, c)); err == nil {
			t.Error("a token with an unknown key id was accepted")
		}
	}
	if n := ks.fetches.Load() - before; n != 0 {
		t.Errorf("unknown key ids caused %d fetches within the refresh limit, want 0", n)
	}
	if _, err := v.Verify(ctx, "x.y.z"); err == nil {
		t.Error("HS256 accepted without a secret")
	}
}

func TestNotConfigured(t *testing.T) {
	v, err := auth.NewVerifier(context.Background(), auth.Config{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := v.Verify(context.Background(), sign(t, jwt.SigningMethodHS256, "", secret, claims(nil))); err != auth.ErrNotConfigured {
		t.Errorf("Verify = %v, want ErrNotConfigured", err)
	}
	if _, err := auth.NewVerifier(context.Background(), auth.Config{Secret: []byte("short")}); err == nil {
		t.Error("a short secret was accepted")
	}
}

func TestSignAndBearer(t *testing.T) {
	cfg := auth.Config{Secret: secret, Issuer: "i", Audience: "a"}
	tok, err := auth.Sign(cfg, user, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	v, _ := auth.NewVerifier(context.Background(), cfg)
	got, err := v.Verify(context.Background(), tok)
	if err != nil || got != user {
		t.Errorf("Verify(Sign) = %s, %v", got, err)
	}
	for header, want := range map[string]string{"Bearer abc": "abc", "bearer  abc ": "abc", "Basic abc": "", "Bearer": "", "": ""} {
		if got, ok := auth.BearerToken(header); got != want || ok != (want != "") {
			t.Errorf("BearerToken(%q) = %q, %v", header, got, ok)
		}
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// TestMaxTTL refuses tokens that live longer than MaxTTL, counted from now and from
// their iat, with the leeway.
func TestMaxTTL(t *testing.T) {
	cfg := auth.Config{Secret: secret, Leeway: 30 * time.Second, MaxTTL: 24 * time.Hour}
	v, err := auth.NewVerifier(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	at := func(iat *time.Time, exp time.Time) string {
		return sign(t, jwt.SigningMethodHS256, "", secret, claims(func(c *jwt.RegisteredClaims) {
			c.Issuer, c.Audience, c.IssuedAt, c.NotBefore, c.ExpiresAt = "", nil, nil, nil, jwt.NewNumericDate(exp)
			if iat != nil {
				c.IssuedAt = jwt.NewNumericDate(*iat)
			}
		}))
	}
	twoDaysAgo := now.Add(-48 * time.Hour)
	const refused = "the token lives longer than the 24h this server accepts"
	for _, tt := range []struct {
		name, token, want string
	}{
		{"Day", at(&now, now.Add(24*time.Hour)), ""},
		{"DayWithinLeeway", at(nil, now.Add(24*time.Hour+20*time.Second)), ""},
		{"HundredYears", at(&now, now.AddDate(100, 0, 0)), refused},
		{"HundredYearsNoIAT", at(nil, now.AddDate(100, 0, 0)), refused},
		{"DayAndAnHour", at(nil, now.Add(25*time.Hour)), refused},
		{"IssuedLongAgo", at(&twoDaysAgo, now.Add(time.Hour)), refused},
	} {
		_, err := v.Verify(context.Background(), tt.token)
		if tt.want == "" && err != nil || tt.want != "" && (err == nil || !strings.HasPrefix(err.Error(), tt.want)) {
			t.Errorf("%s: Verify error = %v, want %q", tt.name, err, tt.want)
		}
	}
	if _, err := auth.Sign(cfg, user, 24*time.Hour); err != nil {
		t.Errorf("Sign for 24h: %v", err)
	}
	if _, err := auth.Sign(cfg, user, 25*time.Hour); err == nil || !strings.Contains(err.Error(), "longer than JWT_MAX_TTL (24h)") {
		t.Errorf("Sign for 25h: %v", err)
	}
}

// TestVerifiedTokenExpires: a token verified once is not checked again while it is
// valid, but it expires all the same.
func TestVerifiedTokenExpires(t *testing.T) {
	t.Parallel()
	cfg := auth.Config{Secret: secret}
	v, err := auth.NewVerifier(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	token := sign(t, jwt.SigningMethodHS256, "", secret, claims(func(c *jwt.RegisteredClaims) {
		c.Issuer, c.Audience, c.IssuedAt, c.NotBefore = "", nil, nil, nil
		c.ExpiresAt = jwt.NewNumericDate(time.Now().Add(1100 * time.Millisecond))
	}))
	for i := range 2 {
		if id, err := v.Verify(context.Background(), token); err != nil || id != user {
			t.Fatalf("use %d: %v %v", i+1, id, err)
		}
	}
	time.Sleep(1200 * time.Millisecond)
	if _, err := v.Verify(context.Background(), token); err == nil || err.Error() != "the token has expired" {
		t.Errorf("after exp: %v, want the token has expired", err)
	}
}
