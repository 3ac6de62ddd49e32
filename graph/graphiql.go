package graph

import (
	"crypto/sha256"
	"embed"
	"encoding/base64"
	"io/fs"
	"net"
	"net/http"
	"net/netip"
	"net/url"

	"github.com/99designs/gqlgen/graphql/playground"
)

// graphiqlAssets are GraphiQL's browser builds (`make graphiql` copies them from the
// npm packages pinned in scripts/graphiql), so that GraphiQL works with no network.
//
//go:embed graphiql
var graphiqlAssets embed.FS

// exampleDocument is what GraphiQL opens with: the first GraphQL block of the
// README's "A first session in GraphiQL" (TestREADMEOperations keeps them the same
// and runs both).
const exampleDocument = `# Welcome to the Customers API. Pick an operation with the ▶ button.
# Every request needs an Authorization header: make run sends the staff token for you;
# to act as another user, add {"Authorization": "Bearer …"} in the Headers tab below.

query Me {
  viewer { email adminPermission billingPermission superAdminPermission customer { name } }
}

query List {
  customers(filter: {search: "acme", status: {in: [ACTIVE, SUSPENDED]}},
            orderBy: [{field: CREDIT, direction: DESC}], first: 5) {
    totalCount
    edges { cursor node { id name status credit } }
    pageInfo { hasNextPage endCursor }
  }
}

query Nested {
  customers(first: 3, filter: {status: {in: [ACTIVE, SUSPENDED]}}) {
    totalCount
    nodes {
      name status
      adminUser { email first last }
      billingUser { email }
      lastAutomaticRefillInvoice { amount status dueAt }
      users(first: 2, orderBy: [{field: EMAIL}]) {
        totalCount
        nodes { email adminPermission billingPermission customer { name } }
        pageInfo { hasNextPage }
      }
      invoices(first: 1, orderBy: [{field: DUE_AT, direction: DESC}]) { totalCount nodes { amount status } }
    }
  }
}

mutation Create {
  customerCreate(input: {name: "Initech Voice", websiteUrl: "https://initech.example", credit: 500}) {
    id name status accountLock cdrRetention defaultBillMethod createdByIP version
  }
}
`

// newGraphiQL serves GraphiQL at / from the embedded assets under /graphiql/, with
// their integrity hashes, headers sent with its every request, and the example
// document when the address names no other. The headers (a development token) are
// in the page's source, so only a page asked for from this machine carries them.
func newGraphiQL(endpoint string, headers map[string]string) http.Handler {
	sub, _ := fs.Sub(graphiqlAssets, "graphiql")
	sri := func(name string) string {
		b, _ := fs.ReadFile(sub, name)
		sum := sha256.Sum256(b)
		return "sha256-" + base64.StdEncoding.EncodeToString(sum[:])
	}
	asset := func(name string) string { return "/graphiql/" + name }
	page := func(fetcherHeaders map[string]string) http.Handler {
		return playground.Handler("Customers API", endpoint,
			playground.WithGraphiqlVersion(asset("graphiql.min.js"), asset("graphiql.min.css"), sri("graphiql.min.js"), sri("graphiql.min.css")),
			playground.WithGraphiqlReactVersion(asset("react.production.min.js"), asset("react-dom.production.min.js"),
				sri("react.production.min.js"), sri("react-dom.production.min.js")),
			playground.WithGraphiqlPluginExplorerVersion(asset("plugin-explorer.umd.js"), asset("plugin-explorer.css"),
				sri("plugin-explorer.umd.js"), sri("plugin-explorer.css")),
			playground.WithGraphiqlEnablePluginExplorer(true),
			playground.WithGraphiqlPersistStateInURL(true),
			// Sent with every request but not shown in the editor, so a development token
			// never lands in the address bar (the state, headers included, is kept in the URL).
			playground.WithGraphiqlFetcherHeaders(fetcherHeaders),
			playground.WithStoragePrefix("customers:"),
		)
	}
	withHeaders, withoutHeaders := page(headers), page(nil)
	files := http.StripPrefix("/graphiql/", http.FileServerFS(sub))
	mux := http.NewServeMux()
	mux.Handle("GET /graphiql/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=86400")
		files.ServeHTTP(w, r)
	}))
	mux.Handle("GET /{$}", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if len(r.URL.RawQuery) == 0 {
			http.Redirect(w, r, "/?"+url.Values{"query": {exampleDocument}}.Encode(), http.StatusFound)
			return
		}
		w.Header().Set("Cache-Control", "no-store") // no cache keeps a page that may hold a token
		if fromLoopback(r) {
			withHeaders.ServeHTTP(w, r)
			return
		}
		withoutHeaders.ServeHTTP(w, r)
	}))
	return mux
}

// fromLoopback reports whether r comes from this machine: its connection's own
// address is a loopback one, and no proxy header says that it forwards someone
// else's request (a reverse proxy on the same machine connects from loopback too).
func fromLoopback(r *http.Request) bool {
	for _, h := range []string{"Forwarded", "X-Forwarded-For", "X-Real-Ip"} {
		if len(r.Header.Values(h)) > 0 {
			return false
		}
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return false
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.Unmap().IsLoopback()
}
