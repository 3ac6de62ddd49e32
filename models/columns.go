package models

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
	"gorm.io/gorm"
	"gorm.io/gorm/callbacks"
)

// columns names some of a model's columns and, for one row of it, pointers to
// their fields in the same order. The hottest reads (a customer by id, a page of
// customers, the users a page links to) scan their rows straight into the fields:
// a profile of those requests found GORM's reflection, in scanning, to be as costly
// as the statement itself. Where no other GORM plugin would see them, the
// statements go to the pipeline without GORM too (readByID, readRows), and are
// counted and logged as GORM's are.
type columns[T any] struct {
	table string
	names string
	cols  []column[T]
	// texts, nullTexts (of those, the nullable ones) and nullIDs count the
	// columns that pgx reads into a rowMemory.
	texts, nullTexts, nullIDs int
	// byID and byIDGORM select the columns of the row with id $1 (PostgreSQL's
	// placeholder, for the pipeline) or ? (GORM's).
	byID, byIDGORM string
}

// column is one column of a model: its name, the API fields that read it, and where
// a row keeps it: ptr gives the scan target of database/sql and pgx; a text column
// (text, or nullText when it may be NULL) or a nullable id (nullID) names its
// field, which pgx fills from the rows' shared memory (rowScan.targets).
type column[T any] struct {
	name     string
	fields   []string
	ptr      func(*T) any
	text     func(*T) *string
	nullText func(*T) **string
	nullID   func(*T) **ObjectID
}

func newColumns[T any](table string, cols ...column[T]) *columns[T] {
	names := make([]string, len(cols))
	for i, c := range cols {
		names[i] = c.name
	}
	c := &columns[T]{table: table, names: strings.Join(names, ", "), cols: cols}
	for _, col := range cols {
		switch {
		case col.text != nil:
			c.texts++
		case col.nullText != nil:
			c.texts++
			c.nullTexts++
		case col.nullID != nil:
			c.nullIDs++
		}
	}
	c.byID = "SELECT " + c.names + " FROM " + table + " WHERE id = $1"
	c.byIDGORM = "SELECT " + c.names + " FROM " + table + " WHERE id = ?"
	return c
}

// only returns the columns that the API fields named in fields read, and the first
// column (the id) always; nil fields: all of them.
func (c *columns[T]) only(fields map[string]bool) *columns[T] {
	if fields == nil {
		return c
	}
	var out []column[T]
	for i, col := range c.cols {
		if i == 0 || slices.ContainsFunc(col.fields, func(f string) bool { return fields[f] }) {
			out = append(out, col)
		}
	}
	return newColumns(c.table, out...)
}

// Fields are the columns of a model that a request reads: the GraphQL layer, which
// knows the selection, asks for them, and a row read through them has only those
// fields filled in. Nil is every column.
type Fields[T any] struct{ cols *columns[T] }

// CustomerFields returns the customer columns that the API fields named in names
// read (links, such as adminUser, read their id columns).
func CustomerFields(names map[string]bool) *Fields[Customer] {
	return &Fields[Customer]{customerColumns.only(names)}
}

// UserFields returns the user columns that the API fields named in names read.
func UserFields(names map[string]bool) *Fields[User] { return &Fields[User]{userColumns.only(names)} }

// columnsOf returns the columns of f, all of them for nil.
func columnsOf[T any](f *Fields[T], all *columns[T]) *columns[T] {
	if f == nil {
		return all
	}
	return f.cols
}

// scanRows runs q, which selects cols, and reads each row into a new T: with pgx
// itself, in a pipeline other requests' reads may share, where the statement runs
// on the pool (pipeline.rowQuery), else through
// database/sql (in a transaction, and every read once read replicas are on: they
// go through dbresolver's pool, even those that end up on the primary). expected is
// how many rows the caller expects at most (0: it cannot tell): they are allocated
// together.
func scanRows[T any](q *gorm.DB, cols *columns[T], expected int) ([]*T, error) {
	s := newRowScan(cols, expected)
	rows, err := q.Set(nativeScanKey, nativeScan(s.scanAll)).Rows()
	if err != nil || s.native {
		return s.out, err
	}
	defer rows.Close()
	for rows.Next() {
		if err := s.scan(rows); err != nil {
			return nil, err
		}
	}
	return s.out, rows.Err()
}

