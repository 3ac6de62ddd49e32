package main

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/Khan/genqlient/graphql"

	"github.com/cloudcomms/customers/client"
	"github.com/cloudcomms/customers/models"
)

// newHandler serves the frontend's two endpoints, calling the customers API through
// api:
//
//	GET  /accounts/{id}                  the account overview
//	POST /accounts/{id}/credit-settings  the "top up credit settings" form
//
// Every answer carries X-Request-Id: the caller's when the API would keep it, else a
// new one; it is sent on to the API, so that one id finds a request in both logs and
// in the account's audit trail.
func newHandler(api graphql.Client, logger *slog.Logger) http.Handler {
	h := &handler{api: api, logger: logger}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /accounts/{id}", h.overview)
	mux.HandleFunc("POST /accounts/{id}/credit-settings", h.saveCreditSettings)
	return withRequestID(mux)
}

type handler struct {
	api    graphql.Client
	logger *slog.Logger
}

// overview is what the account page shows.
type overview struct {
	ID     models.ObjectID       `json:"id"`
	Name   string                `json:"name"`
	Status client.CustomerStatus `json:"status"`
	Credit int                   `json:"credit"`
	// Version is what the page sends back as expectedVersion when it saves.
	Version                    int            `json:"version"`
	CreditSettings             creditSettings `json:"creditSettings"`
	Admin                      *person        `json:"admin"`
	Billing                    *person        `json:"billing"`
	LastInvoice                *invoice       `json:"lastInvoice"`
	LastAutomaticRefillInvoice *invoice       `json:"lastAutomaticRefillInvoice"`
}

type creditSettings struct {
	AutomaticRefillAmount int `json:"automaticRefillAmount"`
	LowBalanceAlertAmount int `json:"lowBalanceAlertAmount"`
}

type person struct {
	ID    models.ObjectID `json:"id"`
	Name  string          `json:"name"`
	Email string          `json:"email"`
}

type invoice struct {
	ID        models.ObjectID      `json:"id"`
	Amount    int                  `json:"amount"`
	Status    client.InvoiceStatus `json:"status"`
	DueAt     time.Time            `json:"dueAt"`
	CreatedAt time.Time            `json:"createdAt"`
}

func (h *handler) overview(w http.ResponseWriter, r *http.Request) {
	id, err := models.ParseObjectID(r.PathValue("id"))
	if err != nil {
		writeJSON(w, http.StatusNotFound, errorBody{Code: client.CodeNotFound, Message: "no such account"})
		return
	}
	resp, err := client.GetCustomer(r.Context(), h.api, id)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	c := resp.Customer
	if c == nil { // none, or one this service's token may not see
		writeJSON(w, http.StatusNotFound, errorBody{Code: client.CodeNotFound, Message: "no such account"})
		return
	}
	out := overview{
		ID:      c.Id,
		Name:    c.Name,
		Status:  c.Status,
		Credit:  c.Credit,
		Version: c.Version,
		CreditSettings: creditSettings{
			AutomaticRefillAmount: c.AutomaticRefillAmount,
			LowBalanceAlertAmount: c.LowBalanceAlertAmount,
		},
		Admin:                      personOf(c.AdminUser),
		Billing:                    personOf(c.BillingUser),
		LastAutomaticRefillInvoice: invoiceOf(c.LastAutomaticRefillInvoice),
	}
	if len(c.LastInvoice.Nodes) > 0 {
		out.LastInvoice = invoiceOf(&c.LastInvoice.Nodes[0])
	}
	writeJSON(w, http.StatusOK, out)
}

func personOf(u *client.User) *person {
	if u == nil {
		return nil
	}
	return &person{ID: u.Id, Name: u.First + " " + u.Last, Email: u.Email}
}

func invoiceOf(v *client.Invoice) *invoice {
	if v == nil {
		return nil
	}
	return &invoice{ID: v.Id, Amount: v.Amount, Status: v.Status, DueAt: v.DueAt, CreatedAt: v.CreatedAt}
}

// creditSettingsForm is the form's submit: an amount left out is not changed.
type creditSettingsForm struct {
	AutomaticRefillAmount *int `json:"automaticRefillAmount"`
	LowBalanceAlertAmount *int `json:"lowBalanceAlertAmount"`
	// ExpectedVersion is the overview's version: a save over someone else's change
	// is refused (409) rather than silently undoing it.
	ExpectedVersion *int `json:"expectedVersion"`
}

// savedCreditSettings answers a saved form: the settings as stored and the
// account's new version, for the next save.
type savedCreditSettings struct {
	Version        int            `json:"version"`
	CreditSettings creditSettings `json:"creditSettings"`
}

// maxFormBytes bounds a form's body: it holds three numbers.
const maxFormBytes = 4 << 10

