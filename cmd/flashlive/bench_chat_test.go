package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"sort"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"flashlive/domain"
	"flashlive/internal/testenv"
)

// BenchmarkChatFanout measures how long a flash sale's stock frame takes
// to reach every one of 5,000 /ws viewers of its room (from the purchase's
// press to each viewer's receipt; p50 and p99 over viewers and
// purchases), without chat and with the room's chat at 20 messages a
// second, sent through sendChatMessage by 10 authors while the sale runs.
// One op is one purchase and its stock frame reaching all viewers.
//
//	go test -run '^$' -bench BenchmarkChatFanout -benchtime 20x ./cmd/flashlive/
func BenchmarkChatFanout(b *testing.B) {
	const viewers = 5000
	app := startApp(b, func(c *Config) {
		c.Limits = Limits{} // 5,000 sockets from one address
		c.Chat = DefaultChat
		c.Chat.AuthorLimit, c.Chat.RoomLimit = domain.Limit{}, domain.Limit{}
		c.MaxUnpaidOrders = NoUnpaidCap
		c.LogLevel = 8 // quiet
	})
	seller, _, room := app.liveRoom(b)
	p := seller.newProduct(b, "Bench item", 1_000_000)
	now := app.Clock.Now()
	ev := seller.newEvent(b, map[string]any{
		"productId": p.ID, "liveRoomId": room, "priceCents": 100, "stock": 1_000_000, "perUserLimit": 1000,
		"startsAt": ts(now.Add(-time.Second)), "endsAt": ts(now.Add(time.Hour)),
	}).ID

	var want atomic.Int64 // the remaining figure the viewers wait for
	want.Store(-1)
	var got sync.WaitGroup
	var chats atomic.Int64
	arrivals := make([]time.Time, viewers)
	stock := []byte(`"type":"stock"`)
	for i := range viewers {
		conn, _, err := websocket.DefaultDialer.Dial("ws://"+app.Addr()+"/ws", nil)
		if err != nil {
			b.Fatalf("viewer %d: %v", i, err)
		}
		b.Cleanup(func() { _ = conn.Close() })
		if err := conn.WriteJSON(map[string]any{"type": "join", "room": room}); err != nil {
			b.Fatal(err)
		}
		go func() {
			doneAt := int64(math.MaxInt64) // the last figure this viewer was counted for
			for {
				_, data, err := conn.ReadMessage()
				if err != nil {
					return
				}
				if !bytes.Contains(data, stock) {
					if bytes.Contains(data, []byte(`"type":"chat"`)) {
						chats.Add(1)
					}
					continue
				}
				var f struct{ Remaining int64 }
				if json.Unmarshal(data, &f) != nil {
					continue
				}
				if w := want.Load(); w >= 0 && f.Remaining <= w && doneAt > w {
					arrivals[i] = time.Now()
					doneAt = w
					got.Done()
				}
			}
		}()
	}
	testenv.WaitFor(b, time.Minute, "every viewer in the room", func() bool { return app.Hub.ViewerCount(room) == viewers })
	buyer := app.buyers(b, 1)[0]
	authors := app.buyers(b, 10)

	run := func(b *testing.B, chatRate int) {
		token := buyer.purchaseToken(b, ev)
		stop := make(chan struct{})
		var storm sync.WaitGroup
		if chatRate > 0 {
			storm.Go(func() {
				t := time.NewTicker(time.Second / time.Duration(chatRate))
				defer t.Stop()
				// One author per tick, each writing on its own goroutine, so
				// that a slow answer does not lower the rate; an author still
				// busy with its last message skips its turn.
				var busy [10]atomic.Bool
				var sends sync.WaitGroup
				defer sends.Wait()
				for k := 0; ; k++ {
					select {
					case <-stop:
						return
					case <-t.C:
						a := k % len(authors)
						if !busy[a].CompareAndSwap(false, true) {
							continue
						}
						sends.Go(func() {
							defer busy[a].Store(false)
							authors[a].post(b, sendChat, map[string]any{"room": room, "text": fmt.Sprintf("bench %d", k)})
						})
					}
				}
			})
		}
		var delays []time.Duration
		chats.Store(0)
		b.ResetTimer()
		for i := range b.N {
			left := remainingOf(b, app, ev)
			got.Add(viewers)
			want.Store(left - 1)
			t0 := time.Now()
			if a := buyer.buy(b, ev, token, 1, fmt.Sprintf("bench-%d-%d-%d", chatRate, i, time.Now().UnixNano())); a.Outcome != "RESERVED" {
				b.Fatalf("purchase: %s", a.Outcome)
			}
			got.Wait()
			for _, at := range arrivals {
				delays = append(delays, at.Sub(t0))
			}
		}
		b.StopTimer()
		close(stop)
		storm.Wait()
		sort.Slice(delays, func(i, j int) bool { return delays[i] < delays[j] })
		b.ReportMetric(float64(delays[len(delays)/2].Microseconds())/1000, "stock-p50-ms")
		b.ReportMetric(float64(delays[len(delays)*99/100].Microseconds())/1000, "stock-p99-ms")
		b.ReportMetric(float64(chats.Load())/float64(viewers), "chat-frames/viewer")
	}
	b.Run("no-chat", func(b *testing.B) { run(b, 0) })
	b.Run("chat-20/s", func(b *testing.B) { run(b, 20) })
	if app.Hub.Dropped() != 0 {
		b.Fatalf("%d viewers dropped", app.Hub.Dropped())
	}
}

// remainingOf reads the event's stock left.
func remainingOf(b *testing.B, app *testApp, eventID string) int64 {
	var out struct{ FlashEvent struct{ Remaining int64 } }
	app.anon().must(b, `query($id: ID!) { flashEvent(id: $id) { remaining } }`, map[string]any{"id": eventID}, &out)
	return out.FlashEvent.Remaining
}
