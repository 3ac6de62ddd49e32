package models

import (
	"context"
	"net/netip"
)

// Caller is who makes a request: the client's address and, when the request
// carried a valid credential, the acting user (active, as loaded for this request).
// The HTTP layer puts it in the request's context; the business rules read it there.
type Caller struct {
	IP     netip.Addr
	UserID *ObjectID
	User   *User
	// APITokenID is the API token the caller authenticated with; nil for a JWT.
	APITokenID *ObjectID
	// CostLimit is the cost bucket, in points, that staff gave the caller's token;
	// nil for the server's.
	CostLimit *int32
	RequestID string
}

type callerKey struct{}

// WithCaller returns a context that carries c.
func WithCaller(ctx context.Context, c Caller) context.Context {
	return context.WithValue(ctx, callerKey{}, c)
}

// CallerFrom returns the caller stored in ctx, or the zero Caller (anonymous, no address).
func CallerFrom(ctx context.Context) Caller {
	c, _ := ctx.Value(callerKey{}).(Caller)
	return c
}

// Viewer returns the authenticated user of ctx, or an Unauthenticated error.
func Viewer(ctx context.Context) (*User, error) {
	if u := CallerFrom(ctx).User; u != nil {
		return u, nil
	}
	return nil, Errorf(Unauthenticated, "send a bearer token in the Authorization header")
}
