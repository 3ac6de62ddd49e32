package graph_test

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/cloudcomms/customers/graph"
)

// browser starts headless Chromium for the test; foreign returns the requests the
// page made to any address but this machine's (ws:// included: it is this server).
func browser(t *testing.T) (ctx context.Context, foreign func() []string) {
	t.Helper()
	chromium, err := exec.LookPath("chromium")
	if err != nil {
		t.Fatal("Chromium is not installed: apt-get install chromium (make test does, as root: scripts/prereqs.sh)")
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromium), chromedp.NoSandbox, chromedp.DisableGPU, chromedp.WindowSize(1280, 800),
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true), chromedp.Flag("disable-quic", true), chromedp.Flag("no-first-run", true),
		chromedp.UserDataDir(t.TempDir()))
	actx, cancel := chromedp.NewExecAllocator(context.Background(), opts...)
	t.Cleanup(cancel)
	ctx, cancel = chromedp.NewContext(actx)
	t.Cleanup(cancel)
	ctx, cancel = context.WithTimeout(ctx, 60*time.Second)
	t.Cleanup(cancel)

	var mu sync.Mutex
	var requests []string
	err = chromedp.Listen(ctx, func(ev any) {
		if req, ok := ev.(*network.EventRequestWillBeSent); ok {
			u, err := url.Parse(req.Request.URL)
			if err != nil || (u.Scheme == "http" || u.Scheme == "https") && u.Hostname() != "127.0.0.1" && u.Hostname() != "localhost" {
				mu.Lock()
				requests = append(requests, req.Request.URL)
				mu.Unlock()
			}
		}
	})
	if err != nil {
		t.Fatalf("start Chromium: %v", err)
	}
	return ctx, func() []string {
		mu.Lock()
		defer mu.Unlock()
		return requests
	}
}

// step is one thing done in the browser.
type step struct {
	name string
	run  func() error
}

// runSteps does each step in turn, failing the test at the first that fails.
func runSteps(t *testing.T, steps []step) {
	t.Helper()
	for _, s := range steps {
		if err := s.run(); err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
	}
}

// resultShows is a step's wait until GraphiQL's result pane holds text.
func resultShows(ctx context.Context, text string) error {
	_, err := chromedp.Run(ctx, chromedp.Poll[string](
		`(() => { const t = (document.querySelector('.result-window') || {}).innerText || ''; return t.includes(`+strconv.Quote(text)+`) ? t : false })()`,
		chromedp.WithPollingTimeout(20*time.Second)))
	return err
}

// TestGraphiQLInABrowser opens GraphiQL in headless Chromium, runs a query through
// its editor and checks the result pane. The page must load everything from the
// server itself: a request to any other address fails the test. The screenshot is
// saved to .data/browser/graphiql.png.
func TestGraphiQLInABrowser(t *testing.T) {
	t.Parallel()
	a := MustAPI(t)
	a.mustCreate(map[string]any{"name": "Browser Test Co"})
	ctx, foreign := browser(t)
	// GraphiQL keeps its state in the address: the query and the headers tab.
	page := a.srv.URL + "/?" + url.Values{
		"query":   {`query Browser { customers(filter: {search: "browser"}) { nodes { name } } }`},
		"headers": {`{"Authorization": "` + a.bearer(a.staff) + `"}`},
	}.Encode()
	runSteps(t, []step{
		{"open GraphiQL", func() error { _, err := chromedp.Run(ctx, chromedp.Navigate(page)); return err }},
		{"wait for the editor", func() error {
			_, err := chromedp.Run(ctx, chromedp.WaitVisible(".graphiql-execute-button"))
			return err
		}},
		{"run the query", func() error { _, err := chromedp.Run(ctx, chromedp.Click(".graphiql-execute-button")); return err }},
		{"see the customer in the result pane", func() error { return resultShows(ctx, "Browser Test Co") }},
	})
	shot, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	dir := filepath.Join("..", ".data", "browser")
	if err := os.MkdirAll(dir, 0o755); err == nil {
		_ = os.WriteFile(filepath.Join(dir, "graphiql.png"), shot, 0o644)
	}
	if f := foreign(); len(f) > 0 {
		t.Errorf("the page requested addresses beyond the server: %v", f)
	}
}