func (h *handler) saveCreditSettings(w http.ResponseWriter, r *http.Request) {
	id, err := models.ParseObjectID(r.PathValue("id"))
	if err != nil {
		writeJSON(w, http.StatusNotFound, errorBody{Code: client.CodeNotFound, Message: "no such account"})
		return
	}
	var form creditSettingsForm
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxFormBytes))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&form); err != nil {
		writeJSON(w, http.StatusBadRequest, errorBody{Code: "BAD_REQUEST", Message: "the body must be a JSON object of automaticRefillAmount, lowBalanceAlertAmount and expectedVersion"})
		return
	}
	if form.ExpectedVersion == nil {
		writeJSON(w, http.StatusUnprocessableEntity, errorBody{Code: client.CodeBadUserInput, Message: "invalid form",
			Fields: map[string]string{"expectedVersion": "required: the version of the account the form was filled in from"}})
		return
	}
	resp, err := client.PatchCustomer(r.Context(), h.api, id, client.CustomerPatch{
		AutomaticRefillAmount: form.AutomaticRefillAmount,
		LowBalanceAlertAmount: form.LowBalanceAlertAmount,
	}, form.ExpectedVersion)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	c := resp.CustomerPatch
	writeJSON(w, http.StatusOK, savedCreditSettings{
		Version:        c.Version,
		CreditSettings: creditSettings{AutomaticRefillAmount: c.AutomaticRefillAmount, LowBalanceAlertAmount: c.LowBalanceAlertAmount},
	})
}

// errorBody is the body of every answer but 200.
type errorBody struct {
	// Code is the API's extensions.code, or BAD_REQUEST or UPSTREAM_ERROR of this service.
	Code    string `json:"code"`
	Message string `json:"message"`
	// Fields maps each invalid form field to what is wrong with it (422).
	Fields map[string]string `json:"fields,omitempty"`
	// RequestID is the X-Request-Id, to quote when asking for help.
	RequestID string `json:"requestId,omitempty"`
}

// fail answers an error of the API: what the user can act on with its own status
// (404, 409, 422, 403), anything else as 502, logged.
func (h *handler) fail(w http.ResponseWriter, r *http.Request, err error) {
	var list client.Errors
	if !errors.As(err, &list) || len(list) == 0 {
		h.upstreamError(w, r, err)
		return
	}
	switch first := list[0]; first.Code {
	case client.CodeNotFound:
		writeJSON(w, http.StatusNotFound, errorBody{Code: first.Code, Message: "no such account"})
	case client.CodeConflict:
		writeJSON(w, http.StatusConflict, errorBody{Code: first.Code,
			Message: "the account changed since it was loaded: load it again, then save"})
	case client.CodeBadUserInput:
		body := errorBody{Code: first.Code, Message: first.Message, Fields: map[string]string{}}
		for _, e := range list {
			if e.Code == client.CodeBadUserInput && e.Field != "" {
				body.Fields[strings.TrimPrefix(e.Field, "patch.")] = e.Message
			}
		}
		if len(body.Fields) > 0 {
			body.Message = "invalid form"
		}
		writeJSON(w, http.StatusUnprocessableEntity, body)
	case client.CodeForbidden:
		writeJSON(w, http.StatusForbidden, errorBody{Code: first.Code, Message: "this service may not change that account"})
	default:
		h.upstreamError(w, r, err)
	}
}

// upstreamError answers what the user cannot act on: this service's token refused
// (UNAUTHENTICATED), the API's limits, its internal errors, a network failure.
func (h *handler) upstreamError(w http.ResponseWriter, r *http.Request, err error) {
	id := w.Header().Get("X-Request-Id")
	h.logger.ErrorContext(r.Context(), "accounts API", slog.String("request_id", id), slog.String("err", err.Error()))
	writeJSON(w, http.StatusBadGateway, errorBody{Code: "UPSTREAM_ERROR", Message: "the accounts service failed; try again later", RequestID: id})
}

func writeJSON(w http.ResponseWriter, status int, body any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(body)
}

// withRequestID gives each request an id (see newHandler), in the answer's header
// and in the context, where the client sends it on to the API.
func withRequestID(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.Header.Get("X-Request-Id")
		if !keptByAPI(id) {
			id = newRequestID()
		}
		w.Header().Set("X-Request-Id", id)
		next.ServeHTTP(w, r.WithContext(client.WithRequestID(r.Context(), id)))
	})
}

// keptByAPI reports whether the API keeps id as its own request id (1 to 64 letters,
// digits and "-_.:"); it replaces any other, and the logs would no longer match.
func keptByAPI(id string) bool {
	if len(id) == 0 || len(id) > 64 {
		return false
	}
	for _, r := range id {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-_.:", r)) {
			return false
		}
	}
	return true
}

func newRequestID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b) // crypto/rand.Read never fails
	return hex.EncodeToString(b)
}
