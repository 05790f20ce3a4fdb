package postgres_test

import (
	"context"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"flashlive/auth"
	"flashlive/domain"
	"flashlive/storage/postgres"
)

const password = "correct horse battery"

func register(t *testing.T, e *env, email string, role domain.Role) *domain.Session {
	t.Helper()
	s, err := e.auth.Register(context.Background(), domain.Registration{
		Email: email, Password: password, DisplayName: "Bob", Role: role,
	})
	if err != nil {
		t.Fatalf("Register(%q): %v", email, err)
	}
	return s
}

// activeTokens counts the refresh tokens of user that are not revoked.
func activeTokens(t *testing.T, e *env, userID string) int {
	t.Helper()
	var n int
	err := e.db.Pool.QueryRow(context.Background(),
		`SELECT count(*) FROM refresh_tokens WHERE user_id = $1 AND revoked_at IS NULL`, userID).Scan(&n)
	if err != nil {
		t.Fatalf("count active refresh tokens: %v", err)
	}
	return n
}

func TestAuthRegisterNormalizesEmail(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 0)
	ctx := context.Background()
	s, err := e.auth.Register(ctx, domain.Registration{
		Email: " Bob@Example.COM ", Password: password, DisplayName: "  Bob  ", Role: domain.RoleSeller,
	})
	if err != nil {
		t.Fatalf("Register: %v", err)
	}
	if got, want := s.User.Email, "bob@example.com"; got != want {
		t.Fatalf("session email = %q, want %q", got, want)
	}
	if got, want := s.User.DisplayName, "Bob"; got != want {
		t.Fatalf("display name = %q, want %q", got, want)
	}
	if got, want := s.User.Role, domain.RoleSeller; got != want {
		t.Fatalf("role = %q, want %q", got, want)
	}
	if s.AccessToken == "" || s.RefreshToken == "" {
		t.Fatalf("session without tokens: %+v", s)
	}
	u, err := e.auth.FindUserByID(ctx, s.User.ID)
	if err != nil {
		t.Fatalf("FindUserByID: %v", err)
	}
	if got, want := u.Email, "bob@example.com"; got != want {
		t.Fatalf("stored email = %q, want %q", got, want)
	}
	if got, want := u.CreatedAt, e.clock.Now(); !got.Equal(want) {
		t.Fatalf("created at = %v, want %v (db.Now)", got, want)
	}
	p, err := e.auth.Authenticate(ctx, s.AccessToken)
	if err != nil {
		t.Fatalf("Authenticate: %v", err)
	}
	// The principal names its sign-in and expires with the session's token.
	if got, want := p, (domain.Principal{UserID: s.User.ID, Role: domain.RoleSeller, SessionID: p.SessionID, ExpiresAt: s.ExpiresAt.UTC()}); got != want || got.SessionID == "" {
		t.Fatalf("principal = %+v, want %+v", got, want)
	}

	// Another spelling of the same address is the same account.
	_, err = e.auth.Register(ctx, domain.Registration{
		Email: "bob@EXAMPLE.com", Password: "another password", DisplayName: "Other Bob", Role: domain.RoleBuyer,
	})
	wantCode(t, err, domain.ECONFLICT)
	if _, err := e.auth.Login(ctx, "BOB@example.com ", password); err != nil {
		t.Fatalf("Login with another spelling: %v", err)
	}
}

func TestAuthRegisterInvalid(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 0)
	ok := domain.Registration{Email: "a@example.com", Password: password, DisplayName: "A", Role: domain.RoleBuyer}
	for name, mod := range map[string]func(r *domain.Registration){
		"empty email":    func(r *domain.Registration) { r.Email = "" },
		"bad email":      func(r *domain.Registration) { r.Email = "not an email" },
		"named email":    func(r *domain.Registration) { r.Email = "A <a@example.com>" },
		"short password": func(r *domain.Registration) { r.Password = "short" },
		"no name":        func(r *domain.Registration) { r.DisplayName = "   " },
		"admin role":     func(r *domain.Registration) { r.Role = domain.RoleAdmin },
		"unknown role":   func(r *domain.Registration) { r.Role = "ROOT" },
	} {
		r := ok
		mod(&r)
		_, err := e.auth.Register(context.Background(), r)
		if got, want := domain.ErrorCode(err), domain.EINVALID; got != want {
			t.Errorf("%s: code = %q, want %q (err: %v)", name, got, want, err)
		}
	}
	var n int
	if err := e.db.Pool.QueryRow(context.Background(), `SELECT count(*) FROM users`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Fatalf("users after invalid registrations = %d, want 0", n)
	}
}

