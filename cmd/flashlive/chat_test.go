package main

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"flashlive/domain"
	"flashlive/internal/testenv"
)

const (
	sendChat    = `mutation($room: ID!, $text: String!) { sendChatMessage(roomId: $room, text: $text) { id roomId text sentAt author { id displayName } } }`
	deleteChat  = `mutation($id: ID!) { deleteChatMessage(id: $id) }`
	muteChat    = `mutation($room: ID!, $user: ID!, $min: Int!) { muteChatUser(roomId: $room, userId: $user, minutes: $min) }`
	chatHistory = `query($room: ID!, $last: Int) { chatMessages(roomId: $room, last: $last) { id text author { id displayName } } }`
)

type chatMsg struct {
	ID, RoomID, Text, SentAt string
	Author                   struct{ ID, DisplayName string }
}

func (c *client) chat(t testing.TB, room, text string) chatMsg {
	t.Helper()
	var out struct{ SendChatMessage chatMsg }
	c.must(t, sendChat, map[string]any{"room": room, "text": text}, &out)
	return out.SendChatMessage
}

func (a *testApp) history(t testing.TB, room string, last int) []chatMsg {
	t.Helper()
	var out struct{ ChatMessages []chatMsg }
	a.anon().must(t, chatHistory, map[string]any{"room": room, "last": last}, &out)
	return out.ChatMessages
}

// liveRoom makes a seller with a LIVE room.
func (a *testApp) liveRoom(t testing.TB) (*client, session, string) {
	t.Helper()
	seller, who := a.register(t, "SELLER")
	room := seller.newRoom(t, "Chat room")
	seller.must(t, startRoom, map[string]any{"id": room}, nil)
	return seller, who, room
}