// TestGraphiQLSubscriptionInABrowser: GraphiQL subscribes over graphql-ws, with its
// headers tab as connection_init's payload (README, "Subscriptions"): its result
// pane shows the customer, then the customer as changed through the API.
func TestGraphiQLSubscriptionInABrowser(t *testing.T) {
	t.Parallel()
	a := MustAPI(t)
	id, _ := a.mustCreate(map[string]any{"name": "Live Browser Co"})["id"].(string)
	ctx, foreign := browser(t)
	page := a.srv.URL + "/?" + url.Values{
		"query":   {`subscription Follow { customerChanged(id: "` + id + `") { name version } }`},
		"headers": {`{"Authorization": "` + a.bearer(a.staff) + `"}`},
	}.Encode()
	runSteps(t, []step{
		{"open GraphiQL", func() error { _, err := chromedp.Run(ctx, chromedp.Navigate(page)); return err }},
		{"wait for the editor", func() error {
			_, err := chromedp.Run(ctx, chromedp.WaitVisible(".graphiql-execute-button"))
			return err
		}},
		{"subscribe", func() error { _, err := chromedp.Run(ctx, chromedp.Click(".graphiql-execute-button")); return err }},
		{"see the customer in the result pane", func() error { return resultShows(ctx, "Live Browser Co") }},
		{"change it", func() error {
			if r := a.do(renameDoc, map[string]any{"id": id, "name": "Renamed Live Co"}); r.Errors != nil {
				return fmt.Errorf("rename: %v", r.codes())
			}
			return nil
		}},
		{"see the change in the result pane", func() error { return resultShows(ctx, "Renamed Live Co") }},
	})
	if f := foreign(); len(f) > 0 {
		t.Errorf("the page requested addresses beyond the server: %v", f)
	}
}

func TestGraphiQLPage(t *testing.T) {
	t.Parallel()
	a := MustAPI(t, func(c *graph.Config) { c.GraphiQLHeaders = map[string]string{"Authorization": "Bearer dev-token"} })
	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	res, err := noFollow.Get(a.srv.URL + "/")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if loc := res.Header.Get("Location"); res.StatusCode != http.StatusFound || !strings.Contains(loc, "query=%23+Welcome") {
		t.Errorf("GET / = %d to %q, want the example document", res.StatusCode, loc)
	}
	res, err = http.Get(a.srv.URL + "/?query=%7B__typename%7D")
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if !strings.Contains(string(page), `"Authorization":"Bearer dev-token"`) || strings.Contains(string(page), "cdn.jsdelivr") {
		t.Errorf("page lacks the configured headers or loads from a CDN:\n%s", page)
	}
	if res.Header.Get("Cache-Control") != "no-store" {
		t.Errorf("the page may be cached: Cache-Control %q", res.Header.Get("Cache-Control"))
	}
	// Only a request from this machine itself gets the token: not one from another
	// address, nor one that a proxy (even a local one) forwards.
	for _, tt := range []struct{ name, remote, header, value string }{
		{"Remote", "203.0.113.9:5000", "", ""},
		{"XForwardedFor", "127.0.0.1:5000", "X-Forwarded-For", "203.0.113.9"},
		{"Forwarded", "[::1]:5000", "Forwarded", "for=203.0.113.9"},
	} {
		req := httptest.NewRequest(http.MethodGet, "/?query=%7B__typename%7D", nil)
		req.RemoteAddr = tt.remote
		if tt.header != "" {
			req.Header.Set(tt.header, tt.value)
		}
		rec := httptest.NewRecorder()
		a.srv.Config.Handler.ServeHTTP(rec, req)
		if body := rec.Body.String(); rec.Code != 200 || !strings.Contains(body, "graphiql.min.js") || strings.Contains(body, "dev-token") {
			t.Errorf("%s: status %d, the page carries the token: %v", tt.name, rec.Code, strings.Contains(body, "dev-token"))
		}
	}
	for _, m := range regexp.MustCompile(`(?:src|href)="(/graphiql/[^"]+)"\s+integrity="([^"]+)"`).FindAllStringSubmatch(string(page), -1) {
		res, err := http.Get(a.srv.URL + m[1])
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		sum := sha256.Sum256(body)
		if res.StatusCode != 200 || "sha256-"+base64.StdEncoding.EncodeToString(sum[:]) != html.UnescapeString(m[2]) {
			t.Errorf("%s: status %d, integrity does not match", m[1], res.StatusCode)
		}
	}
}
