package graph

import (
	"context"
	"encoding/json"
	"sync"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/graph-gophers/dataloader/v7"

	"github.com/cloudcomms/customers/models"
)

// Batching. Timers alone batch unreliably (a page's field resolvers start over
// several milliseconds, more under load), so a page is batched by construction: the
// page resolver reads every selected link of its customers in one statement per
// kind and primes the loaders; a nested connection's loader is sized to its page
// and runs as soon as each customer of the page has asked (groupWait is only a
// safety net). loaderWait is the window for lookups outside a page.
const (
	loaderWait     = 2 * time.Millisecond
	groupWait      = 50 * time.Millisecond
	loaderCapacity = 1000
)

// Loaders batch the lookups of one operation, so that a page of customers with their
// linked users costs one statement per kind of record, not one per row. A new set
// is made for every operation, and for every event of a subscription: nothing
// cached outlives it or reaches another operation (a WebSocket runs many).
type Loaders struct {
	CustomerByID *dataloader.Loader[models.ObjectID, *models.Customer]
	UserByID     *dataloader.Loader[models.ObjectID, *models.User]
	InvoiceByID  *dataloader.Loader[models.ObjectID, *models.Invoice]
	// The nested connections of a customer and their counts.
	UsersOfCustomer           nestedLoaders[*models.UserPage]
	UserCountOfCustomer       nestedLoaders[int]
	InvoicesOfCustomer        nestedLoaders[*models.InvoicePage]
	InvoiceCountOfCustomer    nestedLoaders[int]
	AuditEventsOfCustomer     nestedLoaders[*models.AuditEventPage]
	AuditEventCountOfCustomer nestedLoaders[int]

	findUsers    func(context.Context, []models.ObjectID, *models.Fields[models.User]) (map[models.ObjectID]*models.User, error)
	findInvoices func(context.Context, []models.ObjectID) (map[models.ObjectID]*models.Invoice, error)

	mu     sync.Mutex
	args   map[string]*nestedArgs
	groups map[models.ObjectID]*pageGroup
}

// nestedArgs are the arguments of a nested connection field, shared by every
// customer that asks with the same ones.
type nestedArgs struct {
	userFilter    *models.UserFilter
	userOrder     []models.UserOrder
	invoiceFilter *models.InvoiceFilter
	invoiceOrder  []models.InvoiceOrder
	page          models.PageArgs
}

// pageGroup is the customers of one page: their nested connections are read in
// one batch of exactly that many keys.
type pageGroup struct{ size int }

// newLoaders makes the loaders of one request over the resolver's stores.
func newLoaders(r *Resolver) *Loaders {
	l := &Loaders{
		args: map[string]*nestedArgs{}, groups: map[models.ObjectID]*pageGroup{},
		findUsers: r.UserStore.FindUsersByIDs, findInvoices: r.InvoiceStore.FindInvoicesByIDs,
	}
	l.CustomerByID = byIDLoader(r.CustomerStore.FindCustomersByIDs, loaderCapacity, loaderWait)
	l.UserByID = byIDLoader(func(ctx context.Context, ids []models.ObjectID) (map[models.ObjectID]*models.User, error) {
		return l.findUsers(ctx, ids, nil)
	}, loaderCapacity, loaderWait)
	l.InvoiceByID = byIDLoader(l.findInvoices, loaderCapacity, loaderWait)
	l.UsersOfCustomer.find = func(ctx context.Context, ids []models.ObjectID, a *nestedArgs) (map[models.ObjectID]*models.UserPage, error) {
		return r.UserStore.FindUsersOfCustomers(ctx, ids, a.userFilter, a.userOrder, a.page)
	}
	l.UserCountOfCustomer.find = func(ctx context.Context, ids []models.ObjectID, a *nestedArgs) (map[models.ObjectID]int, error) {
		return r.UserStore.CountUsersOfCustomers(ctx, ids, a.userFilter)
	}
	l.InvoicesOfCustomer.find = func(ctx context.Context, ids []models.ObjectID, a *nestedArgs) (map[models.ObjectID]*models.InvoicePage, error) {
		return r.InvoiceStore.FindInvoicesOfCustomers(ctx, ids, a.invoiceFilter, a.invoiceOrder, a.page)
	}
	l.InvoiceCountOfCustomer.find = func(ctx context.Context, ids []models.ObjectID, a *nestedArgs) (map[models.ObjectID]int, error) {
		return r.InvoiceStore.CountInvoicesOfCustomers(ctx, ids, a.invoiceFilter)
	}
	l.AuditEventsOfCustomer.find = func(ctx context.Context, ids []models.ObjectID, a *nestedArgs) (map[models.ObjectID]*models.AuditEventPage, error) {
		return r.AuditStore.FindEventsOfCustomers(ctx, ids, a.page)
	}
	l.AuditEventCountOfCustomer.find = func(ctx context.Context, ids []models.ObjectID, _ *nestedArgs) (map[models.ObjectID]int, error) {
		return r.AuditStore.CountEventsOfCustomers(ctx, ids)
	}
	return l
}

