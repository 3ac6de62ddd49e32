package client_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/cloudcomms/customers/client"
	"github.com/cloudcomms/customers/internal/testserver"
	"github.com/cloudcomms/customers/models"
)

// TestCustomerLifecycle runs the client against the real server, as platform staff:
// create, read, patch, a patch with a stale expectedVersion, list, set status, the
// audit trail, delete.
func TestCustomerLifecycle(t *testing.T) {
	t.Parallel()
	s := testserver.Start(t)
	api := client.New(s.Endpoint, s.JWT(s.Staff), nil)
	ctx := context.Background()

	// Create: the fields left nil take the schema's defaults; a null sent for
	// cdrRetention or accountLock would be BAD_USER_INPUT instead.
	created, err := client.CreateCustomer(client.WithRequestID(ctx, "lifecycle-create"), api, client.CustomerCreateInput{
		Name:       new("Contract Telecom"),
		WebsiteUrl: new("https://contract.example"),
		Credit:     new(250),
	})
	if err != nil {
		t.Fatal(err)
	}
	c := created.CustomerCreate
	if c.Id.IsZero() || c.Name != "Contract Telecom" || *c.WebsiteUrl != "https://contract.example" || c.Credit != 250 ||
		c.Status != client.CustomerStatusActive || !c.AccountLock || c.CdrRetention != 12 || c.TranscribeCalls != nil ||
		c.DefaultBillMethod != client.BillMethodCredit || c.Version != 1 || time.Since(c.CreatedAt) > time.Minute {
		t.Fatalf("created %+v", c)
	}

	// Read: the same customer, no links yet.
	read, err := client.GetCustomer(ctx, api, c.Id)
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(*c, read.Customer.Customer); d != "" {
		t.Errorf("read differs from created (-created +read):\n%s", d)
	}
	if read.Customer.AdminUser != nil || read.Customer.BillingUser != nil || len(read.Customer.LastInvoice.Nodes) != 0 ||
		read.Customer.LastAutomaticRefillInvoice != nil {
		t.Errorf("links of a new customer: %+v", read.Customer)
	}

	// Patch at the version read: what is set changes, null clears, the rest stays.
	patched, err := client.PatchCustomer(client.WithRequestID(ctx, "lifecycle-patch"), api, c.Id, client.CustomerPatch{
		AutomaticRefillAmount: new(5000),
		WebsiteUrl:            client.Null[string](),
	}, new(c.Version))
	if err != nil {
		t.Fatal(err)
	}
	p := patched.CustomerPatch
	if p.AutomaticRefillAmount != 5000 || p.WebsiteUrl != nil || p.Name != c.Name || p.Credit != c.Credit || p.Version != 2 {
		t.Errorf("patched %+v", p)
	}

	// The same version again is stale: CONFLICT, and nothing changes.
	stale, err := client.PatchCustomer(ctx, api, c.Id, client.CustomerPatch{LowBalanceAlertAmount: new(100)}, new(c.Version))
	var e *client.Error
	if !errors.As(err, &e) || e.Code != client.CodeConflict || e.Path != "customerPatch" {
		t.Fatalf("stale expectedVersion: %v", err)
	}
	if stale.CustomerPatch != nil {
		t.Errorf("a refused patch returned %+v", stale.CustomerPatch)
	}
	if after, err := client.GetCustomer(ctx, api, c.Id); err != nil || after.Customer.Version != 2 || after.Customer.LowBalanceAlertAmount != 0 {
		t.Errorf("after the refused patch: %+v, %v", after.Customer, err)
	}

	// List: a page of one by filter, then the whole list by name, one customer a page.
	byName, err := client.ListCustomers(ctx, api, &client.CustomerFilter{Name: &client.StringFilter{Eq: new("contract telecom")}}, nil, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(byName.Customers.Nodes) != 1 || byName.Customers.Nodes[0].Id != c.Id || byName.Customers.PageInfo.HasNextPage {
		t.Errorf("filtered by name: %+v", byName.Customers)
	}
	byNameOrder := []client.CustomerOrder{{Field: client.CustomerOrderFieldName}}
	var names []string
	var after *string
	for range 3 {
		page, err := client.ListCustomers(ctx, api, nil, byNameOrder, new(1), after)
		if err != nil {
			t.Fatal(err)
		}
		for _, n := range page.Customers.Nodes {
			names = append(names, n.Name)
		}
		if !page.Customers.PageInfo.HasNextPage {
			break
		}
		after = page.Customers.PageInfo.EndCursor
	}
	if d := cmp.Diff([]string{"Contract Telecom", "Platform Staff"}, names); d != "" {
		t.Errorf("paged by one (-want +got):\n%s", d)
	}

	status, err := client.SetCustomerStatus(client.WithRequestID(ctx, "lifecycle-suspend"), api, c.Id, client.CustomerStatusSuspended, new(2))
	if err != nil || status.CustomerSetStatus.Status != client.CustomerStatusSuspended || status.CustomerSetStatus.Version != 3 {
		t.Fatalf("set status: %+v, %v", status, err)
	}

	deleted, err := client.DeleteCustomer(client.WithRequestID(ctx, "lifecycle-delete"), api, c.Id)
	if err != nil || deleted.CustomerDelete.Id != c.Id {
		t.Fatalf("delete: %+v, %v", deleted, err)
	}
	if gone, err := client.GetCustomer(ctx, api, c.Id); err != nil || gone.Customer != nil {
		t.Errorf("read after delete: %+v, %v", gone.Customer, err)
	}

	// The audit trail outlives the customer, newest first, each event under the
	// request id its request carried.
	trail, err := client.ListAuditEvents(ctx, api, c.Id, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	var events []string
	for _, ev := range trail.AuditEvents.Nodes {
		if ev.RecordId != c.Id || ev.ActorId == nil || *ev.ActorId != s.Staff {
			t.Errorf("event %+v", ev)
		}
		events = append(events, ev.Operation+" "+ev.RequestId)
	}
	want := []string{"customerDelete lifecycle-delete", "customerSetStatus lifecycle-suspend", "customerPatch lifecycle-patch", "customerCreate lifecycle-create"}
	if d := cmp.Diff(want, events); d != "" {
		t.Errorf("audit trail (-want +got):\n%s", d)
	}
}

// TestPatchAbsentAndNull: a field left out stays, a field set to null is cleared.
func TestPatchAbsentAndNull(t *testing.T) {
	t.Parallel()
	s := testserver.Start(t)
	acct := s.SeedAccount("absentnull")
	api := client.New(s.Endpoint, s.JWT(acct.Admin), nil)
	ctx := context.Background()

	patched, err := client.PatchCustomer(ctx, api, acct.Customer, client.CustomerPatch{
		AdminUserId:     client.Null[models.ObjectID](),
		SupportUserId:   client.Set(acct.Billing),
		TranscribeCalls: client.Set(false),
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	p := patched.CustomerPatch
	if p.AdminUserId != nil || p.BillingUserId == nil || *p.BillingUserId != acct.Billing ||
		p.SupportUserId == nil || *p.SupportUserId != acct.Billing || p.TranscribeCalls == nil || *p.TranscribeCalls {
		t.Errorf("patched links %+v", p)
	}
	if _, err := client.PatchCustomer(ctx, api, acct.Customer, client.CustomerPatch{TranscribeCalls: client.Null[bool]()}, nil); err != nil {
		t.Fatal(err)
	}
	read, err := client.GetCustomer(ctx, api, acct.Customer)
	if err != nil {
		t.Fatal(err)
	}
	if read.Customer.TranscribeCalls != nil || read.Customer.AdminUser != nil || read.Customer.BillingUser == nil {
		t.Errorf("after clearing transcribeCalls: %+v", read.Customer)
	}
}

// TestBadUserInput: each invalid field of a patch is an Error of its own, with its
// field; errors.As finds the first, or all of them as Errors.
func TestBadUserInput(t *testing.T) {
	t.Parallel()
	s := testserver.Start(t)
	acct := s.SeedAccount("baduserinput")
	api := client.New(s.Endpoint, s.JWT(acct.Admin), nil)

	_, err := client.PatchCustomer(context.Background(), api, acct.Customer, client.CustomerPatch{
		CdrRetention: new(-1),
		Logo:         client.Set("ftp://logo.example/a.png"),
	}, nil)
	var first *client.Error
	if !errors.As(err, &first) || first.Code != client.CodeBadUserInput || first.Field != "patch.logo" {
		t.Fatalf("first error: %v", err)
	}
	var all client.Errors
	if !errors.As(err, &all) {
		t.Fatalf("%v is no client.Errors", err)
	}
	var got []string
	for _, e := range all {
		got = append(got, e.Code+" "+e.Field)
	}
	if d := cmp.Diff([]string{"BAD_USER_INPUT patch.logo", "BAD_USER_INPUT patch.cdrRetention"}, got); d != "" {
		t.Errorf("errors (-want +got):\n%s", d)
	}
}

// TestUsersOfCustomer reads a customer's users and its linked records.
func TestUsersOfCustomer(t *testing.T) {
	t.Parallel()
	s := testserver.Start(t)
	acct := s.SeedAccount("users")
	api := client.New(s.Endpoint, s.JWT(acct.Billing), nil)
	ctx := context.Background()

	users, err := client.ListCustomerUsers(ctx, api, acct.Customer, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	var emails []string
	for _, u := range users.Customer.Users.Nodes {
		emails = append(emails, u.Email)
	}
	if d := cmp.Diff([]string{"admin@users.example", "billing@users.example"}, emails); d != "" {
		t.Errorf("users (-want +got):\n%s", d)
	}

	read, err := client.GetCustomer(ctx, api, acct.Customer)
	if err != nil {
		t.Fatal(err)
	}
	c := read.Customer
	if c.AdminUser == nil || c.AdminUser.Id != acct.Admin || c.BillingUser == nil || c.BillingUser.Id != acct.Billing ||
		*c.BillingUser.BillingPermission != client.PermissionReadWrite || c.BillingUser.AdminPermission != nil {
		t.Errorf("linked users %+v %+v", c.AdminUser, c.BillingUser)
	}
	if len(c.LastInvoice.Nodes) != 1 || c.LastInvoice.Nodes[0].Id != acct.Invoices[1] || c.LastInvoice.Nodes[0].Amount != 2200 ||
		c.LastAutomaticRefillInvoice == nil || c.LastAutomaticRefillInvoice.Id != acct.Invoices[1] {
		t.Errorf("invoices %+v %+v", c.LastInvoice, c.LastAutomaticRefillInvoice)
	}
}

// TestUnauthenticated: the server refuses a bad token with HTTP 401 and a GraphQL
// error, which comes back typed like any other.
func TestUnauthenticated(t *testing.T) {
	t.Parallel()
	s := testserver.Start(t)
	api := client.New(s.Endpoint, "cca_not-a-token", nil)
	_, err := client.GetCustomer(context.Background(), api, s.Staff)
	var e *client.Error
	if !errors.As(err, &e) || e.Code != client.CodeUnauthenticated {
		t.Errorf("unknown token: %v", err)
	}
}
