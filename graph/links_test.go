package graph_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// seedLinked writes n customers through SQL, as the billing system and an admin
// would have: each with three users linked as admin (admin READ_WRITE), billing
// (billing READ_WRITE) and support (READ on both); the admin also receives recordings; two invoices, the later one its last refill,
// and created by the first customer's admin.
func (a *api) seedLinked(n int) {
	a.t.Helper()
	err := a.db.Exec(`
WITH c AS (
  INSERT INTO customers (name, credit)
  SELECT 'Linked ' || lpad(i::text, 3, '0'), i FROM generate_series(1, ?) AS i
  RETURNING id, name
), u AS (
  INSERT INTO users (customer_id, email, first, last, admin_permission, billing_permission)
  SELECT c.id, r.role || '.' || replace(lower(c.name), ' ', '') || '@example.com', initcap(r.role), c.name, r.admin, r.billing
  FROM c CROSS JOIN (VALUES ('admin', 'READ_WRITE', NULL), ('billing', NULL, 'READ_WRITE'), ('support', 'READ', 'READ')) AS r(role, admin, billing)
  RETURNING id, customer_id, email
), v AS (
  INSERT INTO invoices (customer_id, amount, subtotal, due_at, created_at)
  SELECT c.id, 100 * k, 90 * k, now() + k * interval '1 day', now() - (3 - k) * interval '1 day'
  FROM c CROSS JOIN generate_series(1, 2) AS k
  RETURNING id, customer_id, amount
)
SELECT 1`, n).Error
	if err != nil {
		a.t.Fatal(err)
	}
	err = a.db.Exec(`
UPDATE customers c SET
  admin_user_id = (SELECT id FROM users WHERE customer_id = c.id AND email LIKE 'admin.%'),
  billing_user_id = (SELECT id FROM users WHERE customer_id = c.id AND email LIKE 'billing.%'),
  support_user_id = (SELECT id FROM users WHERE customer_id = c.id AND email LIKE 'support.%'),
  call_recording_user_id = (SELECT id FROM users WHERE customer_id = c.id AND email LIKE 'admin.%'),
  last_automatic_refill_invoice_id = (SELECT id FROM invoices WHERE customer_id = c.id ORDER BY amount DESC LIMIT 1),
  created_by_id = (SELECT id FROM users WHERE email = 'admin.linked001@example.com'),
  updated_by_id = (SELECT id FROM users WHERE email = 'billing.linked001@example.com')`).Error
	if err != nil {
		a.t.Fatal(err)
	}
}

const linkedPageDoc = `query($first: Int) {
  customers(first: $first, filter: {name: {startsWith: "Linked"}}) {
    %s
    nodes {
      id name
      adminUser { id email customer { id } }
      billingUser { id email customer { id } }
      supportUser { id email customer { id } }
      callRecordingUser { id email customer { id } }
      createdBy { email customer { name } }
      updatedBy { email }
      lastAutomaticRefillInvoice { amount customer { id } }
    }
  }
}`

type linkedUser struct {
	ID       string
	Email    string
	Customer struct{ ID, Name string }
}

type linkedCustomer struct {
	ID, Name                                               string
	AdminUser, BillingUser, SupportUser, CallRecordingUser *linkedUser
	CreatedBy, UpdatedBy                                   *linkedUser
	LastAutomaticRefillInvoice                             *struct {
		Amount   int
		Customer struct{ ID string }
	}
}

// authStatements is what authenticating a request costs once its caller is cached
// (MustAPI warms the cache for the staff user): nothing.
const authStatements = 0

