package models

import (
	"errors"
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestWithFieldPrefixKeepsProbe: prefixing the field of an error, alone or in a list,
// keeps everything else about it, the Probe mark included.
func TestWithFieldPrefixKeepsProbe(t *testing.T) {
	t.Parallel()
	probe := &Error{Kind: Invalid, Field: "email", Message: "is already taken", Probe: true}
	want := &Error{Kind: Invalid, Field: "input.email", Message: "is already taken", Probe: true}
	var one *Error
	if !errors.As(WithFieldPrefix(fmt.Errorf("create user: %w", probe), "input"), &one) {
		t.Fatal("WithFieldPrefix lost the *Error")
	}
	if d := cmp.Diff(want, one); d != "" {
		t.Errorf("one error (-want +got):\n%s", d)
	}
	list := ValidationErrors{FieldError("first", "is required"), probe}
	var got ValidationErrors
	if !errors.As(WithFieldPrefix(list, "input"), &got) {
		t.Fatal("WithFieldPrefix lost the list")
	}
	if d := cmp.Diff(ValidationErrors{FieldError("input.first", "is required"), want}, got); d != "" {
		t.Errorf("list (-want +got):\n%s", d)
	}
}