// byIDLoader batches lookups by id into one call of find, at most capacity ids at a
// time, waiting at most wait for more. An id with no record resolves to the zero
// value without an error (a deleted user shows as null).
func byIDLoader[V any](find func(context.Context, []models.ObjectID) (map[models.ObjectID]V, error), capacity int, wait time.Duration) *dataloader.Loader[models.ObjectID, V] {
	return dataloader.NewBatchedLoader(func(ctx context.Context, ids []models.ObjectID) []*dataloader.Result[V] {
		found, err := find(ctx, ids)
		out := make([]*dataloader.Result[V], len(ids))
		for i, id := range ids {
			out[i] = &dataloader.Result[V]{Data: found[id], Error: err}
		}
		return out
	}, dataloader.WithWait[models.ObjectID, V](wait), dataloader.WithBatchCapacity[models.ObjectID, V](capacity))
}

// nestedLoaders keeps one loader per page and argument set of a nested connection.
type nestedLoaders[V any] struct {
	find func(context.Context, []models.ObjectID, *nestedArgs) (map[models.ObjectID]V, error)

	mu      sync.Mutex
	loaders map[nestedLoaderKey]*dataloader.Loader[models.ObjectID, V]
}

type nestedLoaderKey struct {
	group *pageGroup
	args  *nestedArgs
}

// Load reads the nested connection with args for customer, batched with the other
// customers of its page.
func (n *nestedLoaders[V]) Load(ctx context.Context, l *Loaders, customer models.ObjectID, args nestedArgs) (V, error) {
	key := nestedLoaderKey{group: l.groupOf(customer), args: l.intern(args)}
	n.mu.Lock()
	loader, ok := n.loaders[key]
	if !ok {
		capacity, wait := loaderCapacity, loaderWait
		if key.group != nil {
			capacity, wait = key.group.size, groupWait
		}
		loader = byIDLoader(func(ctx context.Context, ids []models.ObjectID) (map[models.ObjectID]V, error) {
			return n.find(ctx, ids, key.args)
		}, capacity, wait)
		if n.loaders == nil {
			n.loaders = map[nestedLoaderKey]*dataloader.Loader[models.ObjectID, V]{}
		}
		n.loaders[key] = loader
	}
	n.mu.Unlock()
	return loader.Load(ctx, customer)()
}

// intern returns the one *nestedArgs equal to a.
func (l *Loaders) intern(a nestedArgs) *nestedArgs {
	b, _ := json.Marshal([]any{a.userFilter, a.userOrder, a.invoiceFilter, a.invoiceOrder, a.page})
	l.mu.Lock()
	defer l.mu.Unlock()
	if p, ok := l.args[string(b)]; ok {
		return p
	}
	p := &a
	l.args[string(b)] = p
	return p
}

// groupOf returns the page group of customer, nil when it came from no page.
func (l *Loaders) groupOf(customer models.ObjectID) *pageGroup {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.groups[customer]
}

// customerLinks are a customer's links to users, by field name.
var customerLinks = []customerLink{
	{"adminUser", func(c *models.Customer) *models.ObjectID { return c.AdminUserID },
		func(c *models.Customer) *models.User { return c.AdminUser }, func(c *models.Customer, u *models.User) { c.AdminUser = u }},
	{"billingUser", func(c *models.Customer) *models.ObjectID { return c.BillingUserID },
		func(c *models.Customer) *models.User { return c.BillingUser }, func(c *models.Customer, u *models.User) { c.BillingUser = u }},
	{"callRecordingUser", func(c *models.Customer) *models.ObjectID { return c.CallRecordingUserID },
		func(c *models.Customer) *models.User { return c.CallRecordingUser }, func(c *models.Customer, u *models.User) { c.CallRecordingUser = u }},
	{"supportUser", func(c *models.Customer) *models.ObjectID { return c.SupportUserID },
		func(c *models.Customer) *models.User { return c.SupportUser }, func(c *models.Customer, u *models.User) { c.SupportUser = u }},
	{"createdBy", func(c *models.Customer) *models.ObjectID { return c.CreatedByID },
		func(c *models.Customer) *models.User { return c.CreatedBy }, func(c *models.Customer, u *models.User) { c.CreatedBy = u }},
	{"updatedBy", func(c *models.Customer) *models.ObjectID { return c.UpdatedByID },
		func(c *models.Customer) *models.User { return c.UpdatedBy }, func(c *models.Customer, u *models.User) { c.UpdatedBy = u }},
}

