package models

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"hash"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"gorm.io/gorm"
)

// Page sizes of every connection.
const (
	DefaultPageSize = 20
	MaxPageSize     = 100
)

// MaxOffset is the largest offset a list accepts. PostgreSQL reads and throws away
// every skipped row, so a deep offset costs as much as returning them all; cursors
// (after, before) reach any depth at the cost of one page.
const MaxOffset = 10_000

// PageArgs are a connection's paging arguments as the client gave them.
type PageArgs struct {
	First, Last   *int32
	After, Before *string
	Offset        *int32
}

// Validate checks the page-size rules: at most MaxPageSize, never negative, not
// first and last together, offset at most MaxOffset and not with a cursor. Every
// violation is reported.
func (p PageArgs) Validate() error {
	var errs ValidationErrors
	for _, s := range []struct {
		field string
		v     *int32
	}{{"first", p.First}, {"last", p.Last}} {
		switch {
		case s.v == nil:
		case *s.v < 0:
			errs.add(s.field, "must be 0 or more (got %d)", *s.v)
		case *s.v > MaxPageSize:
			errs.add(s.field, "must be at most %d (got %d)", MaxPageSize, *s.v)
		}
	}
	if p.First != nil && p.Last != nil {
		errs.add("last", "cannot be combined with first")
	}
	if p.Offset != nil {
		switch {
		case *p.Offset < 0:
			errs.add("offset", "must be 0 or more (got %d)", *p.Offset)
		case *p.Offset > MaxOffset:
			errs.add("offset", "must be at most %d (got %d); page further with the cursors: pass a page's endCursor as after, or its startCursor as before",
				MaxOffset, *p.Offset)
		}
		if p.After != nil || p.Before != nil {
			errs.add("offset", "cannot be combined with after or before")
		}
	}
	return errs.err()
}

// backward reports whether the page is counted from the end (last/before).
func (p PageArgs) backward() bool { return p.Last != nil }

// size is the number of rows asked for.
func (p PageArgs) size() int {
	switch {
	case p.First != nil:
		return int(*p.First)
	case p.Last != nil:
		return int(*p.Last)
	default:
		return DefaultPageSize
	}
}

// PageInfo tells a client where a page sits in its connection.
type PageInfo struct {
	HasNextPage     bool
	HasPreviousPage bool
	StartCursor     *string
	EndCursor       *string
}

// sortKey is one column of a keyset ordering over rows of type T.
type sortKey[T any] struct {
	name   string // the API's name for the key, part of the cursor's ordering
	column string
	desc   bool
	kind   keyKind
	value  func(*T) any
}

// keyKind says how a key value travels in a cursor.
type keyKind int

const (
	keyText keyKind = iota
	keyInt
	keyTime
	keyID
)

// ordering is the list of keys, ending with id, that a connection sorts by.
type ordering[T any] []sortKey[T]

// signature names the ordering inside a cursor, so that a cursor taken under one
// orderBy is refused under another.
func (o ordering[T]) signature() string {
	parts := make([]string, len(o))
	for i, k := range o {
		dir := "ASC"
		if k.desc {
			dir = "DESC"
		}
		parts[i] = k.name + ":" + dir
	}
	return strings.Join(parts, ",")
}

// makeOrdering turns a client's orderBy into keys, ending with id: ascending, unless
// the client gave id as a key in either direction. A field given twice counts once,
// at its first place. Keys after id are dropped: ids are unique, so those keys would
// never decide anything, and [ID, NAME] is the same order (and takes the same
// cursors) as [ID].
func makeOrdering[T any, O any, F ~string](order []O, keys map[F]sortKey[T], id sortKey[T], split func(O) (F, OrderDirection)) ordering[T] {
	var o ordering[T]
	var seen []F
	for _, ob := range order {
		field, dir := split(ob)
		if slices.Contains(seen, field) {
			continue
		}
		seen = append(seen, field)
		k := keys[field]
		k.name = string(field)
		k.desc = dir == Desc
		o = append(o, k)
		if k.column == id.column {
			return o
		}
	}
	return append(o, id)
}

