package graph_test

import (
	"encoding/json"
	"testing"

	"github.com/google/go-cmp/cmp"
)

type auditEvent struct {
	Operation, RecordType, RecordID, RequestID string
	Actor                                      *struct{ Email string }
	Changes                                    []struct {
		Field    string
		Old, New *string
	}
}

func (a *api) auditEvents(as, customer string) ([]auditEvent, response) {
	a.t.Helper()
	r := a.as(as, `query($id: ObjectID!) { customer(id: $id) { auditEvents(first: 10) { totalCount nodes {
		operation recordType recordId requestId actor { email } changes { field old new } } } } }`, map[string]any{"id": customer})
	var out struct {
		Customer struct{ AuditEvents struct{ Nodes []auditEvent } }
	}
	_ = json.Unmarshal(r.Data, &out)
	return out.Customer.AuditEvents.Nodes, r
}

func ptr(s string) *string { return &s }

// TestAuditTrail makes a customer go through create, patch, a failed patch and a
// status change, and reads back one event per successful mutation, newest first.
func TestAuditTrail(t *testing.T) {
	t.Parallel()
	a := MustAPI(t)
	c := a.mustCreate(map[string]any{"name": "Traced", "credit": 5})
	id := c["id"].(string)
	r := a.post(`{"query":"mutation($id: ObjectID!) { customerPatch(id: $id, patch: {credit: 6, cdrRetention: 12, websiteUrl: \"https://t.example\"}) { id } }","variables":{"id":"`+id+`"}}`,
		map[string]string{"X-Request-Id": "req-audit-1"})
	if r.Errors != nil {
		t.Fatal(r.Errors)
	}
	if r := a.do(patchDoc, map[string]any{"id": id, "patch": map[string]any{"credit": 7}, "v": 1}); r.Errors == nil {
		t.Fatal("a stale patch succeeded")
	}
	a.mustData(`mutation($id: ObjectID!) { customerSetStatus(id: $id, status: SUSPENDED) { id } }`, map[string]any{"id": id}, &struct{}{})

	events, r := a.auditEvents(a.staff, id)
	if r.Errors != nil {
		t.Fatal(r.Errors)
	}
	if len(events) != 3 {
		t.Fatalf("%d events, want 3 (create, patch, status): %+v", len(events), events)
	}
	status, patch, create := events[0], events[1], events[2]
	if status.Operation != "customerSetStatus" || patch.Operation != "customerPatch" || create.Operation != "customerCreate" {
		t.Errorf("operations newest first: %s, %s, %s", status.Operation, patch.Operation, create.Operation)
	}
	type change = struct {
		Field    string
		Old, New *string
	}
	if d := cmp.Diff([]change{{"status", ptr("ACTIVE"), ptr("SUSPENDED")}}, status.Changes); d != "" {
		t.Errorf("status change (-want +got):\n%s", d)
	}
	// cdrRetention was set to the value it had: not a change.
	if d := cmp.Diff([]change{{"credit", ptr("5"), ptr("6")}, {"websiteUrl", nil, ptr("https://t.example")}}, patch.Changes); d != "" {
		t.Errorf("patch changes (-want +got):\n%s", d)
	}
	if patch.RequestID != "req-audit-1" || patch.RecordType != "Customer" || patch.RecordID != id || patch.Actor == nil || patch.Actor.Email != "staff@platform.example" {
		t.Errorf("patch event = %+v", patch)
	}
	created := map[string]*string{}
	for _, ch := range create.Changes {
		if ch.Old != nil {
			t.Errorf("create: %s had an old value %v", ch.Field, *ch.Old)
		}
		created[ch.Field] = ch.New
	}
	if *created["name"] != "Traced" || *created["accountLock"] != "true" || created["logo"] != nil {
		t.Errorf("create changes: name %v accountLock %v logo %v", created["name"], created["accountLock"], created["logo"])
	}
}

