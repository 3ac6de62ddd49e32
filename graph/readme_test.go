package graph_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/parser"

	"github.com/cloudcomms/customers/internal/pgtest"
	"github.com/cloudcomms/customers/models"
)

// Demo data (models/demo.sql): the platform's own customer and its staff user, whom
// GraphiQL acts as under `make run`.
const (
	demoPlatform = "677b9b900000000000000001"
	demoStaff    = "677b9b9000000000000003ec"
)

// mustDemoAPI starts the service over a fresh database holding the demo data that
// `make run` loads; its requests act as the demo's staff user.
func mustDemoAPI(t *testing.T) *api {
	t.Helper()
	a := startInstance(t, pgtest.NewDatabase(t), slog.LevelDebug)
	if loaded, err := models.LoadDemoData(context.Background(), a.db); err != nil || !loaded {
		t.Fatalf("demo data: loaded %v, %v", loaded, err)
	}
	a.platform, a.staff = demoPlatform, demoStaff
	a.warmStaff()
	return a
}

// codeBlocks returns the fenced code blocks of markdown whose info string is lang,
// in order, each with its final newline.
func codeBlocks(markdown, lang string) []string {
	var blocks []string
	var in, keep bool
	var cur strings.Builder
	for line := range strings.Lines(markdown) {
		fence := strings.TrimRight(line, "\n")
		switch {
		case !in && strings.HasPrefix(fence, "```"):
			in, keep = true, strings.TrimSpace(fence[3:]) == lang
			cur.Reset()
		case in && fence == "```":
			if keep {
				blocks = append(blocks, cur.String())
			}
			in = false
		case in:
			cur.WriteString(line)
		}
	}
	return blocks
}

// placeholder is a value the README asks the reader to fill in, as <id>.
var placeholder = regexp.MustCompile(`<([A-Za-z]+)>`)

