package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/cloudcomms/customers/client"
	"github.com/cloudcomms/customers/internal/testserver"
	"github.com/cloudcomms/customers/models"
)

// bff is the service under test, in front of the real API, acting with an API
// token of the account's billing user, as a deployed BFF would.
type bff struct {
	t    *testing.T
	api  *testserver.Server
	acct testserver.Account
	url  string
	logs *bytes.Buffer
}

func startBFF(t *testing.T) *bff {
	t.Helper()
	api := testserver.Start(t)
	acct := api.SeedAccount("bff")
	logs := &bytes.Buffer{}
	srv := httptest.NewServer(newHandler(client.New(api.Endpoint, api.APIToken(acct.Billing), nil), slog.New(slog.NewJSONHandler(logs, nil))))
	t.Cleanup(srv.Close)
	return &bff{t: t, api: api, acct: acct, url: srv.URL, logs: logs}
}

// answer is one answer of the BFF.
type answer struct {
	status    int
	requestID string
	body      []byte
}

// call sends method path with body (nil for none) and X-Request-Id requestID ("" for none).
func (b *bff) call(method, path, requestID string, body any) answer {
	b.t.Helper()
	var r io.Reader
	if body != nil {
		raw, _ := json.Marshal(body)
		r = bytes.NewReader(raw)
	}
	req, _ := http.NewRequest(method, b.url+path, r)
	if requestID != "" {
		req.Header.Set("X-Request-Id", requestID)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	return answer{status: res.StatusCode, requestID: res.Header.Get("X-Request-Id"), body: raw}
}

func (a answer) decode(t *testing.T, dst any) {
	t.Helper()
	if err := json.Unmarshal(a.body, dst); err != nil {
		t.Fatalf("answer %d is no JSON: %s", a.status, a.body)
	}
}

func TestOverview(t *testing.T) {
	t.Parallel()
	b := startBFF(t)
	a := b.call(http.MethodGet, "/accounts/"+b.acct.Customer.String(), "overview-1", nil)
	if a.status != http.StatusOK || a.requestID != "overview-1" {
		t.Fatalf("status %d, X-Request-Id %q: %s", a.status, a.requestID, a.body)
	}
	var got overview
	a.decode(t, &got)
	newest := b.acct.Invoices[1]
	if got.ID != b.acct.Customer || got.Name != "bff" || got.Status != client.CustomerStatusActive || got.Credit != 1200 || got.Version != 1 ||
		got.CreditSettings != (creditSettings{}) {
		t.Errorf("account %+v", got)
	}
	if d := cmp.Diff(&person{ID: b.acct.Admin, Name: "Ada Admin", Email: "admin@bff.example"}, got.Admin); d != "" {
		t.Errorf("admin (-want +got):\n%s", d)
	}
	if d := cmp.Diff(&person{ID: b.acct.Billing, Name: "Ada Billing", Email: "billing@bff.example"}, got.Billing); d != "" {
		t.Errorf("billing (-want +got):\n%s", d)
	}
	if got.LastInvoice == nil || got.LastInvoice.ID != newest || got.LastInvoice.Amount != 2200 || got.LastInvoice.Status != client.InvoiceStatusOpen ||
		got.LastInvoice.DueAt.Sub(got.LastInvoice.CreatedAt).Hours() != 20*24 {
		t.Errorf("last invoice %+v", got.LastInvoice)
	}
	if d := cmp.Diff(got.LastInvoice, got.LastAutomaticRefillInvoice); d != "" {
		t.Errorf("the last refill's invoice is the newest (-newest +refill):\n%s", d)
	}

	for _, path := range []string{"/accounts/" + models.NewObjectID().String(), "/accounts/not-an-id"} {
		if a := b.call(http.MethodGet, path, "", nil); a.status != http.StatusNotFound || !strings.Contains(string(a.body), `"code":"NOT_FOUND"`) {
			t.Errorf("GET %s: %d %s", path, a.status, a.body)
		}
	}
}

func TestSaveCreditSettings(t *testing.T) {
	t.Parallel()
	b := startBFF(t)
	path := "/accounts/" + b.acct.Customer.String() + "/credit-settings"

	a := b.call(http.MethodPost, path, "top-up-1", map[string]int{"automaticRefillAmount": 5000, "lowBalanceAlertAmount": 1000, "expectedVersion": 1})
	if a.status != http.StatusOK || a.requestID != "top-up-1" {
		t.Fatalf("save: %d %q %s", a.status, a.requestID, a.body)
	}
	var saved savedCreditSettings
	a.decode(t, &saved)
	if d := cmp.Diff(savedCreditSettings{Version: 2, CreditSettings: creditSettings{5000, 1000}}, saved); d != "" {
		t.Errorf("saved (-want +got):\n%s", d)
	}

	// An amount left out of the form stays as it is; without an id of its own the
	// request gets one, which the API records too.
	a = b.call(http.MethodPost, path, "", map[string]int{"lowBalanceAlertAmount": 0, "expectedVersion": 2})
	a.decode(t, &saved)
	if d := cmp.Diff(savedCreditSettings{Version: 3, CreditSettings: creditSettings{5000, 0}}, saved); a.status != http.StatusOK || d != "" {
		t.Errorf("save of one amount: %d (-want +got):\n%s", a.status, d)
	}
	generated := a.requestID
	if len(generated) != 32 {
		t.Errorf("generated X-Request-Id %q", generated)
	}

	// The API recorded each change under the request id the BFF answered with.
	staff := client.New(b.api.Endpoint, b.api.JWT(b.api.Staff), nil)
	trail, err := client.ListAuditEvents(context.Background(), staff, b.acct.Customer, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	var recorded []string
	for _, ev := range trail.AuditEvents.Nodes {
		recorded = append(recorded, ev.Operation+" "+ev.RequestId)
	}
	if d := cmp.Diff([]string{"customerPatch " + generated, "customerPatch top-up-1"}, recorded); d != "" {
		t.Errorf("audit trail (-want +got):\n%s", d)
	}

	tests := []struct {
		name   string
		path   string
		body   any
		status int
		want   errorBody
	}{
		{"StaleVersion", path, map[string]int{"automaticRefillAmount": 0, "expectedVersion": 1}, http.StatusConflict,
			errorBody{Code: "CONFLICT", Message: "the account changed since it was loaded: load it again, then save"}},
		{"InvalidAmounts", path, map[string]int{"automaticRefillAmount": -1, "lowBalanceAlertAmount": -5, "expectedVersion": 3}, http.StatusUnprocessableEntity,
			errorBody{Code: "BAD_USER_INPUT", Message: "invalid form", Fields: map[string]string{
				"automaticRefillAmount": "must be 0 or more (got -1)", "lowBalanceAlertAmount": "must be 0 or more (got -5)"}}},
		{"NoVersion", path, map[string]int{"automaticRefillAmount": 100}, http.StatusUnprocessableEntity,
			errorBody{Code: "BAD_USER_INPUT", Message: "invalid form", Fields: map[string]string{
				"expectedVersion": "required: the version of the account the form was filled in from"}}},
		{"UnknownAccount", "/accounts/" + models.NewObjectID().String() + "/credit-settings", map[string]int{"automaticRefillAmount": 100, "expectedVersion": 1},
			http.StatusNotFound, errorBody{Code: "NOT_FOUND", Message: "no such account"}},
		{"FieldOfNoForm", path, map[string]int{"credit": 100, "expectedVersion": 3}, http.StatusBadRequest,
			errorBody{Code: "BAD_REQUEST", Message: "the body must be a JSON object of automaticRefillAmount, lowBalanceAlertAmount and expectedVersion"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := b.call(http.MethodPost, tt.path, "", tt.body)
			var got errorBody
			a.decode(t, &got)
			if a.status != tt.status {
				t.Errorf("status %d, want %d: %s", a.status, tt.status, a.body)
			}
			if d := cmp.Diff(tt.want, got); d != "" {
				t.Errorf("body (-want +got):\n%s", d)
			}
		})
	}
	// Nothing refused changed the account.
	a = b.call(http.MethodGet, "/accounts/"+b.acct.Customer.String(), "", nil)
	var now overview
	a.decode(t, &now)
	if now.Version != 3 || now.CreditSettings != (creditSettings{5000, 0}) {
		t.Errorf("after the refused saves: version %d, %+v", now.Version, now.CreditSettings)
	}
}

// TestRevokedToken: when the API refuses the service's own token, the user gets a
// 502 with the request id to quote, and the service logs why.
func TestRevokedToken(t *testing.T) {
	t.Parallel()
	b := startBFF(t)
	if err := b.api.DB.Exec(`UPDATE api_tokens SET revoked_at = now()`).Error; err != nil {
		t.Fatal(err)
	}
	a := b.call(http.MethodGet, "/accounts/"+b.acct.Customer.String(), "revoked-1", nil)
	var got errorBody
	a.decode(t, &got)
	want := errorBody{Code: "UPSTREAM_ERROR", Message: "the accounts service failed; try again later", RequestID: "revoked-1"}
	if d := cmp.Diff(want, got); a.status != http.StatusBadGateway || d != "" {
		t.Errorf("status %d (-want +got):\n%s", a.status, d)
	}
	if !strings.Contains(b.logs.String(), "UNAUTHENTICATED") {
		t.Errorf("log: %s", b.logs)
	}
}
