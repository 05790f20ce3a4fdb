package realtime

import (
	"context"
	"strings"
	"sync"
	"sync/atomic"

	"flashlive/domain"
)

// Listen hands, until ctx ends, the updates a viewer would get as frames,
// typed: those of roomID (none when "") and the order updates of userID
// (none when ""), in the order the hub sent them, each a domain.LiveUpdate
// (no snapshot: a listener reads the room itself). When ctx carries
// userID's principal, the order updates stop (the channel stays open)
// once its token expires or its session is revoked; UNAUTHENTICATED when
// it has expired already. The channel closes when
// ctx ends, when the hub closes, or when the listener falls QueueSize
// updates behind (a slow listener is dropped, as a slow viewer is); what
// is still in it may be read first. NOT_FOUND for an unknown room.
func (h *Hub) Listen(ctx context.Context, roomID, userID string) (<-chan domain.LiveUpdate, error) {
	l := &listener{
		hub:     h,
		updates: make(chan domain.LiveUpdate, h.cfg.QueueSize),
		at:      seats{rooms: map[string]struct{}{}},
	}
	if roomID != "" {
		if !strings.HasPrefix(roomID, domain.PrefixLiveRoom) {
			return nil, domain.Errorf(domain.ENOTFOUND, "live room not found")
		}
		sctx, cancel := context.WithTimeout(ctx, sourceTimeout)
		events, err := h.cfg.Source.RoomEvents(sctx, roomID)
		cancel()
		if err != nil {
			return nil, err
		}
		h.watch(events)
		if h.chat != nil {
			h.chat.track(roomID)
		}
		h.addToRoom(l, roomID)
	}
	if userID != "" {
		p, ok := domain.PrincipalFromContext(ctx)
		if !ok || p.UserID != userID {
			p = domain.Principal{UserID: userID}
		}
		if !p.ExpiresAt.IsZero() && !h.cfg.Now().Before(p.ExpiresAt) {
			h.unregister(l)
			return nil, domain.Errorf(domain.EUNAUTHENTICATED, "the access token has expired; sign in again")
		}
		h.signIn(l, p)
	}
	// Close shuts the members it finds in the hub's sets once it has
	// stopped the hub: a listener either is among them, or sees the hub
	// stopped here.
	if h.stopped() {
		h.unregister(l)
		return l.updates, nil
	}
	l.mu.Lock()
	if !l.closed { // not dropped already
		l.stopWatch = context.AfterFunc(ctx, func() { h.unregister(l) })
	}
	l.mu.Unlock()
	return l.updates, nil
}

// listener is one Hub.Listen: the member of the hub that is a channel. It
// has no goroutine of its own: a broadcast puts its update straight into
// the channel, without waiting, and the listener's context ending
// unregisters it.
type listener struct {
	hub     *Hub
	mu      sync.Mutex // orders deliveries before the close of updates
	updates chan domain.LiveUpdate
	closed  bool        // guarded by mu: updates is closed
	once    sync.Once   // shut
	slow    atomic.Bool // dropped for being too slow
	// stopWatch stops watching the listener's context; guarded by mu.
	stopWatch func() bool

	at seats // guarded by hub.mu
}

var _ member = (*listener)(nil)

// seats implements member.
func (l *listener) seats() *seats { return &l.at }

// deliver implements member: it hands m's update over without ever
// blocking. A listener that has QueueSize updates waiting is too slow: it
// is dropped, and counted in Dropped once.
func (l *listener) deliver(m *message) {
	if m.update == nil {
		return
	}
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return
	}
	select {
	case l.updates <- m.update:
		l.mu.Unlock()
		return
	default:
	}
	l.mu.Unlock()
	if l.slow.CompareAndSwap(false, true) {
		l.hub.dropped.Add(1)
	}
	l.hub.unregister(l)
}

// signedOut implements member: a listener's order updates just stop.
func (l *listener) signedOut(signOut) {}

// shut implements member: it closes the channel once, and stops watching
// the listener's context.
func (l *listener) shut() {
	l.once.Do(func() {
		l.mu.Lock()
		defer l.mu.Unlock()
		l.closed = true
		close(l.updates)
		if l.stopWatch != nil {
			l.stopWatch()
		}
	})
}