func TestChatRules(t *testing.T) {
	app := startApp(t, func(c *Config) {
		c.Chat = DefaultChat
		c.Chat.FilterWords = []string{"darn"}
		c.Chat.AuthorLimit = domain.Limit{Rate: 1, Burst: 3, Period: time.Hour}
	})
	seller, _ := app.register(t, "SELLER")
	room := seller.newRoom(t, "Chat rules")
	buyer, me := app.register(t, "BUYER")
	other, them := app.register(t, "BUYER")

	// Every attempt at a room-shaped ID is charged to its author's budget
	// before the room is read, so the refusals below come from a third
	// buyer: buyer keeps its 3 messages for the rules after them.
	prober, _ := app.register(t, "BUYER")
	t.Run("room not LIVE", func(t *testing.T) {
		prober.wantCode(t, "CONFLICT", sendChat, map[string]any{"room": room, "text": "hi"})
	})
	seller.must(t, startRoom, map[string]any{"id": room}, nil)
	t.Run("signed in only", func(t *testing.T) {
		app.anon().wantCode(t, "UNAUTHENTICATED", sendChat, map[string]any{"room": room, "text": "hi"})
	})
	t.Run("unknown room", func(t *testing.T) {
		prober.wantCode(t, "NOT_FOUND", sendChat, map[string]any{"room": "room_nope", "text": "hi"})
		prober.wantCode(t, "NOT_FOUND", sendChat, map[string]any{"room": "order_nope", "text": "hi"})
	})
	t.Run("refusals count against the budget", func(t *testing.T) {
		// prober spent 2 of its 3 on refusals (not the non-room ID): one
		// more refusal, and even a message to the LIVE room must wait.
		prober.wantCode(t, "NOT_FOUND", sendChat, map[string]any{"room": "room_nope2", "text": "hi"})
		prober.wantCode(t, "RATE_LIMITED", sendChat, map[string]any{"room": room, "text": "again"})
	})

	t.Run("length", func(t *testing.T) {
		for _, text := range []string{"", "  \n ", "\u202e\u200b", strings.Repeat("é", 501)} {
			other.wantCode(t, "INVALID", sendChat, map[string]any{"room": room, "text": text})
		}
	})
	var first chatMsg
	t.Run("trimmed, cleaned, filtered; no e-mail", func(t *testing.T) {
		first = buyer.chat(t, room, "  what a DARN\u202e good ｄａｒｎ deal  ")
		if got, want := first.Text, "what a **** good **** deal"; got != want {
			t.Fatalf("text = %q, want %q", got, want)
		}
		if first.Author.ID != me.User.ID || first.Author.DisplayName != me.User.DisplayName || first.RoomID != room {
			t.Fatalf("message = %+v, want by %s in %s", first, me.User.ID, room)
		}
		long := buyer.chat(t, room, strings.Repeat("語", 500))
		if n := len([]rune(long.Text)); n != 500 {
			t.Fatalf("500 code points kept as %d", n)
		}
		r := buyer.post(t, chatHistory, map[string]any{"room": room, "last": 5})
		if strings.Contains(string(r.Data), "@") {
			t.Fatalf("chatMessages shows an e-mail: %s", r.Data)
		}
	})
	t.Run("rate limit", func(t *testing.T) {
		buyer.chat(t, room, "third")
		r := buyer.wantCode(t, "RATE_LIMITED", sendChat, map[string]any{"room": room, "text": "fourth"})
		if ms, _ := r.Errors[0].Extensions["retryAfterMs"].(float64); ms <= 0 {
			t.Fatalf("retryAfterMs = %v, want > 0", r.Errors[0].Extensions["retryAfterMs"])
		}
	})
	t.Run("a buyer may neither delete nor mute", func(t *testing.T) {
		other.wantCode(t, "FORBIDDEN", deleteChat, map[string]any{"id": first.ID})
		buyer.wantCode(t, "FORBIDDEN", deleteChat, map[string]any{"id": first.ID}) // its own, even
		other.wantCode(t, "FORBIDDEN", muteChat, map[string]any{"room": room, "user": me.User.ID, "min": 5})
		another, _ := app.register(t, "SELLER") // a seller, of another room
		another.wantCode(t, "FORBIDDEN", muteChat, map[string]any{"room": room, "user": me.User.ID, "min": 5})
		if h := app.history(t, room, 50); len(h) != 3 || h[0].ID != first.ID {
			t.Fatalf("history after refused deletes = %d messages, want 3 with the first", len(h))
		}
	})
	t.Run("mute", func(t *testing.T) {
		for _, m := range []int{0, 1441, -1} {
			seller.wantCode(t, "INVALID", muteChat, map[string]any{"room": room, "user": them.User.ID, "min": m})
		}
		other.chat(t, room, "before the mute")
		var out struct{ MuteChatUser bool }
		seller.must(t, muteChat, map[string]any{"room": room, "user": them.User.ID, "min": 5}, &out)
		if !out.MuteChatUser {
			t.Fatal("muteChatUser = false")
		}
		other.wantCode(t, "FORBIDDEN", sendChat, map[string]any{"room": room, "text": "after the mute"})
		// Through /ws too, with the frame's ref (the mute's end is
		// storage/redis's TestChatLogOrderDeleteMuteTrim).
		w := app.dial(t, other.token, nil)
		w.send(t, map[string]any{"type": "join", "room": room})
		w.next(t, 5*time.Second, "snapshot", frameIs("snapshot"))
		w.send(t, map[string]any{"type": "chat", "room": room, "text": "muted?", "ref": "m1"})
		w.next(t, 5*time.Second, "FORBIDDEN for m1", frameIs("error", "code", "FORBIDDEN", "ref", "m1"))
	})
	t.Run("ws frame rules", func(t *testing.T) {
		anon := app.dial(t, "", nil)
		anon.send(t, map[string]any{"type": "join", "room": room})
		anon.next(t, 5*time.Second, "snapshot", frameIs("snapshot"))
		anon.send(t, map[string]any{"type": "chat", "room": room, "text": "hi", "ref": "a1"})
		anon.next(t, 5*time.Second, "UNAUTHENTICATED for a1", frameIs("error", "code", "UNAUTHENTICATED", "ref", "a1"))
		fresh, _ := app.register(t, "BUYER")
		w := app.dial(t, fresh.token, nil)
		w.send(t, map[string]any{"type": "chat", "room": room, "text": "not joined", "ref": "j1"})
		w.next(t, 5*time.Second, "INVALID for j1", frameIs("error", "code", "INVALID", "ref", "j1"))
		w.send(t, map[string]any{"type": "join", "room": room})
		w.next(t, 5*time.Second, "snapshot", frameIs("snapshot"))
		w.send(t, map[string]any{"type": "chat", "room": room, "text": strings.Repeat("x", 501), "ref": "l1"})
		w.next(t, 5*time.Second, "INVALID for l1", frameIs("error", "code", "INVALID", "ref", "l1"))
		w.send(t, map[string]any{"type": "chat", "room": room, "text": " hello ", "ref": "ok1"})
		f := w.next(t, 5*time.Second, "the sender's copy", frameIs("chat", "ref", "ok1", "text", "hello"))
		anon.next(t, 5*time.Second, "the viewers' copy", frameIs("chat", "id", f["id"]))
	})
	t.Run("delete", func(t *testing.T) {
		var out struct{ DeleteChatMessage bool }
		seller.must(t, deleteChat, map[string]any{"id": first.ID}, &out)
		if !out.DeleteChatMessage {
			t.Fatal("deleteChatMessage = false for a message that existed")
		}
		seller.must(t, deleteChat, map[string]any{"id": first.ID}, &out)
		if out.DeleteChatMessage {
			t.Fatal("deleteChatMessage = true the second time")
		}
		seller.must(t, deleteChat, map[string]any{"id": "chat_nope_1-1"}, &out)
		if out.DeleteChatMessage {
			t.Fatal("deleteChatMessage = true for no message")
		}
		for _, m := range app.history(t, room, 50) {
			if m.ID == first.ID {
				t.Fatal("a deleted message is still in chatMessages")
			}
		}
	})
	t.Run("last out of range", func(t *testing.T) {
		app.anon().wantCode(t, "INVALID", chatHistory, map[string]any{"room": room, "last": 201})
		app.anon().wantCode(t, "INVALID", chatHistory, map[string]any{"room": room, "last": 0})
	})
}

