package main

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"flashlive/internal/testenv"
)

// wsClient is a viewer on /ws; frames arrive on Frames until the socket
// closes.
type wsClient struct {
	conn   *websocket.Conn
	Frames chan map[string]any
}

// dial opens /ws as a viewer (token may be "").
func (a *testApp) dial(t testing.TB, token string, header http.Header) *wsClient {
	t.Helper()
	url := "ws://" + a.Addr() + "/ws"
	if token != "" {
		url += "?token=" + token
	}
	conn, res, err := websocket.DefaultDialer.Dial(url, header)
	if err != nil {
		status := 0
		if res != nil {
			status = res.StatusCode
		}
		t.Fatalf("dial /ws: %v (status %d)", err, status)
	}
	w := &wsClient{conn: conn, Frames: make(chan map[string]any, 4096)}
	go func() {
		defer close(w.Frames)
		for {
			_, data, err := conn.ReadMessage()
			if err != nil {
				return
			}
			var f map[string]any
			if json.Unmarshal(data, &f) == nil {
				w.Frames <- f
			}
		}
	}()
	t.Cleanup(func() { _ = conn.Close() })
	return w
}

func (w *wsClient) send(t testing.TB, v any) {
	t.Helper()
	if err := w.conn.WriteJSON(v); err != nil {
		t.Fatalf("send %v: %v", v, err)
	}
}

// next returns the first frame that satisfies match, skipping others.
func (w *wsClient) next(t testing.TB, within time.Duration, what string, match func(map[string]any) bool) map[string]any {
	t.Helper()
	deadline := time.After(within)
	for {
		select {
		case f, ok := <-w.Frames:
			if !ok {
				t.Fatalf("socket closed while waiting for %s", what)
			}
			if match(f) {
				return f
			}
		case <-deadline:
			t.Fatalf("no %s within %s", what, within)
		}
	}
}

func frameIs(typ string, kv ...any) func(map[string]any) bool {
	return func(f map[string]any) bool {
		if f["type"] != typ {
			return false
		}
		for i := 0; i+1 < len(kv); i += 2 {
			if f[kv[i].(string)] != kv[i+1] {
				return false
			}
		}
		return true
	}
}

func TestLiveRoomFeed(t *testing.T) {
	app := startApp(t, nil)
	seller, _ := app.register(t, "SELLER")
	p := seller.newProduct(t, "Live item", 10)
	room := seller.newRoom(t, "Live now")
	seller.must(t, startRoom, map[string]any{"id": room}, nil)
	starts := time.Now().Add(2500 * time.Millisecond)
	ev := seller.newEvent(t, map[string]any{
		"productId": p.ID, "liveRoomId": room, "priceCents": 100, "stock": 3, "perUserLimit": 3,
		"startsAt": ts(starts), "endsAt": ts(starts.Add(time.Hour)),
	})
	bs := app.buyers(t, 1)
	buyer := bs[0]

	viewer := app.dial(t, "", nil)
	viewer.send(t, map[string]any{"type": "join", "room": room})
	snap := viewer.next(t, 5*time.Second, "snapshot", frameIs("snapshot", "room", room))
	events := snap["events"].([]any)
	if len(events) != 1 || events[0].(map[string]any)["eventId"] != ev.ID || events[0].(map[string]any)["status"] != "SCHEDULED" ||
		events[0].(map[string]any)["remaining"] != float64(3) {
		t.Fatalf("snapshot = %v", snap)
	}
	if _, err := time.Parse(time.RFC3339, snap["serverTime"].(string)); err != nil || !strings.HasSuffix(snap["serverTime"].(string), "Z") {
		t.Fatalf("serverTime %v", snap["serverTime"])
	}
	cd := viewer.next(t, 3*time.Second, "countdown", frameIs("countdown", "eventId", ev.ID))
	if s := cd["secondsLeft"].(float64); s < 0 || s > 3 {
		t.Fatalf("countdown %v", cd)
	}
	viewer.next(t, 5*time.Second, "LIVE", frameIs("event", "eventId", ev.ID, "status", "LIVE"))

	// The buyer watches too, signed in, and buys all three units.
	own := app.dial(t, buyer.token, nil)
	own.send(t, map[string]any{"type": "join", "room": room})
	own.next(t, 5*time.Second, "snapshot", frameIs("snapshot"))
	a := buyer.buy(t, ev.ID, buyer.purchaseToken(t, ev.ID), 3, "all")
	if a.Outcome != "RESERVED" {
		t.Fatalf("purchase: %s", a.Outcome)
	}
	viewer.next(t, 3*time.Second, "stock 0", frameIs("stock", "eventId", ev.ID, "remaining", float64(0)))
	viewer.next(t, 3*time.Second, "SOLD_OUT", frameIs("event", "eventId", ev.ID, "status", "SOLD_OUT"))
	own.next(t, 3*time.Second, "order PENDING", frameIs("order", "orderId", a.Order.ID, "status", "PENDING"))
	own.next(t, 5*time.Second, "order AWAITING_PAYMENT", frameIs("order", "orderId", a.Order.ID, "status", "AWAITING_PAYMENT"))
	buyer.must(t, payMutation, map[string]any{"id": a.Order.ID}, nil)
	own.next(t, 3*time.Second, "order PAID", frameIs("order", "orderId", a.Order.ID, "status", "PAID"))

	// Nobody else got the buyer's order frames.
	viewer.send(t, map[string]any{"type": "ping"})
	for {
		f := viewer.next(t, 3*time.Second, "pong", func(map[string]any) bool { return true })
		if f["type"] == "order" {
			t.Fatalf("an anonymous viewer got an order frame: %v", f)
		}
		if f["type"] == "pong" {
			break
		}
	}

	// The room's audience: two viewers.
	testenv.WaitFor(t, 10*time.Second, "viewerCount 2", func() bool {
		var out struct{ LiveRoom struct{ ViewerCount int } }
		app.anon().must(t, `query($id: ID!) { liveRoom(id: $id) { viewerCount } }`, map[string]any{"id": room}, &out)
		return out.LiveRoom.ViewerCount == 2
	})
}

