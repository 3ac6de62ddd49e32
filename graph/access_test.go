package graph_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestAccessMatrix runs each operation as each kind of caller, on the caller's own
// customer and on another one, through the HTTP handler: the table is the spec's
// "Who may do what".
func TestAccessMatrix(t *testing.T) {
	t.Parallel()
	type op struct {
		name, doc string
		vars      func(w world) map[string]any
	}
	var (
		ownCustomer     = func(w world) map[string]any { return map[string]any{"id": w.own} }
		foreignCustomer = func(w world) map[string]any { return map[string]any{"id": w.foreign} }
	)
	ops := map[string]op{
		"readOwn":           {"readOwn", `query($id: ObjectID!) { customer(id: $id) { name } }`, ownCustomer},
		"readForeign":       {"readForeign", `query($id: ObjectID!) { customer(id: $id) { name } }`, foreignCustomer},
		"countCustomers":    {"countCustomers", `{ customers { totalCount } }`, nil},
		"countUsers":        {"countUsers", `{ users { totalCount } }`, nil},
		"foreignUser":       {"foreignUser", `query($id: ObjectID!) { user(id: $id) { email } }`, func(w world) map[string]any { return map[string]any{"id": w.foreignAdmin} }},
		"foreignCreator":    {"foreignCreator", `query($id: ObjectID!) { customer(id: $id) { createdBy { email } } }`, ownCustomer},
		"create":            {"create", `mutation { customerCreate(input: {name: "New"}) { name } }`, nil},
		"patchAccount":      {"patchAccount", `mutation($id: ObjectID!) { customerPatch(id: $id, patch: {name: "Renamed"}) { name } }`, ownCustomer},
		"patchBilling":      {"patchBilling", `mutation($id: ObjectID!) { customerPatch(id: $id, patch: {automaticRefillAmount: 900}) { automaticRefillAmount } }`, ownCustomer},
		"patchCredit":       {"patchCredit", `mutation($id: ObjectID!) { customerPatch(id: $id, patch: {credit: 1, name: "X", lowBalanceAlertAmount: 1}) { credit } }`, ownCustomer},
		"patchForeign":      {"patchForeign", `mutation($id: ObjectID!) { customerPatch(id: $id, patch: {name: "Mine"}) { name } }`, foreignCustomer},
		"setStatusOwn":      {"setStatusOwn", `mutation($id: ObjectID!) { customerSetStatus(id: $id, status: SUSPENDED) { status } }`, ownCustomer},
		"deleteOwn":         {"deleteOwn", `mutation($id: ObjectID!) { customerDelete(id: $id) { name } }`, ownCustomer},
		"deleteForeign":     {"deleteForeign", `mutation($id: ObjectID!) { customerDelete(id: $id) { name } }`, foreignCustomer},
		"createUser":        {"createUser", `mutation($id: ObjectID!) { userCreate(input: {customerId: $id, email: "n@own.example", first: "N", last: "U"}) { email } }`, ownCustomer},
		"createForeignUser": {"createForeignUser", `mutation($id: ObjectID!) { userCreate(input: {customerId: $id, email: "n@foreign.example", first: "N", last: "U"}) { email } }`, foreignCustomer},
		"grantSuperAdmin":   {"grantSuperAdmin", `mutation($id: ObjectID!) { userPatch(id: $id, patch: {superAdminPermission: READ_WRITE}) { email } }`, func(w world) map[string]any { return map[string]any{"id": w.ownExtra} }},
		"patchOwnUser":      {"patchOwnUser", `mutation($id: ObjectID!) { userPatch(id: $id, patch: {first: "Renamed"}) { first } }`, func(w world) map[string]any { return map[string]any{"id": w.ownExtra} }},
		"patchForeignUser":  {"patchForeignUser", `mutation($id: ObjectID!) { userPatch(id: $id, patch: {first: "Mine"}) { first } }`, func(w world) map[string]any { return map[string]any{"id": w.foreignAdmin} }},
		"raiseOwn":          {"raiseOwn", `mutation($id: ObjectID!) { userPatch(id: $id, patch: {billingPermission: READ_WRITE}) { email } }`, func(w world) map[string]any { return map[string]any{"id": w.caller} }},
		"deleteOwnUser":     {"deleteOwnUser", `mutation($id: ObjectID!) { userDelete(id: $id) { email } }`, func(w world) map[string]any { return map[string]any{"id": w.ownExtra} }},
	}
	// want per caller: operation → "ok" (with the data when it matters) or "CODE field".
	matrix := map[string]map[string]string{
		"staff": {
			"readOwn": `ok {"customer":{"name":"Linked 001"}}`, "readForeign": `ok {"customer":{"name":"Linked 002"}}`,
			"countCustomers": `ok {"customers":{"totalCount":3}}`, "countUsers": `ok {"users":{"totalCount":8}}`,
			"foreignUser": "ok", "foreignCreator": `ok {"customer":{"createdBy":{"email":"admin.linked001@example.com"}}}`,
			"create": "ok", "patchAccount": "ok", "patchBilling": "ok", "patchCredit": "ok", "patchForeign": "ok",
			"setStatusOwn": "ok", "deleteOwn": "ok", "deleteForeign": "ok", "createUser": "ok", "createForeignUser": "ok",
			"grantSuperAdmin": "ok", "patchOwnUser": "ok", "patchForeignUser": "ok", "raiseOwn": "ok", "deleteOwnUser": "ok",
		},
		"admin": {
			"readOwn": `ok {"customer":{"name":"Linked 001"}}`, "readForeign": `ok {"customer":null}`,
			"countCustomers": `ok {"customers":{"totalCount":1}}`, "countUsers": `ok {"users":{"totalCount":4}}`,
			"foreignUser": `ok {"user":null}`, "foreignCreator": `ok {"customer":{"createdBy":{"email":"admin.linked001@example.com"}}}`,
			"create": "FORBIDDEN", "patchAccount": "ok", "patchBilling": "ok", "patchCredit": "FORBIDDEN patch.credit",
			"patchForeign": "NOT_FOUND", "setStatusOwn": "FORBIDDEN", "deleteOwn": "FORBIDDEN", "deleteForeign": "NOT_FOUND",
			"createUser": "ok", "createForeignUser": "BAD_USER_INPUT input.customerId", "grantSuperAdmin": "FORBIDDEN patch.superAdminPermission",
			"patchOwnUser": "ok", "patchForeignUser": "NOT_FOUND", "raiseOwn": "FORBIDDEN patch.billingPermission", "deleteOwnUser": "ok",
		},
		"billing": {
			"readOwn": "ok", "readForeign": `ok {"customer":null}`, "countCustomers": `ok {"customers":{"totalCount":1}}`,
			"countUsers": `ok {"users":{"totalCount":4}}`, "foreignUser": `ok {"user":null}`, "foreignCreator": "ok",
			"create": "FORBIDDEN", "patchAccount": "FORBIDDEN patch.name", "patchBilling": "ok",
			"patchCredit": "FORBIDDEN patch.name FORBIDDEN patch.credit", "patchForeign": "NOT_FOUND", "setStatusOwn": "FORBIDDEN",
			"deleteOwn": "FORBIDDEN", "deleteForeign": "NOT_FOUND", "createUser": "FORBIDDEN", "createForeignUser": "BAD_USER_INPUT input.customerId",
			"grantSuperAdmin": "FORBIDDEN", "patchOwnUser": "FORBIDDEN", "patchForeignUser": "NOT_FOUND", "raiseOwn": "FORBIDDEN", "deleteOwnUser": "FORBIDDEN",
		},
		"reader": {
			"readOwn": "ok", "readForeign": `ok {"customer":null}`, "countCustomers": `ok {"customers":{"totalCount":1}}`,
			"countUsers": `ok {"users":{"totalCount":4}}`, "foreignUser": `ok {"user":null}`, "foreignCreator": "ok",
			"create": "FORBIDDEN", "patchAccount": "FORBIDDEN patch.name", "patchBilling": "FORBIDDEN patch.automaticRefillAmount",
			"patchCredit": "FORBIDDEN patch.name FORBIDDEN patch.credit FORBIDDEN patch.lowBalanceAlertAmount", "patchForeign": "NOT_FOUND",
			"setStatusOwn": "FORBIDDEN", "deleteOwn": "FORBIDDEN", "deleteForeign": "NOT_FOUND", "createUser": "FORBIDDEN",
			"createForeignUser": "BAD_USER_INPUT input.customerId", "grantSuperAdmin": "FORBIDDEN", "patchOwnUser": "FORBIDDEN",
			"patchForeignUser": "NOT_FOUND", "raiseOwn": "FORBIDDEN", "deleteOwnUser": "FORBIDDEN",
		},
		"foreignAdmin": {
			// An admin of Linked 002 sees Linked 002 as "foreign" from Linked 001's side: its
			// own customer was created by a user of Linked 001, who must not show.
			"foreignCreator": `ok {"customer":{"createdBy":null}}`,
		},
		"none": {
			"readOwn": "UNAUTHENTICATED", "countCustomers": "UNAUTHENTICATED", "create": "UNAUTHENTICATED",
			"patchAccount": "UNAUTHENTICATED", "deleteOwn": "UNAUTHENTICATED", "createUser": "UNAUTHENTICATED",
		},
	}
	for caller, wants := range matrix {
		for opName, want := range wants {
			o := ops[opName]
			t.Run(caller+"/"+opName, func(t *testing.T) {
				t.Parallel()
				a := MustAPI(t)
				w := a.accessWorld(caller)
				var vars map[string]any
				if o.vars != nil {
					vars = o.vars(w)
				}
				before := a.snapshot()
				r := a.as(w.caller, o.doc, vars)
				got := "ok"
				if len(r.Errors) > 0 {
					got = strings.Join(r.codes(), " ")
				} else if strings.HasPrefix(want, "ok ") {
					got = "ok " + string(r.Data)
				}
				if d := cmp.Diff(want, got); d != "" {
					t.Errorf("(-want +got):\n%s\n%+v", d, r.Errors)
				}
				if got != "ok" && !strings.HasPrefix(got, "ok ") && a.snapshot() != before {
					t.Errorf("a refused %s changed stored data", opName)
				}
			})
		}
	}
}

