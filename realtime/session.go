package realtime

import (
	"context"
	"encoding/json"
	"sync"
	"time"

	"flashlive/domain"
)

// subjectRevoked carries revoked sessions between instances; data: a
// revocationNotice.
const subjectRevoked = "fl.session.revoked"

type revocationNotice struct {
	UserID    string    `json:"userId"`
	SessionID string    `json:"sessionId"`
	At        time.Time `json:"at"`
}

// SessionRevoked implements domain.RevocationNotifier: the session's
// members here are signed out at once, and every instance is told to do
// the same with its own (and to refuse the session's tokens, through
// Config.Revoked). It never blocks.
func (h *Hub) SessionRevoked(r domain.Revocation) {
	if r.SessionID == "" {
		return
	}
	h.endSession(r)
	data := mustJSON(revocationNotice{UserID: r.UserID, SessionID: r.SessionID, At: r.At})
	if err := h.cfg.Broker.Publish(subjectRevoked, data); err != nil {
		h.cfg.Logger.Warn("realtime: publish revoked session", "user_id", r.UserID, "err", err)
	}
}

// onRevoked applies a revocation heard from any instance, this one
// included.
func (h *Hub) onRevoked(_ string, data []byte) {
	var n revocationNotice
	if err := json.Unmarshal(data, &n); err != nil || n.UserID == "" || n.SessionID == "" {
		h.cfg.Logger.Warn("realtime: malformed revocation notice", "err", err)
		return
	}
	h.endSession(domain.Revocation{UserID: n.UserID, SessionID: n.SessionID, At: n.At})
}

// endSession tells Config.Revoked of r first, then signs out the members
// here that follow r's user under r's session. In that order, a sign-in
// racing with it is caught either here or by its second check (see
// follow).
func (h *Hub) endSession(r domain.Revocation) {
	h.cfg.Revoked.SessionRevoked(r)
	h.signOutEach(sessionRevoked, func() (ended []member) {
		for m := range h.users[r.UserID] {
			if m.seats().session == r.SessionID {
				ended = append(ended, m)
			}
		}
		return ended
	})
}

// expire signs out the members whose token has expired. It looks at one
// set per second of expiry (h.expiring), not at every member: a few
// hundred map entries a second for a 15-minute token, however many
// viewers.
func (h *Hub) expire() {
	now := h.cfg.Now().Unix()
	h.signOutEach(tokenExpired, func() (ended []member) {
		for k, ms := range h.expiring {
			if k <= now {
				for m := range ms {
					ended = append(ended, m)
				}
			}
		}
		return ended
	})
}

// signOutEach signs out the members pick finds (pick runs under mu), then
// tells each why.
func (h *Hub) signOutEach(why signOut, pick func() []member) {
	h.mu.Lock()
	ended := pick()
	for _, m := range ended {
		h.signOutLocked(m)
	}
	h.mu.Unlock()
	for _, m := range ended {
		m.signedOut(why)
	}
}

// follow signs m in as p, whose token is token, then checks the token
// once more: a revocation that endSession handled between the first
// check and the sign-in did not find m, but has told Config.Revoked, so
// the second check refuses the token and m is signed out again.
func (h *Hub) follow(m member, p domain.Principal, token string) error {
	h.signIn(m, p)
	ctx, cancel := context.WithTimeout(context.Background(), sourceTimeout)
	defer cancel()
	if _, err := h.cfg.Authenticate(ctx, token); err != nil {
		h.mu.Lock()
		h.signOutLocked(m)
		h.mu.Unlock()
		return err
	}
	return nil
}

// WatchSession calls end, once, when p's token expires or p's session is
// revoked, on any instance, unless stop is called first; reason says which
// in a few words. end is called from the hub's goroutines and must not
// block. A p without a user is never ended.
func (h *Hub) WatchSession(p domain.Principal, end func(reason string)) (stop func()) {
	if p.UserID == "" {
		return func() {}
	}
	w := &watch{end: end, at: seats{rooms: map[string]struct{}{}}}
	h.signIn(w, p)
	return func() { h.unregister(w) }
}

// watch is one WatchSession: a member that follows a user's sign-in and
// is sent nothing.
type watch struct {
	end  func(reason string)
	once sync.Once
	at   seats // guarded by hub.mu
}

var _ member = (*watch)(nil)

func (w *watch) deliver(*message) {}
func (w *watch) shut()            {}
func (w *watch) seats() *seats    { return &w.at }

func (w *watch) signedOut(why signOut) { w.once.Do(func() { w.end(why.reason) }) }
