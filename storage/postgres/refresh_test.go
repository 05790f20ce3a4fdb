package postgres_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"flashlive/domain"
)

func TestAuthRefreshRotates(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 0)
	ctx := context.Background()
	a := register(t, e, "dave@example.com", domain.RoleSeller)

	b, err := e.auth.Refresh(ctx, a.RefreshToken)
	if err != nil {
		t.Fatalf("Refresh A: %v", err)
	}
	if b.RefreshToken == a.RefreshToken {
		t.Fatalf("Refresh returned the same refresh token")
	}
	if got, want := b.User.ID, a.User.ID; got != want {
		t.Fatalf("refreshed user = %q, want %q", got, want)
	}
	p, err := e.auth.Authenticate(ctx, b.AccessToken)
	if err != nil {
		t.Fatalf("Authenticate refreshed access token: %v", err)
	}
	// The principal names its sign-in and expires with the session's token.
	if got, want := p, (domain.Principal{UserID: a.User.ID, Role: domain.RoleSeller, SessionID: p.SessionID, ExpiresAt: b.ExpiresAt.UTC()}); got != want || got.SessionID == "" {
		t.Fatalf("principal = %+v, want %+v", got, want)
	}
	// The new token works once more...
	_, err = e.auth.Refresh(ctx, b.RefreshToken)
	if err != nil {
		t.Fatalf("Refresh B: %v", err)
	}
	// ...and the old one no longer does.
	_, err = e.auth.Refresh(ctx, a.RefreshToken)
	wantCode(t, err, domain.EUNAUTHENTICATED)

	for _, bad := range []string{"", "garbage", "rt_unknown", "rt_" + string(make([]byte, 200))} {
		_, err := e.auth.Refresh(ctx, bad)
		wantCode(t, err, domain.EUNAUTHENTICATED)
	}
	_, err = e.auth.Authenticate(ctx, "not.a.jwt")
	wantCode(t, err, domain.EUNAUTHENTICATED)
}

func TestAuthRefreshReuseRevokesFamily(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 0)
	ctx := context.Background()
	a := register(t, e, "erin@example.com", domain.RoleBuyer)
	// A second sign-in is another family and must survive.
	other, err := e.auth.Login(ctx, "erin@example.com", password)
	if err != nil {
		t.Fatalf("Login: %v", err)
	}

	b, err := e.auth.Refresh(ctx, a.RefreshToken)
	if err != nil {
		t.Fatalf("Refresh A: %v", err)
	}
	_, err = e.auth.Refresh(ctx, a.RefreshToken)
	wantCode(t, err, domain.EUNAUTHENTICATED)

	// B was never used, yet it descends from A: it is revoked too.
	_, err = e.auth.Refresh(ctx, b.RefreshToken)
	wantCode(t, err, domain.EUNAUTHENTICATED)

	var revoked, live int
	err = e.db.Pool.QueryRow(ctx, `
		SELECT count(*) FILTER (WHERE revoked_at IS NOT NULL), count(*) FILTER (WHERE revoked_at IS NULL)
		FROM refresh_tokens WHERE user_id = $1`, a.User.ID).Scan(&revoked, &live)
	if err != nil {
		t.Fatal(err)
	}
	if revoked != 2 || live != 1 {
		t.Fatalf("tokens revoked/live = %d/%d, want 2/1 (A and B revoked, the other sign-in live)", revoked, live)
	}
	if _, err := e.auth.Refresh(ctx, other.RefreshToken); err != nil {
		t.Fatalf("Refresh of the other family: %v", err)
	}
}

func TestAuthRefreshExpired(t *testing.T) {
	t.Parallel()
	const ttl = time.Hour
	e := newEnv(t, ttl)
	ctx := context.Background()
	t0 := e.clock.Now()
	a := register(t, e, "frank@example.com", domain.RoleBuyer)

	// One microsecond before expiry the token works.
	e.clock.Set(t0.Add(ttl - time.Microsecond))
	b, err := e.auth.Refresh(ctx, a.RefreshToken)
	if err != nil {
		t.Fatalf("Refresh just before expiry: %v", err)
	}
	// B expires ttl after it was issued; at that instant it is refused.
	e.clock.Set(t0.Add(2*ttl - time.Microsecond))
	_, err = e.auth.Refresh(ctx, b.RefreshToken)
	wantCode(t, err, domain.EUNAUTHENTICATED)

	// An expired token is refused without revoking anything.
	if got, want := activeTokens(t, e, a.User.ID), 2; got != want {
		t.Fatalf("active tokens after expired refresh = %d, want %d", got, want)
	}
}

func TestAuthLogout(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 0)
	ctx := context.Background()
	a := register(t, e, "gina@example.com", domain.RoleBuyer)
	other, err := e.auth.Login(ctx, "gina@example.com", password)
	if err != nil {
		t.Fatalf("Login: %v", err)
	}
	b, err := e.auth.Refresh(ctx, a.RefreshToken)
	if err != nil {
		t.Fatalf("Refresh: %v", err)
	}

	// Logging out with the old (used) token of the family revokes B too.
	if err := e.auth.Logout(ctx, a.RefreshToken); err != nil {
		t.Fatalf("Logout: %v", err)
	}
	_, err = e.auth.Refresh(ctx, b.RefreshToken)
	wantCode(t, err, domain.EUNAUTHENTICATED)

	// Idempotent, and silent for tokens that are not ours.
	for _, tok := range []string{a.RefreshToken, b.RefreshToken, "rt_unknown", "garbage", ""} {
		if err := e.auth.Logout(ctx, tok); err != nil {
			t.Fatalf("Logout(%q): %v", tok, err)
		}
	}
	// The other sign-in is untouched.
	if _, err := e.auth.Refresh(ctx, other.RefreshToken); err != nil {
		t.Fatalf("Refresh of the other family after Logout: %v", err)
	}
}

func TestAuthRefreshConcurrent(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 0)
	a := register(t, e, "hank@example.com", domain.RoleBuyer)

	const n = 10
	sessions := make([]*domain.Session, n)
	errs := make([]error, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			<-start
			sessions[i], errs[i] = e.auth.Refresh(context.Background(), a.RefreshToken)
		})
	}
	close(start)
	wg.Wait()

	var won *domain.Session
	successes := 0
	for i := range n {
		if errs[i] == nil {
			successes++
			won = sessions[i]
			continue
		}
		wantCode(t, errs[i], domain.EUNAUTHENTICATED)
	}
	// The row lock serialises the refreshes: the first one wins, every
	// later one sees a used token.
	if got, want := successes, 1; got != want {
		t.Fatalf("successful refreshes = %d, want %d", got, want)
	}
	// The losers presented a used token: the family, the winner's new token
	// included, is revoked.
	if got, want := activeTokens(t, e, a.User.ID), 0; got != want {
		t.Fatalf("active tokens after concurrent reuse = %d, want %d", got, want)
	}
	_, err := e.auth.Refresh(context.Background(), won.RefreshToken)
	wantCode(t, err, domain.EUNAUTHENTICATED)
}
