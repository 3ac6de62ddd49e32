package graph_test

import (
	"encoding/json"
	"net/netip"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/cloudcomms/customers/graph"
)

// customerFields selects every scalar field of Customer.
const customerFields = `id name status websiteUrl logo credit adminUserId billingUserId
callRecordingUserId supportUserId callForwardingCallLimit automaticRefillAmount
lowBalanceAlertAmount lowBalanceAlertAt lowBalanceAlertCount lastAutomaticRefillInvoiceId
internationalCalling createdByIP callDebug mediaBypass accountLock callRecording cdrRetention
cnamLookUps holdMusic transcribeCalls maxOutboundCallRate defaultBillMethod version createdAt updatedAt`

var createDoc = `mutation($input: CustomerCreateInput!) { customerCreate(input: $input) { ` + customerFields + ` } }`

// customer is a decoded Customer with every field.
type customer = map[string]any

// mustCreate creates a customer from input and returns it.
func (a *api) mustCreate(input map[string]any) customer {
	a.t.Helper()
	var out struct{ CustomerCreate customer }
	a.mustData(createDoc, map[string]any{"input": input}, &out)
	return out.CustomerCreate
}

// count returns how many customers are stored.
func (a *api) count() int64 {
	a.t.Helper()
	var n int64
	if err := a.db.Table("customers").Count(&n).Error; err != nil {
		a.t.Fatal(err)
	}
	return n
}

// without returns c less the named keys, to compare the rest.
func without(c customer, keys ...string) customer {
	out := customer{}
	for k, v := range c {
		out[k] = v
	}
	for _, k := range keys {
		delete(out, k)
	}
	return out
}

func TestCustomerCreateDefaults(t *testing.T) {
	t.Parallel()
	a := MustAPI(t)
	c := a.mustCreate(map[string]any{"name": "  Acme Telecom  "})
	if !regexp.MustCompile(`^[0-9a-f]{24}$`).MatchString(c["id"].(string)) {
		t.Errorf("id = %v, want 24 lower-case hex characters", c["id"])
	}
	if c["createdAt"] == nil || c["createdAt"] != c["updatedAt"] {
		t.Errorf("createdAt = %v, updatedAt = %v; want both set and equal", c["createdAt"], c["updatedAt"])
	}
	want := customer{
		"name": "Acme Telecom", "status": "ACTIVE", "websiteUrl": nil, "logo": nil, "credit": 0.0,
		"adminUserId": nil, "billingUserId": nil, "callRecordingUserId": nil, "supportUserId": nil,
		"callForwardingCallLimit": 10.0, "automaticRefillAmount": 0.0, "lowBalanceAlertAmount": 0.0,
		"lowBalanceAlertAt": nil, "lowBalanceAlertCount": 0.0, "lastAutomaticRefillInvoiceId": nil,
		"internationalCalling": false, "createdByIP": "127.0.0.1", "callDebug": false, "mediaBypass": false,
		"accountLock": true, "callRecording": false, "cdrRetention": 12.0, "cnamLookUps": false,
		"holdMusic": false, "transcribeCalls": nil, "maxOutboundCallRate": 1.0, "defaultBillMethod": "CREDIT",
		"version": 1.0,
	}
	if d := cmp.Diff(want, without(c, "id", "createdAt", "updatedAt")); d != "" {
		t.Errorf("created customer (-want +got):\n%s", d)
	}
	var got struct{ Customer customer }
	a.mustData(`query($id: ObjectID!) { customer(id: $id) { `+customerFields+` } }`, map[string]any{"id": c["id"]}, &got)
	if d := cmp.Diff(c, got.Customer); d != "" {
		t.Errorf("customer(id) differs from what create returned (-create +read):\n%s", d)
	}
}

