package graph

import (
	"net/http"
	"slices"
	"strings"
)

// withCORS lets the browser origins in origins call the API ("*" for any, without
// credentials). A matching origin is echoed with credentials allowed, so that
// browsers send the Authorization header; an unlisted origin gets no CORS headers,
// and the browser keeps the response from the page. Preflights are answered here.
func withCORS(origins []string, next http.Handler) http.Handler {
	if len(origins) == 0 {
		return next
	}
	wildcard := slices.Contains(origins, "*")
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		origin := r.Header.Get("Origin")
		h := w.Header()
		h.Add("Vary", "Origin")
		allowed := origin != "" && (wildcard || slices.Contains(origins, origin))
		if allowed {
			if wildcard {
				h.Set("Access-Control-Allow-Origin", "*")
			} else {
				h.Set("Access-Control-Allow-Origin", origin)
				h.Set("Access-Control-Allow-Credentials", "true")
			}
			h.Set("Access-Control-Expose-Headers", "X-Request-Id, Retry-After, "+ReadAfterHeader)
		}
		if r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != "" {
			if allowed {
				h.Set("Access-Control-Allow-Methods", "GET, POST, OPTIONS")
				h.Set("Access-Control-Allow-Headers", strings.Join([]string{"Authorization", "Content-Type", "X-Request-Id", ReadAfterHeader}, ", "))
				h.Set("Access-Control-Max-Age", "600")
			}
			w.WriteHeader(http.StatusNoContent)
			return
		}
		next.ServeHTTP(w, r)
	})
}
