package graph_test

import (
	"encoding/base64"
	"fmt"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// page is a decoded CustomerConnection.
type page struct {
	Edges []struct {
		Cursor string
		Node   struct {
			ID     string
			Name   string
			Credit int
		}
	}
	PageInfo struct {
		HasNextPage, HasPreviousPage bool
		StartCursor, EndCursor       *string
	}
	TotalCount int
}

func (p page) ids() []string {
	out := make([]string, len(p.Edges))
	for i, e := range p.Edges {
		out[i] = e.Node.ID
	}
	return out
}

const listDoc = `query($filter: CustomerFilter, $orderBy: [CustomerOrder!], $first: Int, $after: String, $last: Int, $before: String, $offset: Int) {
  customers(filter: $filter, orderBy: $orderBy, first: $first, after: $after, last: $last, before: $before, offset: $offset) {
    edges { cursor node { id name credit } }
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    totalCount
  }
}`

func (a *api) list(vars map[string]any) page {
	a.t.Helper()
	var out struct{ Customers page }
	a.mustData(listDoc, vars, &out)
	return out.Customers
}

// seed creates n customers whose credit takes only three values, so sorting by
// credit leaves many ties for the id tie-break to settle. It returns their ids
// in the order CREDIT DESC, id ASC.
func (a *api) seed(n int) (byCreditDesc, byID []string) {
	a.t.Helper()
	type row struct {
		id     string
		credit int
	}
	rows := []row{{a.platform, 0}}
	byID = []string{a.platform}
	for i := range n {
		c := a.mustCreate(map[string]any{"name": fmt.Sprintf("Customer %02d", i), "credit": i % 3})
		rows = append(rows, row{c["id"].(string), i % 3})
		byID = append(byID, c["id"].(string))
	}
	sort.Strings(byID)
	sort.Slice(rows, func(i, j int) bool {
		if rows[i].credit != rows[j].credit {
			return rows[i].credit > rows[j].credit
		}
		return rows[i].id < rows[j].id
	})
	for _, r := range rows {
		byCreditDesc = append(byCreditDesc, r.id)
	}
	return byCreditDesc, byID
}

func TestCustomersPagination(t *testing.T) {
	t.Parallel()
	a := MustAPI(t)
	want, byID := a.seed(23)
	order := []map[string]any{{"field": "CREDIT", "direction": "DESC"}}

	t.Run("DefaultOrderIsIDAndDefaultSizeIs20", func(t *testing.T) {
		p := a.list(nil)
		if d := cmp.Diff(byID[:20], p.ids()); d != "" {
			t.Errorf("first page (-want +got):\n%s", d)
		}
		if !p.PageInfo.HasNextPage || p.PageInfo.HasPreviousPage || p.TotalCount != 24 {
			t.Errorf("pageInfo %+v totalCount %d", p.PageInfo, p.TotalCount)
		}
	})
	t.Run("ForwardOverTies", func(t *testing.T) {
		var got []string
		var after any
		for range 10 {
			p := a.list(map[string]any{"orderBy": order, "first": 4, "after": after})
			got = append(got, p.ids()...)
			if !p.PageInfo.HasNextPage {
				break
			}
			after = *p.PageInfo.EndCursor
		}
		if d := cmp.Diff(want, got); d != "" {
			t.Errorf("forward pages skipped or repeated rows (-want +got):\n%s", d)
		}
	})
	t.Run("BackwardOverTies", func(t *testing.T) {
		var got []string
		var before any
		for range 10 {
			p := a.list(map[string]any{"orderBy": order, "last": 4, "before": before})
			got = append(p.ids(), got...)
			if !p.PageInfo.HasPreviousPage {
				break
			}
			before = *p.PageInfo.StartCursor
		}
		if d := cmp.Diff(want, got); d != "" {
			t.Errorf("backward pages skipped or repeated rows (-want +got):\n%s", d)
		}
	})
	t.Run("MixedDirections", func(t *testing.T) {
		p := a.list(map[string]any{"orderBy": []map[string]any{{"field": "CREDIT"}, {"field": "NAME", "direction": "DESC"}}, "first": 3})
		next := a.list(map[string]any{"orderBy": []map[string]any{{"field": "CREDIT"}, {"field": "NAME", "direction": "DESC"}}, "first": 3, "after": *p.PageInfo.EndCursor})
		names := func(p page) (out []string) {
			for _, e := range p.Edges {
				out = append(out, e.Node.Name)
			}
			return out
		}
		if d := cmp.Diff([]string{"Platform Staff", "Customer 21", "Customer 18"}, names(p)); d != "" {
			t.Errorf("first page (-want +got):\n%s", d)
		}
		if d := cmp.Diff([]string{"Customer 15", "Customer 12", "Customer 09"}, names(next)); d != "" {
			t.Errorf("second page (-want +got):\n%s", d)
		}
	})
	t.Run("Offset", func(t *testing.T) {
		p := a.list(map[string]any{"orderBy": order, "first": 5, "offset": 20})
		if d := cmp.Diff(want[20:], p.ids()); d != "" {
			t.Errorf("offset page (-want +got):\n%s", d)
		}
		if p.PageInfo.HasNextPage || !p.PageInfo.HasPreviousPage {
			t.Errorf("pageInfo %+v, want no next page and a previous one", p.PageInfo)
		}
	})
	t.Run("FirstZero", func(t *testing.T) {
		p := a.list(map[string]any{"first": 0})
		if len(p.Edges) != 0 || !p.PageInfo.HasNextPage || p.PageInfo.EndCursor != nil {
			t.Errorf("first 0 = %+v", p)
		}
	})
}

func TestCustomersPageArgumentErrors(t *testing.T) {
	t.Parallel()
	a := MustAPI(t)
	a.seed(2)
	p := a.list(map[string]any{"first": 1})
	cursor := *p.PageInfo.EndCursor
	raw, _ := base64.RawURLEncoding.DecodeString(cursor)
	flipped := append([]byte{}, raw...)
	flipped[len(flipped)-3] ^= 1
	nameCursor := *a.list(map[string]any{"first": 1, "orderBy": []map[string]any{{"field": "NAME"}}}).PageInfo.EndCursor
	tests := []struct {
		name string
		vars map[string]any
		want []string
	}{
		{"FirstOver100", map[string]any{"first": 101}, []string{"BAD_USER_INPUT first"}},
		{"First100", map[string]any{"first": 100}, nil},
		{"FirstNegative", map[string]any{"first": -1}, []string{"BAD_USER_INPUT first"}},
		{"LastOver100", map[string]any{"last": 101}, []string{"BAD_USER_INPUT last"}},
		{"FirstAndLast", map[string]any{"first": 1, "last": 1}, []string{"BAD_USER_INPUT last"}},
		{"OffsetNegative", map[string]any{"offset": -1}, []string{"BAD_USER_INPUT offset"}},
		{"OffsetMax", map[string]any{"offset": 10_000}, nil},
		{"OffsetWithCursor", map[string]any{"offset": 1, "after": cursor}, []string{"BAD_USER_INPUT offset"}},
		{"TamperedCursor", map[string]any{"after": base64.RawURLEncoding.EncodeToString(flipped)}, []string{"BAD_USER_INPUT after"}},
		{"TruncatedCursor", map[string]any{"after": cursor[:len(cursor)-4]}, []string{"BAD_USER_INPUT after"}},
		{"MadeUpCursor", map[string]any{"before": "bm90IGEgY3Vyc29y"}, []string{"BAD_USER_INPUT before"}},
		{"NotBase64Cursor", map[string]any{"after": "!!!"}, []string{"BAD_USER_INPUT after"}},
		{"EmptyCursor", map[string]any{"after": ""}, []string{"BAD_USER_INPUT after"}},
		{"CursorOfAnotherOrder", map[string]any{"after": nameCursor}, []string{"BAD_USER_INPUT after"}},
		{"PageSizeOutOfInt32", map[string]any{"first": 1 << 40}, []string{"BAD_USER_INPUT first"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := a.do(listDoc, tt.vars)
			if d := cmp.Diff(tt.want, r.codes()); d != "" {
				t.Errorf("errors (-want +got):\n%s\n%+v", d, r.Errors)
			}
		})
	}
}

// TestOffsetOverMaxPointsToCursors: an offset past models.MaxOffset is refused on
// every list that takes one, with a message that sends the client to the cursors.
func TestOffsetOverMaxPointsToCursors(t *testing.T) {
	t.Parallel()
	a := MustAPI(t)
	for _, doc := range []string{
		`{ customers(offset: 10001) { totalCount } }`,
		`{ users(offset: 10001) { totalCount } }`,
		`{ users(offset: 2147483647) { totalCount } }`,
	} {
		r := a.do(doc, nil)
		if d := cmp.Diff([]string{"BAD_USER_INPUT offset"}, r.codes()); d != "" {
			t.Errorf("%s (-want +got):\n%s", doc, d)
			continue
		}
		if msg := r.Errors[0].Message; !strings.Contains(msg, "10000") || !strings.Contains(msg, "after") || !strings.Contains(msg, "before") {
			t.Errorf("%s: message %q does not give the limit and point to after/before", doc, msg)
		}
	}
}

func TestCustomersFilter(t *testing.T) {
	t.Parallel()
	a := MustAPI(t)
	mk := func(in map[string]any) string { return a.mustCreate(in)["id"].(string) }
	acme := mk(map[string]any{"name": "Acme Telecom", "websiteUrl": "https://acme.example", "credit": 100})
	acmeFax := mk(map[string]any{"name": "ACME Fax", "credit": -5, "defaultBillMethod": "PAYMENTMETHOD"})
	globex := mk(map[string]any{"name": "Globex", "websiteUrl": "https://globex.example/acme-partner", "credit": 0, "transcribeCalls": true})
	percent := mk(map[string]any{"name": "100% Voice_Co", "credit": 50, "internationalCalling": true})
	platform := a.platform // the staff's own customer: no website, credit 0, CREDIT
	tests := []struct {
		name   string
		filter map[string]any
		want   []string
	}{
		{"NoFilter", nil, []string{platform, acme, acmeFax, globex, percent}},
		{"SearchNameOrURLIgnoringCase", map[string]any{"search": "aCMe"}, []string{acme, acmeFax, globex}},
		{"SearchWildcardsAreLiteral", map[string]any{"search": "0% v"}, []string{percent}},
		{"SearchUnderscoreIsLiteral", map[string]any{"search": "e_c"}, []string{percent}},
		{"NameEqIgnoresCase", map[string]any{"name": map[string]any{"eq": "acme fax"}}, []string{acmeFax}},
		{"NameStartsWith", map[string]any{"name": map[string]any{"startsWith": "acme"}}, []string{acme, acmeFax}},
		{"NameIn", map[string]any{"name": map[string]any{"in": []string{"GLOBEX", "nobody"}}}, []string{globex}},
		{"WebsiteURLIsNull", map[string]any{"websiteUrl": map[string]any{"isNull": true}}, []string{platform, acmeFax, percent}},
		{"WebsiteURLNeIncludesNull", map[string]any{"websiteUrl": map[string]any{"ne": "https://acme.example"}}, []string{platform, acmeFax, globex, percent}},
		{"CreditRange", map[string]any{"credit": map[string]any{"gte": 0, "lt": 100}}, []string{platform, globex, percent}},
		{"CreditIn", map[string]any{"credit": map[string]any{"in": []int{-5, 100}}}, []string{acme, acmeFax}},
		{"EnumEq", map[string]any{"defaultBillMethod": map[string]any{"eq": "PAYMENTMETHOD"}}, []string{acmeFax}},
		{"EnumNe", map[string]any{"defaultBillMethod": map[string]any{"ne": "PAYMENTMETHOD"}}, []string{platform, acme, globex, percent}},
		{"BooleanEq", map[string]any{"internationalCalling": map[string]any{"eq": true}}, []string{percent}},
		{"NullableBooleanIsNull", map[string]any{"transcribeCalls": map[string]any{"isNull": false}}, []string{globex}},
		{"IDIn", map[string]any{"id": map[string]any{"in": []string{globex, percent}}}, []string{globex, percent}},
		{"Or", map[string]any{"or": []any{
			map[string]any{"credit": map[string]any{"lt": 0}},
			map[string]any{"name": map[string]any{"eq": "globex"}},
		}}, []string{acmeFax, globex}},
		{"EmptyOrMatchesNothing", map[string]any{"or": []any{}}, nil},
		{"And", map[string]any{"and": []any{
			map[string]any{"search": "acme"},
			map[string]any{"credit": map[string]any{"gt": 0}},
		}}, []string{acme}},
		{"NotIncludesNulls", map[string]any{"not": map[string]any{"websiteUrl": map[string]any{"contains": "acme"}}}, []string{platform, acmeFax, percent}},
		{"NestedNotOr", map[string]any{"not": map[string]any{"or": []any{
			map[string]any{"search": "acme"},
			map[string]any{"credit": map[string]any{"eq": 50}},
		}}}, []string{platform}},
		{"FieldsCombineWithAnd", map[string]any{"search": "acme", "credit": map[string]any{"lte": 0}}, []string{acmeFax, globex}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := a.list(map[string]any{"filter": tt.filter})
			want := append([]string{}, tt.want...)
			sort.Strings(want)
			if d := cmp.Diff(want, p.ids(), cmp.Comparer(func(a, b []string) bool { return len(a) == 0 && len(b) == 0 || cmp.Equal(a, b) })); d != "" {
				t.Errorf("ids (-want +got):\n%s", d)
			}
			if p.TotalCount != len(tt.want) {
				t.Errorf("totalCount = %d, want %d", p.TotalCount, len(tt.want))
			}
		})
	}
}