func TestCustomerCreateEveryField(t *testing.T) {
	t.Parallel()
	a := MustAPI(t)
	in := map[string]any{
		"name": "Globex", "websiteUrl": " https://globex.example/ ", "logo": "http://cdn.example/g.png",
		"credit": -250, "automaticRefillAmount": 5000, "lowBalanceAlertAmount": 100,
		"internationalCalling": true, "createdByIP": "2001:DB8::1", "mediaBypass": true,
		"accountLock": false, "callRecording": true, "cdrRetention": 0, "cnamLookUps": true,
		"holdMusic": true, "transcribeCalls": false, "maxOutboundCallRate": 0,
		"defaultBillMethod": "PAYMENTMETHOD",
	}
	c := a.mustCreate(in)
	want := customer{
		"name": "Globex", "status": "ACTIVE", "websiteUrl": "https://globex.example/", "logo": "http://cdn.example/g.png",
		"credit": -250.0, "adminUserId": nil, "billingUserId": nil, "callRecordingUserId": nil, "supportUserId": nil,
		"callForwardingCallLimit": 10.0, "automaticRefillAmount": 5000.0, "lowBalanceAlertAmount": 100.0,
		"lowBalanceAlertAt": nil, "lowBalanceAlertCount": 0.0, "lastAutomaticRefillInvoiceId": nil,
		"internationalCalling": true, "createdByIP": "2001:db8::1", "callDebug": false, "mediaBypass": true,
		"accountLock": false, "callRecording": true, "cdrRetention": 0.0, "cnamLookUps": true,
		"holdMusic": true, "transcribeCalls": false, "maxOutboundCallRate": 0.0, "defaultBillMethod": "PAYMENTMETHOD",
		"version": 1.0,
	}
	if d := cmp.Diff(want, without(c, "id", "createdAt", "updatedAt")); d != "" {
		t.Errorf("created customer (-want +got):\n%s", d)
	}
}