// world names the records of an access test from one caller's point of view.
type world struct {
	caller                 string // user id, "" for none
	own, foreign           string // customers
	ownExtra, foreignAdmin string // users: an unlinked user of own, the admin of foreign
}

// accessWorld seeds Linked 001 (own) and Linked 002 (foreign), each with linked
// admin, billing and support users, and an unlinked user of Linked 001.
func (a *api) accessWorld(caller string) world {
	a.t.Helper()
	a.seedLinked(2)
	w := world{own: a.customerID("Linked 001"), foreign: a.customerID("Linked 002"), foreignAdmin: a.userID("admin.linked002@example.com")}
	if err := a.db.Exec(`INSERT INTO users (customer_id, email, first, last) VALUES (decode(?, 'hex'), 'extra@linked001.example', 'E', 'X')`, w.own).Error; err != nil {
		a.t.Fatal(err)
	}
	w.ownExtra = a.userID("extra@linked001.example")
	switch caller {
	case "staff":
		w.caller = a.staff
	case "admin":
		w.caller = a.userID("admin.linked001@example.com")
	case "billing":
		w.caller = a.userID("billing.linked001@example.com")
	case "reader":
		w.caller = a.userID("support.linked001@example.com")
	case "foreignAdmin":
		w.caller, w.own, w.foreign = a.userID("admin.linked002@example.com"), w.foreign, w.own
	}
	return w
}