// readByID returns the row of cols' table with id, if there is one, with those
// columns filled in, as readRows reads (cols.byID is the statement, written once).
func readByID[T any](ctx context.Context, db *gorm.DB, cols *columns[T], id ObjectID) ([]*T, error) {
	p, ok := directPipeline(db)
	if !ok {
		return scanRows(db.WithContext(ctx).Raw(cols.byIDGORM, id), cols, 1)
	}
	s := newRowScan(cols, 1)
	err := runDirect(ctx, db, p, cols.byID, []any{id}, s.scanAll, false)
	return s.out, err
}

// directPipeline returns db's pipeline when db runs on its pool with no GORM plugin
// but the pipeline (no read replicas, no tracing), not in a transaction: a read may
// then go to the pipeline as it is (runDirect).
func directPipeline(db *gorm.DB) (*pipeline, bool) {
	p, ok := db.Config.Plugins[pipelinePlugin].(*pipeline)
	if !ok || len(db.Config.Plugins) > 1 || db.Statement.ConnPool != gorm.ConnPool(p.pool) {
		return nil, false
	}
	return p, true
}

// runDirect runs query, with PostgreSQL's placeholders, in p, without GORM: GORM
// building a statement, with its settings and callbacks, cost a customer-by-id
// request 6 % of its CPU, and a page of customers with their users a tenth. The
// statement is counted and logged as GORM's are, but callbacks registered on
// GORM's row processor do not see it.
func runDirect(ctx context.Context, db *gorm.DB, p *pipeline, query string, args []any, scan nativeScan, alone bool) error {
	start := time.Now()
	err := p.query(ctx, query, args, scan, alone)
	countStatement(ctx)
	db.Logger.Trace(ctx, start, func() (string, int64) { return query, -1 }, err)
	return err
}

// selectQuery is a SELECT of some of a table's rows, written as text rather than
// with GORM's clauses, so that it can run without GORM (readRows).
type selectQuery struct {
	from  string
	where []string // conditions, all of which a row meets, with ? placeholders
	args  []any
	order string // ORDER BY, if not ""
	// limit, when above 0, is a number in the statement, so each one is a statement
	// of its own (fetchLimit, buildLimit); offset, when above 0, a parameter, as
	// buildLimit passes it, since clients choose it.
	limit, offset int
	// alone sends the statement on a connection of its own (sendAlone).
	alone bool
}

// and adds a condition. It must not begin with a placeholder: GORM, which runs the
// statements whose arguments it expands, would then write a list after the
// parenthesis that opens the condition without one of its own.
func (q *selectQuery) and(cond string, args ...any) {
	q.where = append(q.where, cond)
	q.args = append(q.args, args...)
}

// sql writes the statement that selects columns, with GORM's ? placeholders, and
// returns it with its arguments.
func (q *selectQuery) sql(columns string) (string, []any) {
	var b strings.Builder
	b.WriteString("SELECT ")
	b.WriteString(columns)
	b.WriteString(" FROM ")
	b.WriteString(q.from)
	for i, cond := range q.where {
		if i == 0 {
			b.WriteString(" WHERE (")
		} else {
			b.WriteString(" AND (")
		}
		b.WriteString(cond)
		b.WriteByte(')')
	}
	if q.order != "" {
		b.WriteString(" ORDER BY ")
		b.WriteString(q.order)
	}
	if q.limit > 0 {
		b.WriteString(" LIMIT ")
		b.WriteString(strconv.Itoa(q.limit))
	}
	args := q.args
	if q.offset > 0 {
		b.WriteString(" OFFSET ?")
		args = append(slices.Clip(args), q.offset)
	}
	return b.String(), args
}

