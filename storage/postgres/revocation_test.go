package postgres_test

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"flashlive/auth"
	"flashlive/domain"
	"flashlive/storage/postgres"
)

// revocationLog is a RevocationNotifier that keeps what it is told.
type revocationLog struct {
	mu  sync.Mutex
	got []domain.Revocation
}

func (l *revocationLog) SessionRevoked(r domain.Revocation) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.got = append(l.got, r)
}

func (l *revocationLog) take() []domain.Revocation {
	l.mu.Lock()
	defer l.mu.Unlock()
	got := l.got
	l.got = nil
	return got
}

// instance is another AuthService on e's database: another process.
func (e *env) instance(t testing.TB) (*postgres.AuthService, *revocationLog) {
	t.Helper()
	tokens, err := auth.NewTokens(testSecret, 0, nil)
	if err != nil {
		t.Fatalf("NewTokens: %v", err)
	}
	s := postgres.NewAuthService(e.db, auth.NewHasher(testParams, 0), tokens, 0)
	log := &revocationLog{}
	s.Revocations = log
	return s, log
}

// sameRevocations reports whether got is want, times compared as instants.
func sameRevocations(got, want []domain.Revocation) bool {
	if len(got) != len(want) {
		return false
	}
	for i := range got {
		if got[i].UserID != want[i].UserID || got[i].SessionID != want[i].SessionID || !got[i].At.Equal(want[i].At) {
			return false
		}
	}
	return true
}

func authenticates(t *testing.T, s *postgres.AuthService, token string) domain.Principal {
	t.Helper()
	p, err := s.Authenticate(context.Background(), token)
	if err != nil {
		t.Fatalf("Authenticate: %v", err)
	}
	return p
}

func refused(t *testing.T, s *postgres.AuthService, token string) {
	t.Helper()
	_, err := s.Authenticate(context.Background(), token)
	wantCode(t, err, domain.EUNAUTHENTICATED)
}

// TestAuthLogoutRevokesAccessTokens: once a sign-in is logged out, its
// access tokens are refused at once, those refreshed from it too, and
// Revocations is told once; another sign-in of the same user is not.
func TestAuthLogoutRevokesAccessTokens(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 0)
	ctx := context.Background()
	s, log := e.instance(t)
	a := register(t, e, "hana@example.com", domain.RoleBuyer)
	other, err := s.Login(ctx, "hana@example.com", password)
	if err != nil {
		t.Fatalf("Login: %v", err)
	}
	b, err := s.Refresh(ctx, a.RefreshToken)
	if err != nil {
		t.Fatalf("Refresh: %v", err)
	}
	pa, pb, po := authenticates(t, s, a.AccessToken), authenticates(t, s, b.AccessToken), authenticates(t, s, other.AccessToken)
	if pa.SessionID == "" || pb.SessionID != pa.SessionID || po.SessionID == pa.SessionID {
		t.Fatalf("sessions: a %q, refreshed %q, other sign-in %q; want a = refreshed, other apart", pa.SessionID, pb.SessionID, po.SessionID)
	}
	if !pa.ExpiresAt.Equal(a.ExpiresAt) {
		t.Fatalf("ExpiresAt = %s, want the session's %s", pa.ExpiresAt, a.ExpiresAt)
	}

	if err := s.Logout(ctx, b.RefreshToken); err != nil {
		t.Fatalf("Logout: %v", err)
	}
	refused(t, s, a.AccessToken)
	refused(t, s, b.AccessToken)
	authenticates(t, s, other.AccessToken)
	want := []domain.Revocation{{UserID: a.User.ID, SessionID: pa.SessionID, At: e.clock.Now()}}
	if got := log.take(); !sameRevocations(got, want) {
		t.Fatalf("revocations told: %v, want %v", got, want)
	}
	if err := s.Logout(ctx, b.RefreshToken); err != nil {
		t.Fatalf("Logout again: %v", err)
	}
	if got := log.take(); len(got) != 0 {
		t.Fatalf("a second Logout told %v, want nothing", got)
	}
}