// TestCustomersPageStatementBudget holds a page of 100 customers with every link
// to three statements (page, users, invoices), four with totalCount.
func TestCustomersPageStatementBudget(t *testing.T) {
	t.Parallel()
	a := MustAPI(t)
	a.seedLinked(100)
	for _, tt := range []struct {
		name, total string
		budget      int64
	}{{"WithoutTotalCount", "", 3}, {"WithTotalCount", "totalCount", 4}} {
		t.Run(tt.name, func(t *testing.T) {
			var out struct {
				Customers struct{ Nodes []linkedCustomer }
			}
			a.mustData(fmt.Sprintf(linkedPageDoc, tt.total), map[string]any{"first": 100}, &out)
			if got := a.statements.Load(); got > tt.budget+authStatements {
				t.Errorf("%d SQL statements, want at most %d:\n%s", got, tt.budget, a.sqlLog())
			}
			nodes := out.Customers.Nodes
			if len(nodes) != 100 {
				t.Fatalf("%d customers, want 100", len(nodes))
			}
			for _, c := range nodes {
				slug := "linked" + c.Name[len("Linked "):] + "@example.com"
				for _, l := range []struct {
					field, role string
					user        *linkedUser
				}{{"adminUser", "admin", c.AdminUser}, {"billingUser", "billing", c.BillingUser}, {"supportUser", "support", c.SupportUser}, {"callRecordingUser", "admin", c.CallRecordingUser}} {
					if l.user == nil || l.user.Email != l.role+"."+slug || l.user.Customer.ID != c.ID {
						t.Fatalf("customer %s: %s = %+v", c.Name, l.field, l.user)
					}
				}
				if c.CreatedBy == nil || c.CreatedBy.Email != "admin.linked001@example.com" || c.CreatedBy.Customer.Name != "Linked 001" ||
					c.UpdatedBy == nil || c.UpdatedBy.Email != "billing.linked001@example.com" {
					t.Fatalf("customer %s: createdBy %+v updatedBy %+v", c.Name, c.CreatedBy, c.UpdatedBy)
				}
				if inv := c.LastAutomaticRefillInvoice; inv == nil || inv.Amount != 200 || inv.Customer.ID != c.ID {
					t.Fatalf("customer %s: lastAutomaticRefillInvoice %+v", c.Name, inv)
				}
			}
		})
	}
}

// TestNestedConnectionStatementBudget: every customer's first page of users, with
// counts, in three statements however many customers the page has.
func TestNestedConnectionStatementBudget(t *testing.T) {
	t.Parallel()
	a := MustAPI(t)
	a.seedLinked(60)
	// One customer gets more users than fit a nested page.
	if err := a.db.Exec(`INSERT INTO users (customer_id, email, first, last)
		SELECT id, 'extra' || k || '@linked.example', 'Extra', 'User' FROM customers, generate_series(1, 6) AS k
		WHERE name = 'Linked 002'`).Error; err != nil {
		t.Fatal(err)
	}
	a.logs.reset()
	var out struct {
		Customers struct {
			Nodes []struct {
				ID, Name string
				Users    struct {
					TotalCount int
					Nodes      []struct {
						Email    string
						Customer struct{ ID string }
					}
					PageInfo struct{ HasNextPage bool }
				}
			}
		}
	}
	a.mustData(`{ customers(first: 50, filter: {name: {startsWith: "Linked"}}) { nodes { id name users(first: 5, orderBy: [{field: EMAIL}]) {
		totalCount nodes { email customer { id } } pageInfo { hasNextPage } } } } }`, nil, &out)
	if got := a.statements.Load(); got > 3+authStatements {
		t.Errorf("%d SQL statements, want at most 3:\n%s", got, a.sqlLog())
	}
	if len(out.Customers.Nodes) != 50 {
		t.Fatalf("%d customers, want 50", len(out.Customers.Nodes))
	}
	for _, c := range out.Customers.Nodes {
		wantTotal, wantLen, wantMore := 3, 3, false
		if c.Name == "Linked 002" {
			wantTotal, wantLen, wantMore = 9, 5, true
		}
		u := c.Users
		if u.TotalCount != wantTotal || len(u.Nodes) != wantLen || u.PageInfo.HasNextPage != wantMore {
			t.Errorf("%s: totalCount %d, %d users, hasNextPage %v; want %d, %d, %v", c.Name, u.TotalCount, len(u.Nodes), u.PageInfo.HasNextPage, wantTotal, wantLen, wantMore)
		}
		for i, n := range u.Nodes {
			if n.Customer.ID != c.ID || (i > 0 && u.Nodes[i-1].Email >= n.Email) {
				t.Errorf("%s: user %d = %+v, out of order or of another customer", c.Name, i, n)
			}
		}
	}
}

