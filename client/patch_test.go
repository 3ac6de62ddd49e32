package client_test

import (
	"encoding/json"
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/vektah/gqlparser/v2"
	"github.com/vektah/gqlparser/v2/ast"

	"github.com/cloudcomms/customers/client"
	"github.com/cloudcomms/customers/models"
)

func TestCustomerPatchJSON(t *testing.T) {
	id := models.MustParseObjectID("67950d8c00000000000007d1")
	tests := []struct {
		name  string
		patch client.CustomerPatch
		want  string
	}{
		{"NothingGiven", client.CustomerPatch{}, `{}`},
		{"ZeroValuesAreSent", client.CustomerPatch{AutomaticRefillAmount: new(0), AccountLock: new(false)},
			`{"automaticRefillAmount":0,"accountLock":false}`},
		{"SetAndNull", client.CustomerPatch{AdminUserId: client.Set(id), BillingUserId: client.Null[models.ObjectID](), TranscribeCalls: client.Set(false)},
			`{"adminUserId":"67950d8c00000000000007d1","billingUserId":null,"transcribeCalls":false}`},
		{"EmptyStringIsAValue", client.CustomerPatch{WebsiteUrl: client.Set("")}, `{"websiteUrl":""}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := json.Marshal(tt.patch)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tt.want {
				t.Errorf("got %s, want %s", got, tt.want)
			}
		})
	}
}

// TestCustomerPatchMatchesSchema keeps the hand-written CustomerPatch in step with
// the schema's input: the same fields in the same order, each of the Go type of its
// GraphQL type, a Nullable exactly where the description does not say "not null".
func TestCustomerPatchMatchesSchema(t *testing.T) {
	src, err := os.ReadFile("../schema.graphqls")
	if err != nil {
		t.Fatal(err)
	}
	schema, gqlErr := gqlparser.LoadSchema(&ast.Source{Name: "schema.graphqls", Input: string(src)})
	if gqlErr != nil {
		t.Fatal(gqlErr)
	}
	// For each GraphQL type: the Go type of a field that cannot be null, and of one
	// that null clears.
	goTypes := map[string][2]reflect.Type{
		"String":     {reflect.TypeFor[*string](), reflect.TypeFor[client.Nullable[string]]()},
		"Int":        {reflect.TypeFor[*int](), reflect.TypeFor[client.Nullable[int]]()},
		"Boolean":    {reflect.TypeFor[*bool](), reflect.TypeFor[client.Nullable[bool]]()},
		"ObjectID":   {reflect.TypeFor[*models.ObjectID](), reflect.TypeFor[client.Nullable[models.ObjectID]]()},
		"BillMethod": {reflect.TypeFor[*client.BillMethod](), reflect.TypeFor[client.Nullable[client.BillMethod]]()},
	}
	input := schema.Types["CustomerPatch"]
	st := reflect.TypeFor[client.CustomerPatch]()
	if st.NumField() != len(input.Fields) {
		t.Errorf("CustomerPatch has %d fields, the schema's %d", st.NumField(), len(input.Fields))
	}
	for i, f := range input.Fields {
		if i >= st.NumField() {
			t.Errorf("field %s is missing", f.Name)
			continue
		}
		sf := st.Field(i)
		name, _, _ := strings.Cut(sf.Tag.Get("json"), ",")
		if name != f.Name {
			t.Errorf("field %d: %s (json %q), the schema's is %s", i, sf.Name, name, f.Name)
			continue
		}
		types, ok := goTypes[f.Type.Name()]
		if !ok {
			t.Errorf("%s: no Go type known for %s", f.Name, f.Type.Name())
			continue
		}
		want := types[0]
		if !strings.Contains(strings.ToLower(f.Description), "not null") {
			want = types[1]
		}
		if sf.Type != want {
			t.Errorf("%s is %s, want %s (schema: %q)", f.Name, sf.Type, want, f.Description)
		}
	}
}