func TestCustomerCreateValidation(t *testing.T) {
	t.Parallel()
	a := MustAPI(t)
	long := func(n int, unit string) string { return strings.Repeat(unit, n) }
	url := func(n int) string { return "https://e.example/" + long(n-len("https://e.example/"), "a") }
	tests := []struct {
		name  string
		input map[string]any
		want  []string // "code field" per error; nil: created
	}{
		{"NameMissing", map[string]any{"credit": 1}, []string{"BAD_USER_INPUT input.name"}},
		{"NameNull", map[string]any{"name": nil}, []string{"BAD_USER_INPUT input.name"}},
		{"NameEmpty", map[string]any{"name": ""}, []string{"BAD_USER_INPUT input.name"}},
		{"NameBlank", map[string]any{"name": " \t\n "}, []string{"BAD_USER_INPUT input.name"}},
		{"Name1", map[string]any{"name": "x"}, nil},
		{"Name45", map[string]any{"name": long(45, "n")}, nil},
		{"Name46", map[string]any{"name": long(46, "n")}, []string{"BAD_USER_INPUT input.name"}},
		{"Name45Multibyte", map[string]any{"name": long(45, "é")}, nil},
		{"Name46Multibyte", map[string]any{"name": long(46, "é")}, []string{"BAD_USER_INPUT input.name"}},
		{"Name45PlusSpaces", map[string]any{"name": "  " + long(45, "n") + "  "}, nil},
		{"WebsiteURL255", map[string]any{"name": "n", "websiteUrl": url(255)}, nil},
		{"WebsiteURL256", map[string]any{"name": "n", "websiteUrl": url(256)}, []string{"BAD_USER_INPUT input.websiteUrl"}},
		{"WebsiteURLNoScheme", map[string]any{"name": "n", "websiteUrl": "example.com"}, []string{"BAD_USER_INPUT input.websiteUrl"}},
		{"WebsiteURLFTP", map[string]any{"name": "n", "websiteUrl": "ftp://example.com"}, []string{"BAD_USER_INPUT input.websiteUrl"}},
		{"WebsiteURLNoHost", map[string]any{"name": "n", "websiteUrl": "https://"}, []string{"BAD_USER_INPUT input.websiteUrl"}},
		{"WebsiteURLEmpty", map[string]any{"name": "n", "websiteUrl": ""}, nil},
		{"Logo256", map[string]any{"name": "n", "logo": url(256)}, []string{"BAD_USER_INPUT input.logo"}},
		{"LogoJavascript", map[string]any{"name": "n", "logo": "javascript:alert(1)"}, []string{"BAD_USER_INPUT input.logo"}},
		{"CreditNegative", map[string]any{"name": "n", "credit": -2147483648}, nil},
		{"CreditNull", map[string]any{"name": "n", "credit": nil}, []string{"BAD_USER_INPUT input.credit"}},
		{"RefillZero", map[string]any{"name": "n", "automaticRefillAmount": 0}, nil},
		{"RefillNegative", map[string]any{"name": "n", "automaticRefillAmount": -1}, []string{"BAD_USER_INPUT input.automaticRefillAmount"}},
		{"AlertNegative", map[string]any{"name": "n", "lowBalanceAlertAmount": -1}, []string{"BAD_USER_INPUT input.lowBalanceAlertAmount"}},
		{"CDRRetentionNegative", map[string]any{"name": "n", "cdrRetention": -1}, []string{"BAD_USER_INPUT input.cdrRetention"}},
		{"MaxOutboundCallRateNegative", map[string]any{"name": "n", "maxOutboundCallRate": -1}, []string{"BAD_USER_INPUT input.maxOutboundCallRate"}},
		{"AccountLockNull", map[string]any{"name": "n", "accountLock": nil}, []string{"BAD_USER_INPUT input.accountLock"}},
		{"BillMethodNull", map[string]any{"name": "n", "defaultBillMethod": nil}, []string{"BAD_USER_INPUT input.defaultBillMethod"}},
		{"TranscribeCallsNull", map[string]any{"name": "n", "transcribeCalls": nil}, nil},
		{"IPv4", map[string]any{"name": "n", "createdByIP": "192.0.2.7"}, nil},
		{"IPNotAnAddress", map[string]any{"name": "n", "createdByIP": "localhost"}, []string{"BAD_USER_INPUT input.createdByIP"}},
		{"IPWithMask", map[string]any{"name": "n", "createdByIP": "10.0.0.0/8"}, []string{"BAD_USER_INPUT input.createdByIP"}},
		{"IPWithZone", map[string]any{"name": "n", "createdByIP": "fe80::1%eth0"}, []string{"BAD_USER_INPUT input.createdByIP"}},
		{"AdminUserUnknown", map[string]any{"name": "n", "adminUserId": "5f0000000000000000000001"}, []string{"BAD_USER_INPUT input.adminUserId"}},
		{"EveryInvalidFieldAtOnce", map[string]any{"name": "", "websiteUrl": "nope", "cdrRetention": -1, "accountLock": nil},
			[]string{"BAD_USER_INPUT input.name", "BAD_USER_INPUT input.websiteUrl", "BAD_USER_INPUT input.cdrRetention", "BAD_USER_INPUT input.accountLock"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := a.count()
			r := a.do(createDoc, map[string]any{"input": tt.input})
			if d := cmp.Diff(tt.want, r.codes()); d != "" {
				t.Fatalf("errors (-want +got):\n%s\n%+v", d, r.Errors)
			}
			wantCount := before + 1
			if tt.want != nil {
				wantCount = before
				if string(r.Data) != `{"customerCreate":null}` {
					t.Errorf("data = %s, want customerCreate null", r.Data)
				}
			}
			if n := a.count(); n != wantCount {
				t.Errorf("%d customers stored, want %d", n, wantCount)
			}
		})
	}
}

