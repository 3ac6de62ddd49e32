package models

import (
	"context"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strings"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// record says how a table's rows appear in errors and in the audit trail, and which
// of its columns names the customer a row belongs to (what scoped limits).
type record[T any] struct {
	noun, recordType, table string
	customerColumn          string
	version                 func(*T) int32
	// audit is, by column, what the audit trail shows of it (auditColumnsOf).
	audit map[string]auditColumn
}

var (
	customerRecord = record[Customer]{"customer", "Customer", "customers", "id",
		func(c *Customer) int32 { return c.Version }, auditColumnsOf[Customer]()}
	userRecord = record[User]{"user", "User", "users", "customer_id",
		func(u *User) int32 { return u.Version }, auditColumnsOf[User]()}
)

// auditColumn is one column as the audit trail shows it: its API name, and how SQL
// writes its value as diff does (%s is the value): an ObjectID in lower-case hex,
// anything else (text, integers, booleans) as its text, which is what diff makes of
// its JSON.
type auditColumn struct {
	field, text string
}

// auditColumnsOf reads the column and API names of T's fields from their gorm and
// json tags, which diff uses too.
func auditColumnsOf[T any]() map[string]auditColumn {
	out := map[string]auditColumn{}
	typ := reflect.TypeFor[T]()
	for i := range typ.NumField() {
		f := typ.Field(i)
		column, ok := strings.CutPrefix(strings.Split(f.Tag.Get("gorm"), ";")[0], "column:")
		if !ok {
			continue
		}
		field, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		text := "%s::text"
		if f.Type == reflect.TypeFor[ObjectID]() || f.Type == reflect.TypeFor[*ObjectID]() {
			text = "encode(%s, 'hex')"
		}
		out[column] = auditColumn{field: field, text: text}
	}
	return out
}

// rowGuard is a rule that the locked row must meet to be written: cond, a SQL
// condition on it (as old), and refuse, the error of a row that does not meet it (nil
// for one that does).
type rowGuard[T any] struct {
	cond   string
	refuse func(old *T) error
}

// versionedWrite is one write of cols to the row id of T, which writeVersioned makes.
type versionedWrite[T any] struct {
	op              string
	r               record[T]
	id              ObjectID
	cols            map[string]any
	expectedVersion *int32
	guard           *rowGuard[T] // nil: none
}

// writeVersioned makes w in one statement, atomic on its own (db may also be a
// transaction of the caller's): it locks the row
// (one the caller may not see is NotFound, as a missing one), checks w.guard and
// expectedVersion against it (Forbidden or Conflict, and nothing is written), writes
// the columns with version + 1 and updatedAt = now, and records the audit event,
// whose changes SQL lists from the old and new rows as diff would. Locking in the
// same statement keeps the audit's old values and the version check to what the
// UPDATE replaces, under any number of concurrent writes.
func writeVersioned[T any](ctx context.Context, db *gorm.DB, w versionedWrite[T]) (*T, error) {
	sql, args, err := w.statement(ctx)
	if err != nil {
		return nil, err
	}
	var rows []writtenRow[T]
	if err := db.WithContext(ctx).Raw(sql, args...).Scan(&rows).Error; err != nil {
		return nil, translatePgError(err)
	}
	if len(rows) == 0 {
		return nil, Errorf(NotFound, "no %s with id %s", w.r.noun, w.id)
	}
	row := &rows[0].Row
	if rows[0].Written {
		return row, nil
	}
	if w.guard != nil {
		if err := w.guard.refuse(row); err != nil {
			return nil, err
		}
	}
	// The guard passed, so the version check is what left the row unwritten.
	return nil, &Error{Kind: Conflict, Field: "expectedVersion",
		Message: fmt.Sprintf("%s %s is at version %d, not %d", w.r.noun, w.id, w.r.version(row), *w.expectedVersion)}
}

// writtenRow is a row that writeVersioned's statement returns: the row as written,
// or, when the guard or expectedVersion refused the write, as it is.
type writtenRow[T any] struct {
	Row     T    `gorm:"embedded"`
	Written bool `gorm:"column:written"`
}

// statement is w as one SQL statement with its arguments: CTEs lock the row (old),
// update it (upd) and record the audit event (ins); it returns the updated row, or
// the locked one when the update did not apply, or nothing when there is no such row.
func (w versionedWrite[T]) statement(ctx context.Context) (string, []any, error) {
	scope, args, err := scope(ctx, w.r.customerColumn)
	if err != nil {
		return "", nil, err
	}
	var b strings.Builder
	fmt.Fprintf(&b, "WITH old AS (SELECT * FROM %s WHERE id = ? AND %s FOR UPDATE),\n", w.r.table, scope)
	args = append([]any{w.id}, args...)
	fmt.Fprintf(&b, "upd AS (UPDATE %s t SET ", w.r.table)
	columns := slices.Sorted(maps.Keys(w.cols))
	for _, c := range columns {
		fmt.Fprintf(&b, "%s = ?, ", c)
		args = append(args, w.cols[c])
	}
	b.WriteString("version = t.version + 1, updated_at = now() FROM old WHERE t.id = old.id")
	if w.expectedVersion != nil {
		b.WriteString(" AND old.version = ?")
		args = append(args, *w.expectedVersion)
	}
	if w.guard != nil {
		b.WriteString(" AND " + w.guard.cond)
	}
	b.WriteString(" RETURNING t.*),\n")
	caller := CallerFrom(ctx)
	fmt.Fprintf(&b, `ins AS (INSERT INTO audit_events (id, customer_id, actor_id, request_id, operation, record_type, record_id, changes)
  SELECT ?, upd.%s, ?::bytea, ?, ?, ?, upd.id, %s FROM old, upd)
SELECT upd.*, true AS written FROM upd
UNION ALL SELECT old.*, false FROM old WHERE NOT EXISTS (SELECT FROM upd)`, w.r.customerColumn, w.r.changesSQL(columns))
	args = append(args, NewObjectID(), caller.UserID, caller.RequestID, w.op, w.r.recordType)
	return b.String(), args, nil
}

// changesSQL is a SQL expression for the audit event's changes: each of columns
// whose value differs between old and upd, bookkeeping aside, with its old and new
// value, in the order of their API names, as diff lists them.
func (r record[T]) changesSQL(columns []string) string {
	var fields []auditColumn
	byField := map[string]string{}
	for _, c := range columns {
		if a := r.audit[c]; !bookkeeping[a.field] {
			fields = append(fields, a)
			byField[a.field] = c
		}
	}
	slices.SortFunc(fields, func(x, y auditColumn) int { return strings.Compare(x.field, y.field) })
	values := make([]string, len(fields))
	for i, a := range fields {
		c := byField[a.field]
		values[i] = fmt.Sprintf("(%d, '%s', %s, %s)", i, a.field,
			fmt.Sprintf(a.text, "old."+c), fmt.Sprintf(a.text, "upd."+c))
	}
	return `(SELECT coalesce(jsonb_agg(jsonb_build_object('field', c.field, 'old', c.before, 'new', c.after) ORDER BY c.n), '[]')
    FROM (VALUES ` + strings.Join(values, ", ") + `) AS c(n, field, before, after)
    WHERE c.before IS DISTINCT FROM c.after)`
}

// lockForUpdate reads the row id of T, in tx, locked until tx ends. A row the
// caller may not see is NotFound, exactly as a missing one.
func lockForUpdate[T any](ctx context.Context, tx *gorm.DB, r record[T], id ObjectID) (*T, error) {
	q, err := scoped(ctx, tx.Clauses(clause.Locking{Strength: "UPDATE"}), r.customerColumn)
	if err != nil {
		return nil, err
	}
	return findByID[T](ctx, q, r.noun, id)
}

// updateVersioned writes to the row id of T in one transaction, for writes whose
// rules need the row as it is: it checks that the caller's customer is writable
// (requireWritableCustomer, which locks that customer first), locks the row
// (lockForUpdate), then asks columns what to write, given the row as it is now: the
// rules that depend on the row's state (who may change it, what it may become) run
// there, so they still hold when the write commits. writeVersioned then checks
// expectedVersion and writes, with the audit event. An error from columns writes
// nothing.
func updateVersioned[T any](ctx context.Context, db *gorm.DB, op string, id ObjectID, expectedVersion *int32, r record[T],
	columns func(tx *gorm.DB, old *T) (map[string]any, error)) (*T, error) {
	var updated *T
	err := inTransaction(ctx, db, func(tx *gorm.DB) error {
		if err := requireWritableCustomer(ctx, tx); err != nil {
			return err
		}
		old, err := lockForUpdate(ctx, tx, r, id)
		if err != nil {
			return err
		}
		cols, err := columns(tx, old)
		if err != nil {
			return err
		}
		updated, err = writeVersioned(ctx, tx, versionedWrite[T]{op: op, r: r, id: id, cols: cols, expectedVersion: expectedVersion})
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", op, id, err)
	}
	return updated, nil
}
