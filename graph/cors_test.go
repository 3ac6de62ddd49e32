package graph_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/cloudcomms/customers/graph"
)

func TestCORS(t *testing.T) {
	t.Parallel()
	a := MustAPI(t, func(c *graph.Config) { c.CORSOrigins = []string{"https://console.example"} })
	preflight := func(origin string) *http.Response {
		req, _ := http.NewRequest(http.MethodOptions, a.srv.URL+"/query", nil)
		req.Header.Set("Origin", origin)
		req.Header.Set("Access-Control-Request-Method", "POST")
		req.Header.Set("Access-Control-Request-Headers", "authorization, content-type")
		res, err := a.srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res
	}
	res := preflight("https://console.example")
	h := res.Header
	if res.StatusCode != 204 || h.Get("Access-Control-Allow-Origin") != "https://console.example" ||
		h.Get("Access-Control-Allow-Credentials") != "true" || !strings.Contains(h.Get("Access-Control-Allow-Headers"), "Authorization") ||
		!strings.Contains(h.Get("Access-Control-Allow-Headers"), graph.ReadAfterHeader) {
		t.Errorf("allowed preflight: %d %v", res.StatusCode, h)
	}
	if res := preflight("https://evil.example"); res.Header.Get("Access-Control-Allow-Origin") != "" {
		t.Errorf("unlisted origin got %v", res.Header)
	}
	r := a.post(`{"query":"{ viewer { email } }"}`, map[string]string{"Origin": "https://console.example"})
	if r.Header.Get("Access-Control-Allow-Origin") != "https://console.example" || !strings.Contains(r.Header.Get("Vary"), "Origin") ||
		!strings.Contains(r.Header.Get("Access-Control-Expose-Headers"), "X-Request-Id") ||
		!strings.Contains(r.Header.Get("Access-Control-Expose-Headers"), graph.ReadAfterHeader) {
		t.Errorf("actual request headers: %v", r.Header)
	}
}
