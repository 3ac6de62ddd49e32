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