func TestCustomersFilterErrors(t *testing.T) {
	t.Parallel()
	a := MustAPI(t)
	long := make([]byte, 256)
	for i := range long {
		long[i] = 'x'
	}
	many := make([]int, 101)
	deep := map[string]any{"credit": map[string]any{"eq": 1}}
	for range 9 {
		deep = map[string]any{"not": deep}
	}
	tests := []struct {
		name   string
		filter map[string]any
		want   []string
	}{
		{"SearchTooLong", map[string]any{"search": string(long)}, []string{"BAD_USER_INPUT filter.search"}},
		{"InTooLong", map[string]any{"credit": map[string]any{"in": many}}, []string{"BAD_USER_INPUT filter.credit.in"}},
		{"NestedError", map[string]any{"or": []any{map[string]any{}, map[string]any{"name": map[string]any{"contains": string(long)}}}},
			[]string{"BAD_USER_INPUT filter.or[1].name.contains"}},
		{"TooDeep", deep, []string{"BAD_USER_INPUT filter.not.not.not.not.not.not.not.not.not"}},
		{"WrongOperatorType", map[string]any{"credit": map[string]any{"eq": "one"}}, []string{"BAD_USER_INPUT filter.credit.eq"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := a.do(listDoc, map[string]any{"filter": tt.filter})
			if d := cmp.Diff(tt.want, r.codes()); d != "" {
				t.Errorf("errors (-want +got):\n%s\n%+v", d, r.Errors)
			}
		})
	}
}
