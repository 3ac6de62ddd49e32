package models

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
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
// as the statement itself. GORM still builds and sends the statement, so its
// callbacks count, log and trace it as any other, but for a read by id
// (readByID).
type columns[T any] struct {
	table string
	names string
	cols  []column[T]
	// byID and byIDGORM select the columns of the row with id $1 (PostgreSQL's
	// placeholder, for the pipeline) or ? (GORM's).
	byID, byIDGORM string
}

// column is one column of a model: its name, the API fields that read it, and where
// a row keeps it.
type column[T any] struct {
	name   string
	fields []string
	ptr    func(*T) any
}

func newColumns[T any](table string, cols ...column[T]) *columns[T] {
	names := make([]string, len(cols))
	for i, c := range cols {
		names[i] = c.name
	}
	c := &columns[T]{table: table, names: strings.Join(names, ", "), cols: cols}
	c.byID = "SELECT " + c.names + " FROM " + table + " WHERE id = $1"
	c.byIDGORM = "SELECT " + c.names + " FROM " + table + " WHERE id = ?"
	return c
}

// fields sets dst, of one element per column, to the pointers to the fields of t
// that the columns fill, and returns it.
func (c *columns[T]) fields(dst []any, t *T) []any {
	for i, col := range c.cols {
		dst[i] = col.ptr(t)
	}
	return dst
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
	rows, err := q.Set(nativeScanKey, nativeScan(func(rows pgx.Rows) error {
		s.native = true
		return s.scanAll(rows)
	})).Rows()
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
// columns filled in. On the pool, with no GORM plugin but the pipeline (no read
// replicas, no tracing), the statement goes to the pipeline as it is: GORM
// building it, with its settings and callbacks, cost a customer-by-id request 6 %
// of its CPU. It is counted and logged as GORM's statements are, but callbacks
// registered on GORM's row processor do not see it.
func readByID[T any](ctx context.Context, db *gorm.DB, cols *columns[T], id ObjectID) ([]*T, error) {
	p, ok := db.Config.Plugins[pipelinePlugin].(*pipeline)
	if !ok || len(db.Config.Plugins) > 1 || db.Statement.ConnPool != gorm.ConnPool(p.pool) {
		return scanRows(db.WithContext(ctx).Raw(cols.byIDGORM, id), cols, 1)
	}
	s := newRowScan(cols, 1)
	start := time.Now()
	err := p.query(ctx, cols.byID, []any{id}, s.scanAll, false)
	countStatement(ctx)
	db.Logger.Trace(ctx, start, func() (string, int64) { return cols.byID, -1 }, err)
	return s.out, err
}

// rowScan is what scanRows keeps while it reads. The rows come from blocks, so that a
// page costs one allocation rather than one per row: the first block has room for
// the rows expected (up to maxExpectedRows), each later one for twice as many as the
// one before, but never more than maxRowBlock. A row kept keeps its block: what
// outlives a request (the caller cache) keeps copies.
type rowScan[T any] struct {
	cols   *columns[T]
	dst    []any
	out    []*T
	block  []T // rows not yet handed out
	next   int // the room of the next block
	native bool
}

const (
	maxExpectedRows = 1024
	maxRowBlock     = 128
)

func newRowScan[T any](cols *columns[T], expected int) *rowScan[T] {
	expected = min(max(expected, 1), maxExpectedRows)
	return &rowScan[T]{cols: cols, dst: make([]any, len(cols.cols)), out: make([]*T, 0, expected), next: expected}
}

// scanAll reads every row of rows.
func (s *rowScan[T]) scanAll(rows pgx.Rows) error {
	for rows.Next() {
		if err := s.scan(rows); err != nil {
			return err
		}
	}
	return rows.Err()
}

func (s *rowScan[T]) scan(rows interface{ Scan(...any) error }) error {
	if len(s.block) == 0 {
		s.block = make([]T, s.next)
		s.next = min(2*s.next, maxRowBlock)
	}
	t := &s.block[0]
	s.block = s.block[1:]
	if err := rows.Scan(s.cols.fields(s.dst, t)...); err != nil {
		return fmt.Errorf("scan: %w", err)
	}
	s.out = append(s.out, t)
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

// nullID and nullString scan nullable columns into pointer fields: pgx scans into a
// **T by reflection, and into these directly; database/sql calls their Scan.
type nullID struct{ dst **ObjectID }

func (n nullID) ScanBytes(v []byte) error {
	if v == nil {
		*n.dst = nil
		return nil
	}
	id := new(ObjectID)
	if err := id.ScanBytes(v); err != nil {
		return err
	}
	*n.dst = id
	return nil
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

func customerColumn(name string, ptr func(*Customer) any, fields ...string) column[Customer] {
	return column[Customer]{name: name, fields: fields, ptr: ptr}
}

// customerColumns are every column of customers, as Customer maps them, the id first.
var customerColumns = newColumns("customers",
	customerColumn("id", func(c *Customer) any { return &c.ID }, "id"),
	customerColumn("name", func(c *Customer) any { return &c.Name }, "name"),
	customerColumn("status", func(c *Customer) any { return enumText[CustomerStatus]{&c.Status} }, "status"),
	customerColumn("website_url", func(c *Customer) any { return nullString{&c.WebsiteURL} }, "websiteUrl"),
	customerColumn("logo", func(c *Customer) any { return nullString{&c.Logo} }, "logo"),
	customerColumn("credit", func(c *Customer) any { return &c.Credit }, "credit"),
	customerColumn("admin_user_id", func(c *Customer) any { return nullID{&c.AdminUserID} }, "adminUserId", "adminUser"),
	customerColumn("billing_user_id", func(c *Customer) any { return nullID{&c.BillingUserID} }, "billingUserId", "billingUser"),
	customerColumn("call_recording_user_id", func(c *Customer) any { return nullID{&c.CallRecordingUserID} }, "callRecordingUserId", "callRecordingUser"),
	customerColumn("support_user_id", func(c *Customer) any { return nullID{&c.SupportUserID} }, "supportUserId", "supportUser"),
	customerColumn("call_forwarding_call_limit", func(c *Customer) any { return &c.CallForwardingCallLimit }, "callForwardingCallLimit"),
	customerColumn("automatic_refill_amount", func(c *Customer) any { return &c.AutomaticRefillAmount }, "automaticRefillAmount"),
	customerColumn("low_balance_alert_amount", func(c *Customer) any { return &c.LowBalanceAlertAmount }, "lowBalanceAlertAmount"),
	customerColumn("low_balance_alert_at", func(c *Customer) any { return &c.LowBalanceAlertAt }, "lowBalanceAlertAt"),
	customerColumn("low_balance_alert_count", func(c *Customer) any { return &c.LowBalanceAlertCount }, "lowBalanceAlertCount"),
	customerColumn("last_automatic_refill_invoice_id", func(c *Customer) any { return nullID{&c.LastAutomaticRefillInvoiceID} },
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
	customerColumn("created_by_id", func(c *Customer) any { return nullID{&c.CreatedByID} }, "createdBy"),
	customerColumn("updated_by_id", func(c *Customer) any { return nullID{&c.UpdatedByID} }, "updatedBy"),
)

func userColumn(name string, ptr func(*User) any, fields ...string) column[User] {
	return column[User]{name: name, fields: fields, ptr: ptr}
}

// userColumns are every column of users, as User maps them, the id first.
var userColumns = newColumns("users",
	userColumn("id", func(u *User) any { return &u.ID }, "id"),
	userColumn("customer_id", func(u *User) any { return &u.CustomerID }, "customerId", "customer"),
	userColumn("email", func(u *User) any { return &u.Email }, "email"),
	userColumn("first", func(u *User) any { return &u.First }, "first"),
	userColumn("last", func(u *User) any { return &u.Last }, "last"),
	userColumn("status", func(u *User) any { return enumText[UserStatus]{&u.Status} }, "status"),
	userColumn("admin_permission", func(u *User) any { return &u.AdminPermission }, "adminPermission"),
	userColumn("billing_permission", func(u *User) any { return &u.BillingPermission }, "billingPermission"),
	userColumn("super_admin_permission", func(u *User) any { return &u.SuperAdminPermission }, "superAdminPermission"),
	userColumn("version", func(u *User) any { return &u.Version }, "version"),
	userColumn("created_at", func(u *User) any { return &u.CreatedAt }, "createdAt"),
	userColumn("updated_at", func(u *User) any { return &u.UpdatedAt }, "updatedAt"),
)