// readRows runs q, selecting cols, and reads its rows as scanRows does (expected is
// how many it expects). Where directPipeline allows and every argument goes to
// PostgreSQL as one value (GORM expands a slice into a list), the statement goes
// to the pipeline without GORM (runDirect).
func readRows[T any](ctx context.Context, db *gorm.DB, cols *columns[T], q selectQuery, expected int) ([]*T, error) {
	query, args := q.sql(cols.names)
	if p, ok := directPipeline(db); ok && singleValues(args) {
		s := newRowScan(cols, expected)
		err := runDirect(ctx, db, p, numberPlaceholders(query), args, s.scanAll, q.alone)
		return s.out, err
	}
	return scanRows(q.gorm(db.WithContext(ctx).Raw(query, args...)), cols, expected)
}

// gorm marks r, q's statement in GORM, to be sent alone when q is.
func (q *selectQuery) gorm(r *gorm.DB) *gorm.DB {
	if q.alone {
		return sendAlone(r)
	}
	return r
}

// singleValues reports whether each of args is a value GORM binds as it is, not a
// list it expands.
func singleValues(args []any) bool {
	for _, a := range args {
		switch a.(type) {
		case ObjectID, idArray, string, bool, int, int32, int64, time.Time:
		default:
			return false
		}
	}
	return true
}

// numberPlaceholders turns GORM's ? placeholders into PostgreSQL's $1, $2, …. The
// statements it is given have no ? of their own (no literal holds one).
func numberPlaceholders(query string) string {
	n := strings.Count(query, "?")
	if n == 0 {
		return query
	}
	var b strings.Builder
	b.Grow(len(query) + 2*n)
	i := 0
	for {
		j := strings.IndexByte(query, '?')
		if j < 0 {
			b.WriteString(query)
			return b.String()
		}
		i++
		b.WriteString(query[:j])
		b.WriteByte('$')
		b.WriteString(strconv.Itoa(i))
		query = query[j+1:]
	}
}

// rowScan is what scanRows keeps while it reads. The rows come from blocks, so that a
// page costs one allocation rather than one per row: the first block has room for
// the rows expected (up to maxExpectedRows), each later one for twice as many as the
// one before, but never more than maxRowBlock. Read by pgx (native), when more than
// one row is expected (many), the rows' text is one string and their nullable ids
// and strings come from blocks too (rowMemory, targets): a page of customers with
// their users otherwise allocated each of some 600 values.
// A row kept keeps its block and its page's text: what outlives a request (the
// caller cache) keeps copies.
type rowScan[T any] struct {
	cols   *columns[T]
	dst    []any
	out    []*T
	block  []T // rows not yet handed out
	next   int // the room of the next block
	native bool
	many   bool         // more than one row expected: they may share memory
	texts  []textTarget // one per text column, reused for each row
	memory rowMemory
}

const (
	maxExpectedRows = 1024
	maxRowBlock     = 128
)

func newRowScan[T any](cols *columns[T], expected int) *rowScan[T] {
	expected = min(max(expected, 1), maxExpectedRows)
	return &rowScan[T]{cols: cols, dst: make([]any, len(cols.cols)), out: make([]*T, 0, expected), next: expected, many: expected > 1}
}

// scanAll reads every row of rows, with pgx.
func (s *rowScan[T]) scanAll(rows pgx.Rows) error {
	s.native = true
	for rows.Next() {
		if err := s.scan(rows); err != nil {
			return err
		}
	}
	s.memory.finish()
	return rows.Err()
}

