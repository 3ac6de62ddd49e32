package models

import (
	"strconv"
	"strings"
	"time"
)

// StringFilter matches a text column; every operator ignores case.
type StringFilter struct {
	Eq, Ne     *string
	In         []string
	Contains   *string
	StartsWith *string
	IsNull     *bool
}

// IntFilter matches an integer column.
type IntFilter struct {
	Eq, Ne, Lt, Lte, Gt, Gte *int32
	In                       []int32
	IsNull                   *bool
}

// DateTimeFilter matches a timestamp column.
type DateTimeFilter struct {
	Eq, Ne, Lt, Lte, Gt, Gte *time.Time
	In                       []time.Time
	IsNull                   *bool
}

// BooleanFilter matches a boolean column.
type BooleanFilter struct {
	Eq     *bool
	IsNull *bool
}

// ObjectIDFilter matches an id column.
type ObjectIDFilter struct {
	Eq     *ObjectID
	In     []ObjectID
	IsNull *bool
}

// EnumFilter matches an enum column; IsNull only for nullable ones.
type EnumFilter[E ~string] struct {
	Eq, Ne *E
	In     []E
	IsNull *bool
}

// CustomerStatusFilter matches a customer's status.
type CustomerStatusFilter = EnumFilter[CustomerStatus]

// BillMethodFilter matches a customer's bill method.
type BillMethodFilter = EnumFilter[BillMethod]

// UserStatusFilter matches a user's status.
type UserStatusFilter = EnumFilter[UserStatus]

// PermissionFilter matches a user's permission level.
type PermissionFilter = EnumFilter[Permission]

// InvoiceStatusFilter matches an invoice's status.
type InvoiceStatusFilter = EnumFilter[InvoiceStatus]

// Limits that keep a filter's SQL small.
const (
	maxFilterDepth   = 8
	maxFilterText    = 255
	maxFilterInItems = 100
)

// where builds a SQL condition with ? placeholders from filter parts. Every column
// name comes from this package's tables, never from the client.
type where struct {
	conds []string
	args  []any
	errs  ValidationErrors
}

func (w *where) add(cond string, args ...any) {
	w.conds = append(w.conds, cond)
	w.args = append(w.args, args...)
}

// sql joins the conditions with AND; "TRUE" when there are none.
func (w *where) sql() string {
	if len(w.conds) == 0 {
		return "TRUE"
	}
	return "(" + strings.Join(w.conds, " AND ") + ")"
}

func (w *where) text(field string, s string) string {
	if n := len([]rune(s)); n > maxFilterText {
		w.errs.add(field, "must be at most %d characters (got %d)", maxFilterText, n)
	}
	return s
}

func (w *where) checkIn(field string, n int) {
	if n > maxFilterInItems {
		w.errs.add(field+".in", "must list at most %d values (got %d)", maxFilterInItems, n)
	}
}

// likePattern escapes LIKE's wildcards in s.
func likePattern(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}

func isNull(w *where, col string, v *bool) {
	if v == nil {
		return
	}
	if *v {
		w.add(col + " IS NULL")
	} else {
		w.add(col + " IS NOT NULL")
	}
}

func (w *where) string(field, col string, f *StringFilter) {
	if f == nil {
		return
	}
	if f.Eq != nil {
		w.add("lower("+col+") = lower(?)", w.text(field+".eq", *f.Eq))
	}
	if f.Ne != nil {
		w.add("lower("+col+") IS DISTINCT FROM lower(?)", w.text(field+".ne", *f.Ne))
	}
	if f.In != nil {
		w.checkIn(field, len(f.In))
		lower := make([]string, len(f.In))
		for i, s := range f.In {
			lower[i] = strings.ToLower(w.text(field+".in", s))
		}
		w.add("lower("+col+") IN ?", lower)
	}
	if f.Contains != nil {
		w.add(col+" ILIKE ?", "%"+likePattern(w.text(field+".contains", *f.Contains))+"%")
	}
	if f.StartsWith != nil {
		w.add(col+" ILIKE ?", likePattern(w.text(field+".startsWith", *f.StartsWith))+"%")
	}
	isNull(w, col, f.IsNull)
}