// TestNestedConnectionPages walks one customer's users page by page.
func TestNestedConnectionPages(t *testing.T) {
	t.Parallel()
	a := MustAPI(t)
	a.seedLinked(2)
	id := a.customerID("Linked 001")
	doc := `query($id: ObjectID!, $after: String) { customer(id: $id) {
		users(first: 2, after: $after, orderBy: [{field: EMAIL, direction: DESC}]) { nodes { email } pageInfo { hasNextPage endCursor } } } }`
	var emails []string
	var after any
	for range 5 {
		var out struct {
			Customer struct {
				Users struct {
					Nodes    []struct{ Email string }
					PageInfo struct {
						HasNextPage bool
						EndCursor   string
					}
				}
			}
		}
		a.mustData(doc, map[string]any{"id": id, "after": after}, &out)
		for _, n := range out.Customer.Users.Nodes {
			emails = append(emails, n.Email)
		}
		if !out.Customer.Users.PageInfo.HasNextPage {
			break
		}
		after = out.Customer.Users.PageInfo.EndCursor
	}
	want := []string{"support.linked001@example.com", "billing.linked001@example.com", "admin.linked001@example.com"}
	if d := cmp.Diff(want, emails); d != "" {
		t.Errorf("pages (-want +got):\n%s", d)
	}
}

// TestLoadersDoNotMixRequests sends many requests at once, each for another
// customer's linked users, and checks every answer is its own.
func TestLoadersDoNotMixRequests(t *testing.T) {
	t.Parallel()
	a := MustAPI(t)
	a.seedLinked(30)
	var list struct {
		Customers struct{ Nodes []struct{ ID, Name string } }
	}
	a.mustData(`{ customers(first: 30, filter: {name: {startsWith: "Linked"}}) { nodes { id name } } }`, nil, &list)
	var wg sync.WaitGroup
	for round := range 3 {
		for _, c := range list.Customers.Nodes {
			wg.Add(1)
			go func() {
				defer wg.Done()
				r := a.do(`query($id: ObjectID!) { customer(id: $id) { adminUser { email customer { name } } users { nodes { customer { id } } } } }`, map[string]any{"id": c.ID})
				var out struct {
					Customer struct {
						AdminUser struct {
							Email    string
							Customer struct{ Name string }
						}
						Users struct {
							Nodes []struct{ Customer struct{ ID string } }
						}
					}
				}
				if err := json.Unmarshal(r.Data, &out); err != nil || r.Errors != nil {
					t.Errorf("round %d: %s %+v", round, r.Data, r.Errors)
					return
				}
				slug := fmt.Sprintf("admin.linked%s@example.com", c.Name[len("Linked "):])
				if out.Customer.AdminUser.Email != slug || out.Customer.AdminUser.Customer.Name != c.Name {
					t.Errorf("customer %s got admin %+v", c.Name, out.Customer.AdminUser)
				}
				for _, u := range out.Customer.Users.Nodes {
					if u.Customer.ID != c.ID {
						t.Errorf("customer %s listed a user of %s", c.ID, u.Customer.ID)
					}
				}
			}()
		}
	}
	wg.Wait()
}

func TestDeletedUserResolvesToNull(t *testing.T) {
	t.Parallel()
	a := MustAPI(t)
	a.seedLinked(2)
	// The creator leaves the platform: the audit link becomes null, not an error.
	if err := a.db.Exec(`UPDATE customers SET admin_user_id = NULL, call_recording_user_id = NULL`).Error; err != nil {
		t.Fatal(err)
	}
	r := a.do(`mutation($id: ObjectID!) { userDelete(id: $id) { email } }`, map[string]any{"id": a.userID("admin.linked001@example.com")})
	if r.Errors != nil {
		t.Fatalf("delete: %+v", r.Errors)
	}
	r = a.do(`{ customers(filter: {name: {startsWith: "Linked"}}) { nodes { createdBy { email } adminUser { email } } } }`, nil)
	if r.Errors != nil || string(r.Data) != `{"customers":{"nodes":[{"createdBy":null,"adminUser":null},{"createdBy":null,"adminUser":null}]}}` {
		t.Errorf("got %s %+v", r.Data, r.Errors)
	}
}

