package realtime

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"flashlive/domain"
)

// sessionClock is a hub clock the test moves.
type sessionClock struct{ offset atomic.Int64 }

func (c *sessionClock) Now() time.Time          { return time.Now().Add(time.Duration(c.offset.Load())) }
func (c *sessionClock) Advance(d time.Duration) { c.offset.Add(int64(d)) }

// tokenBook is the hub's Authenticate for these tests: a token is the
// name of a principal in it, refused once its session is revoked (told
// through SessionRevoked, as Config.Revoked is) or its expiry passed.
type tokenBook struct {
	clock   *sessionClock
	mu      sync.Mutex
	tokens  map[string]domain.Principal
	revoked []domain.Revocation
}

func (b *tokenBook) add(token string, p domain.Principal) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.tokens[token] = p
}

func (b *tokenBook) authenticate(_ context.Context, token string) (domain.Principal, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	p, ok := b.tokens[token]
	if !ok || !b.clock.Now().Before(p.ExpiresAt) {
		return domain.Principal{}, domain.Errorf(domain.EUNAUTHENTICATED, "the access token is not valid")
	}
	for _, r := range b.revoked {
		if r.SessionID == p.SessionID {
			return domain.Principal{}, domain.Errorf(domain.EUNAUTHENTICATED, "this session has ended")
		}
	}
	return p, nil
}

func (b *tokenBook) SessionRevoked(r domain.Revocation) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.revoked = append(b.revoked, r)
}

func (b *tokenBook) told() []domain.Revocation {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]domain.Revocation(nil), b.revoked...)
}

func newSessionHub(t *testing.T) (*Hub, string, *tokenBook) {
	t.Helper()
	book := &tokenBook{clock: &sessionClock{}, tokens: map[string]domain.Principal{}}
	h, srv := newTestHubWith(t, func(c *Config) {
		c.Authenticate = book.authenticate
		c.Revoked = book
		c.Now = book.clock.Now
	})
	return h, "ws" + strings.TrimPrefix(srv.URL, "http"), book
}

// viewer is a /ws connection whose frames the test reads in order.
type viewer struct {
	t    *testing.T
	conn *websocket.Conn
}