// TestInputTypeErrors covers input that GraphQL itself rejects: wrong types, values
// outside int32, malformed ids. Nothing is stored.
func TestInputTypeErrors(t *testing.T) {
	t.Parallel()
	a := MustAPI(t)
	tests := []struct {
		name  string
		query string
		vars  map[string]any
		want  []string
	}{
		{"Int32OverflowInVariable", createDoc, map[string]any{"input": map[string]any{"name": "n", "credit": 2147483648}},
			[]string{"BAD_USER_INPUT input.credit"}},
		{"Int32UnderflowInVariable", createDoc, map[string]any{"input": map[string]any{"name": "n", "credit": -2147483649}},
			[]string{"BAD_USER_INPUT input.credit"}},
		{"Int32OverflowInLiteral", `mutation { customerCreate(input: {name: "n", credit: 2147483648}) { id } }`, nil,
			[]string{"BAD_USER_INPUT input.credit"}},
		{"StringForInt", createDoc, map[string]any{"input": map[string]any{"name": "n", "credit": "ten"}},
			[]string{"BAD_USER_INPUT input.credit"}},
		{"UnknownEnumValue", createDoc, map[string]any{"input": map[string]any{"name": "n", "defaultBillMethod": "CASH"}},
			[]string{"BAD_USER_INPUT input.defaultBillMethod"}},
		{"ObjectIDTooShort", createDoc, map[string]any{"input": map[string]any{"name": "n", "adminUserId": "abc"}},
			[]string{"BAD_USER_INPUT input.adminUserId"}},
		{"ObjectIDNotHex", `query { customer(id: "zzzzzzzzzzzzzzzzzzzzzzzz") { id } }`, nil,
			[]string{"BAD_USER_INPUT id"}},
		{"ObjectIDTooLong", `query($id: ObjectID!) { customer(id: $id) { id } }`, map[string]any{"id": strings.Repeat("a", 25)},
			[]string{"BAD_USER_INPUT id"}},
		{"ObjectIDNumber", `query($id: ObjectID!) { customer(id: $id) { id } }`, map[string]any{"id": 12},
			[]string{"BAD_USER_INPUT id"}},
		{"UnknownInputField", createDoc, map[string]any{"input": map[string]any{"name": "n", "status": "FRAUD"}},
			[]string{"BAD_USER_INPUT input.status"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := a.do(tt.query, tt.vars)
			if d := cmp.Diff(tt.want, r.codes()); d != "" {
				t.Errorf("errors (-want +got):\n%s\n%+v", d, r.Errors)
			}
		})
	}
	if n := a.count(); n != 1 {
		t.Errorf("%d customers stored, want only the platform's", n)
	}
}

func TestObjectIDInputIsCaseInsensitive(t *testing.T) {
	t.Parallel()
	a := MustAPI(t)
	c := a.mustCreate(map[string]any{"name": "Case"})
	var got struct{ Customer customer }
	a.mustData(`query($id: ObjectID!) { customer(id: $id) { id } }`, map[string]any{"id": strings.ToUpper(c["id"].(string))}, &got)
	if got.Customer["id"] != c["id"] {
		t.Errorf("customer(upper-case id) = %v, want %v", got.Customer["id"], c["id"])
	}
}

var patchDoc = `mutation($id: ObjectID!, $patch: CustomerPatch!, $v: Int) {
  customerPatch(id: $id, patch: $patch, expectedVersion: $v) { ` + customerFields + ` } }`

func (a *api) get(id any) customer {
	a.t.Helper()
	var got struct{ Customer customer }
	a.mustData(`query($id: ObjectID!) { customer(id: $id) { `+customerFields+` } }`, map[string]any{"id": id}, &got)
	return got.Customer
}

