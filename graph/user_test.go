package graph_test

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

const userFields = `id customerId email first last status adminPermission billingPermission superAdminPermission version createdAt updatedAt`

var (
	userCreateDoc = `mutation($input: UserCreateInput!) { userCreate(input: $input) { ` + userFields + ` } }`
	userPatchDoc  = `mutation($id: ObjectID!, $patch: UserPatch!, $v: Int) { userPatch(id: $id, patch: $patch, expectedVersion: $v) { ` + userFields + ` } }`
	userGetDoc    = `query($id: ObjectID!) { user(id: $id) { ` + userFields + ` } }`
)

type user = map[string]any

func (a *api) mustCreateUser(input map[string]any) user {
	a.t.Helper()
	var out struct{ UserCreate user }
	a.mustData(userCreateDoc, map[string]any{"input": input}, &out)
	return out.UserCreate
}

func (a *api) getUser(id any) user {
	a.t.Helper()
	var out struct{ User user }
	a.mustData(userGetDoc, map[string]any{"id": id}, &out)
	return out.User
}

func (a *api) countUsers() int64 {
	a.t.Helper()
	var n int64
	if err := a.db.Table("users").Count(&n).Error; err != nil {
		a.t.Fatal(err)
	}
	return n
}

func TestUserCreate(t *testing.T) {
	t.Parallel()
	a := MustAPI(t)
	cust := a.mustCreate(map[string]any{"name": "Owner"})["id"]
	u := a.mustCreateUser(map[string]any{"customerId": cust, "email": " Ada@Example.com ", "first": " Ada ", "last": "Lovelace"})
	want := user{
		"customerId": cust, "email": "Ada@Example.com", "first": "Ada", "last": "Lovelace", "status": "ACTIVE",
		"adminPermission": nil, "billingPermission": nil, "superAdminPermission": nil, "version": 1.0,
	}
	if d := cmp.Diff(want, without(u, "id", "createdAt", "updatedAt")); d != "" {
		t.Errorf("created user (-want +got):\n%s", d)
	}
	if d := cmp.Diff(u, a.getUser(u["id"])); d != "" {
		t.Errorf("user(id) differs from create:\n%s", d)
	}

	long := func(n int) string { return strings.Repeat("x", n) }
	email := func(n int) string { return long(n-len("@example.com")) + "@example.com" }
	base := func(kv ...any) map[string]any {
		in := map[string]any{"customerId": cust, "email": "u@example.com", "first": "F", "last": "L"}
		for i := 0; i < len(kv); i += 2 {
			if kv[i+1] == "<absent>" {
				delete(in, kv[i].(string))
				continue
			}
			in[kv[i].(string)] = kv[i+1]
		}
		return in
	}
	tests := []struct {
		name  string
		input map[string]any
		want  []string
	}{
		{"Email5", base("email", "a@b.c"), nil},
		{"Email4", base("email", "a@bc"), []string{"BAD_USER_INPUT input.email"}},
		{"Email255", base("email", email(255)), nil},
		{"Email256", base("email", email(256)), []string{"BAD_USER_INPUT input.email"}},
		{"EmailNoAt", base("email", "ada.example.com"), []string{"BAD_USER_INPUT input.email"}},
		{"EmailDisplayName", base("email", "Ada <ada@example.com>"), []string{"BAD_USER_INPUT input.email"}},
		{"EmailTwoAts", base("email", "a@b@example.com"), []string{"BAD_USER_INPUT input.email"}},
		{"EmailNoDomainDot", base("email", "ada@localhost"), []string{"BAD_USER_INPUT input.email"}},
		{"EmailTakenOtherCase", base("email", "ADA@example.COM"), []string{"BAD_USER_INPUT input.email"}},
		{"EmailMissing", base("email", "<absent>"), []string{"BAD_USER_INPUT input.email"}},
		{"EmailNull", base("email", nil), []string{"BAD_USER_INPUT input.email"}},
		{"First45", base("email", "f45@example.com", "first", long(45)), nil},
		{"First46", base("first", long(46)), []string{"BAD_USER_INPUT input.first"}},
		{"FirstBlank", base("first", "  "), []string{"BAD_USER_INPUT input.first"}},
		{"Last46Multibyte", base("last", strings.Repeat("ö", 46)), []string{"BAD_USER_INPUT input.last"}},
		{"LastMissing", base("last", "<absent>"), []string{"BAD_USER_INPUT input.last"}},
		{"CustomerMissing", base("customerId", "<absent>"), []string{"BAD_USER_INPUT input.customerId"}},
		{"CustomerNull", base("customerId", nil), []string{"BAD_USER_INPUT input.customerId"}},
		{"CustomerUnknown", base("customerId", "5f0000000000000000000001"), []string{"BAD_USER_INPUT input.customerId"}},
		{"CustomerMalformed", base("customerId", "nope"), []string{"BAD_USER_INPUT input.customerId"}},
		{"StatusNull", base("status", nil), []string{"BAD_USER_INPUT input.status"}},
		{"StatusUnknown", base("status", "GONE"), []string{"BAD_USER_INPUT input.status"}},
		{"Permissions", base("email", "perm@example.com", "adminPermission", "READ", "billingPermission", "READ_WRITE", "superAdminPermission", nil, "status", "DISABLED"), nil},
		{"PermissionUnknown", base("adminPermission", "ALL"), []string{"BAD_USER_INPUT input.adminPermission"}},
		{"EveryInvalidFieldAtOnce", base("email", "x", "first", "", "last", long(46)),
			[]string{"BAD_USER_INPUT input.email", "BAD_USER_INPUT input.first", "BAD_USER_INPUT input.last"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := a.countUsers()
			r := a.do(userCreateDoc, map[string]any{"input": tt.input})
			if d := cmp.Diff(tt.want, r.codes()); d != "" {
				t.Fatalf("errors (-want +got):\n%s\n%+v", d, r.Errors)
			}
			want := before + 1
			if tt.want != nil {
				want = before
			}
			if n := a.countUsers(); n != want {
				t.Errorf("%d users stored, want %d", n, want)
			}
		})
	}
}