// userID returns the id of the user with email.
func (a *api) userID(email string) string {
	a.t.Helper()
	var id string
	if err := a.db.Raw(`SELECT encode(id, 'hex') FROM users WHERE email = ?`, email).Scan(&id).Error; err != nil || id == "" {
		a.t.Fatalf("no user %s: %v", email, err)
	}
	return id
}

// customerID returns the id of the customer named name.
func (a *api) customerID(name string) string {
	a.t.Helper()
	var id string
	if err := a.db.Raw(`SELECT encode(id, 'hex') FROM customers WHERE name = ?`, name).Scan(&id).Error; err != nil || id == "" {
		a.t.Fatalf("no customer %s: %v", name, err)
	}
	return id
}

func TestCustomerUserLinkIntegrity(t *testing.T) {
	t.Parallel()
	a := MustAPI(t)
	a.seedLinked(2)
	own, foreign := a.userID("support.linked001@example.com"), a.userID("support.linked002@example.com")
	customer := a.customerID("Linked 001")
	missing := "5f0000000000000000000001"
	tests := []struct {
		name  string
		patch map[string]any
		want  []string
	}{
		{"OwnUser", map[string]any{"adminUserId": own}, nil},
		{"Unlink", map[string]any{"supportUserId": nil}, nil},
		{"ForeignUser", map[string]any{"adminUserId": foreign}, []string{"BAD_USER_INPUT patch.adminUserId"}},
		{"MissingUser", map[string]any{"billingUserId": missing}, []string{"BAD_USER_INPUT patch.billingUserId"}},
		{"EveryBadLinkAtOnce", map[string]any{"adminUserId": foreign, "callRecordingUserId": missing, "supportUserId": own},
			[]string{"BAD_USER_INPUT patch.adminUserId", "BAD_USER_INPUT patch.callRecordingUserId"}},
		{"BadLinkAndBadField", map[string]any{"adminUserId": foreign, "cdrRetention": -1},
			[]string{"BAD_USER_INPUT patch.cdrRetention", "BAD_USER_INPUT patch.adminUserId"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := a.get(customer)
			r := a.do(patchDoc, map[string]any{"id": customer, "patch": tt.patch})
			if d := cmp.Diff(tt.want, r.codes()); d != "" {
				t.Fatalf("errors (-want +got):\n%s\n%+v", d, r.Errors)
			}
			if tt.want != nil {
				if d := cmp.Diff(before, a.get(customer)); d != "" {
					t.Errorf("a failed patch changed the customer:\n%s", d)
				}
			}
		})
	}
	r := a.do(createDoc, map[string]any{"input": map[string]any{"name": "New", "adminUserId": own}})
	if d := cmp.Diff([]string{"BAD_USER_INPUT input.adminUserId"}, r.codes()); d != "" {
		t.Errorf("create naming a user (-want +got):\n%s", d)
	}
	if err := a.db.Exec(`UPDATE customers SET billing_user_id = decode(?, 'hex') WHERE id = decode(?, 'hex')`, foreign, customer).Error; err == nil {
		t.Error("the database let a customer link another customer's user")
	}
}