// ordered adds the comparison operators shared by IntFilter and DateTimeFilter.
func ordered[V any](w *where, field, col string, eq, ne, lt, lte, gt, gte *V, in []V, null *bool) {
	for _, c := range []struct {
		op string
		v  *V
	}{{"=", eq}, {"<", lt}, {"<=", lte}, {">", gt}, {">=", gte}} {
		if c.v != nil {
			w.add(col+" "+c.op+" ?", *c.v)
		}
	}
	if ne != nil {
		w.add(col+" IS DISTINCT FROM ?", *ne)
	}
	if in != nil {
		w.checkIn(field, len(in))
		w.add(col+" IN ?", in)
	}
	isNull(w, col, null)
}

func (w *where) int(field, col string, f *IntFilter) {
	if f != nil {
		ordered(w, field, col, f.Eq, f.Ne, f.Lt, f.Lte, f.Gt, f.Gte, f.In, f.IsNull)
	}
}

func (w *where) time(field, col string, f *DateTimeFilter) {
	if f != nil {
		ordered(w, field, col, f.Eq, f.Ne, f.Lt, f.Lte, f.Gt, f.Gte, f.In, f.IsNull)
	}
}

func (w *where) bool(col string, f *BooleanFilter) {
	if f == nil {
		return
	}
	if f.Eq != nil {
		w.add(col+" = ?", *f.Eq)
	}
	isNull(w, col, f.IsNull)
}

func (w *where) id(field, col string, f *ObjectIDFilter) {
	if f == nil {
		return
	}
	if f.Eq != nil {
		w.add(col+" = ?", *f.Eq)
	}
	if f.In != nil {
		w.checkIn(field, len(f.In))
		w.add(col+" IN ?", f.In)
	}
	isNull(w, col, f.IsNull)
}

func enumFilter[E ~string](w *where, field, col string, f *EnumFilter[E]) {
	if f == nil {
		return
	}
	if f.Eq != nil {
		w.add(col+" = ?", string(*f.Eq))
	}
	if f.Ne != nil {
		w.add(col+" IS DISTINCT FROM ?", string(*f.Ne))
	}
	if f.In != nil {
		w.checkIn(field, len(f.In))
		vals := make([]string, len(f.In))
		for i, v := range f.In {
			vals[i] = string(v)
		}
		w.add(col+" IN ?", vals)
	}
	isNull(w, col, f.IsNull)
}

// combine adds the and/or/not branches of a filter, each built by build.
func combine[F any](w *where, field string, depth int, and, or []F, not *F, build func(*where, string, *F, int)) {
	if depth > maxFilterDepth {
		w.errs.add(field, "nests and/or/not deeper than %d levels", maxFilterDepth)
		return
	}
	for i := range and {
		sub := &where{}
		build(sub, fieldIndex(joinPath(field, "and"), i), &and[i], depth+1)
		w.merge(sub, sub.sql())
	}
	if or != nil {
		var parts []string
		var args []any
		for i := range or {
			sub := &where{}
			build(sub, fieldIndex(joinPath(field, "or"), i), &or[i], depth+1)
			w.errs = append(w.errs, sub.errs...)
			parts = append(parts, sub.sql())
			args = append(args, sub.args...)
		}
		if len(parts) == 0 {
			parts = []string{"FALSE"}
		}
		w.add("("+strings.Join(parts, " OR ")+")", args...)
	}
	if not != nil {
		sub := &where{}
		build(sub, joinPath(field, "not"), not, depth+1)
		w.merge(sub, "NOT COALESCE("+sub.sql()+", FALSE)")
	}
}

func (w *where) merge(sub *where, cond string) {
	w.errs = append(w.errs, sub.errs...)
	w.add(cond, sub.args...)
}

// joinPath appends name to an input path ("" is the filter argument itself).
func joinPath(path, name string) string {
	if path == "" {
		return name
	}
	return path + "." + name
}

func fieldIndex(field string, i int) string {
	return field + "[" + strconv.Itoa(i) + "]"
}