// snapshot summarises every stored row and counts the audit events, to show that a
// refused request changed nothing and recorded nothing.
func (a *api) snapshot() string {
	a.t.Helper()
	var s string
	err := a.db.Raw(`SELECT concat_ws('|',
		(SELECT string_agg(md5(c::text), ',' ORDER BY id) FROM customers c),
		(SELECT string_agg(md5(u::text), ',' ORDER BY id) FROM users u),
		(SELECT count(*) FROM audit_events))`).Scan(&s).Error
	if err != nil {
		a.t.Fatal(err)
	}
	return s
}

func TestDisabledUserIsUnauthenticated(t *testing.T) {
	t.Parallel()
	a := MustAPI(t)
	a.seedLinked(1)
	admin := a.userID("admin.linked001@example.com")
	token := a.bearer(admin)
	if err := a.db.Exec(`UPDATE users SET status = 'DISABLED' WHERE id = decode(?, 'hex')`, admin).Error; err != nil {
		t.Fatal(err)
	}
	r := a.post(`{"query":"{ customers { totalCount } }"}`, map[string]string{"Authorization": token})
	if r.Status != 401 || fmt.Sprint(r.codes()) != "[UNAUTHENTICATED]" {
		t.Errorf("disabled user: status %d, errors %v", r.Status, r.codes())
	}
}