func TestCustomerPatchSemantics(t *testing.T) {
	t.Parallel()
	a := MustAPI(t)
	full := map[string]any{
		"name": "Initech", "websiteUrl": "https://initech.example", "logo": "https://initech.example/l.png",
		"credit": 40, "internationalCalling": true, "transcribeCalls": true, "cdrRetention": 6,
	}
	tests := []struct {
		name    string
		patch   map[string]any
		changed customer // fields expected to change, with their new value
		want    []string // errors; then nothing changes
	}{
		{"AbsentFieldsUnchanged", map[string]any{"credit": 41}, customer{"credit": 41.0}, nil},
		{"FalseIsAValue", map[string]any{"internationalCalling": false}, customer{"internationalCalling": false}, nil},
		{"ZeroIsAValue", map[string]any{"credit": 0, "cdrRetention": 0}, customer{"credit": 0.0, "cdrRetention": 0.0}, nil},
		{"NullClearsNullable", map[string]any{"websiteUrl": nil, "transcribeCalls": nil}, customer{"websiteUrl": nil, "transcribeCalls": nil}, nil},
		{"EmptyStringClearsNullableText", map[string]any{"logo": ""}, customer{"logo": nil}, nil},
		{"BlankStringClearsNullableText", map[string]any{"logo": "   "}, customer{"logo": nil}, nil},
		{"TrimsName", map[string]any{"name": "  Initrode "}, customer{"name": "Initrode"}, nil},
		{"NullOnNonNullField", map[string]any{"name": nil}, nil, []string{"BAD_USER_INPUT patch.name"}},
		{"NullOnNonNullInt", map[string]any{"credit": nil}, nil, []string{"BAD_USER_INPUT patch.credit"}},
		{"NullOnNonNullBoolean", map[string]any{"accountLock": nil}, nil, []string{"BAD_USER_INPUT patch.accountLock"}},
		{"EmptyPatch", map[string]any{}, nil, []string{"BAD_USER_INPUT patch"}},
		{"InvalidAndValidTogether", map[string]any{"credit": 7, "cdrRetention": -1}, nil, []string{"BAD_USER_INPUT patch.cdrRetention"}},
		{"SystemFieldNotPatchable", map[string]any{"callDebug": true}, nil, []string{"BAD_USER_INPUT patch.callDebug"}},
		{"CreatedByIPNotPatchable", map[string]any{"createdByIP": "10.0.0.1"}, nil, []string{"BAD_USER_INPUT patch.createdByIP"}},
		{"UnknownUser", map[string]any{"supportUserId": "5f0000000000000000000001"}, nil, []string{"BAD_USER_INPUT patch.supportUserId"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := a.mustCreate(full)
			r := a.do(patchDoc, map[string]any{"id": c["id"], "patch": tt.patch})
			if d := cmp.Diff(tt.want, r.codes()); d != "" {
				t.Fatalf("errors (-want +got):\n%s\n%+v", d, r.Errors)
			}
			after := a.get(c["id"])
			if tt.want != nil {
				if d := cmp.Diff(c, after); d != "" {
					t.Errorf("a failed patch changed the customer (-before +after):\n%s", d)
				}
				return
			}
			want := without(c, "updatedAt")
			for k, v := range tt.changed {
				want[k] = v
			}
			want["version"] = 2.0
			if d := cmp.Diff(want, without(after, "updatedAt")); d != "" {
				t.Errorf("after patch (-want +got):\n%s", d)
			}
			if after["updatedAt"].(string) <= c["updatedAt"].(string) {
				t.Errorf("updatedAt = %v, want later than %v", after["updatedAt"], c["updatedAt"])
			}
		})
	}
}

func TestCustomerPatchExpectedVersion(t *testing.T) {
	t.Parallel()
	a := MustAPI(t)
	c := a.mustCreate(map[string]any{"name": "Versioned"})
	r := a.do(patchDoc, map[string]any{"id": c["id"], "patch": map[string]any{"credit": 5}, "v": 2})
	if d := cmp.Diff([]string{"CONFLICT expectedVersion"}, r.codes()); d != "" {
		t.Fatalf("stale expectedVersion: errors (-want +got):\n%s", d)
	}
	if got := a.get(c["id"]); got["credit"] != 0.0 || got["version"] != 1.0 {
		t.Errorf("after a conflict: credit %v version %v, want 0 and 1", got["credit"], got["version"])
	}
	var out struct{ CustomerPatch customer }
	a.mustData(patchDoc, map[string]any{"id": c["id"], "patch": map[string]any{"credit": 5}, "v": 1}, &out)
	if out.CustomerPatch["credit"] != 5.0 || out.CustomerPatch["version"] != 2.0 {
		t.Errorf("matching expectedVersion: credit %v version %v, want 5 and 2", out.CustomerPatch["credit"], out.CustomerPatch["version"])
	}
}