func TestUserPatchSemantics(t *testing.T) {
	t.Parallel()
	a := MustAPI(t)
	cust := a.mustCreate(map[string]any{"name": "Owner"})["id"]
	a.mustCreateUser(map[string]any{"customerId": cust, "email": "taken@example.com", "first": "T", "last": "T"})
	n := 0
	tests := []struct {
		name    string
		patch   map[string]any
		changed user
		want    []string
	}{
		{"AbsentUnchanged", map[string]any{"first": "Grace"}, user{"first": "Grace"}, nil},
		{"NullClearsPermission", map[string]any{"adminPermission": nil}, user{"adminPermission": nil}, nil},
		{"SetPermission", map[string]any{"superAdminPermission": "READ"}, user{"superAdminPermission": "READ"}, nil},
		{"EmailCaseChangeOfOwnAddress", map[string]any{"email": "ORIG@example.com"}, user{"email": "ORIG@example.com"}, nil},
		{"EmailTakenOtherCase", map[string]any{"email": "Taken@Example.com"}, nil, []string{"BAD_USER_INPUT patch.email"}},
		{"NullEmail", map[string]any{"email": nil}, nil, []string{"BAD_USER_INPUT patch.email"}},
		{"NullStatus", map[string]any{"status": nil}, nil, []string{"BAD_USER_INPUT patch.status"}},
		{"EmptyPatch", map[string]any{}, nil, []string{"BAD_USER_INPUT patch"}},
		{"CustomerNotPatchable", map[string]any{"customerId": cust}, nil, []string{"BAD_USER_INPUT patch.customerId"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n++
			u := a.mustCreateUser(map[string]any{"customerId": cust, "email": "orig@example.com", "first": "F", "last": "L", "adminPermission": "READ_WRITE"})
			defer a.db.Exec("DELETE FROM users WHERE email ILIKE 'orig@example.com'")
			r := a.do(userPatchDoc, map[string]any{"id": u["id"], "patch": tt.patch})
			if d := cmp.Diff(tt.want, r.codes()); d != "" {
				t.Fatalf("errors (-want +got):\n%s\n%+v", d, r.Errors)
			}
			after := a.getUser(u["id"])
			if tt.want != nil {
				if d := cmp.Diff(u, after); d != "" {
					t.Errorf("a failed patch changed the user:\n%s", d)
				}
				return
			}
			want := without(u, "updatedAt")
			for k, v := range tt.changed {
				want[k] = v
			}
			want["version"] = 2.0
			if d := cmp.Diff(want, without(after, "updatedAt")); d != "" {
				t.Errorf("after patch (-want +got):\n%s", d)
			}
		})
	}
	u := a.mustCreateUser(map[string]any{"customerId": cust, "email": "v@example.com", "first": "V", "last": "V"})
	r := a.do(userPatchDoc, map[string]any{"id": u["id"], "patch": map[string]any{"first": "W"}, "v": 7})
	if d := cmp.Diff([]string{"CONFLICT expectedVersion"}, r.codes()); d != "" {
		t.Errorf("stale expectedVersion (-want +got):\n%s", d)
	}
	r = a.do(userPatchDoc, map[string]any{"id": "5f0000000000000000000001", "patch": map[string]any{"first": "W"}})
	if d := cmp.Diff([]string{"NOT_FOUND"}, r.codes()); d != "" {
		t.Errorf("unknown user (-want +got):\n%s", d)
	}
}