// TestUserWriteMatrix writes users as each kind of caller, on each kind of user, with
// each operation: only platform staff create, change or delete a user who holds
// superAdminPermission, and only staff give or take it; another customer's users stay
// invisible. A refusal changes nothing; a success changes the stored users.
func TestUserWriteMatrix(t *testing.T) {
	t.Parallel()
	ops := []string{"create", "adminPermission", "billingPermission", "grantSuperAdmin", "revokeSuperAdmin", "status", "email", "delete"}
	patches := map[string]map[string]any{
		"adminPermission":   {"adminPermission": "READ_WRITE"},
		"billingPermission": {"billingPermission": "READ_WRITE"},
		"grantSuperAdmin":   {"superAdminPermission": "READ_WRITE"},
		"revokeSuperAdmin":  {"superAdminPermission": nil},
		"status":            {"status": "DISABLED"},
	}
	const (
		ok        = "ok"
		forbidden = "FORBIDDEN"
		notFound  = "NOT_FOUND"
		self      = "" // nobody creates itself
		super     = "FORBIDDEN patch.superAdminPermission"
	)
	var (
		allOK        = [8]string{ok, ok, ok, ok, ok, ok, ok, ok}
		allForbidden = [8]string{forbidden, forbidden, forbidden, forbidden, forbidden, forbidden, forbidden, forbidden}
		staffTarget  = [8]string{"FORBIDDEN input.superAdminPermission", forbidden, forbidden, forbidden, forbidden, forbidden, forbidden, forbidden}
		ownUser      = [8]string{ok, ok, ok, super, super, ok, ok, ok}
		adminSelf    = [8]string{self, ok, "FORBIDDEN patch.billingPermission", super, super, ok, ok, ok}
		invisible    = [8]string{"BAD_USER_INPUT input.customerId", notFound, notFound, notFound, notFound, notFound, notFound, notFound}
	)
	// want, per caller and target (users of customer Own, or the caller itself), in
	// the order of ops.
	matrix := map[string][]struct {
		target string
		want   [8]string
	}{
		"staff": {
			{"staff", allOK}, {"staffReader", allOK}, {"admin", allOK}, {"plain", allOK},
			{"self", [8]string{self, ok, ok, ok, ok, ok, ok, ok}},
		},
		"admin": {
			{"staff", staffTarget}, {"staffReader", staffTarget}, {"admin", ownUser}, {"plain", ownUser},
			{"self", adminSelf},
		},
		"billing": {
			{"staff", allForbidden}, {"staffReader", allForbidden}, {"admin", allForbidden}, {"plain", allForbidden},
			{"self", [8]string{self, forbidden, forbidden, forbidden, forbidden, forbidden, forbidden, forbidden}},
		},
		"plain": {
			{"staff", allForbidden}, {"staffReader", allForbidden}, {"admin", allForbidden}, {"plain", allForbidden},
			{"self", [8]string{self, forbidden, forbidden, forbidden, forbidden, forbidden, forbidden, forbidden}},
		},
		"foreignAdmin": {
			{"staff", invisible}, {"staffReader", invisible}, {"admin", invisible}, {"plain", invisible},
			{"self", adminSelf},
		},
	}
	for caller, rows := range matrix {
		t.Run(caller, func(t *testing.T) {
			t.Parallel()
			a := MustAPI(t)
			w := a.userWriteWorld()
			for _, row := range rows {
				for i, op := range ops {
					want := row.want[i]
					if want == self {
						continue
					}
					t.Run(row.target+"/"+op, func(t *testing.T) {
						// Each case acts as a caller and on a target of its own.
						callerID := w.seed(caller, w.customerOf(caller))
						target := row.target
						targetID := callerID
						if target != "self" {
							targetID = w.seed(target, w.own)
						}
						var r response
						before := a.snapshot()
						switch op {
						case "create":
							input := w.newUser(target)
							input["customerId"] = w.own
							r = a.as(callerID, `mutation($input: UserCreateInput!) { userCreate(input: $input) { id } }`, map[string]any{"input": input})
						case "delete":
							r = a.as(callerID, `mutation($id: ObjectID!) { userDelete(id: $id) { id } }`, map[string]any{"id": targetID})
						case "email":
							r = a.as(callerID, `mutation($id: ObjectID!, $email: String!) { userPatch(id: $id, patch: {email: $email}) { id } }`,
								map[string]any{"id": targetID, "email": w.newUser(target)["email"]})
						default:
							r = a.as(callerID, `mutation($id: ObjectID!, $patch: UserPatch!) { userPatch(id: $id, patch: $patch) { id } }`,
								map[string]any{"id": targetID, "patch": patches[op]})
						}
						got := ok
						if len(r.Errors) > 0 {
							got = strings.Join(r.codes(), " ")
						}
						if d := cmp.Diff(want, got); d != "" {
							t.Errorf("(-want +got):\n%s\n%+v", d, r.Errors)
						}
						if changed := a.snapshot() != before; changed != (got == ok) {
							t.Errorf("answered %s, and stored data changed: %v", got, changed)
						}
					})
				}
			}
		})
	}
}

