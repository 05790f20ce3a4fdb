package main

import (
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"flashlive/auth"
	natsstore "flashlive/storage/nats"
)

const logoutMutation = `mutation($t: String!) { logout(refreshToken: $t) }`

// startPair runs two servers on one PostgreSQL, Redis and NATS.
func startPair(t *testing.T) (a, b *testApp) {
	t.Helper()
	ns, err := natsstore.StartEmbedded(natsstore.EmbeddedOptions{StoreDir: t.TempDir(), Listen: "127.0.0.1:-1"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ns.Shutdown(); ns.WaitForShutdown() })
	a = startApp(t, func(c *Config) { c.NATSURL = ns.ClientURL() })
	cfgB := a.Config
	cfgB.HTTPAddr = "127.0.0.1:0"
	return a, openApp(t, cfgB)
}

// withoutOrders is match, failing the test on any order frame before the
// frame match takes.
func withoutOrders(t testing.TB, match func(map[string]any) bool) func(map[string]any) bool {
	return func(f map[string]any) bool {
		if f["type"] == "order" {
			t.Fatalf("a signed-out viewer got an order frame: %v", f)
		}
		return match(f)
	}
}

// pong pings w and waits for the answer (frames to a viewer come in the
// order the hub sent them); signedOut: failing on an order frame before it.
func (w *wsClient) pong(t testing.TB, signedOut bool) {
	t.Helper()
	w.send(t, map[string]any{"type": "ping"})
	match := frameIs("pong")
	if signedOut {
		match = withoutOrders(t, match)
	}
	w.next(t, 5*time.Second, "pong", match)
}

// closedWith waits for the subscription socket to close and checks its
// close code.
func (g *gqlWS) closedWith(t testing.TB, code int) {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		select {
		case _, ok := <-g.msgs:
			if ok {
				continue
			}
			err := <-g.err
			var ce *websocket.CloseError
			if !errors.As(err, &ce) || ce.Code != code {
				t.Fatalf("close = %v, want code %d", err, code)
			}
			return
		case <-deadline:
			t.Fatalf("the subscription socket is still open; want it closed with %d", code)
		}
	}
}

// TestLiveViewerWithExpiredTokenGetsNoOrderFrames: once the token a /ws
// viewer signed in with expires (a subscription socket opened with it
// closes with 4403), the viewer is told so, keeps its room
// (stock frames still come) and gets no order frames, while a connection
// of the same buyer with a fresh token gets them; an auth frame with a
// fresh token brings the order frames back, starting with the next change
// (none of those it missed).
func TestLiveViewerWithExpiredTokenGetsNoOrderFrames(t *testing.T) {
	// The clock moves past the access token's life: the payment window
	// and the event's must outlast that.
	app := startApp(t, func(c *Config) { c.PaymentTimeout = 3 * time.Hour })
	seller, _ := app.register(t, "SELLER")
	p := seller.newProduct(t, "Session item", 10)
	room := seller.newRoom(t, "Sessions")
	now := app.Clock.Now()
	ev := seller.newEvent(t, map[string]any{
		"productId": p.ID, "liveRoomId": room, "priceCents": 100, "stock": 5, "perUserLimit": 5,
		"startsAt": ts(now.Add(-time.Second)), "endsAt": ts(now.Add(3 * time.Hour)),
	})
	buyer, sess := app.register(t, "BUYER")
	expired := app.dial(t, buyer.token, nil)
	expired.send(t, map[string]any{"type": "join", "room": room})
	expired.next(t, 5*time.Second, "snapshot", frameIs("snapshot", "room", room))
	sub := app.subscribeClient(t, buyer.token)
	sub.next(t, "connection_ack", func(m map[string]any) bool { return m["type"] == "connection_ack" })

	app.Clock.Advance(auth.DefaultAccessTTL + auth.Leeway + time.Second)
	expired.next(t, 5*time.Second, "the expiry's error frame", withoutOrders(t, frameIs("error", "code", "UNAUTHENTICATED")))
	sub.closedWith(t, 4403)
	buyer.wantCode(t, "UNAUTHENTICATED", meQuery, nil)

	// The same sign-in, refreshed, on another connection.
	var r struct{ RefreshToken session }
	app.anon().must(t, refreshMutation, map[string]any{"t": sess.RefreshToken}, &r)
	buyer.token = r.RefreshToken.AccessToken
	fresh := app.dial(t, buyer.token, nil)
	fresh.pong(t, false)
	a := buyer.buy(t, ev.ID, buyer.purchaseToken(t, ev.ID), 1, "expired-viewer")
	if a.Outcome != "RESERVED" {
		t.Fatalf("purchase: %s", a.Outcome)
	}
	fresh.next(t, 5*time.Second, "order PENDING", frameIs("order", "orderId", a.Order.ID, "status", "PENDING"))
	fresh.next(t, 5*time.Second, "order AWAITING_PAYMENT", frameIs("order", "orderId", a.Order.ID, "status", "AWAITING_PAYMENT"))
	expired.next(t, 5*time.Second, "the purchase's stock frame", withoutOrders(t, frameIs("stock", "eventId", ev.ID, "remaining", float64(4))))

	// Signed in again: the next change is the first order frame it gets.
	// Order notices reach a hub one at a time, in order, so an order
	// frame of the time it was signed out would come before it.
	expired.send(t, map[string]any{"type": "auth", "token": buyer.token})
	expired.pong(t, true)
	buyer.must(t, payMutation, map[string]any{"id": a.Order.ID}, nil)
	f := expired.next(t, 5*time.Second, "an order frame", frameIs("order"))
	if f["orderId"] != a.Order.ID || f["status"] != "PAID" {
		t.Fatalf("first order frame after the auth frame = %v, want %s PAID", f, a.Order.ID)
	}
}