func (s *rowScan[T]) scan(rows interface{ Scan(...any) error }) error {
	if len(s.block) == 0 {
		s.block = make([]T, s.next)
		s.next = min(2*s.next, maxRowBlock)
	}
	t := &s.block[0]
	s.block = s.block[1:]
	if err := rows.Scan(s.targets(t)...); err != nil {
		return fmt.Errorf("scan: %w", err)
	}
	s.out = append(s.out, t)
	return nil
}

// targets returns the scan targets of t's columns. Read by pgx, when more than one
// row is expected, a text column's bytes go to the rows' text, and a nullable id to
// a block of ids, its field pointing there before it is read; one row would only
// allocate more.
func (s *rowScan[T]) targets(t *T) []any {
	shared := s.native && s.many
	if shared && s.texts == nil {
		s.texts = make([]textTarget, s.cols.texts)
		s.memory.reserve(cap(s.out), s.cols.texts, s.cols.nullTexts, s.cols.nullIDs)
	}
	texts := s.texts
	for i, col := range s.cols.cols {
		switch {
		case !shared:
			s.dst[i] = col.ptr(t)
		case col.text != nil:
			texts[0] = textTarget{memory: &s.memory, dst: col.text(t)}
			s.dst[i], texts = &texts[0], texts[1:]
		case col.nullText != nil:
			texts[0] = textTarget{memory: &s.memory, null: col.nullText(t)}
			s.dst[i], texts = &texts[0], texts[1:]
		case col.nullID != nil:
			p := col.nullID(t)
			*p = nextOf(&s.memory.ids)
			s.dst[i] = nullID{p}
		default:
			s.dst[i] = col.ptr(t)
		}
	}
	return s.dst
}

// rowMemory is the memory that the rows read by one rowScan share: their text, as
// one string, and blocks of the ids and strings their pointer fields point at.
type rowMemory struct {
	text  []byte
	spans []textSpan // where each string lies in text
	ids   []ObjectID
	strs  []string
}

type textSpan struct {
	dst        *string
	start, end int
}

// memoryBlock is how many ids or strings a later block of rowMemory holds, and
// textGuess how many bytes a text value is thought to take before any is read.
const (
	memoryBlock = 64
	textGuess   = 16
)

// reserve makes room for rows rows of texts text columns (nullTexts of them
// nullable) and nullIDs nullable ids.
func (sh *rowMemory) reserve(rows, texts, nullTexts, nullIDs int) {
	sh.text = make([]byte, 0, rows*texts*textGuess)
	sh.spans = make([]textSpan, 0, rows*texts)
	sh.strs = make([]string, rows*nullTexts)
	sh.ids = make([]ObjectID, rows*nullIDs)
}

// add notes that *dst is to be v, once the rows are read (finish).
func (sh *rowMemory) add(dst *string, v []byte) {
	start := len(sh.text)
	sh.text = append(sh.text, v...)
	sh.spans = append(sh.spans, textSpan{dst: dst, start: start, end: len(sh.text)})
}

// finish makes the text read so far one string and points each field at its part.
func (sh *rowMemory) finish() {
	if len(sh.spans) == 0 {
		return
	}
	all := string(sh.text)
	for _, sp := range sh.spans {
		*sp.dst = all[sp.start:sp.end]
	}
	sh.text, sh.spans = sh.text[:0], sh.spans[:0]
}

// nextOf hands out the first element of *block, which gets memoryBlock new ones
// when it has none left.
func nextOf[T any](block *[]T) *T {
	if len(*block) == 0 {
		*block = make([]T, memoryBlock)
	}
	p := &(*block)[0]
	*block = (*block)[1:]
	return p
}

// textTarget reads a text column, by pgx, into the rows' text: into *dst, or, for
// a nullable one, into a string *null is pointed at (nil for NULL).
type textTarget struct {
	memory *rowMemory
	dst    *string
	null   **string
}

