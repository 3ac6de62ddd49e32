package client_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/Khan/genqlient/graphql"

	"github.com/cloudcomms/customers/client"
	"github.com/cloudcomms/customers/models"
)

// TestErrorsFromAnswers: what the client returns for answers no test server gives
// on demand, from a stub server.
func TestErrorsFromAnswers(t *testing.T) {
	tests := []struct {
		name   string
		status int
		body   string
		check  func(t *testing.T, err error)
	}{
		{"InternalError", http.StatusOK,
			`{"errors":[{"message":"internal server error","path":["customer"],"extensions":{"code":"INTERNAL_SERVER_ERROR","requestId":"r-1"}}],"data":{"customer":null}}`,
			func(t *testing.T, err error) {
				var e *client.Error
				if !errors.As(err, &e) || e.Code != "INTERNAL_SERVER_ERROR" || e.RequestID != "r-1" || e.Path != "customer" {
					t.Errorf("got %#v", err)
				}
				if want := "INTERNAL_SERVER_ERROR: internal server error (request r-1)"; err.Error() != want {
					t.Errorf("message %q, want %q", err.Error(), want)
				}
			}},
		{"RateLimited", http.StatusTooManyRequests,
			`{"errors":[{"message":"rate limited","extensions":{"code":"RATE_LIMITED"}}]}`,
			func(t *testing.T, err error) {
				var e *client.Error
				if !errors.As(err, &e) || e.Code != "RATE_LIMITED" || e.Path != "" {
					t.Errorf("got %#v", err)
				}
			}},
		{"ProxyPage", http.StatusBadGateway, `<html>bad gateway</html>`,
			func(t *testing.T, err error) {
				var e *client.Error
				var httpErr *graphql.HTTPError
				if errors.As(err, &e) || !errors.As(err, &httpErr) || httpErr.StatusCode != http.StatusBadGateway {
					t.Errorf("got %#v", err)
				}
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			stub := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
				w.WriteHeader(tt.status)
				_, _ = w.Write([]byte(tt.body))
			}))
			defer stub.Close()
			_, err := client.GetCustomer(context.Background(), client.New(stub.URL, "cca_x", nil), models.NewObjectID())
			tt.check(t, err)
		})
	}
}

// TestRequestHeaders: the token and the context's request id go with the request.
func TestRequestHeaders(t *testing.T) {
	var got http.Header
	stub := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = r.Header.Clone()
		_, _ = w.Write([]byte(`{"data":{"customer":null}}`))
	}))
	defer stub.Close()
	ctx := client.WithRequestID(context.Background(), "req-42")
	if _, err := client.GetCustomer(ctx, client.New(stub.URL, "cca_secret", nil), models.NewObjectID()); err != nil {
		t.Fatal(err)
	}
	if got.Get("Authorization") != "Bearer cca_secret" || got.Get("X-Request-Id") != "req-42" {
		t.Errorf("headers %v", got)
	}
}