func TestUserDelete(t *testing.T) {
	t.Parallel()
	a := MustAPI(t)
	a.seedLinked(1)
	customer := a.customerID("Linked 001")
	admin := a.userID("admin.linked001@example.com")
	doc := `mutation($id: ObjectID!) { userDelete(id: $id) { id email } }`
	r := a.do(doc, map[string]any{"id": admin})
	if d := cmp.Diff([]string{"CONFLICT"}, r.codes()); d != "" {
		t.Fatalf("deleting a linked user (-want +got):\n%s", d)
	}
	if msg := r.Errors[0].Message; !strings.Contains(msg, customer) || !strings.Contains(msg, "adminUserId") {
		t.Errorf("conflict message %q does not name the customer and field", msg)
	}
	if a.getUser(admin) == nil {
		t.Fatal("the linked user was deleted")
	}
	a.mustData(patchDoc, map[string]any{"id": customer, "patch": map[string]any{"adminUserId": nil, "callRecordingUserId": nil}}, &struct{}{})
	var out struct{ UserDelete user }
	a.mustData(doc, map[string]any{"id": admin}, &out)
	if out.UserDelete["email"] != "admin.linked001@example.com" {
		t.Errorf("delete returned %v", out.UserDelete)
	}
	if r := a.do(userGetDoc, map[string]any{"id": admin}); string(r.Data) != `{"user":null}` {
		t.Errorf("user after delete = %s", r.Data)
	}
	r = a.do(doc, map[string]any{"id": admin})
	if d := cmp.Diff([]string{"NOT_FOUND"}, r.codes()); d != "" {
		t.Errorf("deleting again (-want +got):\n%s", d)
	}
}