// TestConcurrentPatchesOfDifferentFields shows that a patch writes only its own
// columns: two clients changing different fields at once both keep their change.
func TestConcurrentPatchesOfDifferentFields(t *testing.T) {
	t.Parallel()
	a := MustAPI(t)
	c := a.mustCreate(map[string]any{"name": "Race"})
	const rounds = 20
	var wg sync.WaitGroup
	for i := 1; i <= rounds; i++ {
		wg.Add(2)
		go func() {
			defer wg.Done()
			a.do(patchDoc, map[string]any{"id": c["id"], "patch": map[string]any{"credit": i}})
		}()
		go func() {
			defer wg.Done()
			a.do(patchDoc, map[string]any{"id": c["id"], "patch": map[string]any{"cdrRetention": 100 + i}})
		}()
		wg.Wait()
		got := a.get(c["id"])
		if got["credit"] != float64(i) || got["cdrRetention"] != float64(100+i) {
			t.Fatalf("round %d: credit %v, cdrRetention %v; want %d and %d", i, got["credit"], got["cdrRetention"], i, 100+i)
		}
	}
	if got := a.get(c["id"]); got["version"] != float64(1+2*rounds) {
		t.Errorf("version = %v, want %d", got["version"], 1+2*rounds)
	}
}

func TestCustomerSetStatus(t *testing.T) {
	t.Parallel()
	a := MustAPI(t)
	c := a.mustCreate(map[string]any{"name": "Status"})
	doc := `mutation($id: ObjectID!, $s: CustomerStatus!, $v: Int) { customerSetStatus(id: $id, status: $s, expectedVersion: $v) { status version } }`
	var out struct{ CustomerSetStatus customer }
	a.mustData(doc, map[string]any{"id": c["id"], "s": "SUSPENDED", "v": 1}, &out)
	if d := cmp.Diff(customer{"status": "SUSPENDED", "version": 2.0}, out.CustomerSetStatus); d != "" {
		t.Errorf("set status (-want +got):\n%s", d)
	}
	for _, tt := range []struct {
		name string
		vars map[string]any
		want []string
	}{
		{"StaleVersion", map[string]any{"id": c["id"], "s": "FRAUD", "v": 1}, []string{"CONFLICT expectedVersion"}},
		{"UnknownStatus", map[string]any{"id": c["id"], "s": "CLOSED"}, []string{"BAD_USER_INPUT s"}},
		{"UnknownCustomer", map[string]any{"id": "5f0000000000000000000001", "s": "FRAUD"}, []string{"NOT_FOUND"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := a.do(doc, tt.vars)
			if d := cmp.Diff(tt.want, r.codes()); d != "" {
				t.Errorf("errors (-want +got):\n%s\n%+v", d, r.Errors)
			}
		})
	}
	if got := a.get(c["id"]); got["status"] != "SUSPENDED" {
		t.Errorf("status = %v after failed changes, want SUSPENDED", got["status"])
	}
}

func TestCustomerDelete(t *testing.T) {
	t.Parallel()
	a := MustAPI(t)
	c := a.mustCreate(map[string]any{"name": "Doomed"})
	keep := a.mustCreate(map[string]any{"name": "Kept"})
	doc := `mutation($id: ObjectID!) { customerDelete(id: $id) { ` + customerFields + ` } }`
	var out struct{ CustomerDelete customer }
	a.mustData(doc, map[string]any{"id": c["id"]}, &out)
	if d := cmp.Diff(c, out.CustomerDelete); d != "" {
		t.Errorf("delete returned (-created +deleted):\n%s", d)
	}
	if r := a.do(`query($id: ObjectID!) { customer(id: $id) { id } }`, map[string]any{"id": c["id"]}); string(r.Data) != `{"customer":null}` || r.Errors != nil {
		t.Errorf("get after delete = %s %+v, want customer null and no error", r.Data, r.Errors)
	}
	for name, q := range map[string]string{
		"DeleteAgain":  doc,
		"PatchDeleted": `mutation($id: ObjectID!) { customerPatch(id: $id, patch: {credit: 1}) { id } }`,
	} {
		r := a.do(q, map[string]any{"id": c["id"]})
		if d := cmp.Diff([]string{"NOT_FOUND"}, r.codes()); d != "" {
			t.Errorf("%s: errors (-want +got):\n%s", name, d)
		}
	}
	if a.count() != 2 || a.get(keep["id"])["name"] != "Kept" {
		t.Errorf("deleting one customer touched another")
	}
}