// TestAuditTrailOfUsersAndDeletes: user mutations land in their customer's trail;
// a deleted customer's last event keeps its old values; refused mutations leave none.
func TestAuditTrailOfUsersAndDeletes(t *testing.T) {
	t.Parallel()
	a := MustAPI(t)
	a.seedLinked(2)
	own := a.customerID("Linked 001")
	admin := a.userID("admin.linked001@example.com")
	var u struct{ UserCreate struct{ ID string } }
	a.mustData(`mutation($c: ObjectID!) { userCreate(input: {customerId: $c, email: "new@linked001.example", first: "N", last: "U"}) { id } }`, map[string]any{"c": own}, &u)
	a.mustData(userPatchDoc, map[string]any{"id": u.UserCreate.ID, "patch": map[string]any{"adminPermission": "READ"}}, &struct{}{})
	a.mustData(`mutation($id: ObjectID!) { userDelete(id: $id) { id } }`, map[string]any{"id": u.UserCreate.ID}, &struct{}{})
	if r := a.as(admin, patchDoc, map[string]any{"id": own, "patch": map[string]any{"credit": 1}}); r.Errors == nil {
		t.Fatal("an admin set credit")
	}
	events, r := a.auditEvents(admin, own)
	if r.Errors != nil {
		t.Fatal(r.Errors)
	}
	var ops []string
	for _, e := range events {
		ops = append(ops, e.Operation+" "+e.RecordType)
	}
	if d := cmp.Diff([]string{"userDelete User", "userPatch User", "userCreate User"}, ops); d != "" {
		t.Errorf("events (-want +got):\n%s", d)
	}
	if ch := events[1].Changes; len(ch) != 1 || ch[0].Field != "adminPermission" || ch[0].Old != nil || *ch[0].New != "READ" {
		t.Errorf("userPatch changes = %+v", ch)
	}

	// Who may read it.
	for _, tt := range []struct {
		name, as, customer string
		want               []string
	}{
		{"Billing", a.userID("billing.linked001@example.com"), own, []string{"FORBIDDEN"}},
		{"ReaderWithAdminRead", a.userID("support.linked001@example.com"), own, nil},
		{"ForeignAdmin", a.userID("admin.linked002@example.com"), own, nil}, // the customer is null
	} {
		_, r := a.auditEvents(tt.as, tt.customer)
		if d := cmp.Diff(tt.want, r.codes()); d != "" {
			t.Errorf("%s (-want +got):\n%s", tt.name, d)
		}
	}

	a.mustData(`mutation($id: ObjectID!) { customerDelete(id: $id) { id } }`, map[string]any{"id": own}, &struct{}{})
	var deleted struct {
		Operation string
		Changes   FieldChangesJSON
	}
	err := a.db.Raw(`SELECT operation, changes::text AS changes FROM audit_events WHERE record_id = decode(?, 'hex') ORDER BY id DESC LIMIT 1`, own).Scan(&deleted).Error
	if err != nil || deleted.Operation != "customerDelete" || !deleted.Changes.has("name", "Linked 001") {
		t.Errorf("delete event = %+v, %v", deleted, err)
	}
}

// FieldChangesJSON is the stored changes column, as the tests read it back.
type FieldChangesJSON string

func (f FieldChangesJSON) has(field, old string) bool {
	var changes []struct {
		Field    string
		Old, New *string
	}
	if json.Unmarshal([]byte(f), &changes) != nil {
		return false
	}
	for _, c := range changes {
		if c.Field == field && c.Old != nil && *c.Old == old && c.New == nil {
			return true
		}
	}
	return false
}

// TestAuditTrailOfADeletedCustomer reads the trail through the root query after the
// customer is gone.
func TestAuditTrailOfADeletedCustomer(t *testing.T) {
	t.Parallel()
	a := MustAPI(t)
	a.seedLinked(2)
	id := a.customerID("Linked 001")
	admin, foreignAdmin := a.userID("admin.linked001@example.com"), a.userID("admin.linked002@example.com")
	a.mustData(patchDoc, map[string]any{"id": id, "patch": map[string]any{"credit": 3}}, &struct{}{})
	doc := `query($id: ObjectID!) { auditEvents(customerId: $id, first: 5) { totalCount nodes { operation } } }`
	if r := a.as(admin, doc, map[string]any{"id": id}); string(r.Data) != `{"auditEvents":{"totalCount":1,"nodes":[{"operation":"customerPatch"}]}}` {
		t.Errorf("admin before delete: %s %v", r.Data, r.codes())
	}
	a.mustData(`mutation($id: ObjectID!) { customerDelete(id: $id) { id } }`, map[string]any{"id": id}, &struct{}{})
	r := a.do(doc, map[string]any{"id": id})
	want := `{"auditEvents":{"totalCount":2,"nodes":[{"operation":"customerDelete"},{"operation":"customerPatch"}]}}`
	if string(r.Data) != want || r.Errors != nil {
		t.Errorf("staff after delete: %s %v, want %s", r.Data, r.codes(), want)
	}
	if r := a.as(foreignAdmin, doc, map[string]any{"id": id}); cmp.Diff([]string{"NOT_FOUND"}, r.codes()) != "" {
		t.Errorf("another customer's trail: %v", r.codes())
	}
}