// TestAuthRefreshReuseRevokesAccessTokens: a used refresh token coming
// back revokes the whole sign-in, access tokens included.
func TestAuthRefreshReuseRevokesAccessTokens(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 0)
	ctx := context.Background()
	s, log := e.instance(t)
	a := register(t, e, "iris@example.com", domain.RoleBuyer)
	b, err := s.Refresh(ctx, a.RefreshToken)
	if err != nil {
		t.Fatalf("Refresh: %v", err)
	}
	session := authenticates(t, s, b.AccessToken).SessionID
	_, err = s.Refresh(ctx, a.RefreshToken)
	wantCode(t, err, domain.EUNAUTHENTICATED)
	refused(t, s, a.AccessToken)
	refused(t, s, b.AccessToken)
	want := []domain.Revocation{{UserID: a.User.ID, SessionID: session, At: e.clock.Now()}}
	if got := log.take(); !sameRevocations(got, want) {
		t.Fatalf("revocations told: %v, want %v", got, want)
	}
}

// TestAuthSyncRevocations: an instance that did not hear of a revocation
// (its notice lost) learns it from PostgreSQL on its next sync and tells
// its Revocations; one starting afterwards refuses the session's tokens
// from its first sync, telling nobody (nothing of it is connected yet);
// SessionRevoked, the notice heard, needs no sync.
func TestAuthSyncRevocations(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 0)
	ctx := context.Background()
	x, _ := e.instance(t)
	y, yLog := e.instance(t)
	if err := y.SyncRevocations(ctx); err != nil {
		t.Fatalf("SyncRevocations: %v", err)
	}
	a := register(t, e, "june@example.com", domain.RoleBuyer)
	session := authenticates(t, y, a.AccessToken).SessionID

	if err := x.Logout(ctx, a.RefreshToken); err != nil {
		t.Fatalf("Logout: %v", err)
	}
	authenticates(t, y, a.AccessToken) // y has heard nothing yet
	if err := y.SyncRevocations(ctx); err != nil {
		t.Fatalf("SyncRevocations: %v", err)
	}
	refused(t, y, a.AccessToken)
	want := []domain.Revocation{{UserID: a.User.ID, SessionID: session, At: e.clock.Now()}}
	if got := yLog.take(); !sameRevocations(got, want) {
		t.Fatalf("revocations told after the sync: %v, want %v", got, want)
	}
	if err := y.SyncRevocations(ctx); err != nil {
		t.Fatalf("SyncRevocations: %v", err)
	}
	if got := yLog.take(); len(got) != 0 {
		t.Fatalf("a second sync told %v, want nothing", got)
	}

	z, zLog := e.instance(t)
	authenticates(t, z, a.AccessToken) // z has not synced yet
	if err := z.SyncRevocations(ctx); err != nil {
		t.Fatalf("SyncRevocations: %v", err)
	}
	refused(t, z, a.AccessToken)
	if got := zLog.take(); len(got) != 0 {
		t.Fatalf("a first sync told %v, want nothing", got)
	}

	b := register(t, e, "kate@example.com", domain.RoleBuyer)
	w, wLog := e.instance(t)
	w.SessionRevoked(domain.Revocation{UserID: b.User.ID, SessionID: authenticates(t, w, b.AccessToken).SessionID, At: e.clock.Now()})
	refused(t, w, b.AccessToken)
	if got := wLog.take(); len(got) != 0 {
		t.Fatalf("SessionRevoked told %v, want nothing", got)
	}
}

// BenchmarkAuthenticate is the cost of a request's token check: the
// signature alone ("verify"), and Authenticate, which adds the revoked
// sessions' lookup, with 10,000 of them known ("authenticate").
func BenchmarkAuthenticate(b *testing.B) {
	e := newEnv(b, 0)
	ctx := context.Background()
	s, err := e.auth.Register(ctx, domain.Registration{
		Email: "bench@example.com", Password: password, DisplayName: "Bench", Role: domain.RoleBuyer,
	})
	if err != nil {
		b.Fatal(err)
	}
	for i := range 10_000 {
		e.auth.SessionRevoked(domain.Revocation{UserID: "usr_x", SessionID: fmt.Sprintf("fam_%d", i), At: e.clock.Now()})
	}
	tokens, err := auth.NewTokens(testSecret, 0, nil)
	if err != nil {
		b.Fatal(err)
	}
	b.Run("verify", func(b *testing.B) {
		for b.Loop() {
			if _, err := tokens.Verify(s.AccessToken); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("authenticate", func(b *testing.B) {
		for b.Loop() {
			if _, err := e.auth.Authenticate(ctx, s.AccessToken); err != nil {
				b.Fatal(err)
			}
		}
	})
}