func TestUsersList(t *testing.T) {
	t.Parallel()
	a := MustAPI(t)
	a.seedLinked(3)
	doc := `query($filter: UserFilter, $orderBy: [UserOrder!], $first: Int, $after: String) {
		users(filter: $filter, orderBy: $orderBy, first: $first, after: $after) {
			totalCount nodes { email customer { name } } pageInfo { hasNextPage endCursor } } }`
	type page struct {
		Users struct {
			TotalCount int
			Nodes      []struct {
				Email    string
				Customer struct{ Name string }
			}
			PageInfo struct {
				HasNextPage bool
				EndCursor   string
			}
		}
	}
	var emails []string
	var after any
	for range 10 {
		var p page
		a.mustData(doc, map[string]any{"orderBy": []map[string]any{{"field": "EMAIL", "direction": "DESC"}}, "first": 4, "after": after}, &p)
		if p.Users.TotalCount != 10 {
			t.Errorf("totalCount = %d, want 10", p.Users.TotalCount)
		}
		for _, n := range p.Users.Nodes {
			emails = append(emails, n.Email)
		}
		if !p.Users.PageInfo.HasNextPage {
			break
		}
		after = p.Users.PageInfo.EndCursor
	}
	want := []string{
		"support.linked003@example.com", "support.linked002@example.com", "support.linked001@example.com",
		"staff@platform.example", "billing.linked003@example.com", "billing.linked002@example.com", "billing.linked001@example.com",
		"admin.linked003@example.com", "admin.linked002@example.com", "admin.linked001@example.com",
	}
	if d := cmp.Diff(want, emails); d != "" {
		t.Errorf("pages (-want +got):\n%s", d)
	}
	var p page
	a.mustData(doc, map[string]any{"filter": map[string]any{
		"customerId": map[string]any{"eq": a.customerID("Linked 002")},
		"or":         []any{map[string]any{"email": map[string]any{"startsWith": "ADMIN"}}, map[string]any{"adminPermission": map[string]any{"eq": "READ_WRITE"}}},
	}}, &p)
	if p.Users.TotalCount != 1 || len(p.Users.Nodes) != 1 || p.Users.Nodes[0].Email != "admin.linked002@example.com" || p.Users.Nodes[0].Customer.Name != "Linked 002" {
		t.Errorf("filtered users = %+v", p.Users)
	}
}

func TestCustomerInvoices(t *testing.T) {
	t.Parallel()
	a := MustAPI(t)
	a.seedLinked(2)
	var out struct {
		Customer struct {
			Invoices struct {
				TotalCount int
				Nodes      []struct {
					Amount   int
					Status   string
					Customer struct{ Name string }
				}
			}
			Open struct{ TotalCount int }
		}
	}
	a.mustData(`query($id: ObjectID!) { customer(id: $id) {
		invoices(orderBy: [{field: AMOUNT, direction: DESC}], first: 1) { totalCount nodes { amount status customer { name } } }
		open: invoices(filter: {status: {eq: OPEN}, amount: {lt: 150}}) { totalCount } } }`,
		map[string]any{"id": a.customerID("Linked 002")}, &out)
	inv := out.Customer.Invoices
	if inv.TotalCount != 2 || len(inv.Nodes) != 1 || inv.Nodes[0].Amount != 200 || inv.Nodes[0].Status != "OPEN" || inv.Nodes[0].Customer.Name != "Linked 002" {
		t.Errorf("invoices = %+v", inv)
	}
	if out.Customer.Open.TotalCount != 1 {
		t.Errorf("open invoices under 150 = %d, want 1", out.Customer.Open.TotalCount)
	}
}

