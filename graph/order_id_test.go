package graph_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// idPage is a decoded connection of any node type, ids only.
type idPage struct {
	Edges []struct {
		Cursor string
		Node   struct{ ID string }
	}
	PageInfo struct {
		HasNextPage, HasPreviousPage bool
		StartCursor, EndCursor       *string
	}
}

func (p idPage) ids() []string {
	out := make([]string, len(p.Edges))
	for i, e := range p.Edges {
		out[i] = e.Node.ID
	}
	return out
}

// walk reads a whole connection through fetch, size rows a page, forward (first,
// after) and then backward (last, before), and checks that both give want and that
// each page says whether another follows.
func walk(t *testing.T, fetch func(t *testing.T, vars map[string]any) idPage, size int, want []string) {
	t.Helper()
	var forward []string
	vars := map[string]any{"first": size}
	for range len(want) + 1 {
		p := fetch(t, vars)
		forward = append(forward, p.ids()...)
		if p.PageInfo.HasPreviousPage != (vars["after"] != nil) {
			t.Errorf("forward page after %d rows: hasPreviousPage %v", len(forward)-len(p.Edges), p.PageInfo.HasPreviousPage)
		}
		if !p.PageInfo.HasNextPage {
			break
		}
		vars = map[string]any{"first": size, "after": *p.PageInfo.EndCursor}
	}
	if d := cmp.Diff(want, forward); d != "" {
		t.Errorf("forward by cursor (-want +got):\n%s", d)
	}
	var backward []string
	vars = map[string]any{"last": size}
	for range len(want) + 1 {
		p := fetch(t, vars)
		backward = append(p.ids(), backward...)
		if p.PageInfo.HasNextPage != (vars["before"] != nil) {
			t.Errorf("backward page before %d rows: hasNextPage %v", len(backward)-len(p.Edges), p.PageInfo.HasNextPage)
		}
		if !p.PageInfo.HasPreviousPage {
			break
		}
		vars = map[string]any{"last": size, "before": *p.PageInfo.StartCursor}
	}
	if d := cmp.Diff(want, backward); d != "" {
		t.Errorf("backward by cursor (-want +got):\n%s", d)
	}
}

func reversed(s []string) []string {
	r := slices.Clone(s)
	slices.Reverse(r)
	return r
}

const byIDListDoc = `query($orderBy: [CustomerOrder!], $first: Int, $after: String, $last: Int, $before: String, $offset: Int) {
  customers(filter: {name: {startsWith: "By id"}}, orderBy: $orderBy, first: $first, after: $after, last: $last, before: $before, offset: $offset) {
    edges { cursor node { id } }
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
  }
}`