// Cursors signs and checks the opaque cursors of every connection.
type Cursors struct {
	key []byte
	// macs holds keyed HMACs for reuse: a page signs a cursor per row, and keying
	// a new HMAC costs more than signing a cursor.
	macs sync.Pool
}

// NewCursors returns a codec that signs with key (HMAC-SHA256). Every replica of the
// service must share the key, or cursors fail on the replica that did not sign them.
func NewCursors(key []byte) *Cursors {
	c := &Cursors{key: slices.Clone(key)}
	c.macs.New = func() any { return hmac.New(sha256.New, c.key) }
	return c
}

// cursorPayload is what a cursor carries: the ordering it was taken under and the
// row's key values, id last.
type cursorPayload struct {
	Order  string            `json:"o"`
	Values []json.RawMessage `json:"v"`
}

const cursorVersion = 1

// mac appends the signature of payload to b. The whole HMAC is written into b's
// spare room before it is cut to the signature's 16 bytes: b must not share memory
// with payload.
func (c *Cursors) mac(b, payload []byte) []byte {
	m := c.macs.Get().(hash.Hash)
	defer c.macs.Put(m)
	m.Reset()
	m.Write([]byte{cursorVersion})
	m.Write(payload)
	n := len(b)
	return m.Sum(b)[:n+16]
}

// encodeCursors returns the cursors of rows in ordering o: the version, the
// signature and the JSON of a cursorPayload, in URL-safe base64. The JSON is
// written here, as encoding/json would write it, since every row of a page has one.
func encodeCursors[T any](c *Cursors, o ordering[T], rows []*T) ([]string, error) {
	order, err := json.Marshal(o.signature())
	if err != nil {
		return nil, fmt.Errorf("encode cursor: %w", err)
	}
	prefix := append(append([]byte(`{"o":`), order...), `,"v":[`...)
	// The cursors are written one after the other and become one string, which each
	// cursor is a slice of: a page allocates one string rather than one per row.
	var payload, buf, all []byte
	ends := make([]int, len(rows))
	for r, row := range rows {
		payload = append(payload[:0], prefix...)
		for i, k := range o {
			if i > 0 {
				payload = append(payload, ',')
			}
			switch v := k.value(row).(type) {
			case ObjectID:
				payload = append(hex.AppendEncode(append(payload, '"'), v[:]), '"')
			case time.Time:
				payload = strconv.AppendQuote(payload, v.UTC().Format(time.RFC3339Nano))
			default:
				b, err := json.Marshal(v)
				if err != nil {
					return nil, fmt.Errorf("encode cursor: %w", err)
				}
				payload = append(payload, b...)
			}
		}
		payload = append(payload, "]}"...)
		buf = append(c.mac(append(buf[:0], cursorVersion), payload), payload...)
		if r == 0 { // room for every cursor of the page, if they are about as long as the first
			all = slices.Grow(all, base64.RawURLEncoding.EncodedLen(len(buf)+2)*len(rows))
		}
		all = base64.RawURLEncoding.AppendEncode(all, buf)
		ends[r] = len(all)
	}
	joined, out, start := string(all), make([]string, len(rows)), 0
	for r, end := range ends {
		out[r], start = joined[start:end], end
	}
	return out, nil
}

// decodeCursor checks a cursor's signature and ordering and returns its key values,
// typed for SQL. Any fault is an Invalid error on field.
func decodeCursor[T any](c *Cursors, o ordering[T], field, s string) ([]any, error) {
	bad := FieldError(field, "is not a valid cursor for this connection and orderBy")
	raw, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil || len(raw) < 17 || raw[0] != cursorVersion {
		return nil, bad
	}
	sig, payload := raw[1:17], raw[17:]
	if !hmac.Equal(sig, c.mac(nil, payload)) {
		return nil, bad
	}
	var p cursorPayload
	if err := json.Unmarshal(payload, &p); err != nil || p.Order != o.signature() || len(p.Values) != len(o) {
		return nil, bad
	}
	vals := make([]any, len(o))
	for i, k := range o {
		v, err := decodeKey(k.kind, p.Values[i])
		if err != nil {
			return nil, bad
		}
		vals[i] = v
	}
	return vals, nil
}