// TestTerminatedUserIsFinal: once TERMINATED, a user changes no more, whoever asks,
// and nothing is written; it may still be deleted.
func TestTerminatedUserIsFinal(t *testing.T) {
	t.Parallel()
	a := MustAPI(t)
	w := a.accessWorld("admin")
	for _, who := range []string{a.staff, w.caller} {
		var out struct{ UserCreate user }
		r := a.as(who, userCreateDoc, map[string]any{"input": map[string]any{"customerId": w.own, "email": "gone." + who + "@example.com", "first": "G", "last": "O"}})
		if err := jsonInto(r, &out); err != nil || r.Errors != nil {
			t.Fatalf("create: %v %+v", err, r.Errors)
		}
		id := out.UserCreate["id"]
		if r := a.as(who, userPatchDoc, map[string]any{"id": id, "patch": map[string]any{"status": "TERMINATED"}}); r.Errors != nil {
			t.Fatalf("terminate: %+v", r.Errors)
		}
		for _, patch := range []map[string]any{{"status": "ACTIVE"}, {"status": "DISABLED"}, {"first": "Back"}, {"status": "TERMINATED"}} {
			before := a.snapshot()
			r := a.as(who, userPatchDoc, map[string]any{"id": id, "patch": patch})
			if d := cmp.Diff([]string{"CONFLICT"}, r.codes()); d != "" {
				t.Errorf("patch %v (-want +got):\n%s", patch, d)
			} else if msg := r.Errors[0].Message; !strings.Contains(msg, "TERMINATED, which is final") {
				t.Errorf("patch %v: message %q", patch, msg)
			}
			if a.snapshot() != before {
				t.Errorf("patch %v of a terminated user changed stored data", patch)
			}
		}
		if r := a.as(who, `mutation($id: ObjectID!) { userDelete(id: $id) { id } }`, map[string]any{"id": id}); r.Errors != nil {
			t.Errorf("delete a terminated user: %+v", r.Errors)
		}
	}
}

// TestUserEmailTakenWithOtherErrors: an email that another user has, of any customer
// and in any case, is reported with the other invalid fields of the same request,
// and nothing is written.
func TestUserEmailTakenWithOtherErrors(t *testing.T) {
	t.Parallel()
	a := MustAPI(t)
	w := a.accessWorld("admin")
	taken := "ADMIN.Linked002@example.com" // a user of the other customer
	tests := []struct {
		name, doc string
		vars      map[string]any
		want      []string
	}{
		{"Create", userCreateDoc, map[string]any{"input": map[string]any{"customerId": w.own, "email": taken, "first": "", "last": strings.Repeat("x", 46)}},
			[]string{"BAD_USER_INPUT input.first", "BAD_USER_INPUT input.last", "BAD_USER_INPUT input.email"}},
		{"Patch", userPatchDoc, map[string]any{"id": w.ownExtra, "patch": map[string]any{"email": taken, "first": " "}},
			[]string{"BAD_USER_INPUT patch.first", "BAD_USER_INPUT patch.email"}},
		{"PatchOnlyEmail", userPatchDoc, map[string]any{"id": w.ownExtra, "patch": map[string]any{"email": " " + taken}},
			[]string{"BAD_USER_INPUT patch.email"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := a.snapshot()
			r := a.as(w.caller, tt.doc, tt.vars)
			if d := cmp.Diff(tt.want, r.codes()); d != "" {
				t.Errorf("(-want +got):\n%s\n%+v", d, r.Errors)
			}
			if a.snapshot() != before {
				t.Error("a refused request changed stored data")
			}
		})
	}
}

// TestUserPatchStatementBudget: a user patch locks the user, for anyone but staff
// its customer first, and writes with its audit event in one more statement.
func TestUserPatchStatementBudget(t *testing.T) {
	t.Parallel()
	a := MustAPI(t)
	w := a.accessWorld("admin")
	a.warm(w.caller)
	for _, tt := range []struct {
		name, caller string
		budget       int64
	}{{"Staff", a.staff, 2}, {"Admin", w.caller, 3}} {
		a.logs.reset()
		if r := a.as(tt.caller, userPatchDoc, map[string]any{"id": w.ownExtra, "patch": map[string]any{"first": tt.name}}); r.Errors != nil {
			t.Fatalf("%s: %+v", tt.name, r.Errors)
		}
		if got := a.statements.Load(); got > tt.budget+authStatements {
			t.Errorf("%s: %d SQL statements, want at most %d beyond authentication:\n%s", tt.name, got, tt.budget, a.sqlLog())
		}
	}
}
