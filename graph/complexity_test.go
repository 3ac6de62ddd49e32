package graph

import (
	"reflect"
	"strings"
	"testing"

	"github.com/cloudcomms/customers/graph/generated"
)

// TestEveryListHasACost: each field of the schema that returns a connection or a
// list of objects has a complexity function that multiplies its children by the
// rows it may return; without one, gqlgen counts a page of 100 as one row.
func TestEveryListHasACost(t *testing.T) {
	var root generated.ComplexityRoot
	complexity(&root)
	schema := generated.NewExecutableSchema(generated.Config{}).Schema()
	for _, def := range schema.Types {
		if def.BuiltIn || strings.HasPrefix(def.Name, "__") {
			continue
		}
		for _, f := range def.Fields {
			elem := f.Type
			for elem.Elem != nil {
				elem = elem.Elem
			}
			target := schema.Types[elem.Name()]
			isConnection := strings.HasSuffix(f.Type.Name(), "Connection")
			isObjectList := f.Type.Elem != nil && target != nil && target.Kind == "OBJECT"
			if !isConnection && !isObjectList || strings.HasSuffix(def.Name, "Connection") || strings.HasSuffix(def.Name, "Edge") {
				continue // a connection's own edges and nodes are priced by the connection
			}
			typ := reflect.ValueOf(root).FieldByName(def.Name)
			if !typ.IsValid() {
				t.Errorf("%s.%s returns a list, and ComplexityRoot has no %s", def.Name, f.Name, def.Name)
				continue
			}
			fn := typ.FieldByNameFunc(func(n string) bool { return strings.EqualFold(n, f.Name) })
			if !fn.IsValid() || fn.IsNil() {
				t.Errorf("%s.%s returns a list and has no complexity function", def.Name, f.Name)
			}
		}
	}
}

// TestEverySubscriptionHasACost: each subscription is charged, when it starts, for
// eventsPerSubscription events of its selection; without a complexity function,
// gqlgen would charge it as one.
func TestEverySubscriptionHasACost(t *testing.T) {
	var root generated.ComplexityRoot
	complexity(&root)
	schema := generated.NewExecutableSchema(generated.Config{}).Schema()
	fns := reflect.ValueOf(root.Subscription)
	for _, f := range schema.Subscription.Fields {
		fn := fns.FieldByNameFunc(func(n string) bool { return strings.EqualFold(n, f.Name) })
		if !fn.IsValid() || fn.IsNil() {
			t.Errorf("Subscription.%s has no complexity function", f.Name)
			continue
		}
		args := []reflect.Value{reflect.ValueOf(5)}
		for i := 1; i < fn.Type().NumIn(); i++ {
			args = append(args, reflect.Zero(fn.Type().In(i)))
		}
		if got := fn.Call(args)[0].Int(); got != 1+eventsPerSubscription*5 {
			t.Errorf("Subscription.%s of 5 fields costs %d, want %d", f.Name, got, 1+eventsPerSubscription*5)
		}
	}
}