// TestErrorsAreMaskedWithRequestID breaks the database under the service and checks
// that the client sees no SQL, only a request id that the log shares.
func TestErrorsAreMaskedWithRequestID(t *testing.T) {
	t.Parallel()
	a := MustAPI(t)
	if err := a.db.Exec("ALTER TABLE customers RENAME TO customers_gone").Error; err != nil {
		t.Fatal(err)
	}
	r := a.post(`{"query":"{ customers { nodes { id } } }"}`, map[string]string{"X-Request-Id": "req-mask-1"})
	if d := cmp.Diff([]string{"INTERNAL_SERVER_ERROR"}, r.codes()); d != "" {
		t.Fatalf("errors (-want +got):\n%s", d)
	}
	e := r.Errors[0]
	if e.Message != "internal server error" || e.Extensions["requestId"] != "req-mask-1" || r.Header.Get("X-Request-Id") != "req-mask-1" {
		t.Errorf("error = %+v, X-Request-Id %q; want the fixed message and request id req-mask-1", e, r.Header.Get("X-Request-Id"))
	}
	raw, _ := json.Marshal(r.Errors)
	if strings.Contains(string(raw), "customers") && strings.Contains(strings.ToLower(string(raw)), "relation") {
		t.Errorf("response leaks database text: %s", raw)
	}
	logs := a.logs.String()
	if !strings.Contains(logs, `"request_id":"req-mask-1"`) || !strings.Contains(logs, "does not exist") {
		t.Errorf("log lacks the cause with request id req-mask-1:\n%s", logs)
	}
}

func TestRequestIDHeader(t *testing.T) {
	t.Parallel()
	a := MustAPI(t)
	r := a.post(`{"query":"query Probe { customers { totalCount } }"}`, map[string]string{"X-Request-Id": "bad id with spaces"})
	if id := r.Header.Get("X-Request-Id"); !regexp.MustCompile(`^[0-9a-f]{32}$`).MatchString(id) {
		t.Errorf("X-Request-Id = %q, want a fresh id replacing the invalid one", id)
	}
	var line map[string]any
	for _, l := range strings.Split(a.logs.String(), "\n") {
		if strings.Contains(l, `"msg":"request"`) {
			_ = json.Unmarshal([]byte(l), &line)
		}
	}
	want := map[string]any{"request_id": r.Header.Get("X-Request-Id"), "op": "Probe", "status": 200.0, "statements": 2.0, "path": "/query"}
	for k, v := range want {
		if line[k] != v {
			t.Errorf("access log %s = %v, want %v (line %v)", k, line[k], v, line)
		}
	}
}

