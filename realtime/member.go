package realtime

import (
	"runtime"
	"sync"
	"time"

	"flashlive/domain"
)

// member is one of the hub's audience, as rooms, buyers and broadcasts
// see it: a viewer's socket (client, conn.go) or a listener's channel
// (listener, listen.go). The hub keeps both kinds in the same sets and
// sends both the same messages; how a message reaches a member, and what
// that member does with what it sends back, is its own business.
type member interface {
	// deliver hands m over without ever blocking: a socket is written
	// m.wire, a listener is handed m.update. A member that has QueueSize
	// things waiting is too slow and is disconnected.
	deliver(m *message)
	// shut disconnects the member, once; unregister then takes it out of
	// the hub's sets.
	shut()
	// seats is where the member sits in the hub; guarded by hub.mu.
	seats() *seats
	// signedOut tells the member that the hub has stopped sending it its
	// user's orders: the sign-in's token expired, or its session was
	// revoked. Called without hub.mu, never blocking.
	signedOut(why signOut)
}

// seats is where a member sits: the rooms it watches and the buyer whose
// orders it follows, under which sign-in and until when.
type seats struct {
	user    string    // "" for none
	session string    // the sign-in's SessionID; "" for none
	expires time.Time // when the sign-in's token expires; zero: never
	rooms   map[string]struct{}
}

// signOut is why a member stopped following its user's orders.
type signOut struct {
	reason  string // a few words, for a close frame
	message string // what a viewer is told
}

var (
	tokenExpired = signOut{
		reason:  "the access token has expired",
		message: "the access token has expired, so order frames have stopped; send an auth frame with a fresh token",
	}
	sessionRevoked = signOut{
		reason:  "the session was signed out",
		message: "this session was signed out, so order frames have stopped; sign in again and send an auth frame",
	}
)

// message is one broadcast, built once for every member it goes to: wire
// is the WebSocket frame of its JSON (what a socket is written), update
// the same change typed (what a listener is handed; nil for what
// listeners are not shown).
type message struct {
	wire   []byte
	update domain.LiveUpdate
}

func newMessage(data []byte, u domain.LiveUpdate) *message {
	return &message{wire: wsFrame(opText, data), update: u}
}

// addToRoom adds m to room's audience, unless m watches too many rooms.
func (h *Hub) addToRoom(m member, room string) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	s := m.seats()
	if _, ok := s.rooms[room]; !ok && len(s.rooms) >= maxRoomsPerConn {
		return false
	}
	s.rooms[room] = struct{}{}
	if h.rooms[room] == nil {
		h.rooms[room] = map[member]struct{}{}
	}
	h.rooms[room][m] = struct{}{}
	return true
}

// leaveRoom takes m out of room's audience.
func (h *Hub) leaveRoom(m member, room string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	delete(m.seats().rooms, room)
	h.dropFrom(h.rooms, room, m)
}

// signIn makes m follow p.UserID's orders, and no one else's, until p's
// token expires (see expire) or its session is revoked (see endSession).
func (h *Hub) signIn(m member, p domain.Principal) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.signOutLocked(m)
	s := m.seats()
	s.user, s.session, s.expires = p.UserID, p.SessionID, p.ExpiresAt
	if h.users[s.user] == nil {
		h.users[s.user] = map[member]struct{}{}
	}
	h.users[s.user][m] = struct{}{}
	if !s.expires.IsZero() {
		k := expirySecond(s.expires)
		if h.expiring[k] == nil {
			h.expiring[k] = map[member]struct{}{}
		}
		h.expiring[k][m] = struct{}{}
	}
}

// signOutLocked makes m follow nobody's orders; the caller holds mu.
func (h *Hub) signOutLocked(m member) {
	s := m.seats()
	if s.user == "" {
		return
	}
	h.dropFrom(h.users, s.user, m)
	if !s.expires.IsZero() {
		k := expirySecond(s.expires)
		delete(h.expiring[k], m)
		if len(h.expiring[k]) == 0 {
			delete(h.expiring, k)
		}
	}
	s.user, s.session, s.expires = "", "", time.Time{}
}

// expirySecond is the key of h.expiring for a token expiring at t: the
// Unix second at or after t, so a member is signed out at its expiry, not
// before.
func expirySecond(t time.Time) int64 {
	return t.Add(time.Second - time.Nanosecond).Unix()
}

// unregister disconnects m and takes it out of its rooms and its buyer's
// set.
func (h *Hub) unregister(m member) {
	m.shut()
	h.mu.Lock()
	defer h.mu.Unlock()
	s := m.seats()
	for room := range s.rooms {
		h.dropFrom(h.rooms, room, m)
	}
	h.signOutLocked(m)
}

// dropFrom takes m out of sets[key], and the set out of sets once empty;
// the caller holds mu.
func (h *Hub) dropFrom(sets map[string]map[member]struct{}, key string, m member) {
	delete(sets[key], m)
	if len(sets[key]) == 0 {
		delete(sets, key)
	}
}

// list lists set, which is one of the hub's sets: the caller holds mu.
func list[M comparable](set map[M]struct{}) []M {
	all := make([]M, 0, len(set))
	for m := range set {
		all = append(all, m)
	}
	return all
}

// fanoutShard is the fewest members worth a goroutine of their own.
const fanoutShard = 512

// fanout calls send for every member, split over up to GOMAXPROCS
// goroutines (each send to a socket is a system call: a room of 10,000
// viewers keeps every core busy for a while), and returns when all are
// done.
func fanout[M any](ms []M, send func(M)) {
	parts := min(runtime.GOMAXPROCS(0), (len(ms)+fanoutShard-1)/fanoutShard)
	if parts <= 1 {
		for _, m := range ms {
			send(m)
		}
		return
	}
	size := (len(ms) + parts - 1) / parts
	var wg sync.WaitGroup
	for i := size; i < len(ms); i += size {
		part := ms[i:min(i+size, len(ms))]
		wg.Go(func() {
			for _, m := range part {
				send(m)
			}
		})
	}
	for _, m := range ms[:size] {
		send(m)
	}
	wg.Wait()
}