// TestSignOutEndsLiveSessionsOnEveryInstance: a logout, or a refresh
// token's reuse, on instance A signs out the session's /ws viewers on B
// (an UNAUTHENTICATED error frame, no more order frames) and closes its
// subscription sockets on B with 4403; B refuses the session's access
// tokens from then on. The buyer's other sign-in carries on.
func TestSignOutEndsLiveSessionsOnEveryInstance(t *testing.T) {
	for _, tc := range []struct {
		name string
		end  func(t *testing.T, on *testApp, s session) (revokedToo []string)
	}{
		{"logout", func(t *testing.T, on *testApp, s session) []string {
			on.anon().must(t, logoutMutation, map[string]any{"t": s.RefreshToken}, nil)
			return nil
		}},
		{"refresh token reuse", func(t *testing.T, on *testApp, s session) []string {
			var r struct{ RefreshToken session }
			on.anon().must(t, refreshMutation, map[string]any{"t": s.RefreshToken}, &r)
			on.anon().wantCode(t, "UNAUTHENTICATED", refreshMutation, map[string]any{"t": s.RefreshToken})
			return []string{r.RefreshToken.AccessToken}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a, b := startPair(t)
			_, ev := a.liveEvent(t, 5, 5)
			buyer, s := a.register(t, "BUYER")
			var login struct{ Login session }
			a.anon().must(t, loginMutation, map[string]any{"in": map[string]any{
				"email": s.User.Email, "password": "correct horse battery",
			}}, &login)
			other := &client{app: b, token: login.Login.AccessToken}

			viewer := b.dial(t, buyer.token, nil)
			viewer.pong(t, false)
			otherViewer := b.dial(t, other.token, nil)
			otherViewer.pong(t, false)
			sub := b.subscribeClient(t, buyer.token)
			sub.next(t, "connection_ack", func(m map[string]any) bool { return m["type"] == "connection_ack" })
			if err := sub.conn.WriteJSON(map[string]any{"id": "orders", "type": "subscribe", "payload": map[string]any{
				"query": `subscription { myOrderUpdates { id status } }`,
			}}); err != nil {
				t.Fatal(err)
			}

			revoked := append(tc.end(t, a, s), buyer.token)
			viewer.next(t, 10*time.Second, "the sign-out's error frame", withoutOrders(t, frameIs("error", "code", "UNAUTHENTICATED")))
			sub.closedWith(t, 4403)
			for _, tok := range revoked {
				(&client{app: b, token: tok}).wantCode(t, "UNAUTHENTICATED", meQuery, nil)
				_, res, err := websocket.DefaultDialer.Dial("ws://"+b.Addr()+"/ws?token="+tok, nil)
				if err == nil || res == nil || res.StatusCode != http.StatusUnauthorized {
					t.Fatalf("/ws with a revoked token: err %v, response %v; want 401", err, res)
				}
			}

			// The other sign-in still follows the buyer's orders.
			bought := other.buy(t, ev, other.purchaseToken(t, ev), 1, "other-session")
			if bought.Outcome != "RESERVED" {
				t.Fatalf("purchase: %s", bought.Outcome)
			}
			otherViewer.next(t, 5*time.Second, "order PENDING", frameIs("order", "orderId", bought.Order.ID, "status", "PENDING"))
			viewer.pong(t, true)
		})
	}
}
