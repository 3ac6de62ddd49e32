package models

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// APITokenPrefix starts every API token secret, so that a leaked one is easy to
// recognise (secret scanners, logs) and to tell from a JWT.
const APITokenPrefix = "cca_"

// MaxAPITokenName is the longest token name, in characters.
const MaxAPITokenName = 100

// MaxActiveAPITokens is how many tokens that are neither revoked nor expired a user
// may have: enough for a service per environment, few enough that a leaked JWT
// cannot scatter credentials (and the list stays small).
const MaxActiveAPITokens = 50

// APIToken is a long-lived credential of a user, for backend-for-frontend services.
// It acts as its user, with that user's current permissions.
type APIToken struct {
	ID     ObjectID `gorm:"column:id;primaryKey"`
	UserID ObjectID `gorm:"column:user_id"`
	// CustomerID is the user's customer, the tenant (docs/scaling.md).
	CustomerID ObjectID   `gorm:"column:customer_id"`
	Name       string     `gorm:"column:name"`
	TokenHash  []byte     `gorm:"column:token_hash"`
	CreatedAt  time.Time  `gorm:"column:created_at;autoCreateTime:false"`
	LastUsedAt *time.Time `gorm:"column:last_used_at"`
	ExpiresAt  *time.Time `gorm:"column:expires_at"`
	RevokedAt  *time.Time `gorm:"column:revoked_at"`
	// CostLimit is the token's own cost bucket, in points, when staff gave it one;
	// nil keeps the server's.
	CostLimit *int32 `gorm:"column:cost_limit"`
}

// MaxCostLimit is the largest cost bucket a token may be given, in points.
const MaxCostLimit = 100_000_000

// validCostLimit reports a cost limit outside 1 to MaxCostLimit.
func validCostLimit(errs *ValidationErrors, v *int32) {
	if v != nil && (*v < 1 || *v > MaxCostLimit) {
		errs.add("costLimit", "must be 1 to %d points (got %d)", MaxCostLimit, *v)
	}
}

// TableName tells GORM the table.
func (APIToken) TableName() string { return "api_tokens" }

// APITokenEdge is one token of a page with its cursor.
type APITokenEdge struct {
	Cursor string
	Node   *APIToken
}

// APITokenPage is one page of a user's tokens.
type APITokenPage struct {
	Edges    []APITokenEdge
	PageInfo PageInfo
}

// Nodes returns the page's tokens without their cursors.
func (p *APITokenPage) Nodes() []*APIToken {
	out := make([]*APIToken, len(p.Edges))
	for i, e := range p.Edges {
		out[i] = e.Node
	}
	return out
}

// apiTokenOrdering is newest first: ids begin with their creation second.
var apiTokenOrdering = ordering[APIToken]{{name: "ID", column: "id", desc: true, kind: keyID, value: func(t *APIToken) any { return t.ID }}}

// APITokenStore keeps API tokens, and remembers for a minute the ones it refused.
type APITokenStore struct {
	db       *gorm.DB
	cursors  *Cursors
	rejected *rejectedTokens
	callers  *CallerCache
}

// NewAPITokenStore returns a store over db whose cursors are signed by cursors and
// whose authenticated tokens are kept in callers.
func NewAPITokenStore(db *gorm.DB, cursors *Cursors, callers *CallerCache) *APITokenStore {
	return &APITokenStore{db: db, cursors: cursors, rejected: newRejectedTokens(), callers: callers}
}

func hashSecret(secret string) []byte {
	h := sha256.Sum256([]byte(secret))
	return h[:]
}

// CreateAPIToken makes a token for the caller and returns it with its secret, which
// is not stored and cannot be shown again. Errors: Unauthenticated, Forbidden (the
// caller authenticated with an API token), Invalid, Conflict (MaxActiveAPITokens
// reached).
func (s *APITokenStore) CreateAPIToken(ctx context.Context, name string, expiresAt *time.Time, costLimit *int32) (*APIToken, string, error) {
	u, err := requireTokenMinter(ctx)
	if err != nil {
		return nil, "", err
	}
	if costLimit != nil {
		if err := requireStaff(ctx, "set a token's costLimit"); err != nil {
			return nil, "", err
		}
	}
	if err := requireWritableCustomer(ctx, s.db); err != nil {
		return nil, "", err
	}
	var errs ValidationErrors
	name = strings.TrimSpace(name)
	if n := utf8.RuneCountInString(name); n == 0 || n > MaxAPITokenName {
		errs.add("name", "must be 1 to %d characters (got %d)", MaxAPITokenName, n)
	}
	if expiresAt != nil && !expiresAt.After(time.Now()) {
		errs.add("expiresAt", "must be in the future")
	}
	validCostLimit(&errs, costLimit)
	if err := errs.err(); err != nil {
		return nil, "", err
	}
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		return nil, "", fmt.Errorf("api token: %w", err)
	}
	secret := APITokenPrefix + base64.RawURLEncoding.EncodeToString(raw)
	t := &APIToken{ID: NewObjectID(), UserID: u.ID, CustomerID: u.CustomerID, Name: name, TokenHash: hashSecret(secret), ExpiresAt: expiresAt, CostLimit: costLimit}
	err = inTransaction(ctx, s.db, func(tx *gorm.DB) error {
		if err := lockActiveTokenCount(tx, u); err != nil {
			return err
		}
		return tx.Omit("created_at").Clauses(clause.Returning{}).Create(t).Error
	})
	if err != nil {
		return nil, "", fmt.Errorf("create api token: %w", translatePgError(err))
	}
	return t, secret, nil
}