// customerLink is one of a customer's links to a user.
type customerLink struct {
	field string
	id    func(*models.Customer) *models.ObjectID
	user  func(*models.Customer) *models.User
	set   func(*models.Customer, *models.User)
}

// customerSelection is what a request reads of the customers a resolver returns:
// the fields selected on them, and the columns those need of the customers and of
// their linked users. Nil columns are every column; rows read with fewer stay out of
// the loaders, where another field could look for what they lack.
type customerSelection struct {
	fields  map[string]bool
	columns *models.Fields[models.Customer]
	users   *models.Fields[models.User]
}

// linkCustomers fills in the links of cs that sel selects: one statement reads the
// linked users of all of cs, one their last refill invoices. It serves the
// customers a resolver returns itself (a page, a lookup, a mutation's result),
// whose selection is known before gqlgen walks it, so that the links are plain
// fields: no goroutine and no loader round per link. It also caches cs and what it
// read in the loaders, and, when sel holds a nested connection, makes cs one group
// for those.
func (l *Loaders) linkCustomers(ctx context.Context, cs []*models.Customer, sel customerSelection) error {
	selected := sel.fields
	if selectsNested(selected) {
		g := &pageGroup{size: len(cs)}
		l.mu.Lock()
		for _, c := range cs {
			l.groups[c.ID] = g
		}
		l.mu.Unlock()
	}
	links := make([]customerLink, 0, len(customerLinks))
	for _, link := range customerLinks {
		if selected[link.field] {
			links = append(links, link)
		}
	}
	invoice := selected["lastAutomaticRefillInvoice"]
	var userIDs, invoiceIDs []models.ObjectID
	if len(links) > 0 {
		userIDs = make([]models.ObjectID, 0, len(links)*len(cs))
	}
	for _, c := range cs {
		for _, link := range links {
			if id := link.id(c); id != nil {
				userIDs = append(userIDs, *id)
			}
		}
		if id := c.LastAutomaticRefillInvoiceID; id != nil && invoice {
			invoiceIDs = append(invoiceIDs, *id)
		}
	}
	users, err := find(ctx, l.UserByID, func(ctx context.Context, ids []models.ObjectID) (map[models.ObjectID]*models.User, error) {
		return l.findUsers(ctx, ids, sel.users)
	}, userIDs, sel.users == nil)
	if err != nil {
		return err
	}
	invoices, err := find(ctx, l.InvoiceByID, l.findInvoices, invoiceIDs, true)
	if err != nil {
		return err
	}
	for _, c := range cs {
		for _, link := range links {
			if id := link.id(c); id != nil {
				link.set(c, users[*id])
			}
		}
		if id := c.LastAutomaticRefillInvoiceID; id != nil && invoice {
			c.LastAutomaticRefillInvoice = invoices[*id]
		}
		if sel.columns == nil {
			l.CustomerByID.Prime(ctx, c.ID, c)
		}
	}
	return nil
}

// selectsNested reports whether selected, a customer's selected fields, holds a
// nested connection, whose loaders batch by the customers' page (groupOf).
func selectsNested(selected map[string]bool) bool {
	return selected["users"] || selected["invoices"] || selected["auditEvents"]
}

// link fills in the links of cs that sel selects (linkCustomers). A plan's rows
// (read with fewer columns) that select no link need nothing from the loaders:
// there is nothing to read, and they are neither cached nor followed by nested
// connections, so the request makes no loaders at all.
func link(ctx context.Context, cs []*models.Customer, sel customerSelection) error {
	if sel.columns != nil && !selectsLinks(sel.fields) {
		return nil
	}
	return loadersFor(ctx).linkCustomers(ctx, cs, sel)
}

// selectsLinks reports whether selected, a customer's selected fields, holds a
// link that linkCustomers fills in.
func selectsLinks(selected map[string]bool) bool {
	for _, link := range customerLinks {
		if selected[link.field] {
			return true
		}
	}
	return selected["lastAutomaticRefillInvoice"]
}

