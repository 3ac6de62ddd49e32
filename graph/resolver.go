// Package graph is the GraphQL layer: resolvers that convert arguments, call one
// function of package models, and convert its result; the mapping of errors to
// extensions.code; and the HTTP handler that serves it all. Code under generated/
// and model/ is written by gqlgen from schema.graphqls.
package graph

import (
	"context"
	"log/slog"

	"github.com/99designs/gqlgen/graphql"
	"gorm.io/gorm"

	"github.com/cloudcomms/customers/models"
)

// Resolver is the root of the resolvers: the stores they call, nothing else.
type Resolver struct {
	// Callers caches authenticated callers, and Feed serves subscriptions: run the
	// Listener while they serve.
	Callers       *models.CallerCache
	Feed          *models.Feed
	CustomerStore *models.CustomerStore
	UserStore     *models.UserStore
	InvoiceStore  *models.InvoiceStore
	AuditStore    *models.AuditStore
	APITokenStore *models.APITokenStore
}

// NewResolver returns the root resolver over db; cursors signs every connection's cursors.
func NewResolver(db *gorm.DB, cursors *models.Cursors) *Resolver {
	callers := models.NewCallerCache()
	return &Resolver{
		Callers:       callers,
		Feed:          models.NewFeed(db),
		CustomerStore: models.NewCustomerStore(db, cursors, callers),
		UserStore:     models.NewUserStore(db, cursors, callers),
		InvoiceStore:  models.NewInvoiceStore(db, cursors),
		AuditStore:    models.NewAuditStore(db, cursors),
		APITokenStore: models.NewAPITokenStore(db, cursors, callers),
	}
}

// Listener is the instance's one connection listening to PostgreSQL: the
// invalidations of the caller cache, then what subscriptions follow. Run it for as
// long as the resolver serves.
func (r *Resolver) Listener(dbURL string, logger *slog.Logger) *models.Listener {
	return &models.Listener{URL: dbURL, Logger: logger, Channels: append([]models.Channel{r.Callers.Channel()}, r.Feed.Channels(logger)...)}
}

// customer is the customer query: the customer with id, with what sel selects
// filled in, or nil when there is none the caller may see. Both the resolver and
// plans (plans.go) run it.
func (r *Resolver) customer(ctx context.Context, id models.ObjectID, sel customerSelection) (*models.Customer, error) {
	c, err := r.CustomerStore.FindCustomerByID(ctx, id, sel.columns)
	if models.ErrorKind(err) == models.NotFound {
		return nil, nil
	}
	return linked(ctx, c, err, sel)
}

// customers is the customers query: one page, with what sel selects filled in on
// each customer. Both the resolver and plans run it.
func (r *Resolver) customers(ctx context.Context, filter *models.CustomerFilter, order []models.CustomerOrder, page models.PageArgs, sel customerSelection) (*models.CustomerPage, error) {
	p, err := r.CustomerStore.FindCustomers(ctx, filter, order, page, sel.columns)
	if err != nil {
		return nil, err
	}
	return p, link(ctx, p.Nodes(), sel)
}

// opt turns gqlgen's Omittable (absent / null / value) into the models' Opt.
func opt[T any](o graphql.Omittable[*T]) models.Opt[T] {
	v, set := o.ValueOK()
	if !set {
		return models.Opt[T]{}
	}
	if v == nil {
		return models.Opt[T]{Set: true, Null: true}
	}
	return models.Some(*v)
}
