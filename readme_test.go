package main

import (
	"net"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// The README's commands, files, settings and test names must be real, so that it
// cannot drift from the repository: graph/readme_test.go runs its GraphQL, these
// tests check the rest.

// readme is the README's text.
func readme(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// fencedBlocks returns the README's fenced code blocks by info string ("" for none),
// and its text outside them.
func fencedBlocks(markdown string) (blocks map[string][]string, prose string) {
	blocks = map[string][]string{}
	var out, cur strings.Builder
	in, lang := false, ""
	for line := range strings.Lines(markdown) {
		fence := strings.TrimRight(line, "\n")
		switch {
		case !in && strings.HasPrefix(fence, "```"):
			in, lang = true, strings.TrimSpace(fence[3:])
			cur.Reset()
		case in && fence == "```":
			blocks[lang] = append(blocks[lang], cur.String())
			in = false
		case in:
			cur.WriteString(line)
		default:
			out.WriteString(line)
		}
	}
	return blocks, out.String()
}

// makeTargets returns the Makefile's targets.
func makeTargets(t *testing.T) []string {
	t.Helper()
	b, err := os.ReadFile("Makefile")
	if err != nil {
		t.Fatal(err)
	}
	var targets []string
	for _, m := range regexp.MustCompile(`(?m)^([a-z][a-z0-9-]*):`).FindAllStringSubmatch(string(b), -1) {
		targets = append(targets, m[1])
	}
	return targets
}

// testFuncs returns the names of the repository's Test and Benchmark functions.
func testFuncs(t *testing.T) map[string]bool {
	t.Helper()
	funcs := map[string]bool{}
	decl := regexp.MustCompile(`(?m)^func ((?:Test|Benchmark)\w+)\(`)
	err := filepath.WalkDir(".", func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == "node_modules" || d.Name() == ".data" || strings.HasPrefix(d.Name(), ".") && path != ".") {
			return filepath.SkipDir
		}
		if strings.HasSuffix(path, "_test.go") {
			b, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			for _, m := range decl.FindAllStringSubmatch(string(b), -1) {
				funcs[m[1]] = true
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return funcs
}

// checkCommand checks one shell command of the README: `make` with targets of the
// Makefile, `go test`/`go run` of packages that exist, or a script of the repository.
// Leading VAR=value assignments are skipped.
func checkCommand(t *testing.T, command string, targets []string, funcs map[string]bool) {
	t.Helper()
	command = strings.TrimSpace(command)
	words := strings.Fields(command)
	for len(words) > 0 && regexp.MustCompile(`^[A-Z_][A-Z0-9_]*=`).MatchString(words[0]) {
		words = words[1:]
	}
	if len(words) == 0 {
		t.Errorf("README: %q runs nothing", command)
		return
	}
	switch words[0] {
	case "make":
		if len(words) == 1 {
			t.Errorf("README: %q names no target", command)
		}
		for _, target := range words[1:] {
			if !slices.Contains(targets, target) {
				t.Errorf("README: %q: the Makefile has no target %s", command, target)
			}
		}
	case "go":
		if len(words) < 2 || words[1] != "test" && words[1] != "run" {
			t.Errorf("README: %q: only go test and go run are checked", command)
			return
		}
		for i, w := range words[2:] {
			switch {
			case strings.HasPrefix(w, "./") || w == ".":
				if _, err := os.Stat(w); err != nil {
					t.Errorf("README: %q: no package %s", command, w)
				}
			case i > 0 && (words[i+1] == "-bench" || words[i+1] == "-run") && regexp.MustCompile(`^(Test|Benchmark)\w+$`).MatchString(w):
				if !funcs[w] {
					t.Errorf("README: %q: no function %s", command, w)
				}
			}
		}
	default:
		if info, err := os.Stat(words[0]); err != nil || info.Mode()&0o111 == 0 {
			t.Errorf("README: %q: %s is no executable of the repository (a command this test does not know how to check?)", command, words[0])
		}
	}
}

// TestREADMECommands: every command in the README's sh blocks and every `make …`
// and `go …` it names in its text is a Makefile target, a package or a script that
// exists.
func TestREADMECommands(t *testing.T) {
	blocks, prose := fencedBlocks(readme(t))
	targets, funcs := makeTargets(t), testFuncs(t)
	if len(blocks["sh"]) == 0 {
		t.Fatal("the README has no sh block: update this test")
	}
	for _, block := range blocks["sh"] {
		for line := range strings.Lines(block) {
			command, _, _ := strings.Cut(line, "#")
			if strings.TrimSpace(command) != "" {
				checkCommand(t, command, targets, funcs)
			}
		}
	}
	for _, m := range regexp.MustCompile("`((?:make|go) [^`]+)`").FindAllStringSubmatch(prose, -1) {
		checkCommand(t, strings.ReplaceAll(m[1], "'", ""), targets, funcs)
	}
}

// TestREADMEFiles: every file or directory of the repository the README names in
// code spans or links exists, and every Test and Benchmark function it names too.
// Paths under .data/ are made by the targets, and URL paths (/query) are not files.
func TestREADMEFiles(t *testing.T) {
	_, prose := fencedBlocks(readme(t))
	funcs := testFuncs(t)
	looksLikePath := regexp.MustCompile(`^[A-Za-z0-9_.*-]+(/[A-Za-z0-9_.*-]*)*$`)
	fileExt := regexp.MustCompile(`\.(go|sh|sql|lua|json|graphqls|yml|yaml|md|mod)$`)
	var paths []string
	for _, m := range regexp.MustCompile("`([^`\n]+)`").FindAllStringSubmatch(prose, -1) {
		span := m[1]
		switch {
		case regexp.MustCompile(`^(Test|Benchmark)[A-Z]\w*$`).MatchString(span):
			if !funcs[span] {
				t.Errorf("README names %s, which no test file declares", span)
			}
		case strings.HasPrefix(span, ".data/"), strings.HasPrefix(span, "application/"), !looksLikePath.MatchString(span):
		case strings.Contains(span, "/") || fileExt.MatchString(span):
			paths = append(paths, span)
		}
	}
	for _, m := range regexp.MustCompile(`\]\(([^)#:]+)\)`).FindAllStringSubmatch(prose, -1) { // links
		paths = append(paths, m[1])
	}
	if len(paths) < 10 {
		t.Fatalf("found only %d paths in the README: update this test", len(paths))
	}
	for _, p := range paths {
		if strings.HasPrefix(p, "../") || strings.HasPrefix(p, "/") {
			t.Errorf("README names %s, outside the repository: a clone does not have it", p)
			continue
		}
		if matches, _ := filepath.Glob(strings.TrimSuffix(p, "/")); len(matches) == 0 {
			t.Errorf("README names %s, which does not exist", p)
		}
	}
}

// TestREADMESettings: the README's Configuration table lists exactly the environment
// variables the server reads.
func TestREADMESettings(t *testing.T) {
	text := readme(t)
	start := strings.Index(text, "## Configuration")
	if start < 0 {
		t.Fatal("the README has no Configuration section")
	}
	section, _, _ := strings.Cut(text[start+3:], "\n## ")
	documented := map[string]bool{}
	for _, row := range regexp.MustCompile(`(?m)^\| ([^|]+)\|`).FindAllStringSubmatch(section, -1) {
		for _, v := range regexp.MustCompile("`([A-Z][A-Z0-9_]*)`").FindAllStringSubmatch(row[1], -1) {
			documented[v[1]] = true
		}
	}
	read := map[string]bool{}
	for _, file := range []string{"config.go", "server.go"} {
		b, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range regexp.MustCompile(`(?:e\.[a-z]+|getenv)\("([A-Z][A-Z0-9_]*)"`).FindAllStringSubmatch(string(b), -1) {
			read[m[1]] = true
		}
	}
	if len(read) < 20 {
		t.Fatalf("found only %d settings read by the server: update this test", len(read))
	}
	for v := range read {
		if !documented[v] {
			t.Errorf("the server reads %s, which the README's Configuration table does not list", v)
		}
	}
	for v := range documented {
		if !read[v] {
			t.Errorf("the README's Configuration table lists %s, which the server does not read", v)
		}
	}
}

// fixedListener is a net.Listener that only tells its address.
type fixedListener struct {
	net.Listener
	addr string
}

func (l fixedListener) Addr() net.Addr {
	a, _ := net.ResolveTCPAddr("tcp", l.addr)
	return a
}

// TestREADMEListening: the line the README shows `make run` printing is what the
// server prints with the default addresses.
func TestREADMEListening(t *testing.T) {
	cfg, err := loadConfig(func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	want := listening([]listener{{"", cfg.ListenAddr, nil}, {"admin", cfg.AdminAddr, nil}},
		[]net.Listener{fixedListener{addr: cfg.ListenAddr}, fixedListener{addr: cfg.AdminAddr}})
	blocks, _ := fencedBlocks(readme(t))
	if !slices.Contains(blocks[""], want+"\n") {
		t.Errorf("the README does not show what make run prints:\n%s", want)
	}
}
