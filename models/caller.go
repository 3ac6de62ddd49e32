package models

import (
	"context"
	"net/netip"
)

// Caller is who makes a request: the client's address and, once authentication
// exists, the acting user. The HTTP layer puts it in the request's context; the
// business rules read it from there.
type Caller struct {
	IP     netip.Addr
	UserID *ObjectID
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