func dialViewer(t *testing.T, url, token string) *viewer {
	t.Helper()
	if token != "" {
		url += "?token=" + token
	}
	c, _, err := websocket.DefaultDialer.Dial(url, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return &viewer{t: t, conn: c}
}

func (v *viewer) send(f map[string]string) {
	v.t.Helper()
	if err := v.conn.WriteJSON(f); err != nil {
		v.t.Fatal(err)
	}
}

// next returns the next frame that is not a countdown, viewers or stock
// frame (the room's own clock).
func (v *viewer) next() map[string]any {
	v.t.Helper()
	_ = v.conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	for {
		_, data, err := v.conn.ReadMessage()
		if err != nil {
			v.t.Fatalf("read: %v", err)
		}
		var f map[string]any
		if err := json.Unmarshal(data, &f); err != nil {
			v.t.Fatalf("frame %q: %v", data, err)
		}
		switch f["type"] {
		case "countdown", "viewers", "stock", "event":
			continue
		}
		return f
	}
}

func (v *viewer) want(typ string, kv ...string) map[string]any {
	v.t.Helper()
	f := v.next()
	if f["type"] != typ {
		v.t.Fatalf("frame %v, want a %s frame", f, typ)
	}
	for i := 0; i+1 < len(kv); i += 2 {
		if f[kv[i]] != kv[i+1] {
			v.t.Fatalf("frame %v, want %s = %q", f, kv[i], kv[i+1])
		}
	}
	return f
}

// pingPong is the test's barrier: the memBroker hands notices over before
// Publish returns, so a frame they caused is written before the pong.
func (v *viewer) pingPong() {
	v.t.Helper()
	v.send(map[string]string{"type": "ping"})
	v.want("pong")
}

func order(id, buyer string) *domain.Order {
	return &domain.Order{ID: id, BuyerID: buyer, FlashEventID: "evt_1", Status: domain.OrderPaid}
}

// TestExpiredTokenStopsOrderFrames: a viewer whose token expires keeps
// its room but gets no more order frames, and is told why with an
// UNAUTHENTICATED error frame; an auth frame with a fresh token brings
// them back.
func TestExpiredTokenStopsOrderFrames(t *testing.T) {
	h, url, book := newSessionHub(t)
	exp := book.clock.Now().Add(time.Minute)
	book.add("old", domain.Principal{UserID: "usr_b", SessionID: "fam_1", ExpiresAt: exp})
	v := dialViewer(t, url, "old")
	v.send(map[string]string{"type": "join", "room": "room_1"})
	v.want("snapshot")
	h.OrderChanged(order("ord_1", "usr_b"))
	v.want("order", "orderId", "ord_1")

	book.clock.Advance(time.Minute)
	v.want("error", "code", "UNAUTHENTICATED")
	h.OrderChanged(order("ord_2", "usr_b"))
	v.pingPong() // no order frame before it
	h.broadcast("room_1", newMessage([]byte(`{"type":"burst"}`), nil))
	v.want("burst") // still in the room

	book.add("fresh", domain.Principal{UserID: "usr_b", SessionID: "fam_1", ExpiresAt: book.clock.Now().Add(time.Minute)})
	v.send(map[string]string{"type": "auth", "token": "fresh"})
	v.pingPong()
	h.OrderChanged(order("ord_3", "usr_b"))
	v.want("order", "orderId", "ord_3")

	// An expired token is refused, and changes nothing.
	v.send(map[string]string{"type": "auth", "token": "old"})
	v.want("error")
	h.OrderChanged(order("ord_4", "usr_b"))
	v.want("order", "orderId", "ord_4")

	h.mu.RLock()
	defer h.mu.RUnlock()
	if n := len(h.expiring); n != 1 {
		t.Fatalf("%d expiry seconds tracked, want 1 (the fresh token's)", n)
	}
}

// TestRevokedSessionEndsEverywhere: a revocation announced on one hub
// signs out that session's viewers, listeners and watches on every hub,
// tells each hub's Revoked first, and leaves the user's other sessions
// alone.
func TestRevokedSessionEndsEverywhere(t *testing.T) {
	book := &tokenBook{clock: &sessionClock{}, tokens: map[string]domain.Principal{}}
	broker := &memBroker{}
	hubs := make([]*Hub, 2)
	urls := make([]string, 2)
	for i := range hubs {
		h, srv := newTestHubWith(t, func(c *Config) {
			c.Authenticate, c.Revoked, c.Now, c.Broker = book.authenticate, book, book.clock.Now, broker
		})
		hubs[i], urls[i] = h, "ws"+strings.TrimPrefix(srv.URL, "http")
	}
	exp := book.clock.Now().Add(time.Hour)
	gone := domain.Principal{UserID: "usr_b", SessionID: "fam_gone", ExpiresAt: exp}
	kept := domain.Principal{UserID: "usr_b", SessionID: "fam_kept", ExpiresAt: exp}
	book.add("gone", gone)
	book.add("kept", kept)
	onA, onB, other := dialViewer(t, urls[0], "gone"), dialViewer(t, urls[1], "gone"), dialViewer(t, urls[1], "kept")
	for _, v := range []*viewer{onA, onB, other} {
		v.pingPong() // signed in
	}
	ctx, cancel := context.WithCancel(domain.NewContextWithPrincipal(context.Background(), gone))
	defer cancel()
	updates, err := hubs[1].Listen(ctx, "", "usr_b")
	if err != nil {
		t.Fatal(err)
	}
	ended := make(chan string, 2)
	defer hubs[1].WatchSession(gone, func(reason string) { ended <- reason })()
	defer hubs[1].WatchSession(kept, func(reason string) { ended <- "kept: " + reason })()

	r := domain.Revocation{UserID: "usr_b", SessionID: "fam_gone", At: book.clock.Now()}
	hubs[0].SessionRevoked(r)
	for _, v := range []*viewer{onA, onB} {
		v.want("error", "code", "UNAUTHENTICATED")
	}
	if got, want := <-ended, sessionRevoked.reason; got != want {
		t.Fatalf("watch ended with %q, want %q", got, want)
	}
	select {
	case why := <-ended:
		t.Fatalf("the other session's watch ended too: %q", why)
	default:
	}
	// A's hub applies it at once, then every hub (A too) as the broker
	// brings it.
	told := book.told()
	if len(told) != 3 {
		t.Fatalf("Revoked told %v, want %v three times", told, r)
	}
	for _, got := range told {
		if got.UserID != r.UserID || got.SessionID != r.SessionID || !got.At.Equal(r.At) {
			t.Fatalf("Revoked told %v, want %v", got, r)
		}
	}

	hubs[1].OrderChanged(order("ord_1", "usr_b"))
	other.want("order", "orderId", "ord_1")
	for _, v := range []*viewer{onA, onB} {
		v.pingPong() // no order frame before it
	}
	select {
	case u := <-updates:
		t.Fatalf("the revoked listener got %v", u)
	default:
	}

	// The revoked token cannot sign in again.
	onB.send(map[string]string{"type": "auth", "token": "gone"})
	onB.want("error")
}

// BenchmarkExpireIdle is the once-a-second expiry pass with 10,000
// signed-in listeners whose tokens expire over the next 15 minutes and
// none due: what every hub pays each second for expiries.
func BenchmarkExpireIdle(b *testing.B) {
	book := &tokenBook{clock: &sessionClock{}, tokens: map[string]domain.Principal{}}
	h, err := NewHub(Config{
		Source: oneRoom{}, Broker: &memBroker{}, Authenticate: book.authenticate, Now: book.clock.Now,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		b.Fatal(err)
	}
	defer h.Close()
	start := book.clock.Now().Add(time.Minute)
	for i := range 10_000 {
		p := domain.Principal{UserID: fmt.Sprintf("usr_%d", i), SessionID: fmt.Sprintf("fam_%d", i),
			ExpiresAt: start.Add(time.Duration(i%900) * time.Second)}
		ctx := domain.NewContextWithPrincipal(context.Background(), p)
		if _, err := h.Listen(ctx, "", p.UserID); err != nil {
			b.Fatal(err)
		}
	}
	b.ResetTimer()
	for b.Loop() {
		h.expire()
	}
}
