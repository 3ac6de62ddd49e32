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

// APIToken is a long-lived credential of a user, for backend-for-frontend services.
// It acts as its user, with that user's current permissions.
type APIToken struct {
	ID         ObjectID   `gorm:"column:id;primaryKey"`
	UserID     ObjectID   `gorm:"column:user_id"`
	Name       string     `gorm:"column:name"`
	TokenHash  []byte     `gorm:"column:token_hash"`
	CreatedAt  time.Time  `gorm:"column:created_at;autoCreateTime:false"`
	LastUsedAt *time.Time `gorm:"column:last_used_at"`
	ExpiresAt  *time.Time `gorm:"column:expires_at"`
	RevokedAt  *time.Time `gorm:"column:revoked_at"`
}

// TableName tells GORM the table.
func (APIToken) TableName() string { return "api_tokens" }

// APITokenStore keeps API tokens.
type APITokenStore struct{ db *gorm.DB }

// NewAPITokenStore returns a store over db.
func NewAPITokenStore(db *gorm.DB) *APITokenStore { return &APITokenStore{db: db} }

func hashSecret(secret string) []byte {
	h := sha256.Sum256([]byte(secret))
	return h[:]
}

// CreateAPIToken makes a token for the caller and returns it with its secret, which
// is not stored and cannot be shown again. Errors: Unauthenticated, Forbidden (the
// caller authenticated with an API token), Invalid.
func (s *APITokenStore) CreateAPIToken(ctx context.Context, name string, expiresAt *time.Time) (*APIToken, string, error) {
	u, err := requireTokenMinter(ctx)
	if err != nil {
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
	if err := errs.err(); err != nil {
		return nil, "", err
	}
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		return nil, "", fmt.Errorf("api token: %w", err)
	}
	secret := APITokenPrefix + base64.RawURLEncoding.EncodeToString(raw)
	t := &APIToken{ID: NewObjectID(), UserID: u.ID, Name: name, TokenHash: hashSecret(secret), ExpiresAt: expiresAt}
	if err := s.db.WithContext(ctx).Omit("created_at").Clauses(clause.Returning{}).Create(t).Error; err != nil {
		return nil, "", fmt.Errorf("create api token: %w", translatePgError(err))
	}
	return t, secret, nil
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

// APITokens returns the caller's tokens, newest first, revoked and expired ones
// included. Errors: Unauthenticated.
func (s *APITokenStore) APITokens(ctx context.Context) ([]APIToken, error) {
	u, err := requireUser(ctx)
	if err != nil {
		return nil, err
	}
	var out []APIToken
	if err := s.db.WithContext(ctx).Where("user_id = ?", u.ID).Order("id DESC").Find(&out).Error; err != nil {
		return nil, fmt.Errorf("list api tokens: %w", err)
	}
	return out, nil
}

// RevokeAPIToken revokes a token of the caller (staff: of anyone) at once; revoking
// it again changes nothing. Errors: Unauthenticated, NotFound.
func (s *APITokenStore) RevokeAPIToken(ctx context.Context, id ObjectID) (*APIToken, error) {
	u, err := requireUser(ctx)
	if err != nil {
		return nil, err
	}
	q := s.db.WithContext(ctx).Where("id = ?", id)
	if !u.isStaff() {
		q = q.Where("user_id = ?", u.ID)
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
// ACTIVE, and the token's id; a token that is unknown, revoked or expired is
// Unauthenticated. It notes when the token was last used, at most once a minute.
func (s *APITokenStore) AuthenticateAPIToken(ctx context.Context, secret string) (*User, ObjectID, error) {
	var row struct {
		User
		TokenID   ObjectID   `gorm:"column:token_id"`
		RevokedAt *time.Time `gorm:"column:revoked_at"`
		ExpiresAt *time.Time `gorm:"column:expires_at"`
		Stale     bool       `gorm:"column:stale"`
	}
	err := s.db.WithContext(ctx).Raw(`SELECT u.*, t.id AS token_id, t.revoked_at, t.expires_at,
			coalesce(t.last_used_at < now() - interval '1 minute', true) AS stale
		FROM api_tokens t JOIN users u ON u.id = t.user_id WHERE t.token_hash = ?`, hashSecret(secret)).Take(&row).Error
	switch {
	case errors.Is(err, gorm.ErrRecordNotFound):
		return nil, ObjectID{}, Errorf(Unauthenticated, "the API token is unknown")
	case err != nil:
		return nil, ObjectID{}, fmt.Errorf("authenticate api token: %w", err)
	case row.RevokedAt != nil:
		return nil, ObjectID{}, Errorf(Unauthenticated, "the API token has been revoked")
	case row.ExpiresAt != nil && !row.ExpiresAt.After(time.Now()):
		return nil, ObjectID{}, Errorf(Unauthenticated, "the API token has expired")
	case row.Status != UserActive:
		return nil, ObjectID{}, Errorf(Unauthenticated, "the token's user does not exist or is not active")
	}
	if row.Stale {
		if err := s.db.WithContext(ctx).Model(&APIToken{}).Where("id = ?", row.TokenID).Update("last_used_at", gorm.Expr("now()")).Error; err != nil {
			return nil, ObjectID{}, fmt.Errorf("authenticate api token: %w", err)
		}
	}
	u := row.User
	return &u, row.TokenID, nil
}
