package models

import (
	"errors"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"
)

// constraintFields names the input field that each foreign key or unique constraint
// checks, so that a violation comes back to the client on that field.
var constraintFields = map[string]struct{ field, message string }{
	"customers_admin_user_fk":                    {"adminUserId", "names no user of this customer"},
	"customers_billing_user_fk":                  {"billingUserId", "names no user of this customer"},
	"customers_call_recording_user_fk":           {"callRecordingUserId", "names no user of this customer"},
	"customers_support_user_fk":                  {"supportUserId", "names no user of this customer"},
	"customers_last_automatic_refill_invoice_fk": {"lastAutomaticRefillInvoiceId", "names no invoice of this customer"},
	"users_customer_id_fkey":                     {"customerId", "names no customer"},
}

// translatePgError turns a PostgreSQL error into the error kind the client should see.
// It is the only code that looks at SQLSTATE codes. Other errors pass unchanged.
func translatePgError(err error) error {
	var pg *pgconn.PgError
	if !errors.As(err, &pg) {
		return err
	}
	switch pg.Code {
	case "23503", "23505": // foreign_key_violation, unique_violation
		if pg.ConstraintName == "users_email_key" { // a race past checkEmailFree
			return errEmailTaken()
		}
		if f, ok := constraintFields[pg.ConstraintName]; ok {
			return FieldError(f.field, "%s", f.message)
		}
		if pg.Code == "23505" {
			return Errorf(Conflict, "the record conflicts with an existing one")
		}
		return Errorf(Conflict, "the record is still referenced by another record")
	case "23514", "23502": // check_violation, not_null_violation
		if pg.ConstraintName == "users_terminated_is_final" { // a trigger of migration 00005
			return errUserTerminated()
		}
		return &Error{Kind: Invalid, Message: fmt.Sprintf("a value breaks the database rule %q", pg.ConstraintName)}
	case "40001": // serialization_failure
		return Errorf(Conflict, "the record was changed concurrently; try again")
	}
	return err
}

// translateDeleteError is translatePgError for a DELETE: there a foreign-key
// violation means another record still points at the one being deleted.
func translateDeleteError(err error) error {
	var pg *pgconn.PgError
	if errors.As(err, &pg) && pg.Code == "23503" {
		return Errorf(Conflict, "the record is still referenced by another record")
	}
	return translatePgError(err)
}

// LogSafeError is err's text for a log line, without the values that some errors
// quote: PostgreSQL's data exceptions (class 22, "invalid input syntax for type
// integer: \"…\"") and messages raised by triggers (P0001) keep only their SQLSTATE
// and the names of the objects involved, and pgx's "failed to encode args[n]" loses
// the value it shows. The wrapping text ("patch customer …: ") stays.
func LogSafeError(err error) string {
	s := err.Error()
	var pg *pgconn.PgError
	if errors.As(err, &pg) && (strings.HasPrefix(pg.Code, "22") || pg.Code == "P0001") {
		safe := "SQLSTATE " + pg.Code
		for _, name := range []string{pg.TableName, pg.ColumnName, pg.DataTypeName, pg.ConstraintName} {
			if name != "" {
				safe += " " + name
			}
		}
		s = strings.Replace(s, pg.Error(), safe, 1)
	}
	if i := strings.Index(s, "failed to encode args["); i >= 0 {
		if j := strings.Index(s[i:], "]"); j >= 0 {
			s = s[:i+j+1] + ": the value is not shown"
		}
	}
	return s
}