func TestAuthLogin(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 0)
	ctx := context.Background()
	reg := register(t, e, "carol@example.com", domain.RoleBuyer)

	s, err := e.auth.Login(ctx, "carol@example.com", password)
	if err != nil {
		t.Fatalf("Login: %v", err)
	}
	if got, want := s.User.ID, reg.User.ID; got != want {
		t.Fatalf("login user = %q, want %q", got, want)
	}
	if s.RefreshToken == reg.RefreshToken {
		t.Fatalf("login reused the registration's refresh token")
	}
	p, err := e.auth.Authenticate(ctx, s.AccessToken)
	if err != nil {
		t.Fatalf("Authenticate: %v", err)
	}
	// The principal names its sign-in and expires with the session's token.
	if got, want := p, (domain.Principal{UserID: reg.User.ID, Role: domain.RoleBuyer, SessionID: p.SessionID, ExpiresAt: s.ExpiresAt.UTC()}); got != want || got.SessionID == "" {
		t.Fatalf("principal = %+v, want %+v", got, want)
	}

	_, wrongPassword := e.auth.Login(ctx, "carol@example.com", "not the password")
	wantCode(t, wrongPassword, domain.EUNAUTHENTICATED)
	_, unknownEmail := e.auth.Login(ctx, "nobody@example.com", password)
	wantCode(t, unknownEmail, domain.EUNAUTHENTICATED)
	if got, want := domain.ErrorMessage(unknownEmail), domain.ErrorMessage(wrongPassword); got != want {
		t.Fatalf("unknown email message %q differs from wrong password message %q", got, want)
	}
	_, err = e.auth.Login(ctx, "", "")
	wantCode(t, err, domain.EUNAUTHENTICATED)
}

// failFirstHash is the real hasher, except that its first Hash fails as
// the real one does when too many sign-ins run at once.
type failFirstHash struct {
	*auth.Hasher
	failed atomic.Bool
}

func (h *failFirstHash) Hash(ctx context.Context, password string) (string, error) {
	if h.failed.CompareAndSwap(false, true) {
		return "", domain.Errorf(domain.EUNAVAILABLE, "too many sign-ins at once; try again in a moment")
	}
	return h.Hasher.Hash(ctx, password)
}

// TestAuthLoginUnknownEmailAfterBusyHasher checks that a transient hasher
// failure while Login prepares its decoy hash (for unknown emails) does not
// break later logins: an unknown email stays UNAUTHENTICATED, exactly like
// a wrong password.
func TestAuthLoginUnknownEmailAfterBusyHasher(t *testing.T) {
	t.Parallel()
	db := mustOpen(t)
	tokens, err := auth.NewTokens(testSecret, 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	svc := postgres.NewAuthService(db, &failFirstHash{Hasher: auth.NewHasher(testParams, 0)}, tokens, 0)
	ctx := context.Background()

	_, err = svc.Login(ctx, "nobody@example.com", password)
	if code := domain.ErrorCode(err); code != domain.EUNAVAILABLE && code != domain.EUNAUTHENTICATED {
		t.Errorf("first Login while the hasher is busy: code = %q, want UNAVAILABLE or UNAUTHENTICATED (err: %v)", code, err)
	}
	_, err = svc.Login(ctx, "nobody@example.com", password)
	wantCode(t, err, domain.EUNAUTHENTICATED)
}

func TestAuthCreateUser(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 0)
	ctx := context.Background()
	u, err := e.auth.CreateUser(ctx, domain.Registration{
		Email: " Root@Example.com", Password: password, DisplayName: "Root", Role: domain.RoleAdmin,
	})
	if err != nil {
		t.Fatalf("CreateUser(ADMIN): %v", err)
	}
	if got, want := u.Role, domain.RoleAdmin; got != want {
		t.Fatalf("role = %q, want %q", got, want)
	}
	if got, want := u.Email, "root@example.com"; got != want {
		t.Fatalf("email = %q, want %q", got, want)
	}
	// CreateUser signs nobody in.
	if got, want := activeTokens(t, e, u.ID), 0; got != want {
		t.Fatalf("refresh tokens after CreateUser = %d, want %d", got, want)
	}
	s, err := e.auth.Login(ctx, "root@example.com", password)
	if err != nil {
		t.Fatalf("Login as admin: %v", err)
	}
	p, err := e.auth.Authenticate(ctx, s.AccessToken)
	if err != nil {
		t.Fatalf("Authenticate: %v", err)
	}
	// The principal names its sign-in and expires with the session's token.
	if got, want := p, (domain.Principal{UserID: u.ID, Role: domain.RoleAdmin, SessionID: p.SessionID, ExpiresAt: s.ExpiresAt.UTC()}); got != want || got.SessionID == "" {
		t.Fatalf("principal = %+v, want %+v", got, want)
	}

	_, err = e.auth.CreateUser(ctx, domain.Registration{
		Email: "ROOT@example.com", Password: password, DisplayName: "Root 2", Role: domain.RoleAdmin,
	})
	wantCode(t, err, domain.ECONFLICT)
	_, err = e.auth.CreateUser(ctx, domain.Registration{
		Email: "x@example.com", Password: password, DisplayName: "X", Role: "ROOT",
	})
	wantCode(t, err, domain.EINVALID)
	_, err = e.auth.CreateUser(ctx, domain.Registration{
		Email: "x@example.com", Password: "short", DisplayName: "X", Role: domain.RoleAdmin,
	})
	wantCode(t, err, domain.EINVALID)
}

