package models

import (
	"bytes"
	"context"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestObjectIDUnmarshalGQL(t *testing.T) {
	tests := []struct {
		name string
		in   any
		want string // "" when invalid
	}{
		{"LowerCase", "5f1d7a2b3c4d5e6f70819203", "5f1d7a2b3c4d5e6f70819203"},
		{"UpperCaseNormalised", "5F1D7A2B3C4D5E6F70819203", "5f1d7a2b3c4d5e6f70819203"},
		{"Empty", "", ""},
		{"TooShort", "5f1d7a2b3c4d5e6f7081920", ""},
		{"TooLong", "5f1d7a2b3c4d5e6f708192031", ""},
		{"NotHex", "5f1d7a2b3c4d5e6f7081920g", ""},
		{"Multibyte24Bytes", strings.Repeat("é", 12), ""},
		{"Number", 12345, ""},
		{"Nil", nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var id ObjectID
			err := id.UnmarshalGQL(tt.in)
			if tt.want == "" {
				if ErrorKind(err) != Invalid {
					t.Errorf("UnmarshalGQL(%v) error = %v, want Invalid", tt.in, err)
				}
				return
			}
			if err != nil || id.String() != tt.want {
				t.Errorf("UnmarshalGQL(%v) = %s, %v; want %s", tt.in, id, err, tt.want)
			}
			var buf bytes.Buffer
			id.MarshalGQL(&buf)
			if buf.String() != `"`+tt.want+`"` {
				t.Errorf("MarshalGQL = %s", buf.String())
			}
		})
	}
}

func TestNewObjectIDLayout(t *testing.T) {
	at := time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)
	a, b := newObjectIDAt(at), newObjectIDAt(at)
	if !a.Time().Equal(at) {
		t.Errorf("Time() = %v, want %v", a.Time(), at)
	}
	if a == b || !bytes.Equal(a[4:9], b[4:9]) {
		t.Errorf("two ids of one process: %s %s; want equal random part, different counters", a, b)
	}
	if a.String() >= b.String() {
		t.Errorf("ids of one second do not grow: %s then %s", a, b)
	}
}

func TestObjectIDScanValue(t *testing.T) {
	id := NewObjectID()
	v, _ := id.Value()
	var back ObjectID
	if err := back.Scan(v); err != nil || back != id {
		t.Errorf("Scan(Value()) = %s, %v; want %s", back, err, id)
	}
	if err := back.Scan([]byte{1, 2}); err == nil {
		t.Error("Scan of 2 bytes succeeded")
	}
}

func FuzzObjectIDUnmarshalGQL(f *testing.F) {
	for _, s := range []string{"", "5f1d7a2b3c4d5e6f70819203", "5F1D7A2B3C4D5E6F70819203", "zz", strings.Repeat("é", 12)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		var id ObjectID
		if err := id.UnmarshalGQL(s); err != nil {
			return
		}
		if !strings.EqualFold(id.String(), s) {
			t.Errorf("accepted %q as %s", s, id)
		}
	})
}

// TestIDArrayParameter: an idArray reaches PostgreSQL as a bytea[] of each id once,
// through GORM and database/sql (as in a transaction) and through the pipeline
// (FindUsersByIDs: its statement is sent as a pipelined read), and an empty one
// matches nothing.
func TestIDArrayParameter(t *testing.T) {
	t.Parallel()
	db := mustDB(t)
	var customer, a, b ObjectID
	err := db.Raw(`WITH c AS (INSERT INTO customers (name) VALUES ('C') RETURNING id),
		u AS (INSERT INTO users (customer_id, email, first, last, super_admin_permission)
			SELECT id, e, 'F', 'L', 'READ_WRITE' FROM c, (VALUES ('a@example.com'), ('b@example.com')) v(e) RETURNING customer_id, id)
		SELECT u1.customer_id, u1.id, u2.id FROM u u1 JOIN u u2 ON u1.id < u2.id`).Row().Scan(&customer, &a, &b)
	if err != nil {
		t.Fatal(err)
	}
	missing := NewObjectID()
	var got []string
	if err := db.Raw(`SELECT encode(x, 'hex') FROM unnest(?::bytea[]) AS x ORDER BY 1`, newIDArray([]ObjectID{b, a, b})).Scan(&got).Error; err != nil {
		t.Fatal(err)
	}
	if want := []string{a.String(), b.String()}; !slices.Equal(got, want) {
		t.Errorf("the array PostgreSQL received = %v, want %v", got, want)
	}

	rw := PermissionReadWrite
	ctx := WithCaller(context.Background(), Caller{UserID: &a, User: &User{ID: a, CustomerID: customer, SuperAdminPermission: &rw}})
	users := NewUserStore(db, NewCursors([]byte("k")), NewCallerCache())
	for _, tc := range []struct {
		ids  []ObjectID
		want []ObjectID
	}{
		{[]ObjectID{a, b, a, missing}, []ObjectID{a, b}},
		{[]ObjectID{missing}, nil},
		{nil, nil},
	} {
		found, err := users.FindUsersByIDs(ctx, tc.ids, nil)
		if err != nil {
			t.Fatalf("FindUsersByIDs(%v): %v", tc.ids, err)
		}
		var ids []ObjectID
		for id, u := range found {
			if u.ID != id {
				t.Errorf("FindUsersByIDs(%v): user %s under key %s", tc.ids, u.ID, id)
			}
			ids = append(ids, id)
		}
		slices.SortFunc(ids, func(x, y ObjectID) int { return bytes.Compare(x[:], y[:]) })
		if !slices.Equal(ids, tc.want) {
			t.Errorf("FindUsersByIDs(%v) found %v, want %v", tc.ids, ids, tc.want)
		}
	}
}

// TestObjectIDCompare: ids order as their bytes do.
func TestObjectIDCompare(t *testing.T) {
	ids := []ObjectID{{}, {0xff}, {11: 1}, {7: 1}, {8: 1}, {0xff, 11: 0xff}, NewObjectID(), NewObjectID()}
	for _, a := range ids {
		for _, b := range ids {
			if got, want := a.compare(b), bytes.Compare(a[:], b[:]); got != want {
				t.Errorf("%s.compare(%s) = %d, want %d", a, b, got, want)
			}
		}
	}
}