func decodeKey(kind keyKind, raw json.RawMessage) (any, error) {
	switch kind {
	case keyInt:
		var n int32
		err := json.Unmarshal(raw, &n)
		return n, err
	case keyTime:
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return nil, err
		}
		return time.Parse(time.RFC3339Nano, s)
	case keyID:
		var id ObjectID
		err := json.Unmarshal(raw, &id)
		return id, err
	default:
		var s string
		err := json.Unmarshal(raw, &s)
		return s, err
	}
}

// keysetWhere returns the condition for rows strictly after (or, with before, strictly
// before) the row whose key values are vals, in the ordering o. The leading
// non-strict bound on the first key lets PostgreSQL use that key's index.
func keysetWhere[T any](o ordering[T], vals []any, before bool) (string, []any) {
	op := func(k sortKey[T], strict bool) string {
		forward := k.desc == before
		switch {
		case forward && strict:
			return ">"
		case forward:
			return ">="
		case strict:
			return "<"
		default:
			return "<="
		}
	}
	var ors []string
	var args []any
	for i := range o {
		var ands []string
		for j := 0; j < i; j++ {
			ands = append(ands, o[j].column+" = ?")
			args = append(args, vals[j])
		}
		ands = append(ands, o[i].column+" "+op(o[i], true)+" ?")
		args = append(args, vals[i])
		ors = append(ors, "("+strings.Join(ands, " AND ")+")")
	}
	lead := o[0].column + " " + op(o[0], false) + " ?"
	return lead + " AND (" + strings.Join(ors, " OR ") + ")", append([]any{vals[0]}, args...)
}

// pageQuery is a page request checked and ready to run: its cursor conditions, its
// ORDER BY and its size.
type pageQuery[T any] struct {
	ordering ordering[T]
	args     PageArgs
	conds    []string
	condArgs []any
	orderBy  string
	size     int
}

// preparePage checks p (sizes, cursors) for the ordering o.
func preparePage[T any](c *Cursors, o ordering[T], p PageArgs) (*pageQuery[T], error) {
	if err := p.Validate(); err != nil {
		return nil, err
	}
	pq := &pageQuery[T]{ordering: o, args: p, size: p.size()}
	for _, cur := range []struct {
		field  string
		s      *string
		before bool
	}{{"after", p.After, false}, {"before", p.Before, true}} {
		if cur.s == nil {
			continue
		}
		vals, err := decodeCursor(c, o, cur.field, *cur.s)
		if err != nil {
			return nil, err
		}
		cond, args := keysetWhere(o, vals, cur.before)
		pq.conds = append(pq.conds, cond)
		pq.condArgs = append(pq.condArgs, args...)
	}
	keys := make([]string, len(o))
	for i, k := range o {
		dir := " ASC"
		if k.desc != p.backward() {
			dir = " DESC"
		}
		keys[i] = k.column + dir
	}
	pq.orderBy = strings.Join(keys, ", ")
	return pq, nil
}

// where returns the cursor conditions as one SQL condition.
func (pq *pageQuery[T]) where() (string, []any) {
	if len(pq.conds) == 0 {
		return "TRUE", nil
	}
	return strings.Join(pq.conds, " AND "), pq.condArgs
}

// finish turns the rows read (at most size+1, in query order) into the page: the
// rows in connection order, their cursors and the page info.
func (pq *pageQuery[T]) finish(c *Cursors, rows []*T) ([]*T, []string, PageInfo, error) {
	var info PageInfo
	more := len(rows) > pq.size
	if more {
		rows = rows[:pq.size]
	}
	p := pq.args
	earlier := p.Offset != nil && *p.Offset > 0
	if p.backward() {
		slices.Reverse(rows)
		info.HasPreviousPage, info.HasNextPage = more, p.Before != nil || earlier
	} else {
		info.HasNextPage, info.HasPreviousPage = more, p.After != nil || earlier
	}
	cursors, err := encodeCursors(c, pq.ordering, rows)
	if err != nil {
		return nil, nil, info, err
	}
	if len(cursors) > 0 {
		info.StartCursor, info.EndCursor = &cursors[0], &cursors[len(cursors)-1]
	}
	return rows, cursors, info, nil
}

