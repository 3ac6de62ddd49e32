package main

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// releasedFixture is the released schema of the schema-change gate's tests; each case
// edits it into the current schema.
const releasedFixture = `
directive @goField(forceResolver: Boolean, name: String, omittable: Boolean) on INPUT_FIELD_DEFINITION | FIELD_DEFINITION

type Query {
  customer(id: ID!): Customer
  customers(first: Int, after: String): [Customer!]!
}

type Customer {
  id: ID!
  name: String!
  status: Status! @goField(forceResolver: true)
  code: String @deprecated(reason: "Use name.")
  legacy: Legacy @deprecated(reason: "Nothing uses it.")
}

type Legacy {
  code: String
}

enum Status {
  ACTIVE
  DISABLED
  SUSPENDED @deprecated(reason: "Use DISABLED.")
}
`

// TestSchemaCheck runs the schema-change gate (scripts/schema-check, npm packages
// installed by make test or make schema-check) on pairs of schemas: breaking changes
// fail unless the element was deprecated in the released schema; additions pass.
func TestSchemaCheck(t *testing.T) {
	t.Parallel()
	dir := filepath.Join("scripts", "schema-check")
	if _, err := exec.LookPath("node"); err != nil {
		t.Fatalf("node is not installed: install Node.js and npm (Debian: apt-get install nodejs npm), then run make test: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "@graphql-inspector", "core")); err != nil {
		t.Fatalf("@graphql-inspector/core is not installed: run `make test` (or make schema-deps): %v", err)
	}
	tmp := t.TempDir()
	released := filepath.Join(tmp, "released.graphqls")
	if err := os.WriteFile(released, []byte(releasedFixture), 0o644); err != nil {
		t.Fatal(err)
	}

	for _, tc := range []struct {
		name  string
		edits []string // old, new, old, new, … applied to the released schema
		pass  bool
		want  string // a line of the output
	}{
		{"nothing changed", nil, true, "0 changes, none breaking"},
		{"field removed", []string{"  name: String!\n", ""}, false,
			"BREAKING      Customer.name: Field 'name' was removed from object type 'Customer'\n"},
		{"deprecated field removed", []string{"  code: String @deprecated(reason: \"Use name.\")\n", ""}, true,
			"(allowed: Customer.code was deprecated in the released schema)"},
		{"deprecated field removed with its type", []string{
			"  legacy: Legacy @deprecated(reason: \"Nothing uses it.\")\n", "",
			"type Legacy {\n  code: String\n}\n", ""}, true,
			"Legacy: Type 'Legacy' was removed  (allowed: the released Legacy was reachable only through deprecated elements)"},
		{"optional argument added", []string{"after: String)", "after: String, status: Status)"}, true,
			"Query.customers.status: Argument 'status: Status' added to field 'Query.customers'"},
		{"required argument added", []string{"after: String)", "after: String, status: Status!)"}, false,
			"BREAKING      Query.customers.status: Argument 'status: Status!' added to field 'Query.customers'\n"},
		{"argument removed", []string{"(first: Int, after: String)", "(first: Int)"}, false,
			"BREAKING      Query.customers.after: Argument 'after: String' was removed from field 'Query.customers'\n"},
		{"enum value removed", []string{"  DISABLED\n", ""}, false,
			"BREAKING      Status.DISABLED: Enum value 'DISABLED' was removed from enum 'Status'\n"},
		{"deprecated enum value removed", []string{"  SUSPENDED @deprecated(reason: \"Use DISABLED.\")\n", ""}, true,
			"(allowed: Status.SUSPENDED was deprecated in the released schema)"},
		{"enum value added", []string{"  DISABLED\n", "  DISABLED\n  CLOSED\n"}, true,
			"DANGEROUS     Status.CLOSED: Enum value 'CLOSED' was added to enum 'Status'"},
		{"field type changed", []string{"  name: String!\n", "  name: Int!\n"}, false,
			"BREAKING      Customer.name: Field 'Customer.name' changed type from 'String!' to 'Int!'\n"},
		{"field made nullable", []string{"  name: String!\n", "  name: String\n"}, false,
			"BREAKING      Customer.name: Field 'Customer.name' changed type from 'String!' to 'String'\n"},
		{"type and field added", []string{
			"  id: ID!\n", "  id: ID!\n  switches: [Switch!]!\n",
			"type Legacy {", "type Switch {\n  id: ID!\n}\n\ntype Legacy {"}, true,
			"NON_BREAKING  Switch: Type 'Switch' was added"},
		{"type-system directive changed", []string{"omittable: Boolean)", ")"}, true,
			"(allowed: operations cannot use @goField)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			current := releasedFixture
			for i := 0; i < len(tc.edits); i += 2 {
				if !strings.Contains(current, tc.edits[i]) {
					t.Fatalf("edit %q: not in the released fixture", tc.edits[i])
				}
				current = strings.Replace(current, tc.edits[i], tc.edits[i+1], 1)
			}
			path := filepath.Join(tmp, strings.ReplaceAll(tc.name, " ", "-")+".graphqls")
			if err := os.WriteFile(path, []byte(current), 0o644); err != nil {
				t.Fatal(err)
			}
			out, err := exec.Command("node", filepath.Join(dir, "check.mjs"), released, path).CombinedOutput()
			t.Logf("%s", out)
			var exit *exec.ExitError
			switch {
			case err == nil && !tc.pass:
				t.Error("the gate passed a breaking change")
			case err != nil && !errors.As(err, &exit):
				t.Fatalf("node: %v", err)
			case err != nil && tc.pass:
				t.Errorf("the gate refused a compatible change: %v", err)
			case err != nil && exit.ExitCode() != 1:
				t.Errorf("exit status %d, want 1 (a breaking change)", exit.ExitCode())
			}
			if !strings.Contains(string(out), tc.want) {
				t.Errorf("the output lacks %q", tc.want)
			}
		})
	}

	t.Run("unreadable schema", func(t *testing.T) {
		t.Parallel()
		bad := filepath.Join(tmp, "bad.graphqls")
		if err := os.WriteFile(bad, []byte("type Query { customer: Missing }"), 0o644); err != nil {
			t.Fatal(err)
		}
		out, err := exec.Command("node", filepath.Join(dir, "check.mjs"), released, bad).CombinedOutput()
		t.Logf("%s", out)
		var exit *exec.ExitError
		if !errors.As(err, &exit) || exit.ExitCode() != 2 {
			t.Errorf("exit: %v, want status 2", err)
		}
		if !strings.Contains(string(out), `Unknown type "Missing"`) {
			t.Error("the output does not say what is wrong with the schema")
		}
	})
}