// userWorld makes users of each kind for TestUserWriteMatrix: platform staff in the
// platform's own customer, the admin of customer Other, and every other kind in
// customer Own. No customer links a user, so a permitted delete succeeds.
type userWorld struct {
	a          *api
	own, other string
	n          int // users made so far, for unique email addresses
}

// userKinds are the permissions (admin, billing, superAdmin) of each kind of user.
var userKinds = map[string][3]any{
	"staff":        {"READ_WRITE", "READ_WRITE", "READ_WRITE"},
	"staffReader":  {nil, nil, "READ"},
	"admin":        {"READ_WRITE", nil, nil},
	"billing":      {nil, "READ_WRITE", nil},
	"plain":        {nil, nil, nil},
	"foreignAdmin": {"READ_WRITE", nil, nil},
}

func (a *api) userWriteWorld() *userWorld {
	a.t.Helper()
	if err := a.db.Exec(`INSERT INTO customers (name) VALUES ('Own'), ('Other')`).Error; err != nil {
		a.t.Fatal(err)
	}
	return &userWorld{a: a, own: a.customerID("Own"), other: a.customerID("Other")}
}

// customerOf returns the customer of a caller of the given kind.
func (w *userWorld) customerOf(kind string) string {
	switch kind {
	case "staff":
		return w.a.platform
	case "foreignAdmin":
		return w.other
	}
	return w.own
}

// newUser returns the fields of a new user of the given kind, with an unused email;
// permissions it lacks are left out.
func (w *userWorld) newUser(kind string) map[string]any {
	w.n++
	u := map[string]any{"email": fmt.Sprintf("%s.%d@example.com", strings.ToLower(kind), w.n), "first": "F", "last": "L"}
	for i, field := range []string{"adminPermission", "billingPermission", "superAdminPermission"} {
		if p := userKinds[kind][i]; p != nil {
			u[field] = p
		}
	}
	return u
}

// seed stores a new user of the given kind in customer, through SQL, and returns its id.
func (w *userWorld) seed(kind, customer string) string {
	w.a.t.Helper()
	u := w.newUser(kind)
	var id string
	err := w.a.db.Raw(`INSERT INTO users (customer_id, email, first, last, admin_permission, billing_permission, super_admin_permission)
		VALUES (decode(?, 'hex'), ?, ?, ?, ?, ?, ?) RETURNING encode(id, 'hex')`,
		customer, u["email"], u["first"], u["last"], u["adminPermission"], u["billingPermission"], u["superAdminPermission"]).Row().Scan(&id)
	if err != nil {
		w.a.t.Fatal(err)
	}
	return id
}

