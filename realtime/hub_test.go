package realtime

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"flashlive/domain"
	"flashlive/internal/testenv"
)

// memBroker is an in-process Broker: what one hub publishes, every hub
// subscribed gets (exact subjects and one trailing ".*").
type memBroker struct {
	mu   sync.Mutex
	subs map[int]memSub
	next int
}

type memSub struct {
	subject string
	handle  func(string, []byte)
}

func (b *memBroker) Publish(subject string, data []byte) error {
	b.mu.Lock()
	var hs []func(string, []byte)
	for _, s := range b.subs {
		if s.subject == subject || (strings.HasSuffix(s.subject, ".*") && strings.HasPrefix(subject, strings.TrimSuffix(s.subject, "*"))) {
			hs = append(hs, s.handle)
		}
	}
	b.mu.Unlock()
	for _, h := range hs {
		h(subject, data)
	}
	return nil
}

func (b *memBroker) Subscribe(subject string, handle func(string, []byte)) (func(), error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.subs == nil {
		b.subs = map[int]memSub{}
	}
	id := b.next
	b.next++
	b.subs[id] = memSub{subject, handle}
	return func() { b.mu.Lock(); delete(b.subs, id); b.mu.Unlock() }, nil
}

// oneRoom is a Source with one room and one LIVE event.
type oneRoom struct{}

func (oneRoom) RoomEvents(_ context.Context, room string) ([]EventState, error) {
	if room != "room_1" {
		return nil, domain.Errorf(domain.ENOTFOUND, "no such room")
	}
	return []EventState{{EventID: "evt_1", RoomID: "room_1", Status: "LIVE", Remaining: 5, StartsAt: time.Now(), EndsAt: time.Now().Add(time.Hour)}}, nil
}

func (s oneRoom) EventState(ctx context.Context, id string) (EventState, error) {
	es, _ := s.RoomEvents(ctx, "room_1")
	return es[0], nil
}

func newTestHub(t *testing.T, queue int) (*Hub, *httptest.Server) {
	t.Helper()
	return newTestHubWith(t, func(c *Config) { c.QueueSize = queue })
}

// newTestHubWith serves a hub over oneRoom, configured by set.
func newTestHubWith(t *testing.T, set func(*Config)) (*Hub, *httptest.Server) {
	t.Helper()
	cfg := Config{
		Source: oneRoom{}, Broker: &memBroker{}, Instance: "test",
		Authenticate: func(context.Context, string) (domain.Principal, error) {
			return domain.Principal{}, domain.Errorf(domain.EUNAUTHENTICATED, "no")
		},
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	}
	set(&cfg)
	h, err := NewHub(cfg)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(func() { srv.Close(); h.Close() })
	return h, srv
}

func joinRoom(t *testing.T, srv *httptest.Server) *websocket.Conn {
	t.Helper()
	c, _, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(srv.URL, "http"), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	if err := c.WriteJSON(map[string]string{"type": "join", "room": "room_1"}); err != nil {
		t.Fatal(err)
	}
	return c
}

// TestSlowViewerIsDisconnected: a viewer that never reads is cut off once
// its queue fills, and never holds up the viewer that keeps reading, who
// gets every frame.
func TestSlowViewerIsDisconnected(t *testing.T) {
	h, srv := newTestHub(t, 256)
	slow := joinRoom(t, srv)
	fast := joinRoom(t, srv)
	_ = slow

	const frames = 3000
	// The room's pace is the reading viewer's: no more than 2*pace frames
	// are ever sent and not yet read, fewer than its queue holds, so only
	// the viewer that never reads can fall behind.
	const pace = 64
	pad := strings.Repeat("x", 4000) // fills the slow viewer's socket buffers fast
	var read atomic.Int64
	got := make(chan int, 1)
	go func() {
		n := 0
		for n < frames {
			_, data, err := fast.ReadMessage()
			if err != nil {
				break
			}
			if strings.Contains(string(data), `"type":"burst"`) {
				n++
				read.Store(int64(n))
			}
		}
		got <- n
	}()
	testenv.WaitFor(t, 10*time.Second, "both viewers in the room", func() bool { return h.ViewerCount("room_1") == 2 })
	for i := 0; i < frames; i++ {
		if i%pace == 0 {
			testenv.WaitFor(t, 30*time.Second, fmt.Sprintf("the reading viewer to read %d frames", i-pace), func() bool { return read.Load() >= int64(i-pace) })
		}
		h.broadcast("room_1", newMessage([]byte(`{"type":"burst","pad":"`+pad+`"}`), nil))
	}
	select {
	case n := <-got:
		if n != frames {
			t.Fatalf("the reading viewer got %d of %d frames", n, frames)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the reading viewer stalled")
	}
	if got := h.Dropped(); got != 1 {
		t.Fatalf("dropped = %d, want 1 (the viewer that never reads)", got)
	}
	testenv.WaitFor(t, 10*time.Second, "the slow viewer to leave the room", func() bool { return h.ViewerCount("room_1") == 1 })
}

// TestOrderFramesGoToTheBuyerOnly: an order notice reaches the buyer's
// connections and no one else's.
func TestOrderFramesGoToTheBuyerOnly(t *testing.T) {
	h, srv := newTestHub(t, 64)
	mine := joinRoom(t, srv)
	other := joinRoom(t, srv)
	testenv.WaitFor(t, 10*time.Second, "two viewers", func() bool { return h.ViewerCount("room_1") == 2 })
	h.mu.RLock()
	var first member
	for c := range h.rooms["room_1"] {
		first = c
		break
	}
	h.mu.RUnlock()
	h.signIn(first, domain.Principal{UserID: "usr_b"})
	h.OrderChanged(&domain.Order{ID: "ord_1", BuyerID: "usr_b", FlashEventID: "evt_1", Status: domain.OrderPaid})
	h.OrderChanged(&domain.Order{ID: "ord_2", BuyerID: "usr_other", Status: domain.OrderPaid})

	seen := map[*websocket.Conn]string{}
	for _, c := range []*websocket.Conn{mine, other} {
		_ = c.SetReadDeadline(time.Now().Add(time.Second))
		for {
			_, data, err := c.ReadMessage()
			if err != nil {
				break
			}
			if strings.Contains(string(data), `"type":"order"`) {
				seen[c] += string(data)
			}
		}
	}
	orders := seen[mine] + seen[other]
	if strings.Count(orders, `"orderId":"ord_1"`) != 1 || strings.Contains(orders, "ord_2") {
		t.Fatalf("order frames: %q / %q; want ord_1 once, to usr_b's connection only", seen[mine], seen[other])
	}
}