func (t *textTarget) ScanBytes(v []byte) error {
	switch {
	case t.null == nil && v == nil:
		return errors.New("scan NULL into a string")
	case t.null == nil:
		t.memory.add(t.dst, v)
	case v == nil:
		*t.null = nil
	default:
		p := nextOf(&t.memory.strs)
		*t.null = p
		t.memory.add(p, v)
	}
	return nil
}

// sendAlone marks q's statement to be sent on a connection of its own rather than
// with other requests' reads (pipeline): a filter or an ordering other than by id
// can make it slow, and the reads sent after it in the same batch would wait.
func sendAlone(q *gorm.DB) *gorm.DB { return q.Set(sendAloneKey, true) }

const sendAloneKey = "customers:send_alone"

// nativeScan reads the rows of a statement run by rowQuery.
type nativeScan func(pgx.Rows) error

// nativeScanKey is the GORM setting that carries a statement's nativeScan.
const nativeScanKey = "customers:native_scan"

// rowQuery is GORM's row callback, except that a statement that carries a
// nativeScan and runs on p's pool, or on the replicas' (replicaPool), has its rows
// read by pgx itself, in p or in the pipeline of the replica that answers:
// database/sql turns every value into a driver.Value and then converts it again into
// its field, which cost a page of customers a fifth of its CPU. GORM still builds the
// statement, and its other callbacks (counting, tracing) and its logger see it as
// any other.
func (p *pipeline) rowQuery(db *gorm.DB) {
	scan, _ := db.Statement.Settings.Load(nativeScanKey)
	replicas, toReplicas := db.Statement.ConnPool.(replicaPool)
	if scan == nil || (db.Statement.ConnPool != gorm.ConnPool(p.pool) && !toReplicas) {
		callbacks.RowQuery(db)
		return
	}
	if db.Error != nil {
		return
	}
	callbacks.BuildQuerySQL(db)
	if db.DryRun || db.Error != nil {
		return
	}
	db.Statement.Settings.Delete("rows")
	_, alone := db.Statement.Settings.Load(sendAloneKey)
	if toReplicas {
		db.Error = replicas.query(db.Statement.Context, db.Statement.SQL.String(), db.Statement.Vars, scan.(nativeScan), alone, p)
	} else {
		db.Error = p.query(db.Statement.Context, db.Statement.SQL.String(), db.Statement.Vars, scan.(nativeScan), alone)
	}
	db.RowsAffected = -1
}

// nullID and nullString scan nullable columns into pointer fields: pgx would scan
// into a **T by reflection; database/sql calls their Scan. nullID fills the id its
// field points at already, if any (rowScan.targets).
type nullID struct{ dst **ObjectID }

func (n nullID) ScanBytes(v []byte) error {
	if v == nil {
		*n.dst = nil
		return nil
	}
	if *n.dst == nil {
		*n.dst = new(ObjectID)
	}
	return (*n.dst).ScanBytes(v)
}

func (n nullID) Scan(src any) error {
	b, ok := src.([]byte)
	if !ok && src != nil {
		return fmt.Errorf("scan %T into an id", src)
	}
	return n.ScanBytes(b)
}

type nullString struct{ dst **string }

func (n nullString) ScanText(v pgtype.Text) error {
	if !v.Valid {
		*n.dst = nil
		return nil
	}
	s := v.String
	*n.dst = &s
	return nil
}

func (n nullString) Scan(src any) error {
	switch v := src.(type) {
	case nil:
		*n.dst = nil
	case string:
		*n.dst = &v
	case []byte:
		s := string(v)
		*n.dst = &s
	default:
		return fmt.Errorf("scan %T into a string", src)
	}
	return nil
}

// enumText scans a text column of an enum's values into its field as the enum's
// own constant: pgx would convert the field by reflection and allocate each value.
// A value the enum does not know is kept as it is.
type enumText[E enumValue[E]] struct{ dst *E }

// enumValue is an enum stored as its values' strings.
type enumValue[E any] interface {
	~string
	values() []E
}