// lockActiveTokenCount locks user's row for the rest of transaction tx and then
// refuses when the user has MaxActiveAPITokens active tokens. The lock makes
// concurrent creations count one after another; the count is a statement of its
// own, so that it sees the tokens committed while it waited for the lock.
func lockActiveTokenCount(tx *gorm.DB, user *User) error {
	var locked []ObjectID
	if err := tx.Raw(`SELECT id FROM users WHERE id = ? FOR NO KEY UPDATE`, user.ID).Scan(&locked).Error; err != nil {
		return err
	}
	var active int64
	err := tx.Model(&APIToken{}).Where("customer_id = ? AND user_id = ? AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > now())",
		user.CustomerID, user.ID).
		Count(&active).Error
	if err != nil {
		return err
	}
	if active >= MaxActiveAPITokens {
		return Errorf(Conflict, "you have %d active API tokens, the most allowed: revoke one (apiTokenRevoke) before making another", active)
	}
	return nil
}

// requireTokenMinter returns the caller's user unless the caller authenticated with
// an API token: a token that made tokens would live on in its children after its
// own revocation, so only a person signed in with a JWT makes them.
func requireTokenMinter(ctx context.Context) (*User, error) {
	u, err := requireUser(ctx)
	if err != nil {
		return nil, err
	}
	if CallerFrom(ctx).APITokenID != nil {
		return nil, Errorf(Forbidden, "an API token cannot create API tokens: sign in with a bearer JWT to make one")
	}
	return u, nil
}

// FindAPITokens returns one page of the caller's tokens, newest first, revoked and
// expired ones included. Errors: Unauthenticated, Invalid (page arguments).
func (s *APITokenStore) FindAPITokens(ctx context.Context, page PageArgs) (*APITokenPage, error) {
	u, err := requireUser(ctx)
	if err != nil {
		return nil, err
	}
	q := selectQuery{from: "api_tokens"}
	q.and("customer_id = ? AND user_id = ?", u.CustomerID, u.ID)
	rows, cursors, info, err := paginate(ctx, s.db, s.cursors, apiTokenOrdering, page, nil, q)
	if err != nil {
		return nil, err
	}
	p := &APITokenPage{Edges: make([]APITokenEdge, len(rows)), PageInfo: info}
	for i, r := range rows {
		p.Edges[i] = APITokenEdge{Cursor: cursors[i], Node: r}
	}
	return p, nil
}

// CountAPITokens returns how many tokens the caller has, revoked and expired ones
// included. Errors: Unauthenticated.
func (s *APITokenStore) CountAPITokens(ctx context.Context) (int, error) {
	u, err := requireUser(ctx)
	if err != nil {
		return 0, err
	}
	var n int64
	if err := s.db.WithContext(ctx).Model(&APIToken{}).Where("customer_id = ? AND user_id = ?", u.CustomerID, u.ID).Count(&n).Error; err != nil {
		return 0, fmt.Errorf("count api tokens: %w", err)
	}
	return int(n), nil
}

// RevokeAPIToken revokes a token of the caller (staff: of anyone) at once; revoking
// it again changes nothing. Errors: Unauthenticated, NotFound.
func (s *APITokenStore) RevokeAPIToken(ctx context.Context, id ObjectID) (*APIToken, error) {
	defer s.callers.InvalidateToken(id)
	u, err := requireUser(ctx)
	if err != nil {
		return nil, err
	}
	q := s.db.WithContext(ctx).Where("id = ?", id)
	if !u.isStaff() {
		q = q.Where("customer_id = ? AND user_id = ?", u.CustomerID, u.ID)
	}
	var rows []APIToken
	err = q.Model(&rows).Clauses(clause.Returning{}).Update("revoked_at", gorm.Expr("coalesce(revoked_at, now())")).Error
	if err != nil {
		return nil, fmt.Errorf("revoke api token %s: %w", id, err)
	}
	if len(rows) == 0 {
		return nil, Errorf(NotFound, "no api token with id %s", id)
	}
	return &rows[0], nil
}