func TestLiveRejectsHostileClients(t *testing.T) {
	app := startApp(t, func(c *Config) { c.Env = EnvProd; c.AllowedOrigins = []string{"https://shop.example.com"} })

	// A foreign Origin, and a bad token, are refused before the upgrade.
	for _, tc := range []struct {
		url    string
		origin string
		status int
	}{
		{"/ws", "https://evil.example.com", http.StatusForbidden},
		{"/ws?token=forged", "", http.StatusUnauthorized},
	} {
		h := http.Header{}
		if tc.origin != "" {
			h.Set("Origin", tc.origin)
		}
		_, res, err := websocket.DefaultDialer.Dial("ws://"+app.Addr()+tc.url, h)
		if err == nil || res == nil || res.StatusCode != tc.status {
			t.Fatalf("%s from %q: err %v, status %v; want %d", tc.url, tc.origin, err, res, tc.status)
		}
	}
	app.dial(t, "", http.Header{"Origin": []string{"https://shop.example.com"}}) // allowed

	w := app.dial(t, "", nil)
	for _, bad := range []string{`not json`, `{"type":"dance"}`, `{"type":"join","room":"evt_x"}`, `{"type":"join","room":"room_nosuch"}`, `{"type":"auth","token":"forged"}`} {
		if err := w.conn.WriteMessage(websocket.TextMessage, []byte(bad)); err != nil {
			t.Fatal(err)
		}
		f := w.next(t, 3*time.Second, "error frame for "+bad, frameIs("error"))
		if f["message"] == "" {
			t.Fatalf("empty error message for %s", bad)
		}
	}
	// An oversized frame closes the connection (the write itself may
	// already see the reset); the server lives on.
	_ = w.conn.WriteMessage(websocket.TextMessage, []byte(`{"type":"ping","pad":"`+strings.Repeat("x", 10_000)+`"}`))
	testenv.WaitFor(t, 5*time.Second, "the oversized sender to be disconnected", func() bool {
		select {
		case _, ok := <-w.Frames:
			return !ok
		default:
			return false
		}
	})
	other := app.dial(t, "", nil)
	other.send(t, map[string]any{"type": "ping"})
	other.next(t, 3*time.Second, "pong", frameIs("pong"))
}

// TestLiveAcrossInstances runs two servers on one PostgreSQL, Redis and
// NATS: a purchase on A reaches a viewer on B, and both count the room's
// viewers on both.
func TestLiveAcrossInstances(t *testing.T) {
	a, b := startPair(t)

	seller, _ := a.register(t, "SELLER")
	p := seller.newProduct(t, "Shared", 5)
	room := seller.newRoom(t, "Two instances")
	ev := seller.newEvent(t, map[string]any{
		"productId": p.ID, "liveRoomId": room, "priceCents": 100, "stock": 5, "perUserLimit": 5,
		"startsAt": ts(time.Now().Add(-time.Second)), "endsAt": ts(time.Now().Add(time.Hour)),
	})
	onA, onB := a.dial(t, "", nil), b.dial(t, "", nil)
	for _, v := range []*wsClient{onA, onB} {
		v.send(t, map[string]any{"type": "join", "room": room})
		v.next(t, 5*time.Second, "snapshot", frameIs("snapshot"))
	}
	buyer := a.buyers(t, 1)[0]
	if r := buyer.buy(t, ev.ID, buyer.purchaseToken(t, ev.ID), 2, "k"); r.Outcome != "RESERVED" {
		t.Fatalf("purchase on A: %s", r.Outcome)
	}
	onB.next(t, 5*time.Second, "the purchase on A, seen on B", frameIs("stock", "eventId", ev.ID, "remaining", float64(3)))
	onA.next(t, 5*time.Second, "the purchase on A, seen on A", frameIs("stock", "eventId", ev.ID, "remaining", float64(3)))
	for name, app := range map[string]*testApp{"A": a, "B": b} {
		testenv.WaitFor(t, 10*time.Second, "viewerCount 2 on "+name, func() bool {
			var out struct{ LiveRoom struct{ ViewerCount int } }
			app.anon().must(t, `query($id: ID!) { liveRoom(id: $id) { viewerCount } }`, map[string]any{"id": room}, &out)
			return out.LiveRoom.ViewerCount == 2
		})
	}
	onB.next(t, 10*time.Second, "viewers 2 on B", frameIs("viewers", "room", room, "count", float64(2)))
}