func TestCreatedByIPFromTrustedProxy(t *testing.T) {
	t.Parallel()
	a := MustAPI(t, func(c *graph.Config) { c.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")} })
	body, _ := json.Marshal(map[string]any{"query": createDoc, "variables": map[string]any{"input": map[string]any{"name": "Proxied"}}})
	r := a.post(string(body), map[string]string{"X-Forwarded-For": "203.0.113.50, 127.0.0.2"})
	var out struct{ CustomerCreate customer }
	if err := json.Unmarshal(r.Data, &out); err != nil || out.CustomerCreate["createdByIP"] != "203.0.113.50" {
		t.Errorf("createdByIP = %v (%s %+v), want the client address 203.0.113.50", out.CustomerCreate["createdByIP"], r.Data, r.Errors)
	}
	untrusted := MustAPI(t)
	r = untrusted.post(string(body), map[string]string{"X-Forwarded-For": "203.0.113.50"})
	if err := json.Unmarshal(r.Data, &out); err != nil || out.CustomerCreate["createdByIP"] != "127.0.0.1" {
		t.Errorf("createdByIP = %v, want the connection's 127.0.0.1 when no proxy is trusted", out.CustomerCreate["createdByIP"])
	}
}

// TestConcurrentPatchesOfSixteenFields sends 16 patches of 16 different fields of
// one customer at once: each keeps its change, each bumps the version once, and each
// records its own audit event with its one change.
func TestConcurrentPatchesOfSixteenFields(t *testing.T) {
	t.Parallel()
	a := MustAPI(t)
	c := a.mustCreate(map[string]any{"name": "Crowd"})
	patches := map[string]any{
		"name": "Crowded", "websiteUrl": "https://crowd.example", "logo": "https://crowd.example/l.png", "credit": 16,
		"automaticRefillAmount": 5, "lowBalanceAlertAmount": 6, "internationalCalling": true, "mediaBypass": true,
		"accountLock": false, "callRecording": true, "cdrRetention": 3, "cnamLookUps": true, "holdMusic": true,
		"transcribeCalls": true, "maxOutboundCallRate": 9, "defaultBillMethod": "PAYMENTMETHOD",
	}
	var wg sync.WaitGroup
	for field, value := range patches {
		wg.Go(func() {
			if r := a.do(patchDoc, map[string]any{"id": c["id"], "patch": map[string]any{field: value}}); r.Errors != nil {
				t.Errorf("patch %s: %+v", field, r.Errors)
			}
		})
	}
	wg.Wait()
	got := a.get(c["id"])
	for field, value := range patches {
		if n, ok := value.(int); ok {
			value = float64(n)
		}
		if got[field] != value {
			t.Errorf("%s = %v, want %v", field, got[field], value)
		}
	}
	if got["version"] != float64(1+len(patches)) {
		t.Errorf("version = %v, want %d", got["version"], 1+len(patches))
	}
	var out struct {
		Customer struct{ AuditEvents struct{ Nodes []auditEvent } }
	}
	a.mustData(`query($id: ObjectID!) { customer(id: $id) { auditEvents(first: 20) { nodes { operation changes { field old new } } } } }`,
		map[string]any{"id": c["id"]}, &out)
	events := out.Customer.AuditEvents.Nodes
	fields := map[string]bool{}
	for _, e := range events[:len(events)-1] { // all but the oldest, the create
		if e.Operation != "customerPatch" || len(e.Changes) != 1 {
			t.Errorf("event %+v, want a patch with one change", e)
			continue
		}
		fields[e.Changes[0].Field] = true
	}
	if len(fields) != len(patches) {
		t.Errorf("audit events name %d fields, want %d: %v", len(fields), len(patches), fields)
	}
}

// TestCustomerPatchStatementBudget holds the patch of W3 (credit and accountLock,
// with expectedVersion) to one statement beyond authentication, for platform staff
// and for an admin of the customer (accountLock only: credit is staff's), whose
// customer must be ACTIVE: the row lock, the version check, the UPDATE and the audit
// event, with that check, are one statement. A refused patch costs no more.
func TestCustomerPatchStatementBudget(t *testing.T) {
	t.Parallel()
	a := MustAPI(t)
	w := a.accessWorld("admin")
	a.warm(w.caller)
	const budget = 1
	tests := []struct {
		name, caller string
		patch        map[string]any
		version      int
		want         []string
	}{
		{"Staff", a.staff, map[string]any{"credit": 7, "accountLock": false}, 1, nil},
		{"Admin", w.caller, map[string]any{"accountLock": true}, 2, nil},
		{"StaleVersion", a.staff, map[string]any{"credit": 8}, 1, []string{"CONFLICT expectedVersion"}},
	}
	for _, tt := range tests {
		a.logs.reset()
		r := a.as(tt.caller, patchDoc, map[string]any{"id": w.own, "patch": tt.patch, "v": tt.version})
		if d := cmp.Diff(tt.want, r.codes()); d != "" {
			t.Fatalf("%s: errors (-want +got):\n%s", tt.name, d)
		}
		if got := a.statements.Load(); got > budget+authStatements {
			t.Errorf("%s: %d SQL statements, want at most %d beyond authentication:\n%s", tt.name, got, budget, a.sqlLog())
		}
	}
}
