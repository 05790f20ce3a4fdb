// Command flashlive-viewers is the load test of the live feed: it connects
// many viewers to one room of a running server, sells a unit at a steady
// rate, and reports how long each stock frame took to reach the last
// viewer, what the server spent per viewer (memory) and per delivered
// frame (CPU), read from the server's own /metrics.
//
//	flashlive-viewers -url http://127.0.0.1:8080 -viewers 10000 -rate 5 -duration 30s
//
// It signs in as the demo seller and buyer (FLASHLIVE_SEED in dev), creates
// a room and a LIVE event of its own, and sends traffic to the given URL
// only. Run it in a process of its own: viewers and server share the
// machine's file descriptors and cores otherwise.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
)

func main() {
	base := flag.String("url", "http://127.0.0.1:8080", "server base URL (loopback only)")
	viewers := flag.Int("viewers", 1000, "viewers to connect")
	rate := flag.Float64("rate", 5, "purchases (stock frames) per second")
	duration := flag.Duration("duration", 20*time.Second, "how long to sell")
	password := flag.String("password", "flashlive-demo", "password of the demo accounts")
	flag.Parse()
	if err := run(*base, *viewers, *rate, *duration, *password); err != nil {
		fmt.Fprintln(os.Stderr, "flashlive-viewers:", err)
		os.Exit(1)
	}
}

type api struct {
	base  string
	token string
}