// TestInactiveCustomerIsReadOnly: a customer that is not ACTIVE is read-only to its
// own users, admins included; its users still read it, and platform staff still
// change it and its users.
func TestInactiveCustomerIsReadOnly(t *testing.T) {
	t.Parallel()
	type write struct {
		name, caller, doc string
		vars              func(w world) map[string]any
	}
	own := func(w world) map[string]any { return map[string]any{"id": w.own} }
	extra := func(w world) map[string]any { return map[string]any{"id": w.ownExtra} }
	writes := []write{
		{"adminUnlocksAccount", "admin", `mutation($id: ObjectID!) { customerPatch(id: $id, patch: {accountLock: false, internationalCalling: true, maxOutboundCallRate: 1000}) { id } }`, own},
		{"billingPatchesBilling", "billing", `mutation($id: ObjectID!) { customerPatch(id: $id, patch: {automaticRefillAmount: 900}) { id } }`, own},
		{"adminCreatesAdmin", "admin", `mutation($id: ObjectID!) { userCreate(input: {customerId: $id, email: "new@linked001.example", first: "N", last: "U", adminPermission: READ_WRITE}) { id } }`, own},
		{"adminPatchesUser", "admin", `mutation($id: ObjectID!) { userPatch(id: $id, patch: {billingPermission: READ_WRITE}) { id } }`, extra},
		{"adminDeletesUser", "admin", `mutation($id: ObjectID!) { userDelete(id: $id) { id } }`, extra},
		{"adminMintsToken", "admin", `mutation { apiTokenCreate(name: "bff") { secret } }`, nil},
	}
	for _, status := range []string{"ACTIVE", "SUSPENDED", "FRAUD", "TERMINATED"} {
		t.Run(status, func(t *testing.T) {
			t.Parallel()
			a := MustAPI(t)
			w := a.accessWorld("admin")
			var minted struct {
				APITokenCreate struct{ Token struct{ ID string } }
			}
			if err := jsonInto(a.as(w.caller, `mutation { apiTokenCreate(name: "before") { token { id } } }`, nil), &minted); err != nil {
				t.Fatal(err)
			}
			if err := a.db.Exec(`UPDATE customers SET status = ? WHERE id = decode(?, 'hex')`, status, w.own).Error; err != nil {
				t.Fatal(err)
			}
			callers := map[string]string{"admin": w.caller, "billing": a.userID("billing.linked001@example.com")}
			for _, wr := range writes {
				var vars map[string]any
				if wr.vars != nil {
					vars = wr.vars(w)
				}
				before, tokens := a.snapshot(), a.countTokens()
				r := a.as(callers[wr.caller], wr.doc, vars)
				if status == "ACTIVE" {
					if r.Errors != nil {
						t.Errorf("%s: %+v", wr.name, r.Errors)
					}
					continue
				}
				if d := cmp.Diff([]string{"FORBIDDEN"}, r.codes()); d != "" {
					t.Errorf("%s (-want +got):\n%s", wr.name, d)
					continue
				}
				if msg := r.Errors[0].Message; !strings.Contains(msg, status+", not ACTIVE") {
					t.Errorf("%s: message %q does not say that the customer is not active", wr.name, msg)
				}
				if a.snapshot() != before || a.countTokens() != tokens {
					t.Errorf("%s: refused, yet stored data changed", wr.name)
				}
			}
			// Revoking a token takes access away, which stays allowed.
			revoke := `mutation($id: ObjectID!) { apiTokenRevoke(id: $id) { revokedAt } }`
			if r := a.as(w.caller, revoke, map[string]any{"id": minted.APITokenCreate.Token.ID}); r.Errors != nil {
				t.Errorf("its admin revokes its token: %+v", r.Errors)
			}
			var read struct {
				Customer struct {
					Status string
					Users  struct{ TotalCount int }
				}
			}
			r := a.as(w.caller, `query($id: ObjectID!) { customer(id: $id) { status users { totalCount } } }`, own(w))
			if err := jsonInto(r, &read); err != nil || r.Errors != nil || read.Customer.Status != status || read.Customer.Users.TotalCount != 4 {
				t.Errorf("its admin reads %s %+v", r.Data, r.Errors)
			}
			for _, doc := range []string{
				`mutation($id: ObjectID!) { customerPatch(id: $id, patch: {accountLock: true}) { id } }`,
				`mutation($id: ObjectID!) { userCreate(input: {customerId: $id, email: "staff.made@linked001.example", first: "S", last: "M"}) { id } }`,
			} {
				if r := a.do(doc, own(w)); r.Errors != nil {
					t.Errorf("staff: %s: %+v", doc, r.Errors)
				}
			}
		})
	}
}

// countTokens returns how many API tokens are stored.
func (a *api) countTokens() int64 {
	a.t.Helper()
	var n int64
	if err := a.db.Table("api_tokens").Count(&n).Error; err != nil {
		a.t.Fatal(err)
	}
	return n
}