func TestCustomersOrderByID(t *testing.T) {
	t.Parallel()
	a := MustAPI(t)
	// Created one after another, so in id order: an id begins with its creation
	// second, and the service's counter orders those of one second.
	var created []string
	for i := range 7 {
		c := a.mustCreate(map[string]any{"name": fmt.Sprintf("By id %d", i), "credit": i % 2})
		created = append(created, c["id"].(string))
	}
	newestFirst := reversed(created)
	desc := []map[string]any{{"field": "ID", "direction": "DESC"}}
	list := func(orderBy any) func(t *testing.T, vars map[string]any) idPage {
		return func(t *testing.T, vars map[string]any) idPage {
			t.Helper()
			var out struct{ Customers idPage }
			mustData(t, a, byIDListDoc, withVars(vars, map[string]any{"orderBy": orderBy}), &out)
			return out.Customers
		}
	}
	cursor := func(t *testing.T, orderBy any) string {
		t.Helper()
		return *list(orderBy)(t, map[string]any{"first": 2}).PageInfo.EndCursor
	}

	t.Run("DescIsNewestFirst", func(t *testing.T) {
		if d := cmp.Diff(newestFirst, list(desc)(t, nil).ids()); d != "" {
			t.Errorf("ID DESC (-want +got):\n%s", d)
		}
		if !slices.IsSortedFunc(newestFirst, func(x, y string) int { return strings.Compare(y, x) }) {
			t.Errorf("ids of later customers are not larger: %v", created)
		}
	})
	t.Run("DescByCursorBothWays", func(t *testing.T) {
		walk(t, list(desc), 3, newestFirst)
	})
	t.Run("AscByCursorBothWays", func(t *testing.T) {
		walk(t, list([]map[string]any{{"field": "ID"}}), 2, created)
	})
	t.Run("DescOffset", func(t *testing.T) {
		p := list(desc)(t, map[string]any{"first": 2, "offset": 3})
		if d := cmp.Diff(newestFirst[3:5], p.ids()); d != "" {
			t.Errorf("offset 3 (-want +got):\n%s", d)
		}
		if !p.PageInfo.HasNextPage || !p.PageInfo.HasPreviousPage {
			t.Errorf("pageInfo %+v, want a page before and after", p.PageInfo)
		}
	})
	t.Run("IDAscIsTheDefaultOrder", func(t *testing.T) {
		// The same order: each takes the other's cursors.
		for _, c := range []struct {
			from, to any
		}{{[]map[string]any{{"field": "ID"}}, nil}, {nil, []map[string]any{{"field": "ID", "direction": "ASC"}}}} {
			p := list(c.to)(t, map[string]any{"after": cursor(t, c.from)})
			if d := cmp.Diff(created[2:], p.ids()); d != "" {
				t.Errorf("after the second row of %v, under %v (-want +got):\n%s", c.from, c.to, d)
			}
		}
	})
	t.Run("KeysAfterIDAreIgnored", func(t *testing.T) {
		idName := []map[string]any{{"field": "ID", "direction": "DESC"}, {"field": "NAME"}}
		if d := cmp.Diff(newestFirst, list(idName)(t, nil).ids()); d != "" {
			t.Errorf("[ID DESC, NAME] (-want +got):\n%s", d)
		}
		p := list(desc)(t, map[string]any{"after": cursor(t, idName)})
		if d := cmp.Diff(newestFirst[2:], p.ids()); d != "" {
			t.Errorf("a cursor of [ID DESC, NAME] under [ID DESC] (-want +got):\n%s", d)
		}
	})
	t.Run("IDDescAsTieBreak", func(t *testing.T) {
		// Credit ascending (even customers have 0, odd 1), ties newest first.
		var want []string
		for _, credit := range []int{0, 1} {
			for i := len(created) - 1; i >= 0; i-- {
				if i%2 == credit {
					want = append(want, created[i])
				}
			}
		}
		walk(t, list([]map[string]any{{"field": "CREDIT"}, {"field": "ID", "direction": "DESC"}}), 2, want)
	})
	t.Run("CursorOfAnotherOrderRefused", func(t *testing.T) {
		for _, c := range []struct {
			name     string
			from, to any
		}{
			{"NAME under ID DESC", []map[string]any{{"field": "NAME"}}, desc},
			{"ID DESC under ID ASC", desc, []map[string]any{{"field": "ID"}}},
			{"ID DESC under the default", desc, nil},
			{"default under ID DESC", nil, desc},
			{"ID DESC under CREDIT, ID DESC", desc, []map[string]any{{"field": "CREDIT"}, {"field": "ID", "direction": "DESC"}}},
		} {
			for _, arg := range []string{"after", "before"} {
				r := a.do(byIDListDoc, map[string]any{"orderBy": c.to, arg: cursor(t, c.from)})
				if d := cmp.Diff([]string{"BAD_USER_INPUT " + arg}, r.codes()); d != "" {
					t.Errorf("%s as %s (-want +got):\n%s", c.name, arg, d)
				}
			}
		}
	})
}

// mustData posts query as platform staff and decodes its data into dst; any error
// fails t (the subtest, unlike a.mustData, which fails the test that made a).
func mustData(t *testing.T, a *api, query string, vars map[string]any, dst any) {
	t.Helper()
	r := a.do(query, vars)
	if len(r.Errors) > 0 {
		t.Fatalf("unexpected errors: %+v", r.Errors)
	}
	if err := jsonInto(r, dst); err != nil {
		t.Fatalf("decode %s: %v", r.Data, err)
	}
}

