package postgres

import (
	"context"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"

	"flashlive/domain"
)

// syncOverlap is how far back past the newest revocation it has seen
// SyncRevocations reads again: a revocation committed late, or stamped by
// an instance whose clock is a little behind, is still found.
const syncOverlap = time.Minute

// revocations are the sessions revoked within the access tokens' MaxAge,
// as this instance knows them: its own at once, other instances' as their
// notices arrive (SessionRevoked), and any notice lost on the way from
// PostgreSQL (SyncRevocations). Authenticate reads them without a query,
// so it keeps answering while PostgreSQL is away. An older revocation is
// forgotten: every token of its session has expired.
type revocations struct {
	mu     sync.RWMutex
	at     map[string]time.Time // session → when it was revoked
	synced time.Time            // when PostgreSQL was last read; zero before the first read
}

// revoked reports whether session is revoked.
func (l *revocations) revoked(session string) bool {
	l.mu.RLock()
	_, ok := l.at[session]
	l.mu.RUnlock()
	return ok
}

// add notes r, and reports whether it was new.
func (l *revocations) add(r domain.Revocation) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.at == nil {
		l.at = map[string]time.Time{}
	}
	if _, ok := l.at[r.SessionID]; ok {
		return false
	}
	l.at[r.SessionID] = r.At
	return true
}

// SessionRevoked implements domain.RevocationNotifier: from now on,
// Authenticate refuses the tokens of r's session. It is how this instance
// learns of a revocation made on another (the live feed relays them); it
// tells nobody.
func (s *AuthService) SessionRevoked(r domain.Revocation) {
	if r.SessionID != "" {
		s.revoked.add(r)
	}
}

// revoke notes a session revoked here and tells Revocations.
func (s *AuthService) revoke(r domain.Revocation) {
	s.revoked.add(r)
	s.Revocations.SessionRevoked(r)
}

// SyncRevocations reads the sessions revoked lately from PostgreSQL: on
// its first call, those of the last MaxAge (what a starting instance must
// refuse); then those since its last read, less syncOverlap. Those
// this instance had not heard of (a notice lost on the way) go to
// Revocations, except on the first call, when nothing is connected yet.
// It also forgets revocations older than MaxAge. Run it every few
// seconds: a lost notice is repaired within that time.
func (s *AuthService) SyncRevocations(ctx context.Context) error {
	now := s.db.Now()
	maxAge := s.tokens.MaxAge()
	s.revoked.mu.RLock()
	first, since := s.revoked.synced.IsZero(), s.revoked.synced.Add(-syncOverlap)
	s.revoked.mu.RUnlock()
	if first || since.Before(now.Add(-maxAge)) {
		since = now.Add(-maxAge)
	}
	rows, err := s.db.Pool.Query(ctx, `
		SELECT user_id, family_id, max(revoked_at) FROM refresh_tokens
		WHERE revoked_at > $1 GROUP BY user_id, family_id`, since)
	if err != nil {
		return translate(err, "read revoked sessions", "refresh token")
	}
	found, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (domain.Revocation, error) {
		var v domain.Revocation
		err := r.Scan(&v.UserID, &v.SessionID, &v.At)
		return v, err
	})
	if err != nil {
		return translate(err, "read revoked sessions", "refresh token")
	}
	var missed []domain.Revocation
	s.revoked.mu.Lock()
	if s.revoked.at == nil {
		s.revoked.at = map[string]time.Time{}
	}
	for _, r := range found {
		if _, ok := s.revoked.at[r.SessionID]; !ok {
			s.revoked.at[r.SessionID] = r.At
			missed = append(missed, r)
		}
	}
	s.revoked.synced = now
	for id, at := range s.revoked.at {
		if now.Sub(at) > maxAge {
			delete(s.revoked.at, id)
		}
	}
	s.revoked.mu.Unlock()
	if first {
		return nil
	}
	for _, r := range missed {
		s.Revocations.SessionRevoked(r)
	}
	return nil
}
