package graph

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"flashlive/domain"
)

// stuckAuth is an AuthService whose Login returns only when its context
// ends: what a request stuck behind a slow store does.
type stuckAuth struct {
	domain.AuthService
	entered chan struct{}
}

func (a stuckAuth) Login(ctx context.Context, _, _ string) (*domain.Session, error) {
	close(a.entered)
	<-ctx.Done()
	return nil, ctx.Err()
}

// The catalog the loaders are built over; no test here reads it.
type (
	noUsers    struct{ domain.UserService }
	noProducts struct{ domain.ProductService }
	noRooms    struct{ domain.LiveRoomService }
	noEvents   struct{ domain.FlashEventService }
)

func (noUsers) FindUsersByIDs(context.Context, []string) ([]*domain.User, error) { return nil, nil }
func (noProducts) FindProductsByIDs(context.Context, []string) ([]*domain.Product, error) {
	return nil, nil
}
func (noRooms) FindLiveRoomsByIDs(context.Context, []string) ([]*domain.LiveRoom, error) {
	return nil, nil
}
func (noEvents) FindFlashEventsByIDs(context.Context, []string) ([]*domain.FlashEvent, error) {
	return nil, nil
}

// Every mutation has a deadline: one stuck past it answers UNAVAILABLE
// with retryAfterMs, instead of holding its client for ever.
func TestOperationDeadline(t *testing.T) {
	auth := stuckAuth{entered: make(chan struct{})}
	h := NewHandler(&Resolver{
		AuthService: auth, UserService: noUsers{}, ProductService: noProducts{}, LiveRoomService: noRooms{}, FlashEventService: noEvents{},
	}, Options{OperationTimeout: 50 * time.Millisecond})
	body := `{"query":"mutation { login(input: {email: \"a@example.com\", password: \"secret\"}) { accessToken } }"}`
	req := httptest.NewRequest(http.MethodPost, "/graphql", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	<-auth.entered // the resolver ran, and was stopped by the deadline

	var out struct {
		Errors []struct {
			Message    string
			Extensions map[string]any
		}
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil {
		t.Fatalf("answer %q: %v", rec.Body.String(), err)
	}
	if len(out.Errors) != 1 {
		t.Fatalf("errors = %+v, want one", out.Errors)
	}
	e := out.Errors[0]
	if got, want := e.Extensions["code"], domain.EUNAVAILABLE; got != want {
		t.Fatalf("code = %v, want %s (%+v)", got, want, e)
	}
	if got, want := e.Extensions["retryAfterMs"], float64(1000); got != want {
		t.Fatalf("retryAfterMs = %v, want %v", got, want)
	}
	if got, want := e.Message, "the request took too long; try again in a moment"; got != want {
		t.Fatalf("message = %q, want %q", got, want)
	}
}