// withVars returns the entries of both maps (b's when both have a key).
func withVars(a, b map[string]any) map[string]any {
	out := make(map[string]any, len(a)+len(b))
	for k, v := range a {
		out[k] = v
	}
	for k, v := range b {
		out[k] = v
	}
	return out
}

func TestUsersAndInvoicesOrderByID(t *testing.T) {
	t.Parallel()
	a := MustAPI(t)
	a.seedLinked(2)
	owner := a.mustCreate(map[string]any{"name": "Owner"})["id"].(string)
	var users []string
	for i := range 5 {
		u := a.mustCreateUser(map[string]any{"customerId": owner, "email": fmt.Sprintf("u%d@example.com", i), "first": "U", "last": fmt.Sprint(i)})
		users = append(users, u["id"].(string))
	}
	newestFirst := reversed(users)
	desc := []map[string]any{{"field": "ID", "direction": "DESC"}}

	t.Run("Users", func(t *testing.T) {
		walk(t, func(t *testing.T, vars map[string]any) idPage {
			var out struct{ Users idPage }
			mustData(t, a, `query($c: ObjectID!, $orderBy: [UserOrder!], $first: Int, $after: String, $last: Int, $before: String) {
  users(filter: {customerId: {eq: $c}}, orderBy: $orderBy, first: $first, after: $after, last: $last, before: $before) {
    edges { cursor node { id } } pageInfo { hasNextPage hasPreviousPage startCursor endCursor } } }`,
				withVars(vars, map[string]any{"c": owner, "orderBy": desc}), &out)
			return out.Users
		}, 2, newestFirst)
	})
	t.Run("UsersOfACustomer", func(t *testing.T) {
		walk(t, func(t *testing.T, vars map[string]any) idPage {
			var out struct{ Customer struct{ Users idPage } }
			mustData(t, a, `query($c: ObjectID!, $orderBy: [UserOrder!], $first: Int, $after: String, $last: Int, $before: String) {
  customer(id: $c) { users(orderBy: $orderBy, first: $first, after: $after, last: $last, before: $before) {
    edges { cursor node { id } } pageInfo { hasNextPage hasPreviousPage startCursor endCursor } } } }`,
				withVars(vars, map[string]any{"c": owner, "orderBy": desc}), &out)
			return out.Customer.Users
		}, 2, newestFirst)
	})
	t.Run("InvoicesOfACustomer", func(t *testing.T) {
		var customer string
		if err := a.db.Raw(`SELECT encode(id, 'hex') FROM customers WHERE name = 'Linked 001'`).Row().Scan(&customer); err != nil {
			t.Fatal(err)
		}
		if err := a.db.Exec(`INSERT INTO invoices (customer_id, amount, subtotal, due_at)
			SELECT decode(?, 'hex'), k, k, now() FROM generate_series(1, 3) AS k`, customer).Error; err != nil {
			t.Fatal(err)
		}
		var ids []string
		if err := a.db.Raw(`SELECT encode(id, 'hex') FROM invoices WHERE customer_id = decode(?, 'hex') ORDER BY id DESC`, customer).
			Scan(&ids).Error; err != nil {
			t.Fatal(err)
		}
		if len(ids) != 5 {
			t.Fatalf("the customer has %d invoices, want 5", len(ids))
		}
		walk(t, func(t *testing.T, vars map[string]any) idPage {
			var out struct{ Customer struct{ Invoices idPage } }
			mustData(t, a, `query($c: ObjectID!, $orderBy: [InvoiceOrder!], $first: Int, $after: String, $last: Int, $before: String) {
  customer(id: $c) { invoices(orderBy: $orderBy, first: $first, after: $after, last: $last, before: $before) {
    edges { cursor node { id } } pageInfo { hasNextPage hasPreviousPage startCursor endCursor } } } }`,
				withVars(vars, map[string]any{"c": customer, "orderBy": desc}), &out)
			return out.Customer.Invoices
		}, 2, ids)
	})
}
