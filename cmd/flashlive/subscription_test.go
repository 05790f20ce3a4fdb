package main

import (
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"flashlive/internal/testenv"
)

// gqlWS is a graphql-transport-ws client (the protocol of the graphql-ws
// npm client and Apollo).
type gqlWS struct {
	conn *websocket.Conn
	msgs chan map[string]any
	err  chan error
}

func (a *testApp) subscribeClient(t testing.TB, token string) *gqlWS {
	t.Helper()
	d := websocket.Dialer{Subprotocols: []string{"graphql-transport-ws"}}
	conn, _, err := d.Dial("ws://"+a.Addr()+"/graphql", nil)
	if err != nil {
		t.Fatalf("dial /graphql: %v", err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	g := &gqlWS{conn: conn, msgs: make(chan map[string]any, 256), err: make(chan error, 1)}
	go func() {
		defer close(g.msgs)
		for {
			var m map[string]any
			if err := conn.ReadJSON(&m); err != nil {
				g.err <- err
				return
			}
			g.msgs <- m
		}
	}()
	payload := map[string]any{}
	if token != "" {
		payload["Authorization"] = "Bearer " + token
	}
	if err := conn.WriteJSON(map[string]any{"type": "connection_init", "payload": payload}); err != nil {
		t.Fatal(err)
	}
	return g
}

func (g *gqlWS) next(t testing.TB, what string, match func(map[string]any) bool) map[string]any {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		select {
		case m, ok := <-g.msgs:
			if !ok {
				t.Fatalf("socket closed waiting for %s: %v", what, <-g.err)
			}
			if match(m) {
				return m
			}
		case <-deadline:
			t.Fatalf("no %s", what)
		}
	}
}

// payloadData returns next.payload.data.<field> of a "next" message.
func payloadData(m map[string]any, field string) map[string]any {
	p, _ := m["payload"].(map[string]any)
	d, _ := p["data"].(map[string]any)
	v, _ := d[field].(map[string]any)
	return v
}

func TestGraphQLSubscriptions(t *testing.T) {
	app := startApp(t, nil)
	seller, _ := app.register(t, "SELLER")
	p := seller.newProduct(t, "Subscribed", 5)
	room := seller.newRoom(t, "Subscriptions")
	ev := seller.newEvent(t, map[string]any{
		"productId": p.ID, "liveRoomId": room, "priceCents": 100, "stock": 5, "perUserLimit": 5,
		"startsAt": ts(time.Now().Add(-time.Second)), "endsAt": ts(time.Now().Add(time.Hour)),
	})
	buyer := app.buyers(t, 1)[0]
	var me struct{ Me struct{ ID string } }
	buyer.must(t, meQuery, nil, &me)

	g := app.subscribeClient(t, buyer.token)
	g.next(t, "connection_ack", func(m map[string]any) bool { return m["type"] == "connection_ack" })
	if err := g.conn.WriteJSON(map[string]any{"id": "room", "type": "subscribe", "payload": map[string]any{
		"query":     `subscription($id: ID!) { liveRoom(id: $id) { __typename ... on StockLevel { eventId remaining status } } }`,
		"variables": map[string]any{"id": room},
	}}); err != nil {
		t.Fatal(err)
	}
	if err := g.conn.WriteJSON(map[string]any{"id": "orders", "type": "subscribe", "payload": map[string]any{
		"query": `subscription { myOrderUpdates { id status } }`,
	}}); err != nil {
		t.Fatal(err)
	}
	testenv.WaitFor(t, 10*time.Second, "the subscriptions to be registered", func() bool {
		return app.Hub.ViewerCount(room) == 1 && app.Hub.Followers(me.Me.ID) == 1
	})
	a := buyer.buy(t, ev.ID, buyer.purchaseToken(t, ev.ID), 2, "sub")
	if a.Outcome != "RESERVED" {
		t.Fatalf("purchase: %s", a.Outcome)
	}
	// The stock update and the order updates come in any order relative
	// to each other; an order's updates come in the order they happened.
	var stock map[string]any
	var orderStatuses []string
	for stock == nil || len(orderStatuses) < 2 {
		m := g.next(t, "the purchase's updates", func(map[string]any) bool { return true })
		if s := payloadData(m, "liveRoom"); m["id"] == "room" && s["__typename"] == "StockLevel" && s["remaining"] == float64(3) {
			stock = s
		}
		if o := payloadData(m, "myOrderUpdates"); m["id"] == "orders" && o["id"] == a.Order.ID {
			orderStatuses = append(orderStatuses, o["status"].(string))
		}
	}
	if stock["eventId"] != ev.ID || stock["status"] != "LIVE" {
		t.Fatalf("stock update %v", stock)
	}
	if orderStatuses[0] != "PENDING" || orderStatuses[1] != "AWAITING_PAYMENT" {
		t.Fatalf("order updates %v, want PENDING then AWAITING_PAYMENT", orderStatuses)
	}

	// An anonymous subscriber may watch a room but has no orders.
	anon := app.subscribeClient(t, "")
	anon.next(t, "connection_ack", func(m map[string]any) bool { return m["type"] == "connection_ack" })
	if err := anon.conn.WriteJSON(map[string]any{"id": "o", "type": "subscribe", "payload": map[string]any{"query": `subscription { myOrderUpdates { id } }`}}); err != nil {
		t.Fatal(err)
	}
	anon.next(t, "an error for myOrderUpdates", func(m map[string]any) bool {
		return m["type"] == "error" || (m["type"] == "next" && m["payload"].(map[string]any)["errors"] != nil)
	})
}

// TestLiveRoomSubscriptionCarriesTypedUpdates: a subscriber to a room is
// handed what changed as the hub built it, field for field: a stock
// change, a status change with the event, the room's audience (the
// subscriber counts in it), and a countdown whose startsAt is the event's
// own (a typed time from the hub: there is no text to misparse on the
// way, so it is never a zero time).
func TestLiveRoomSubscriptionCarriesTypedUpdates(t *testing.T) {
	app := startApp(t, nil)
	seller, _ := app.register(t, "SELLER")
	p := seller.newProduct(t, "Typed", 10)
	room := seller.newRoom(t, "Typed updates")
	live := seller.newEvent(t, eventInput(p.ID, room, time.Now().Add(-time.Second), 5))
	soon := seller.newEvent(t, eventInput(p.ID, room, time.Now().Add(30*time.Minute+123*time.Millisecond), 5))
	buyer := app.buyers(t, 1)[0]

	g := app.subscribeClient(t, "")
	g.next(t, "connection_ack", func(m map[string]any) bool { return m["type"] == "connection_ack" })
	if err := g.conn.WriteJSON(map[string]any{"id": "room", "type": "subscribe", "payload": map[string]any{
		"query": `subscription($id: ID!) { liveRoom(id: $id) { __typename
			... on StockLevel { eventId remaining status }
			... on FlashEventChanged { event { id status } }
			... on ViewerCount { roomId count }
			... on CountdownTick { eventId startsAt secondsLeft } } }`,
		"variables": map[string]any{"id": room},
	}}); err != nil {
		t.Fatal(err)
	}
	testenv.WaitFor(t, 10*time.Second, "the subscriber in the room's audience", func() bool {
		var out struct{ LiveRoom struct{ ViewerCount int } }
		app.anon().must(t, `query($id: ID!) { liveRoom(id: $id) { viewerCount } }`, map[string]any{"id": room}, &out)
		return out.LiveRoom.ViewerCount == 1
	})
	// Countdowns and the audience come on their own clocks: the first of
	// each kind is kept until asked for.
	firsts := map[string]map[string]any{}
	update := func(what, typename string) map[string]any {
		t.Helper()
		for firsts[typename] == nil {
			m := g.next(t, what, func(m map[string]any) bool { return m["id"] == "room" })
			u := payloadData(m, "liveRoom")
			name, _ := u["__typename"].(string)
			if name == "" {
				t.Fatalf("waiting for %s: %v", what, m)
			}
			if firsts[name] == nil {
				firsts[name] = u
			}
		}
		u := firsts[typename]
		delete(firsts, typename)
		return u
	}
	exactly := func(what string, got, want map[string]any) {
		t.Helper()
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("%s = %v, want %v", what, got, want)
		}
	}

	cd := update("a countdown", "CountdownTick")
	left, _ := cd["secondsLeft"].(float64)
	if left < 29*60 || left > 30*60 {
		t.Fatalf("countdown secondsLeft %v, want about 1800", cd["secondsLeft"])
	}
	exactly("countdown", cd, map[string]any{
		"__typename": "CountdownTick", "eventId": soon.ID, "startsAt": soon.StartsAt, "secondsLeft": left,
	})
	exactly("audience", update("the audience", "ViewerCount"), map[string]any{
		"__typename": "ViewerCount", "roomId": room, "count": float64(1),
	})

	if a := buyer.buy(t, live.ID, buyer.purchaseToken(t, live.ID), 2, "typed"); a.Outcome != "RESERVED" {
		t.Fatalf("purchase: %s", a.Outcome)
	}
	exactly("stock update", update("the purchase's stock update", "StockLevel"), map[string]any{
		"__typename": "StockLevel", "eventId": live.ID, "remaining": float64(3), "status": "LIVE",
	})

	seller.must(t, closeEvent, map[string]any{"id": live.ID}, nil)
	exactly("status update", update("the close's status update", "FlashEventChanged"), map[string]any{
		"__typename": "FlashEventChanged", "event": map[string]any{"id": live.ID, "status": "CLOSED"},
	})
}

func TestSubscriptionBadTokenCloses4403(t *testing.T) {
	app := startApp(t, nil)
	g := app.subscribeClient(t, "forged.token.here")
	for range g.msgs {
	}
	err := <-g.err
	var ce *websocket.CloseError
	if !errors.As(err, &ce) || ce.Code != 4403 {
		t.Fatalf("close = %v, want code 4403", err)
	}
}