// TestDeleteLinkedCustomer deletes a customer whose links point at its own users
// and invoices: they go with it, and nothing of another customer changes.
func TestDeleteLinkedCustomer(t *testing.T) {
	t.Parallel()
	a := MustAPI(t)
	a.seedLinked(2)
	gone, kept := a.customerID("Linked 001"), a.customerID("Linked 002")
	// Linked 002 was created by a user of Linked 001; that audit link becomes null.
	keptBefore := a.get(kept)
	var out struct{ CustomerDelete struct{ ID string } }
	a.mustData(`mutation($id: ObjectID!) { customerDelete(id: $id) { id } }`, map[string]any{"id": gone}, &out)
	var users, invoices int64
	a.db.Table("users").Where("customer_id = decode(?, 'hex')", gone).Count(&users)
	a.db.Table("invoices").Where("customer_id = decode(?, 'hex')", gone).Count(&invoices)
	if users != 0 || invoices != 0 {
		t.Errorf("%d users and %d invoices of the deleted customer remain", users, invoices)
	}
	if d := cmp.Diff(keptBefore, a.get(kept)); d != "" {
		t.Errorf("the other customer changed (-before +after):\n%s", d)
	}
	var linked struct {
		Customer struct {
			CreatedBy *struct{ Email string }
			AdminUser struct{ Email string }
		}
	}
	a.mustData(`query($id: ObjectID!) { customer(id: $id) { createdBy { email } adminUser { email } } }`, map[string]any{"id": kept}, &linked)
	if linked.Customer.CreatedBy != nil || linked.Customer.AdminUser.Email != "admin.linked002@example.com" {
		t.Errorf("after deleting its creator's customer: %+v", linked.Customer)
	}
}

func TestNestedConnectionBackwardAndErrors(t *testing.T) {
	t.Parallel()
	a := MustAPI(t)
	a.seedLinked(3)
	var out struct {
		Customers struct {
			Nodes []struct {
				Name  string
				Users struct {
					Nodes    []struct{ Email string }
					PageInfo struct{ HasPreviousPage, HasNextPage bool }
				}
			}
		}
	}
	a.mustData(`{ customers(filter: {name: {startsWith: "Linked"}}) { nodes { name users(last: 2, orderBy: [{field: EMAIL}]) { nodes { email } pageInfo { hasPreviousPage hasNextPage } } } } }`, nil, &out)
	for _, c := range out.Customers.Nodes {
		slug := "linked" + c.Name[len("Linked "):] + "@example.com"
		got := []string{}
		for _, n := range c.Users.Nodes {
			got = append(got, n.Email)
		}
		if d := cmp.Diff([]string{"billing." + slug, "support." + slug}, got); d != "" || !c.Users.PageInfo.HasPreviousPage {
			t.Errorf("%s: last 2 users (-want +got):\n%s pageInfo %+v", c.Name, d, c.Users.PageInfo)
		}
	}
	r := a.do(`{ customers(first: 1) { nodes { users(first: 101) { totalCount } invoices(filter: {amount: {in: []}}) { totalCount } } } }`, nil)
	if d := cmp.Diff([]string{"BAD_USER_INPUT first"}, r.codes()); d != "" {
		t.Errorf("nested page errors (-want +got):\n%s\n%+v", d, r.Errors)
	}
}

// TestPageWithLinksStatementBudget holds the load test's W2, a page of 50 by cursor
// with four linked users each, to two statements: the page and the users.
func TestPageWithLinksStatementBudget(t *testing.T) {
	t.Parallel()
	a := MustAPI(t)
	a.seedLinked(120)
	doc := `query($after: String) { customers(first: 50, after: $after) { edges { cursor node { id name status credit accountLock
		adminUser { id email first last } billingUser { id email first last } supportUser { id email first last }
		callRecordingUser { id email first last } } } pageInfo { hasNextPage endCursor } } }`
	var first struct {
		Customers struct{ PageInfo struct{ EndCursor string } }
	}
	a.mustData(doc, nil, &first)
	r := a.do(doc, map[string]any{"after": first.Customers.PageInfo.EndCursor})
	if r.Errors != nil || strings.Count(string(r.Data), `"adminUser":{"id"`) != 50 {
		t.Fatalf("the second page: %v %.300s", r.codes(), r.Data)
	}
	if got := a.statements.Load(); got != 2+authStatements {
		t.Errorf("%d SQL statements, want 2:\n%s", got, a.sqlLog())
	}
}