// find reads ids with read, in one statement, and, when prime, caches each result
// (nil for a missing record) in loader.
func find[V any](ctx context.Context, loader *dataloader.Loader[models.ObjectID, *V], read func(context.Context, []models.ObjectID) (map[models.ObjectID]*V, error), ids []models.ObjectID, prime bool) (map[models.ObjectID]*V, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	found, err := read(ctx, ids)
	if err != nil {
		return nil, err
	}
	for _, id := range ids {
		if prime {
			loader.Prime(ctx, id, found[id])
		}
	}
	return found, nil
}

// linked fills in the links of c, a customer a resolver returns (nil: none), that
// sel selects (no fields: those the field being resolved selects); err passes
// through. Should the links fail to read, the customer is still returned, its
// links null, with the error: a mutation that committed must not look failed, or
// the client would retry it.
func linked(ctx context.Context, c *models.Customer, err error, sel customerSelection) (*models.Customer, error) {
	if err != nil || c == nil {
		return c, err
	}
	if sel.fields == nil {
		sel.fields = selectedFields(ctx)
	}
	if err := link(ctx, []*models.Customer{c}, sel); err != nil {
		graphql.AddError(ctx, err)
	}
	return c, nil
}

// linkedCustomer returns the customer id, reached through another record (a user's
// or an invoice's customer), with the links that the field being resolved selects.
// Many records resolve their customer at once, each in its own goroutine, so the
// customer and its links go through the loaders, one batch of each kind for all.
func (l *Loaders) linkedCustomer(ctx context.Context, id models.ObjectID) (*models.Customer, error) {
	shared, err := l.CustomerByID.Load(ctx, id)()
	if err != nil || shared == nil {
		return shared, err
	}
	c := *shared // the loader's customer is shared by every field that loads it
	selected := selectedFields(ctx)
	users := make([]dataloader.Thunk[*models.User], len(customerLinks))
	for i, link := range customerLinks {
		if id := link.id(&c); id != nil && selected[link.field] {
			users[i] = l.UserByID.Load(ctx, *id)
		}
	}
	var invoice dataloader.Thunk[*models.Invoice]
	if c.LastAutomaticRefillInvoiceID != nil && selected["lastAutomaticRefillInvoice"] {
		invoice = l.InvoiceByID.Load(ctx, *c.LastAutomaticRefillInvoiceID)
	}
	for i, link := range customerLinks {
		if users[i] != nil {
			u, err := users[i]()
			if err != nil {
				return nil, err
			}
			link.set(&c, u)
		}
	}
	if invoice != nil {
		if c.LastAutomaticRefillInvoice, err = invoice(); err != nil {
			return nil, err
		}
	}
	return &c, nil
}

// selectedFields returns the names of the fields selected on the value of the field
// being resolved.
func selectedFields(ctx context.Context) map[string]bool {
	out := map[string]bool{}
	for _, f := range graphql.CollectFieldsCtx(ctx, nil) {
		out[f.Name] = true
	}
	return out
}

// selectedNodeFields returns the names of the fields selected on the nodes of the
// connection being resolved (under nodes and under edges.node).
func selectedNodeFields(ctx context.Context) map[string]bool {
	op := graphql.GetOperationContext(ctx)
	out := map[string]bool{}
	add := func(sels []graphql.CollectedField) {
		for _, f := range sels {
			out[f.Name] = true
		}
	}
	for _, f := range graphql.CollectFieldsCtx(ctx, nil) {
		switch f.Name {
		case "nodes":
			add(graphql.CollectFields(op, f.Selections, nil))
		case "edges":
			for _, e := range graphql.CollectFields(op, f.Selections, nil) {
				if e.Name == "node" {
					add(graphql.CollectFields(op, e.Selections, nil))
				}
			}
		}
	}
	return out
}

// loadersKey holds an operation's loaders, or a subscription event's
// (withLoaders).
type loadersKey struct{}

// withLoaders gives ctx loaders of its own, made when first asked for: many
// operations and events need none.
func withLoaders(ctx context.Context, r *Resolver) context.Context {
	return context.WithValue(ctx, loadersKey{}, sync.OnceValue(func() *Loaders { return newLoaders(r) }))
}

// loadersFor returns the operation's loaders.
func loadersFor(ctx context.Context) *Loaders {
	return ctx.Value(loadersKey{}).(func() *Loaders)()
}

// loadOptional loads id when it is set; nil otherwise.
func loadOptional[V any](ctx context.Context, l *dataloader.Loader[models.ObjectID, V], id *models.ObjectID) (V, error) {
	var zero V
	if id == nil {
		return zero, nil
	}
	return l.Load(ctx, *id)()
}