func TestAuthDeleteExpiredRefreshTokens(t *testing.T) {
	t.Parallel()
	const ttl = time.Hour
	e := newEnv(t, ttl)
	ctx := context.Background()
	u := e.user(t, domain.RoleBuyer)
	t0 := e.clock.Now()
	login := func(at time.Time) {
		t.Helper()
		e.clock.Set(at)
		if _, err := e.auth.Login(ctx, emailOf(t, e, u.UserID), password); err != nil {
			t.Fatalf("Login: %v", err)
		}
	}
	login(t0)                       // expires t0+1h
	login(t0.Add(30 * time.Minute)) // expires t0+1h30m
	login(t0.Add(2 * time.Hour))    // expires t0+3h

	// expires_at < cutoff: a token expiring at the cutoff stays.
	n, err := e.auth.DeleteExpiredRefreshTokens(ctx, t0.Add(ttl))
	if err != nil {
		t.Fatalf("DeleteExpiredRefreshTokens: %v", err)
	}
	if got, want := n, int64(0); got != want {
		t.Fatalf("deleted at cutoff t0+1h = %d, want %d", got, want)
	}
	n, err = e.auth.DeleteExpiredRefreshTokens(ctx, t0.Add(ttl+45*time.Minute))
	if err != nil {
		t.Fatalf("DeleteExpiredRefreshTokens: %v", err)
	}
	if got, want := n, int64(2); got != want {
		t.Fatalf("deleted at cutoff t0+1h45m = %d, want %d", got, want)
	}
	n, err = e.auth.DeleteExpiredRefreshTokens(ctx, t0.Add(ttl+45*time.Minute))
	if err != nil {
		t.Fatalf("DeleteExpiredRefreshTokens again: %v", err)
	}
	if got, want := n, int64(0); got != want {
		t.Fatalf("deleted on second run = %d, want %d", got, want)
	}
	var left int
	if err := e.db.Pool.QueryRow(ctx, `SELECT count(*) FROM refresh_tokens`).Scan(&left); err != nil {
		t.Fatal(err)
	}
	if got, want := left, 1; got != want {
		t.Fatalf("refresh tokens left = %d, want %d", got, want)
	}
}

func emailOf(t *testing.T, e *env, id string) string {
	t.Helper()
	u, err := e.auth.FindUserByID(context.Background(), id)
	if err != nil {
		t.Fatalf("FindUserByID: %v", err)
	}
	return u.Email
}

func TestAuthFindUsers(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 0)
	ctx := context.Background()
	a := e.user(t, domain.RoleBuyer)
	b := e.user(t, domain.RoleSeller)

	users, err := e.auth.FindUsersByIDs(ctx, []string{b.UserID, "usr_unknown", a.UserID, ""})
	if err != nil {
		t.Fatalf("FindUsersByIDs: %v", err)
	}
	got := sorted(ids(users, func(u *domain.User) string { return u.ID }))
	want := sorted([]string{a.UserID, b.UserID})
	if !slices.Equal(got, want) {
		t.Fatalf("FindUsersByIDs = %v, want %v", got, want)
	}
	users, err = e.auth.FindUsersByIDs(ctx, []string{"usr_unknown"})
	if err != nil {
		t.Fatalf("FindUsersByIDs(unknown): %v", err)
	}
	if len(users) != 0 {
		t.Fatalf("FindUsersByIDs(unknown) = %d users, want 0", len(users))
	}
	users, err = e.auth.FindUsersByIDs(ctx, nil)
	if err != nil {
		t.Fatalf("FindUsersByIDs(nil): %v", err)
	}
	if len(users) != 0 {
		t.Fatalf("FindUsersByIDs(nil) = %d users, want 0", len(users))
	}

	u, err := e.auth.FindUserByID(ctx, b.UserID)
	if err != nil {
		t.Fatalf("FindUserByID: %v", err)
	}
	if got, want := u.Role, domain.RoleSeller; got != want {
		t.Fatalf("role = %q, want %q", got, want)
	}
	_, err = e.auth.FindUserByID(ctx, "usr_unknown")
	wantCode(t, err, domain.ENOTFOUND)
}