// paginate reads one page of the rows q selects, in ordering o, scanned into cols
// when given (readRows; GORM's reflection otherwise). It reads one row more than
// asked to learn whether another page follows.
func paginate[T any](ctx context.Context, db *gorm.DB, c *Cursors, o ordering[T], p PageArgs, cols *columns[T], q selectQuery) ([]*T, []string, PageInfo, error) {
	pq, err := preparePage(c, o, p)
	if err != nil {
		return nil, nil, PageInfo{}, err
	}
	cond, args := pq.where()
	q.and(cond, args...)
	q.order = pq.orderBy
	if p.Offset != nil {
		q.offset = int(*p.Offset)
	}
	q.limit = fetchLimit(pq.size)
	var rows []*T
	if cols != nil {
		rows, err = readRows(ctx, db, cols, q, q.limit)
	} else {
		query, args := q.sql("*")
		err = q.gorm(db.WithContext(ctx).Raw(query, args...)).Scan(&rows).Error
	}
	if err != nil {
		return nil, nil, PageInfo{}, fmt.Errorf("page: %w", err)
	}
	return pq.finish(c, rows)
}

// fetchLimits are the numbers of rows a page reads.
var fetchLimits = []int{2, 6, 11, 21, 26, 51, 101}

// fetchLimit is how many rows a page of size reads: at least one more than its size,
// to learn whether another page follows, rounded up to one of fetchLimits. LIMIT is
// a number in the statement (selectQuery, buildLimit), so each distinct one is a
// statement of its own in every connection's cache: a few, not one per page size.
// finish drops the extra rows.
func fetchLimit(size int) int {
	for _, n := range fetchLimits {
		if size < n {
			return n
		}
	}
	return size + 1
}

// pageSet is one page per parent, as paginateEach returns it.
type pageSet[T any] struct {
	Rows     []*T
	Cursors  []string
	PageInfo PageInfo
}

// paginateEach reads the same page of rows for each of several parents (the users
// of each customer on a page) in one statement: a window numbers each parent's rows
// in the page's order, and the first size+1 of each are kept. table and parentColumn
// are this package's own names; cond and args filter the rows.
func paginateEach[T any](db *gorm.DB, c *Cursors, o ordering[T], p PageArgs, table, parentColumn string,
	parents []ObjectID, parentOf func(*T) ObjectID, cond string, args []any) (map[ObjectID]*pageSet[T], error) {
	pq, err := preparePage(c, o, p)
	if err != nil {
		return nil, err
	}
	cursorCond, cursorArgs := pq.where()
	sql := "SELECT * FROM (SELECT t.*, row_number() OVER (PARTITION BY t." + parentColumn + " ORDER BY " + pq.orderBy + ") AS page_row" +
		" FROM " + table + " t WHERE t." + parentColumn + " IN ? AND " + cond + " AND " + cursorCond + ") w" +
		" WHERE page_row <= ? ORDER BY " + parentColumn + ", page_row"
	all := append(append(append([]any{parents}, args...), cursorArgs...), pq.size+1)
	var rows []*T
	if err := db.Raw(sql, all...).Scan(&rows).Error; err != nil {
		return nil, fmt.Errorf("pages of %s: %w", table, err)
	}
	grouped := make(map[ObjectID][]*T, len(parents))
	for _, r := range rows {
		grouped[parentOf(r)] = append(grouped[parentOf(r)], r)
	}
	out := make(map[ObjectID]*pageSet[T], len(parents))
	for _, parent := range parents {
		rows, cursors, info, err := pq.finish(c, grouped[parent])
		if err != nil {
			return nil, err
		}
		out[parent] = &pageSet[T]{Rows: rows, Cursors: cursors, PageInfo: info}
	}
	return out, nil
}