func (e enumText[E]) ScanBytes(v []byte) error {
	if v == nil {
		return fmt.Errorf("scan NULL into %T", *e.dst)
	}
	for _, k := range (*e.dst).values() {
		if string(k) == string(v) {
			*e.dst = k
			return nil
		}
	}
	*e.dst = E(v)
	return nil
}

func (e enumText[E]) Scan(src any) error {
	switch v := src.(type) {
	case string:
		return e.ScanBytes([]byte(v))
	case []byte:
		return e.ScanBytes(v)
	default:
		return fmt.Errorf("scan %T into %T", src, *e.dst)
	}
}

// nullAddress scans an inet column, which pgx does not scan into a string by
// itself, into a nullable string as PostgreSQL writes it: an address without its
// mask (the column holds only single addresses; pgx writes "10.1.2.3/32").
type nullAddress struct{ dst **string }

func (n nullAddress) Scan(src any) error {
	if err := nullString(n).Scan(src); err != nil || *n.dst == nil {
		return err
	}
	if p, err := netip.ParsePrefix(**n.dst); err == nil && p.Bits() == p.Addr().BitLen() {
		s := p.Addr().String()
		*n.dst = &s
	}
	return nil
}

// textColumn, nullTextColumn and nullIDColumn are the columns whose values pgx
// reads into the rows' shared memory (rowScan.targets).
func textColumn[T any](name string, f func(*T) *string, fields ...string) column[T] {
	return column[T]{name: name, fields: fields, ptr: func(t *T) any { return f(t) }, text: f}
}

func nullTextColumn[T any](name string, f func(*T) **string, fields ...string) column[T] {
	return column[T]{name: name, fields: fields, ptr: func(t *T) any { return nullString{f(t)} }, nullText: f}
}

func nullIDColumn[T any](name string, f func(*T) **ObjectID, fields ...string) column[T] {
	return column[T]{name: name, fields: fields, ptr: func(t *T) any { return nullID{f(t)} }, nullID: f}
}

func customerColumn(name string, ptr func(*Customer) any, fields ...string) column[Customer] {
	return column[Customer]{name: name, fields: fields, ptr: ptr}
}