// TestREADMEOperations runs the README's GraphQL as a newcomer would under `make run`:
// every block in order, each of its operations in turn, against a server holding the
// demo data, as the demo's staff user (whom GraphiQL acts as), with each <field>
// placeholder taken from the last …Create mutation's result. Every operation must
// answer without errors. It also checks what the README says around them: GraphiQL
// opens with its first block, Nested costs the statements it says, and the demo's
// customers are those it names.
func TestREADMEOperations(t *testing.T) {
	t.Parallel()
	raw, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	readme := string(raw)
	blocks := codeBlocks(readme, "graphql")
	if len(blocks) < 3 {
		t.Fatalf("the README has %d GraphQL blocks; the session has at least 3", len(blocks))
	}
	a := mustDemoAPI(t)

	// GraphiQL opens with the session's first block.
	client := *a.srv.Client()
	client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	res, err := client.Get(a.srv.URL + "/")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	loc, err := url.Parse(res.Header.Get("Location"))
	if err != nil || res.StatusCode != http.StatusFound {
		t.Fatalf("GET /: %d, Location %q (%v)", res.StatusCode, res.Header.Get("Location"), err)
	}
	if opening := loc.Query().Get("query"); opening != blocks[0] {
		t.Errorf("GraphiQL opens with a document other than the README's first GraphQL block:\n%s\nREADME:\n%s", opening, blocks[0])
	}

	// "`make run` loads demo data (36 customers across every status and bill method, …)"
	if m := regexp.MustCompile(`\((\d+)\s+customers across every status and bill method`).FindStringSubmatch(readme); m == nil {
		t.Error("the README no longer says how many demo customers there are: update this test")
	} else {
		var got struct{ Customers struct{ TotalCount int } }
		a.mustData(`{ customers { totalCount } }`, nil, &got)
		if want, _ := strconv.Atoi(m[1]); got.Customers.TotalCount != want {
			t.Errorf("the demo data has %d customers; the README says %s", got.Customers.TotalCount, m[1])
		}
	}

	nestedStatements := regexp.MustCompile("`Nested` [^.]*costs (\\d+) statements").FindStringSubmatch(readme)
	if nestedStatements == nil {
		t.Error("the README no longer says what Nested costs: update this test")
	}
	values := map[string]string{}
	ran := map[string]bool{}
	for i, block := range blocks {
		var unfilled []string
		doc := placeholder.ReplaceAllStringFunc(block, func(p string) string {
			name := placeholder.FindStringSubmatch(p)[1]
			v, ok := values[name]
			if !ok {
				unfilled = append(unfilled, p)
			}
			return v
		})
		if len(unfilled) > 0 {
			t.Fatalf("block %d: no earlier result gives %v:\n%s", i+1, unfilled, block)
		}
		parsed, gerr := parser.ParseQuery(&ast.Source{Name: "README.md", Input: doc})
		if gerr != nil {
			t.Fatalf("block %d does not parse: %v\n%s", i+1, gerr, block)
		}
		for _, op := range parsed.Operations {
			if op.Name == "" {
				t.Fatalf("block %d has an anonymous operation: GraphiQL runs only named ones when there are several", i+1)
			}
			if op.Operation == ast.Subscription {
				a.readmeSubscription(t, doc, op.Name)
				ran[op.Name] = true
				continue
			}
			body, _ := json.Marshal(map[string]any{"query": doc, "operationName": op.Name})
			a.logs.reset()
			r := a.post(string(body), nil)
			ran[op.Name] = true
			if r.Status != http.StatusOK || len(r.Errors) > 0 || string(r.Data) == "null" || len(r.Data) == 0 {
				t.Errorf("%s: status %d, errors %+v, data %s", op.Name, r.Status, r.Errors, r.Data)
				continue
			}
			if op.Name == "Nested" && nestedStatements != nil {
				if want, _ := strconv.Atoi(nestedStatements[1]); a.statements.Load() != int64(want) {
					t.Errorf("Nested cost %d statements; the README says %d:\n%s", a.statements.Load(), want, a.sqlLog())
				}
			}
			if op.Operation != ast.Mutation {
				continue
			}
			var data map[string]map[string]any
			if err := json.Unmarshal(r.Data, &data); err != nil {
				t.Fatalf("%s: %v", op.Name, err)
			}
			for field, result := range data {
				if !strings.HasSuffix(field, "Create") {
					continue
				}
				for k, v := range result {
					if s, ok := v.(string); ok {
						values[k] = s
					}
				}
			}
		}
	}
	for _, name := range []string{"Create", "Patch", "Delete", "Nested"} {
		if !ran[name] {
			t.Errorf("the README's session has no operation %s any more: update this test", name)
		}
	}

	// "The demo's first customers are `id` (Name), …"
	sentence := regexp.MustCompile(`(?s)The demo's first customers are (.*?)\.\n`).FindStringSubmatch(readme)
	if sentence == nil {
		t.Fatal("the README no longer names the demo's customers: update this test")
	}
	for _, m := range regexp.MustCompile("`([0-9a-f]{24})` \\(([^)]+)\\)").FindAllStringSubmatch(sentence[1], -1) {
		var got struct{ Customer *struct{ Name string } }
		a.mustData(`query($id: ObjectID!) { customer(id: $id) { name } }`, map[string]any{"id": m[1]}, &got)
		if got.Customer == nil || got.Customer.Name != strings.Join(strings.Fields(m[2]), " ") {
			t.Errorf("demo customer %s: %+v, the README says %q", m[1], got.Customer, m[2])
		}
	}
}

// readmeSubscription runs the subscription name of doc as GraphiQL does, over
// graphql-ws as the demo's staff user: it must start (the feed serves it), and what
// it sends within a moment must be events without errors.
func (a *api) readmeSubscription(t *testing.T, doc, name string) {
	t.Helper()
	c, status := a.dialWS(t, a.bearer(a.staff))
	if c == nil {
		t.Fatalf("%s: connection refused: %d", name, status)
	}
	before := a.resolver.Feed.Len()
	s := c.run(doc, name, nil)
	if !within(func() bool { return a.resolver.Feed.Len() > before }) {
		e, _ := s.receive(0)
		t.Errorf("%s did not start: %s %v", name, e.kind, e.resp.codes())
	}
	for e, ok := s.receive(200 * time.Millisecond); ok; e, ok = s.receive(200 * time.Millisecond) {
		if e.kind != "next" || len(e.resp.Errors) > 0 {
			t.Errorf("%s: %s %s %v", name, e.kind, e.resp.Data, e.resp.codes())
		}
	}
	s.stop()
}

// TestCodeBlocks: the README's blocks are found by language, whole.
func TestCodeBlocks(t *testing.T) {
	md := "text\n```sh\nmake run\n```\n\n```graphql\nquery A { a }\n\nquery B { b }\n```\n```\nplain\n```\n```graphql\n{ c }\n```\n"
	got := codeBlocks(md, "graphql")
	want := []string{"query A { a }\n\nquery B { b }\n", "{ c }\n"}
	if !slices.Equal(got, want) {
		t.Errorf("codeBlocks = %q, want %q", got, want)
	}
}