// AuthenticateAPIToken returns the user an API token secret acts as, who must be
// ACTIVE, and the token (without its hash); a token that is unknown, revoked or expired is
// Unauthenticated, and is refused again for a minute without a SQL lookup. It notes
// when the token was last used, at most once a minute.
func (s *APITokenStore) AuthenticateAPIToken(ctx context.Context, secret string) (*User, *APIToken, error) {
	hash := sha256.Sum256([]byte(secret))
	now := time.Now()
	if err := s.rejected.get(hash, now); err != nil {
		return nil, nil, err
	}
	if t, u, noted, ok := s.callers.token(hash, now); ok {
		if t.ExpiresAt != nil && !t.ExpiresAt.After(now) {
			refused := Errorf(Unauthenticated, "the API token has expired")
			s.rejected.add(hash, refused, now)
			return nil, nil, refused
		}
		if now.Sub(noted) > time.Minute {
			if err := s.noteUse(ctx, t.ID); err != nil {
				return nil, nil, err
			}
			s.callers.noteTokenUse(hash, now)
		}
		return u, t, nil
	}
	return s.callers.loadToken(ctx, hash, func(ctx context.Context, generation uint64) (*User, *APIToken, error) {
		return s.findAPIToken(ctx, hash, generation, now)
	})
}

// findAPIToken reads the token of hash and its user, refuses them as
// AuthenticateAPIToken says, notes the token's use when it was not noted for a
// minute, and keeps them in the caller cache under generation.
func (s *APITokenStore) findAPIToken(ctx context.Context, hash [32]byte, generation uint64, now time.Time) (*User, *APIToken, error) {
	var row struct {
		User
		Token APIToken `gorm:"embedded;embeddedPrefix:token_"`
		Stale bool     `gorm:"column:stale"`
	}
	err := s.db.WithContext(ctx).Raw(`SELECT u.*, t.id AS token_id, t.user_id AS token_user_id, t.customer_id AS token_customer_id, t.name AS token_name,
			t.created_at AS token_created_at, t.last_used_at AS token_last_used_at, t.expires_at AS token_expires_at,
			t.revoked_at AS token_revoked_at, t.cost_limit AS token_cost_limit,
			coalesce(t.last_used_at < now() - interval '1 minute', true) AS stale
		FROM api_tokens t JOIN users u ON u.id = t.user_id WHERE t.token_hash = ?`, hash[:]).Take(&row).Error
	var refused *Error
	switch {
	case errors.Is(err, gorm.ErrRecordNotFound):
		refused = Errorf(Unauthenticated, "the API token is unknown")
	case err != nil:
		return nil, nil, fmt.Errorf("authenticate api token: %w", err)
	case row.Token.RevokedAt != nil:
		refused = Errorf(Unauthenticated, "the API token has been revoked")
	case row.Token.ExpiresAt != nil && !row.Token.ExpiresAt.After(now):
		refused = Errorf(Unauthenticated, "the API token has expired")
	case row.Status != UserActive:
		// Not remembered: the user may be made active again.
		return nil, nil, Errorf(Unauthenticated, "the token's user does not exist or is not active")
	}
	if refused != nil {
		s.rejected.add(hash, refused, now)
		return nil, nil, refused
	}
	noted := now
	if !row.Stale {
		noted = *row.Token.LastUsedAt
	} else if err := s.noteUse(ctx, row.Token.ID); err != nil {
		return nil, nil, err
	}
	s.callers.putToken(hash, &row.Token, &row.User, noted, generation, now)
	u, t := row.User, row.Token
	return &u, &t, nil
}

// noteUse writes that the token id was just used.
func (s *APITokenStore) noteUse(ctx context.Context, id ObjectID) error {
	if err := s.db.WithContext(ctx).Model(&APIToken{}).Where("id = ?", id).Update("last_used_at", gorm.Expr("now()")).Error; err != nil {
		return fmt.Errorf("note the use of api token %s: %w", id, err)
	}
	return nil
}

// SetAPITokenCostLimit gives the token id its own cost bucket of costLimit points
// (nil: the server's again). Platform staff only. Errors: Unauthenticated,
// Forbidden, NotFound, Invalid.
func (s *APITokenStore) SetAPITokenCostLimit(ctx context.Context, id ObjectID, costLimit *int32) (*APIToken, error) {
	defer s.callers.InvalidateToken(id)
	if err := requireStaff(ctx, "set a token's costLimit"); err != nil {
		return nil, err
	}
	var errs ValidationErrors
	validCostLimit(&errs, costLimit)
	if err := errs.err(); err != nil {
		return nil, err
	}
	var rows []APIToken
	err := s.db.WithContext(ctx).Model(&rows).Clauses(clause.Returning{}).Where("id = ?", id).Update("cost_limit", costLimit).Error
	if err != nil {
		return nil, fmt.Errorf("set cost limit of api token %s: %w", id, err)
	}
	if len(rows) == 0 {
		return nil, Errorf(NotFound, "no api token with id %s", id)
	}
	return &rows[0], nil
}