// customerColumns are every column of customers, as Customer maps them, the id first.
var customerColumns = newColumns("customers",
	customerColumn("id", func(c *Customer) any { return &c.ID }, "id"),
	textColumn("name", func(c *Customer) *string { return &c.Name }, "name"),
	customerColumn("status", func(c *Customer) any { return enumText[CustomerStatus]{&c.Status} }, "status"),
	nullTextColumn("website_url", func(c *Customer) **string { return &c.WebsiteURL }, "websiteUrl"),
	nullTextColumn("logo", func(c *Customer) **string { return &c.Logo }, "logo"),
	customerColumn("credit", func(c *Customer) any { return &c.Credit }, "credit"),
	nullIDColumn("admin_user_id", func(c *Customer) **ObjectID { return &c.AdminUserID }, "adminUserId", "adminUser"),
	nullIDColumn("billing_user_id", func(c *Customer) **ObjectID { return &c.BillingUserID }, "billingUserId", "billingUser"),
	nullIDColumn("call_recording_user_id", func(c *Customer) **ObjectID { return &c.CallRecordingUserID }, "callRecordingUserId", "callRecordingUser"),
	nullIDColumn("support_user_id", func(c *Customer) **ObjectID { return &c.SupportUserID }, "supportUserId", "supportUser"),
	customerColumn("call_forwarding_call_limit", func(c *Customer) any { return &c.CallForwardingCallLimit }, "callForwardingCallLimit"),
	customerColumn("automatic_refill_amount", func(c *Customer) any { return &c.AutomaticRefillAmount }, "automaticRefillAmount"),
	customerColumn("low_balance_alert_amount", func(c *Customer) any { return &c.LowBalanceAlertAmount }, "lowBalanceAlertAmount"),
	customerColumn("low_balance_alert_at", func(c *Customer) any { return &c.LowBalanceAlertAt }, "lowBalanceAlertAt"),
	customerColumn("low_balance_alert_count", func(c *Customer) any { return &c.LowBalanceAlertCount }, "lowBalanceAlertCount"),
	nullIDColumn("last_automatic_refill_invoice_id", func(c *Customer) **ObjectID { return &c.LastAutomaticRefillInvoiceID },
		"lastAutomaticRefillInvoiceId", "lastAutomaticRefillInvoice"),
	customerColumn("international_calling", func(c *Customer) any { return &c.InternationalCalling }, "internationalCalling"),
	customerColumn("created_by_ip", func(c *Customer) any { return nullAddress{&c.CreatedByIP} }, "createdByIP"),
	customerColumn("call_debug", func(c *Customer) any { return &c.CallDebug }, "callDebug"),
	customerColumn("media_bypass", func(c *Customer) any { return &c.MediaBypass }, "mediaBypass"),
	customerColumn("account_lock", func(c *Customer) any { return &c.AccountLock }, "accountLock"),
	customerColumn("call_recording", func(c *Customer) any { return &c.CallRecording }, "callRecording"),
	customerColumn("cdr_retention", func(c *Customer) any { return &c.CDRRetention }, "cdrRetention"),
	customerColumn("cnam_look_ups", func(c *Customer) any { return &c.CnamLookUps }, "cnamLookUps"),
	customerColumn("hold_music", func(c *Customer) any { return &c.HoldMusic }, "holdMusic"),
	customerColumn("transcribe_calls", func(c *Customer) any { return &c.TranscribeCalls }, "transcribeCalls"),
	customerColumn("max_outbound_call_rate", func(c *Customer) any { return &c.MaxOutboundCallRate }, "maxOutboundCallRate"),
	customerColumn("default_bill_method", func(c *Customer) any { return enumText[BillMethod]{&c.DefaultBillMethod} }, "defaultBillMethod"),
	customerColumn("version", func(c *Customer) any { return &c.Version }, "version"),
	customerColumn("created_at", func(c *Customer) any { return &c.CreatedAt }, "createdAt"),
	customerColumn("updated_at", func(c *Customer) any { return &c.UpdatedAt }, "updatedAt"),
	nullIDColumn("created_by_id", func(c *Customer) **ObjectID { return &c.CreatedByID }, "createdBy"),
	nullIDColumn("updated_by_id", func(c *Customer) **ObjectID { return &c.UpdatedByID }, "updatedBy"),
)

func userColumn(name string, ptr func(*User) any, fields ...string) column[User] {
	return column[User]{name: name, fields: fields, ptr: ptr}
}

// userColumns are every column of users, as User maps them, the id first.
var userColumns = newColumns("users",
	userColumn("id", func(u *User) any { return &u.ID }, "id"),
	userColumn("customer_id", func(u *User) any { return &u.CustomerID }, "customerId", "customer"),
	textColumn("email", func(u *User) *string { return &u.Email }, "email"),
	textColumn("first", func(u *User) *string { return &u.First }, "first"),
	textColumn("last", func(u *User) *string { return &u.Last }, "last"),
	userColumn("status", func(u *User) any { return enumText[UserStatus]{&u.Status} }, "status"),
	userColumn("admin_permission", func(u *User) any { return &u.AdminPermission }, "adminPermission"),
	userColumn("billing_permission", func(u *User) any { return &u.BillingPermission }, "billingPermission"),
	userColumn("super_admin_permission", func(u *User) any { return &u.SuperAdminPermission }, "superAdminPermission"),
	userColumn("version", func(u *User) any { return &u.Version }, "version"),
	userColumn("created_at", func(u *User) any { return &u.CreatedAt }, "createdAt"),
	userColumn("updated_at", func(u *User) any { return &u.UpdatedAt }, "updatedAt"),
)
