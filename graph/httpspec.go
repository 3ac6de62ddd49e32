package graph

import (
	"mime"
	"net/http"

	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/parser"
)

// withHTTPRules applies the GraphQL over HTTP rules that gqlgen's transports leave
// to the server: a POST body must be JSON (415 otherwise), and a GET may only run a
// query (405 with Allow: POST for a mutation, as GET must be safe).
func withHTTPRules(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// Answers are JSON, never to be read as HTML or script; POST answers' data is
		// not HTML-escaped (postTransport).
		w.Header()["X-Content-Type-Options"] = nosniff
		switch r.Method {
		case http.MethodPost:
			if mt := mediaType(r.Header.Get("Content-Type")); mt != contentTypeJSON && mt != contentTypeGraphQLResponse {
				writeErrors(r.Context(), w, http.StatusUnsupportedMediaType,
					"send the request as Content-Type: application/json", "UNSUPPORTED_MEDIA_TYPE", "")
				return
			}
		case http.MethodGet:
			if isMutation(r.URL.Query().Get("query"), r.URL.Query().Get("operationName")) {
				w.Header().Set("Allow", "POST")
				writeErrors(r.Context(), w, http.StatusMethodNotAllowed,
					"a mutation must be sent with POST; GET runs queries only", "METHOD_NOT_ALLOWED", "")
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}

// nosniff is the value of every answer's X-Content-Type-Options, shared by all
// of them (a header value set this way is replaced, never changed in place).
var nosniff = []string{"nosniff"}

// mediaType returns the media type of a Content-Type value, without its
// parameters ("" when it does not parse). The value most clients send,
// application/json, is taken as it is.
func mediaType(contentType string) string {
	if contentType == contentTypeJSON {
		return contentTypeJSON
	}
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil {
		return ""
	}
	return mt
}

// isMutation reports whether the operation a GET would run is a mutation or a
// subscription. A document that does not parse is left to the GraphQL server,
// which reports the syntax error.
func isMutation(query, operationName string) bool {
	doc, err := parser.ParseQuery(&ast.Source{Input: query})
	if err != nil {
		return false
	}
	for _, op := range doc.Operations {
		if (operationName == "" || op.Name == operationName) && op.Operation != ast.Query {
			return true
		}
	}
	return false
}
