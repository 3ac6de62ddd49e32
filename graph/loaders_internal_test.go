package graph

import (
	"context"
	"testing"

	"github.com/cloudcomms/customers/models"
)

// TestPageGroupsOnlyForNestedConnections: the customers a resolver returns become
// one page group, which sizes the batches of their nested connections, when their
// selection holds one (users, invoices, auditEvents), and only then: each customer
// of a page otherwise cost a map entry for nothing.
func TestPageGroupsOnlyForNestedConnections(t *testing.T) {
	cs := []*models.Customer{{ID: models.NewObjectID()}, {ID: models.NewObjectID()}, {ID: models.NewObjectID()}}
	for _, tc := range []struct {
		fields map[string]bool
		group  bool
	}{
		{map[string]bool{"users": true}, true},
		{map[string]bool{"invoices": true, "name": true}, true},
		{map[string]bool{"auditEvents": true}, true},
		{map[string]bool{"name": true, "status": true}, false},
		{nil, false},
	} {
		l := newLoaders(&Resolver{})
		if err := l.linkCustomers(context.Background(), cs, customerSelection{fields: tc.fields}); err != nil {
			t.Fatalf("%v: %v", tc.fields, err)
		}
		for _, c := range cs {
			g := l.groupOf(c.ID)
			switch {
			case tc.group && (g == nil || g.size != len(cs)):
				t.Errorf("%v: customer %s in group %+v, want one of %d", tc.fields, c.ID, g, len(cs))
			case !tc.group && g != nil:
				t.Errorf("%v: customer %s in a group of %d, want none", tc.fields, c.ID, g.size)
			}
		}
	}
}
