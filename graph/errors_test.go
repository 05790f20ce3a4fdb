package graph

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"flashlive/domain"
)

// TestMarkInternalClientGone: a resolver that fails because the client
// went away is not an internal error (it would be logged as one); the
// same error while the request is still wanted is.
func TestMarkInternalClientGone(t *testing.T) {
	failing := func(context.Context) (any, error) {
		return nil, fmt.Errorf("reserve stock: %w", context.Canceled)
	}
	gone, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := markInternal(gone, failing)
	if got := domain.ErrorCode(err); got != domain.EUNAVAILABLE {
		t.Fatalf("client gone: code %q (%v), want UNAVAILABLE", got, err)
	}
	if errors.As(err, new(*internalError)) {
		t.Fatal("client gone: marked internal")
	}
	_, err = markInternal(context.Background(), failing)
	if !errors.As(err, new(*internalError)) {
		t.Fatalf("a cancellation of our own while the client waits: %v, want it marked internal", err)
	}
}
