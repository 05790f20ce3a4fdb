package main

import (
	"testing"
	"time"
)

// TestWaitingRoomPositionsLive: the last of five buyers sees, over /ws
// and the myQueueTicket subscription, a position that only falls as the
// head is admitted one a second, then ADMITTED with a purchase token that
// buys.
func TestWaitingRoomPositionsLive(t *testing.T) {
	a := startApp(t, func(c *Config) { c.Queue = QueueConfig{AdmitPerSecond: 1, AdmissionTTL: time.Minute} })
	_, eventID := a.waitingRoomEvent(t, 10, -time.Second)
	bs := a.buyers(t, 5)
	last := bs[4]
	w := a.dial(t, last.token, nil)
	w.send(t, map[string]any{"type": "ping"})
	w.next(t, 5*time.Second, "pong", frameIs("pong"))
	for _, c := range bs {
		c.join(t, eventID)
	}
	g := a.subscribeClient(t, last.token)
	g.next(t, "connection_ack", func(m map[string]any) bool { return m["type"] == "connection_ack" })
	if err := g.conn.WriteJSON(map[string]any{"id": "q", "type": "subscribe", "payload": map[string]any{
		"query":     `subscription($e: ID!) { myQueueTicket(eventId: $e) { status position waiting purchaseToken { token } } }`,
		"variables": map[string]any{"e": eventID},
	}}); err != nil {
		t.Fatal(err)
	}
	// Over /ws: positions that never grow, then the admission.
	prev := 6.0
	var token string
	for token == "" {
		f := w.next(t, 10*time.Second, "a queue frame", frameIs("queue", "eventId", eventID))
		switch f["status"] {
		case "WAITING":
			p, ok := f["position"].(float64)
			if !ok || p > prev || p < 1 {
				t.Fatalf("position %v after %v: %v", f["position"], prev, f)
			}
			if _, ok := f["estimatedWaitMs"].(float64); !ok {
				t.Fatalf("a WAITING frame without estimatedWaitMs: %v", f)
			}
			prev = p
		case "ADMITTED":
			token = f["purchaseToken"].(map[string]any)["token"].(string)
		default:
			t.Fatalf("frame %v", f)
		}
	}
	if prev != 1 {
		t.Fatalf("last position shown %v, want 1 before the admission", prev)
	}
	// The subscription: the first ticket, then the admission with the
	// same token.
	var subStatuses []string
	for {
		m := g.next(t, "a ticket update", func(m map[string]any) bool { return m["id"] == "q" })
		tk := payloadData(m, "myQueueTicket")
		if tk == nil {
			t.Fatalf("subscription message %v", m)
		}
		subStatuses = append(subStatuses, tk["status"].(string))
		if tk["status"] == "ADMITTED" {
			if pt, _ := tk["purchaseToken"].(map[string]any); pt["token"] != token {
				t.Fatalf("subscription token %v, /ws token %s", pt, token)
			}
			break
		}
	}
	if r := last.buy(t, eventID, token, 1, "live"); r.Outcome != "RESERVED" {
		t.Fatalf("buy with the admission's token: %s (subscription saw %v)", r.Outcome, subStatuses)
	}
}

// TestWaitingRoomResumedOnANewConnection: a buyer who joined the queue
// with no socket open (or reloads the page, or lands on another
// instance) is shown their ticket as soon as a signed-in /ws connection
// joins the event's room, before any notice about it, then its moves down
// to the admission. The event starts a few seconds later, so that the
// first frame can only be the resumed one (WAITING, its position drawn at
// the start). Once admitted, a new connection is shown the admission with
// a purchase token that buys.
func TestWaitingRoomResumedOnANewConnection(t *testing.T) {
	a := startApp(t, func(c *Config) { c.Queue = QueueConfig{AdmitPerSecond: 1, AdmissionTTL: time.Minute} })
	seller, _, room := a.liveRoom(t)
	p := seller.newProduct(t, "Queued item", 10)
	now := a.Clock.Now()
	ev := seller.newEvent(t, map[string]any{
		"productId": p.ID, "liveRoomId": room, "priceCents": 500, "stock": 10, "perUserLimit": 1, "waitingRoom": true,
		"startsAt": ts(now.Add(8 * time.Second)), "endsAt": ts(now.Add(time.Hour)),
	})
	bs := a.buyers(t, 4)
	for _, c := range bs {
		c.join(t, ev.ID)
	}
	last := bs[3]
	w := a.dial(t, last.token, nil)
	w.send(t, map[string]any{"type": "join", "room": room})
	f := w.next(t, 5*time.Second, "the resumed queue frame", frameIs("queue", "eventId", ev.ID))
	if f["status"] != "WAITING" {
		t.Fatalf("first queue frame %v, want the resumed WAITING ticket", f)
	}
	// Signing in after the join resumes the ticket too.
	anon := a.dial(t, "", nil)
	anon.send(t, map[string]any{"type": "join", "room": room})
	anon.next(t, 5*time.Second, "the anonymous snapshot", frameIs("snapshot", "room", room))
	anon.send(t, map[string]any{"type": "auth", "token": bs[2].token})
	g := anon.next(t, 5*time.Second, "the queue frame after a late sign-in", frameIs("queue", "eventId", ev.ID))
	if g["status"] != "WAITING" {
		t.Fatalf("queue frame after the auth frame %v, want the WAITING ticket", g)
	}
	for f["status"] != "ADMITTED" {
		f = w.next(t, 20*time.Second, "the admission", frameIs("queue", "eventId", ev.ID))
		if f["status"] != "WAITING" && f["status"] != "ADMITTED" {
			t.Fatalf("frame %v", f)
		}
	}
	pt, _ := f["purchaseToken"].(map[string]any)
	if pt["token"] == nil {
		t.Fatalf("ADMITTED frame without its token: %v", f)
	}
	// A reload once admitted: the new connection is shown the admission,
	// with a token that buys.
	w2 := a.dial(t, last.token, nil)
	w2.send(t, map[string]any{"type": "join", "room": room})
	g = w2.next(t, 5*time.Second, "the resumed admission", frameIs("queue", "eventId", ev.ID))
	pt2, _ := g["purchaseToken"].(map[string]any)
	if g["status"] != "ADMITTED" || pt2["token"] == nil {
		t.Fatalf("first queue frame of a new connection once admitted: %v, want ADMITTED with its token", g)
	}
	if pt2["expiresAt"] != pt["expiresAt"] {
		t.Fatalf("resumed admission expires at %v, the admission at %v", pt2["expiresAt"], pt["expiresAt"])
	}
	if r := last.buy(t, ev.ID, pt2["token"].(string), 1, "resumed"); r.Outcome != "RESERVED" {
		t.Fatalf("buy with the resumed admission's token: %s", r.Outcome)
	}
}