func (a *api) do(query string, vars map[string]any, out any) error {
	body, _ := json.Marshal(map[string]any{"query": query, "variables": vars})
	req, _ := http.NewRequest(http.MethodPost, a.base+"/graphql", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if a.token != "" {
		req.Header.Set("Authorization", "Bearer "+a.token)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	var r struct {
		Data   json.RawMessage `json:"data"`
		Errors []struct{ Message string }
	}
	if err := json.NewDecoder(res.Body).Decode(&r); err != nil {
		return err
	}
	if len(r.Errors) > 0 {
		return errors.New(r.Errors[0].Message)
	}
	return json.Unmarshal(r.Data, out)
}

func login(base, email, password string) (*api, error) {
	a := &api{base: base}
	var out struct{ Login struct{ AccessToken string } }
	err := a.do(`mutation($e: String!, $p: String!) { login(input: {email: $e, password: $p}) { accessToken } }`,
		map[string]any{"e": email, "p": password}, &out)
	a.token = out.Login.AccessToken
	return a, err
}

// intField reads the integer after key in a JSON frame, without decoding
// the whole frame: the load tool must stay cheaper than the server.
func intField(data []byte, key string) (int, bool) {
	i := bytes.Index(data, []byte(key))
	if i < 0 {
		return 0, false
	}
	n, j := 0, i+len(key)
	for ; j < len(data) && data[j] >= '0' && data[j] <= '9'; j++ {
		n = n*10 + int(data[j]-'0')
	}
	return n, j > i+len(key)
}

// metrics reads the server's Go heap + stacks, RSS and CPU seconds.
func metrics(base string) (heap, rss, cpu float64, err error) {
	res, err := http.Get(base + "/metrics")
	if err != nil {
		return 0, 0, 0, err
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	val := func(name string) float64 {
		for _, line := range strings.Split(string(b), "\n") {
			if strings.HasPrefix(line, name+" ") {
				v, _ := strconv.ParseFloat(strings.TrimSpace(strings.TrimPrefix(line, name)), 64)
				return v
			}
		}
		return 0
	}
	heap = val("go_memstats_heap_inuse_bytes") + val("go_memstats_stack_inuse_bytes")
	return heap, val("process_resident_memory_bytes"), val("process_cpu_seconds_total"), nil
}

func run(base string, nViewers int, rate float64, duration time.Duration, password string) error {
	if !strings.HasPrefix(base, "http://127.") && !strings.HasPrefix(base, "http://localhost") {
		return errors.New("-url must be a loopback address")
	}
	seller, err := login(base, "seller@flashlive.dev", password)
	if err != nil {
		return fmt.Errorf("sign in as the demo seller: %w", err)
	}
	buyer, err := login(base, "buyer@flashlive.dev", password)
	if err != nil {
		return fmt.Errorf("sign in as the demo buyer: %w", err)
	}
	total := int(rate*duration.Seconds()) + 10
	var ids struct {
		CreateProduct  struct{ ID string }
		CreateLiveRoom struct{ ID string }
	}
	if err := seller.do(`mutation { createProduct(input: {name: "Bench item", priceCents: 100, stock: 1000000}) { id }
		createLiveRoom(input: {title: "Bench room"}) { id } }`, nil, &ids); err != nil {
		return err
	}
	room := ids.CreateLiveRoom.ID
	var ev struct{ CreateFlashEvent struct{ ID string } }
	now := time.Now().UTC()
	if err := seller.do(`mutation($in: CreateFlashEventInput!) { createFlashEvent(input: $in) { id } }`, map[string]any{"in": map[string]any{
		"productId": ids.CreateProduct.ID, "liveRoomId": room, "priceCents": 100, "stock": total, "perUserLimit": 1000,
		"startsAt": now.Add(-time.Second).Format(time.RFC3339), "endsAt": now.Add(time.Hour).Format(time.RFC3339),
	}}, &ev); err != nil {
		return err
	}
	event := ev.CreateFlashEvent.ID

	heap0, rss0, _, err := metrics(base)
	if err != nil {
		return err
	}
	// Connect the viewers.
	wsURL := "ws" + strings.TrimPrefix(base, "http") + "/ws"
	sent := sync.Map{} // remaining → time the purchase answered
	var mu sync.Mutex
	lastSeen := map[int]time.Time{} // remaining → latest arrival at any viewer
	var frames, dropped atomic.Int64
	var wg sync.WaitGroup
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	conns := make([]*websocket.Conn, 0, nViewers)
	dialer := websocket.Dialer{HandshakeTimeout: 10 * time.Second}
	start := time.Now()
	for i := 0; i < nViewers; i++ {
		c, _, err := dialer.Dial(wsURL, nil)
		if err != nil {
			return fmt.Errorf("viewer %d: %w", i, err)
		}
		conns = append(conns, c)
		if err := c.WriteJSON(map[string]string{"type": "join", "room": room}); err != nil {
			return err
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				_, data, err := c.ReadMessage()
				if err != nil {
					if ctx.Err() == nil {
						dropped.Add(1)
					}
					return
				}
				if !bytes.Contains(data, []byte(`"type":"stock"`)) {
					continue
				}
				at := time.Now()
				remaining, ok := intField(data, `"remaining":`)
				if !ok {
					continue
				}
				frames.Add(1)
				mu.Lock()
				if at.After(lastSeen[remaining]) {
					lastSeen[remaining] = at
				}
				mu.Unlock()
			}
		}()
	}
	fmt.Printf("connected %d viewers in %s\n", nViewers, time.Since(start).Round(time.Millisecond))
	time.Sleep(3 * time.Second) // let the joins settle
	heap1, rss1, cpu1, err := metrics(base)
	if err != nil {
		return err
	}

	var tok struct{ FlashPurchaseToken struct{ Token string } }
	if err := buyer.do(`mutation($e: ID!) { flashPurchaseToken(eventId: $e) { token } }`, map[string]any{"e": event}, &tok); err != nil {
		return err
	}
	tick := time.NewTicker(time.Duration(float64(time.Second) / rate))
	end := time.Now().Add(duration)
	n := 0
	for time.Now().Before(end) {
		<-tick.C
		if n%200 == 199 { // tokens live a minute
			if err := buyer.do(`mutation($e: ID!) { flashPurchaseToken(eventId: $e) { token } }`, map[string]any{"e": event}, &tok); err != nil {
				return err
			}
		}
		var p struct {
			PurchaseFlash struct {
				Outcome   string
				Remaining int
			}
		}
		t0 := time.Now()
		if err := buyer.do(`mutation($in: PurchaseFlashInput!) { purchaseFlash(input: $in) { outcome remaining } }`, map[string]any{"in": map[string]any{
			"eventId": event, "token": tok.FlashPurchaseToken.Token, "idempotencyKey": fmt.Sprintf("bench-%d-%d", start.UnixNano(), n),
		}}, &p); err != nil {
			return err
		}
		if p.PurchaseFlash.Outcome != "RESERVED" {
			return fmt.Errorf("purchase %d: %s", n, p.PurchaseFlash.Outcome)
		}
		sent.Store(p.PurchaseFlash.Remaining, t0)
		n++
	}
	tick.Stop()
	time.Sleep(2 * time.Second) // the last frames arrive
	heap2, rss2, cpu2, err := metrics(base)
	if err != nil {
		return err
	}
	_ = heap2
	_ = rss2
	cancel()
	for _, c := range conns {
		_ = c.Close()
	}
	wg.Wait()

	var delays []time.Duration
	mu.Lock()
	sent.Range(func(k, v any) bool {
		if at, ok := lastSeen[k.(int)]; ok {
			delays = append(delays, at.Sub(v.(time.Time)))
		}
		return true
	})
	mu.Unlock()
	slices.Sort(delays)
	pct := func(p float64) time.Duration {
		if len(delays) == 0 {
			return 0
		}
		return delays[min(len(delays)-1, int(p*float64(len(delays))))]
	}
	delivered := frames.Load()
	fmt.Printf("purchases %d at %.1f/s; stock values seen by some viewer %d of %d\n", n, rate, len(delays), n)
	fmt.Printf("delay until the last viewer has the stock frame (from the purchase's start): p50 %s  p99 %s  max %s\n",
		pct(0.50).Round(time.Millisecond), pct(0.99).Round(time.Millisecond), pct(1).Round(time.Millisecond))
	fmt.Printf("frames delivered %d (%.0f per viewer); viewers dropped %d\n", delivered, float64(delivered)/float64(nViewers), dropped.Load())
	fmt.Printf("server memory per viewer: Go heap+stacks %.1f KB, RSS %.1f KB\n",
		(heap1-heap0)/float64(nViewers)/1024, (rss1-rss0)/float64(nViewers)/1024)
	if delivered > 0 {
		fmt.Printf("server CPU per delivered frame: %.2f µs (%.2f s for the run, purchases included)\n",
			(cpu2-cpu1)*1e6/float64(delivered), cpu2-cpu1)
	}
	return nil
}