// TestChatOneOrderAcrossInstances: 50 messages from 10 authors, half
// through sendChatMessage and half through /ws chat frames, on two
// instances, reach 200 viewers split over both in one order, the order
// chatMessages returns on either.
func TestChatOneOrderAcrossInstances(t *testing.T) {
	a, b := startPairWith(t, func(c *Config) {
		c.Chat = DefaultChat
		c.Chat.AuthorLimit, c.Chat.RoomLimit = domain.Limit{}, domain.Limit{}
		c.Limits.WSFrames = domain.Limit{}
	})
	apps := []*testApp{a, b}
	_, _, room := a.liveRoom(t)

	const viewers, authors, each = 200, 10, 5
	vs := make([]*wsClient, viewers)
	for i := range vs {
		vs[i] = apps[i%2].dial(t, "", nil)
		vs[i].send(t, map[string]any{"type": "join", "room": room})
	}
	for _, v := range vs {
		v.next(t, 10*time.Second, "snapshot", frameIs("snapshot"))
	}
	buyers := a.buyers(t, authors)
	var wg sync.WaitGroup
	for i, c := range buyers {
		app := apps[i%2]
		c.app = app
		if i < authors/2 { // GraphQL
			wg.Go(func() {
				for k := range each {
					if r := c.post(t, sendChat, map[string]any{"room": room, "text": fmt.Sprintf("gql %d.%d", i, k)}); len(r.Errors) > 0 {
						t.Errorf("sendChatMessage: %+v", r.Errors)
						return
					}
				}
			})
			continue
		}
		w := app.dial(t, c.token, nil)
		w.send(t, map[string]any{"type": "join", "room": room})
		w.next(t, 10*time.Second, "author's snapshot", frameIs("snapshot"))
		wg.Go(func() {
			for k := range each {
				ref := fmt.Sprintf("r%d.%d", i, k)
				w.send(t, map[string]any{"type": "chat", "room": room, "text": fmt.Sprintf("ws %d.%d", i, k), "ref": ref})
				f := w.next(t, 10*time.Second, "the sender's copy "+ref, func(f map[string]any) bool {
					if f["type"] == "error" {
						t.Errorf("chat frame refused: %v", f)
						return true
					}
					return f["type"] == "chat" && f["ref"] == ref
				})
				if a, _ := f["author"].(map[string]any); f["type"] == "chat" && a["id"] == nil {
					t.Errorf("sender's copy without author: %v", f)
				}
			}
		})
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	var want []string
	for _, m := range a.history(t, room, 200) {
		want = append(want, m.ID)
	}
	if len(want) != authors*each {
		t.Fatalf("chatMessages has %d messages, want %d", len(want), authors*each)
	}
	var fromB []string
	for _, m := range b.history(t, room, 200) {
		fromB = append(fromB, m.ID)
	}
	if got := strings.Join(fromB, ","); got != strings.Join(want, ",") {
		t.Fatalf("chatMessages differs between instances:\nA %v\nB %v", want, fromB)
	}
	for i, v := range vs {
		var got []string
		for len(got) < len(want) {
			f := v.next(t, 20*time.Second, fmt.Sprintf("chat frame %d of viewer %d", len(got)+1, i), frameIs("chat"))
			if f["ref"] != nil {
				t.Fatalf("viewer %d got a sender's copy: %v", i, f)
			}
			got = append(got, f["id"].(string))
		}
		if strings.Join(got, ",") != strings.Join(want, ",") {
			t.Fatalf("viewer %d (instance %d) got another order:\n got %v\nwant %v", i, i%2, got, want)
		}
	}
}

// startPairWith is startPair with the config edited (the same for both).
func startPairWith(t *testing.T, edit func(*Config)) (a, b *testApp) {
	t.Helper()
	a, b = startPair(t)
	cfg := a.Config
	edit(&cfg)
	if err := a.Main.Close(); err != nil {
		t.Fatal(err)
	}
	if err := b.Main.Close(); err != nil {
		t.Fatal(err)
	}
	a = openApp(t, cfg)
	cfg.HTTPAddr = "127.0.0.1:0"
	return a, openApp(t, cfg)
}

// TestChatDeletesAndSnapshot: a deleted message goes out as chat_deleted,
// a snapshot carries the last 20 messages oldest first, and the history
// survives a restart.
func TestChatDeletesAndSnapshotAndRestart(t *testing.T) {
	app := startApp(t, func(c *Config) {
		c.Chat = DefaultChat
		c.Chat.AuthorLimit = domain.Limit{}
	})
	seller, _, room := app.liveRoom(t)
	buyer := app.buyers(t, 1)[0]
	var sent []chatMsg
	for i := range 25 {
		sent = append(sent, buyer.chat(t, room, fmt.Sprintf("m%d", i)))
	}
	v := app.dial(t, "", nil)
	v.send(t, map[string]any{"type": "join", "room": room})
	snap := v.next(t, 5*time.Second, "snapshot", frameIs("snapshot"))
	chat, _ := snap["chat"].([]any)
	if len(chat) != 20 {
		t.Fatalf("snapshot chat has %d messages, want 20", len(chat))
	}
	for i, c := range chat {
		m := c.(map[string]any)
		if m["id"] != sent[5+i].ID || m["type"] != nil || m["text"] != sent[5+i].Text {
			t.Fatalf("snapshot chat[%d] = %v, want %s (oldest first, no type)", i, m, sent[5+i].ID)
		}
	}
	var out struct{ DeleteChatMessage bool }
	seller.must(t, deleteChat, map[string]any{"id": sent[24].ID}, &out)
	v.next(t, 5*time.Second, "chat_deleted", frameIs("chat_deleted", "room", room, "id", sent[24].ID))

	if err := app.Main.Close(); err != nil {
		t.Fatal(err)
	}
	app2 := openApp(t, app.Config)
	h := app2.history(t, room, 200)
	if len(h) != 24 || h[0].ID != sent[0].ID || h[23].ID != sent[23].ID {
		t.Fatalf("history after restart = %d messages, want the 24 left, in order", len(h))
	}
	w := app2.dial(t, "", nil)
	w.send(t, map[string]any{"type": "join", "room": room})
	s := w.next(t, 5*time.Second, "snapshot", frameIs("snapshot"))
	if c, _ := s["chat"].([]any); len(c) != 20 || c[19].(map[string]any)["id"] != sent[23].ID {
		t.Fatalf("snapshot after the restart = %v, want the last 20 ending %s", c, sent[23].ID)
	}
}

// TestChatStormKeepsStockFlowing: while a room's chat is flooded (its
// budget off), a purchase's stock frame still reaches a viewer of the
// room, in the middle of the flood; and with the room's budget on, the
// room's writers together are held to it.
func TestChatStormKeepsStockFlowing(t *testing.T) {
	app := startApp(t, func(c *Config) {
		c.Chat = DefaultChat
		c.Chat.AuthorLimit, c.Chat.RoomLimit = domain.Limit{}, domain.Limit{}
	})
	seller, _, room := app.liveRoom(t)
	p := seller.newProduct(t, "Storm", 5)
	ev := seller.newEvent(t, map[string]any{
		"productId": p.ID, "liveRoomId": room, "priceCents": 100, "stock": 5, "perUserLimit": 5,
		"startsAt": ts(time.Now().Add(-time.Second)), "endsAt": ts(time.Now().Add(time.Hour)),
	})
	v := app.dial(t, "", nil)
	v.send(t, map[string]any{"type": "join", "room": room})
	v.next(t, 5*time.Second, "snapshot", frameIs("snapshot"))

	stop := make(chan struct{})
	var wg sync.WaitGroup
	for i, c := range app.buyers(t, 8) {
		wg.Go(func() {
			for k := 0; ; k++ {
				select {
				case <-stop:
					return
				default:
				}
				if r := c.post(t, sendChat, map[string]any{"room": room, "text": fmt.Sprintf("storm %d.%d", i, k)}); len(r.Errors) > 0 {
					t.Errorf("storm message refused: %+v", r.Errors)
					return
				}
			}
		})
	}
	for range 40 {
		v.next(t, 10*time.Second, "the storm's chat frames", frameIs("chat"))
	}
	buyer := app.buyers(t, 1)[0]
	if r := buyer.buy(t, ev.ID, buyer.purchaseToken(t, ev.ID), 2, "k"); r.Outcome != "RESERVED" {
		t.Fatalf("purchase: %s", r.Outcome)
	}
	chats := 0
	v.next(t, 10*time.Second, "the stock frame, in the storm", func(f map[string]any) bool {
		if f["type"] == "chat" {
			chats++
		}
		return frameIs("stock", "eventId", ev.ID, "remaining", float64(2+1))(f)
	})
	close(stop)
	wg.Wait()
	t.Logf("%d chat frames came between the purchase and its stock frame", chats)
	if app.Hub.Dropped() != 0 {
		t.Fatalf("%d viewers dropped in the storm", app.Hub.Dropped())
	}
}

func TestChatRoomBudget(t *testing.T) {
	app := startApp(t, func(c *Config) {
		c.Chat = DefaultChat
		c.Chat.AuthorLimit = domain.Limit{}
		c.Chat.RoomLimit = domain.Limit{Rate: 1, Burst: 4, Period: time.Hour}
	})
	_, _, room := app.liveRoom(t)
	bs := app.buyers(t, 5)
	for _, b := range bs[:4] {
		b.chat(t, room, "within the room's budget")
	}
	r := bs[4].wantCode(t, "RATE_LIMITED", sendChat, map[string]any{"room": room, "text": "one too many for the room"})
	if ms, _ := r.Errors[0].Extensions["retryAfterMs"].(float64); ms <= 0 {
		t.Fatalf("retryAfterMs = %v", r.Errors[0].Extensions["retryAfterMs"])
	}
}

// TestLiveRoomExtrasSubscription: the subscription door carries a room's
// new and deleted messages, typed.
func TestLiveRoomExtrasSubscription(t *testing.T) {
	app := startApp(t, func(c *Config) { c.Chat = DefaultChat })
	seller, _, room := app.liveRoom(t)
	g := app.subscribeClient(t, "")
	g.next(t, "connection_ack", func(m map[string]any) bool { return m["type"] == "connection_ack" })
	if err := g.conn.WriteJSON(map[string]any{"id": "x", "type": "subscribe", "payload": map[string]any{
		"query": `subscription($id: ID!) { liveRoomExtras(id: $id) { __typename
			... on ChatMessage { id roomId text author { id displayName } }
			... on ChatMessageDeleted { roomId messageId }
			... on RedPacketRain { id status packetsLeft } } }`,
		"variables": map[string]any{"id": room},
	}}); err != nil {
		t.Fatal(err)
	}
	testenv.WaitFor(t, 5*time.Second, "the subscription in the room", func() bool { return app.Hub.ViewerCount(room) == 1 })
	buyer := app.buyers(t, 1)[0]
	m := buyer.chat(t, room, "hello subscribers")
	got := payloadData(g.next(t, "the message", func(x map[string]any) bool { return x["type"] == "next" }), "liveRoomExtras")
	if got["__typename"] != "ChatMessage" || got["id"] != m.ID || got["text"] != "hello subscribers" || got["roomId"] != room {
		t.Fatalf("extra = %v, want message %s", got, m.ID)
	}
	seller.must(t, deleteChat, map[string]any{"id": m.ID}, nil)
	got = payloadData(g.next(t, "the deletion", func(x map[string]any) bool { return x["type"] == "next" }), "liveRoomExtras")
	if got["__typename"] != "ChatMessageDeleted" || got["messageId"] != m.ID || got["roomId"] != room {
		t.Fatalf("extra = %v, want the deletion of %s", got, m.ID)
	}
	// The rain rides the same subscription: its packetsLeft as it drains.
	now := app.Clock.Now()
	rain := seller.newRain(t, room, 10, 2, now, now.Add(time.Hour))
	buyer.grab(t, rain.ID, "k")
	got = payloadData(g.next(t, "the rain with 1 left", func(x map[string]any) bool {
		d := payloadData(x, "liveRoomExtras")
		return x["type"] == "next" && d["__typename"] == "RedPacketRain" && d["packetsLeft"] == float64(1)
	}), "liveRoomExtras")
	if got["id"] != rain.ID || got["status"] != "LIVE" {
		t.Fatalf("extra = %v, want rain %s LIVE with 1 left", got, rain.ID)
	}
}
