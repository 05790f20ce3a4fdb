package domain_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"flashlive/domain"
)

// wantError fails t unless err carries code and its message contains every
// one of words (the field it names, the limit it states). code "" means err
// must be nil.
func wantError(t *testing.T, err error, code string, words ...string) {
	t.Helper()
	if got := domain.ErrorCode(err); got != code {
		t.Fatalf("ErrorCode(%v) = %q, want %q", err, got, code)
	}
	msg := domain.ErrorMessage(err)
	for _, w := range words {
		if !strings.Contains(msg, w) {
			t.Fatalf("ErrorMessage = %q, want it to contain %q", msg, w)
		}
	}
}

func TestErrorCodeAndMessage(t *testing.T) {
	invalid := domain.Errorf(domain.EINVALID, "name must not be empty")
	for _, tt := range []struct {
		name     string
		err      error
		wantCode string
		wantMsg  string
	}{
		{"nil", nil, "", ""},
		{"domain error", invalid, domain.EINVALID, "name must not be empty"},
		{"every code survives", domain.Errorf(domain.ERATELIMITED, "slow down"), domain.ERATELIMITED, "slow down"},
		{"wrapped with %w", fmt.Errorf("create product: %w", invalid), domain.EINVALID, "name must not be empty"},
		{"wrapped twice", fmt.Errorf("graphql: %w", fmt.Errorf("create product: %w", invalid)), domain.EINVALID, "name must not be empty"},
		{"joined with a plain error", errors.Join(errors.New("pq: boom"), invalid), domain.EINVALID, "name must not be empty"},
		{"first domain error in the chain wins", fmt.Errorf("outer: %w", errors.Join(domain.Errorf(domain.ENOTFOUND, "no such product"), invalid)), domain.ENOTFOUND, "no such product"},
		{"plain error", errors.New("dial tcp 10.0.0.1:5432: connection refused"), domain.EINTERNAL, "internal error"},
		{"wrapped plain error", fmt.Errorf("find user: %w", errors.New("pgx: conn busy")), domain.EINTERNAL, "internal error"},
		{"domain error formatted with %v loses its code", fmt.Errorf("create product: %v", invalid), domain.EINTERNAL, "internal error"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got, want := domain.ErrorCode(tt.err), tt.wantCode; got != want {
				t.Fatalf("ErrorCode = %q, want %q", got, want)
			}
			if got, want := domain.ErrorMessage(tt.err), tt.wantMsg; got != want {
				t.Fatalf("ErrorMessage = %q, want %q", got, want)
			}
		})
	}
}

func TestErrorfFormats(t *testing.T) {
	err := domain.Errorf(domain.EINVALID, "%s must be at most %d", "stock", 7)
	if got, want := *err, (domain.Error{Code: domain.EINVALID, Message: "stock must be at most 7"}); got != want {
		t.Fatalf("Errorf = %+v, want %+v", got, want)
	}
	if got, want := err.Error(), "flashlive error: code=INVALID message=stock must be at most 7"; got != want {
		t.Fatalf("Error() = %q, want %q", got, want)
	}
}
