//go:build linux

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
// machine's file descriptors and cores otherwise. The viewers are plain
// sockets read by -loops epoll loops, not a goroutine each, so that the
// tool takes as little of the machine's CPU from the server as it can;
// it prints its own CPU per frame beside the server's.
package main

import (
	"bytes"
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
	"time"
)

func main() {
	base := flag.String("url", "http://127.0.0.1:8080", "server base URL (loopback only)")
	viewers := flag.Int("viewers", 1000, "viewers to connect")
	rate := flag.Float64("rate", 5, "purchases (stock frames) per second")
	duration := flag.Duration("duration", 20*time.Second, "how long to sell")
	password := flag.String("password", "flashlive-demo", "password of the demo accounts")
	loops := flag.Int("loops", 1, "epoll loops reading the viewers' sockets")
	debug := flag.String("debug", "", "the server's /debug/pprof/ base URL (FLASHLIVE_DEBUG_ADDR), to read its live heap after a collection")
	timeline := flag.String("timeline", "", "write each stock frame's delays to this CSV file")
	bare := flag.Bool("bare", false, "measure flashlive-barehub, the bare gorilla yardstick, instead of flashlive")
	flag.Parse()
	if *viewers < 1 || *loops < 1 || *rate <= 0 {
		fmt.Fprintln(os.Stderr, "flashlive-viewers: -viewers, -loops and -rate must be positive")
		os.Exit(2)
	}
	if err := run(*base, *debug, *timeline, *bare, *viewers, *loops, *rate, *duration, *password); err != nil {
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

// serverStats is what the tool reads off the server's /metrics.
type serverStats struct {
	heap, stacks, rss, cpu float64 // bytes, bytes, bytes, seconds
	gcs                    float64 // garbage collections so far
}

// metrics reads the server's Go heap and stacks in use, RSS and CPU
// seconds. With debug (the server's /debug/pprof/ base URL) it first has
// the server collect its garbage, so that heap is the live heap.
func metrics(base, debug string) (st serverStats, err error) {
	if debug != "" {
		res, err := http.Get(debug + "/debug/pprof/heap?gc=1")
		if err != nil {
			return st, fmt.Errorf("collect the server's garbage: %w", err)
		}
		_, _ = io.Copy(io.Discard, res.Body)
		res.Body.Close()
	}
	res, err := http.Get(base + "/metrics")
	if err != nil {
		return st, err
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
	return serverStats{
		heap: val("go_memstats_heap_inuse_bytes"), stacks: val("go_memstats_stack_inuse_bytes"),
		rss: val("process_resident_memory_bytes"), cpu: val("process_cpu_seconds_total"),
		gcs: val("go_gc_duration_seconds_count"),
	}, nil
}

// sale is what the tool sells through: sell takes one unit and returns
// the stock left, which the viewers then see in a stock frame.
type sale struct {
	room string
	sell func(n int) (remaining int, err error)
}

// flashSale signs in as the demo seller and buyer, creates a room and a
// LIVE event of its own, and sells through purchaseFlash.
func flashSale(base string, units int, password string) (*sale, error) {
	seller, err := login(base, "seller@flashlive.dev", password)
	if err != nil {
		return nil, fmt.Errorf("sign in as the demo seller: %w", err)
	}
	buyer, err := login(base, "buyer@flashlive.dev", password)
	if err != nil {
		return nil, fmt.Errorf("sign in as the demo buyer: %w", err)
	}
	var ids struct {
		CreateProduct  struct{ ID string }
		CreateLiveRoom struct{ ID string }
	}
	if err := seller.do(`mutation { createProduct(input: {name: "Bench item", priceCents: 100, stock: 1000000}) { id }
		createLiveRoom(input: {title: "Bench room"}) { id } }`, nil, &ids); err != nil {
		return nil, err
	}
	var ev struct{ CreateFlashEvent struct{ ID string } }
	now := time.Now().UTC()
	if err := seller.do(`mutation($in: CreateFlashEventInput!) { createFlashEvent(input: $in) { id } }`, map[string]any{"in": map[string]any{
		"productId": ids.CreateProduct.ID, "liveRoomId": ids.CreateLiveRoom.ID, "priceCents": 100, "stock": units, "perUserLimit": units,
		"startsAt": now.Add(-time.Second).Format(time.RFC3339), "endsAt": now.Add(time.Hour).Format(time.RFC3339),
	}}, &ev); err != nil {
		return nil, err
	}
	event := ev.CreateFlashEvent.ID
	var tok struct{ FlashPurchaseToken struct{ Token string } }
	keys := time.Now().UnixNano()
	return &sale{room: ids.CreateLiveRoom.ID, sell: func(n int) (int, error) {
		if n%200 == 0 { // tokens live a minute
			if err := buyer.do(`mutation($e: ID!) { flashPurchaseToken(eventId: $e) { token } }`, map[string]any{"e": event}, &tok); err != nil {
				return 0, err
			}
		}
		var p struct {
			PurchaseFlash struct {
				Outcome   string
				Remaining int
			}
		}
		if err := buyer.do(`mutation($in: PurchaseFlashInput!) { purchaseFlash(input: $in) { outcome remaining } }`, map[string]any{"in": map[string]any{
			"eventId": event, "token": tok.FlashPurchaseToken.Token, "idempotencyKey": fmt.Sprintf("bench-%d-%d", keys, n),
		}}, &p); err != nil {
			return 0, err
		}
		if p.PurchaseFlash.Outcome != "RESERVED" {
			return 0, fmt.Errorf("purchase %d: %s", n, p.PurchaseFlash.Outcome)
		}
		return p.PurchaseFlash.Remaining, nil
	}}, nil
}

// bareSale sells through flashlive-barehub's POST /sell.
func bareSale(base string) *sale {
	return &sale{room: "room_bare", sell: func(int) (int, error) {
		res, err := http.Post(base+"/sell", "application/json", nil)
		if err != nil {
			return 0, err
		}
		defer res.Body.Close()
		var out struct{ Remaining int }
		if err := json.NewDecoder(res.Body).Decode(&out); err != nil {
			return 0, err
		}
		return out.Remaining, nil
	}}
}

func run(base, debug, timeline string, bare bool, nViewers, loops int, rate float64, duration time.Duration, password string) error {
	if !strings.HasPrefix(base, "http://127.") && !strings.HasPrefix(base, "http://localhost") {
		return errors.New("-url must be a loopback address")
	}
	var sl *sale
	if bare {
		sl = bareSale(base)
	} else {
		var err error
		if sl, err = flashSale(base, int(rate*duration.Seconds())+10, password); err != nil {
			return err
		}
	}
	room := sl.room

	st0, err := metrics(base, debug)
	if err != nil {
		return err
	}
	start := time.Now()
	f, err := dialViewers(strings.TrimPrefix(base, "http://"), nViewers, loops, room)
	if err != nil {
		return err
	}
	defer f.close()
	f.run()
	fmt.Printf("connected %d viewers in %s (%d epoll loops)\n", nViewers, time.Since(start).Round(time.Millisecond), loops)
	time.Sleep(3 * time.Second) // let the joins settle
	st1, err := metrics(base, debug)
	if err != nil {
		return err
	}
	own1 := cpuSeconds()

	sent := map[int]time.Time{} // remaining → when its purchase started
	tick := time.NewTicker(time.Duration(float64(time.Second) / rate))
	end := time.Now().Add(duration)
	n := 0
	for time.Now().Before(end) {
		<-tick.C
		t0 := time.Now()
		remaining, err := sl.sell(n)
		if err != nil {
			return err
		}
		sent[remaining] = t0
		n++
	}
	tick.Stop()
	time.Sleep(2 * time.Second) // the last frames arrive
	st2, err := metrics(base, debug)
	if err != nil {
		return err
	}
	own2 := cpuSeconds()
	f.close()

	// Merge what the loops saw: per stock frame, when it was built and
	// when its last viewer had it.
	seen := map[int]arrival{}
	var delivered, dropped int64
	minPer, maxPer := -1, 0
	for _, l := range f.loops {
		delivered += l.frames.Load()
		dropped += l.dropped.Load()
		for k, a := range l.seen {
			s := seen[k]
			if s.built.IsZero() {
				s.built = a.built
			}
			if a.last.After(s.last) {
				s.last = a.last
			}
			seen[k] = s
		}
		for _, v := range l.viewers {
			if v == nil {
				continue
			}
			if minPer < 0 || v.frames < minPer {
				minPer = v.frames
			}
			maxPer = max(maxPer, v.frames)
		}
	}
	var fanout, endToEnd []time.Duration
	for k, a := range seen {
		if !a.built.IsZero() {
			fanout = append(fanout, a.last.Sub(a.built))
		}
		if t0, ok := sent[k]; ok {
			endToEnd = append(endToEnd, a.last.Sub(t0))
		}
	}
	if timeline != "" {
		if err := writeTimeline(timeline, seen, sent); err != nil {
			return err
		}
	}
	fmt.Printf("purchases %d at %.1f/s; stock frames broadcast %d (changes coalesced to ≤10/s)\n", n, rate, len(seen))
	fmt.Printf("per broadcast, frame built → last viewer has it: %s\n", summary(fanout))
	fmt.Printf("purchase start → last viewer has the new stock:   %s\n", summary(endToEnd))
	fmt.Printf("frames delivered %d (per viewer: min %d, max %d); viewers dropped %d\n", delivered, max(minPer, 0), maxPer, dropped)
	per := func(a, b float64) float64 { return (b - a) / float64(nViewers) / 1024 }
	fmt.Printf("server memory per viewer: Go heap+stacks %.1f KB (heap %.1f, stacks %.1f), RSS %.1f KB\n",
		per(st0.heap+st0.stacks, st1.heap+st1.stacks), per(st0.heap, st1.heap), per(st0.stacks, st1.stacks), per(st0.rss, st1.rss))
	fmt.Printf("  after the sale: Go heap+stacks %.1f KB (heap %.1f, stacks %.1f), RSS %.1f KB\n",
		per(st0.heap+st0.stacks, st2.heap+st2.stacks), per(st0.heap, st2.heap), per(st0.stacks, st2.stacks), per(st0.rss, st2.rss))
	if debug == "" {
		fmt.Println("  (heap read without a collection first, so it counts garbage: give -debug for the live heap)")
	}
	if delivered > 0 {
		fmt.Printf("server CPU per delivered frame: %.2f µs (%.2f s for the run, purchases included; %.0f GCs)\n",
			(st2.cpu-st1.cpu)*1e6/float64(delivered), st2.cpu-st1.cpu, st2.gcs-st1.gcs)
		fmt.Printf("load tool CPU per delivered frame: %.2f µs (%.2f s)\n", (own2-own1)*1e6/float64(delivered), own2-own1)
	}
	return nil
}

// writeTimeline writes one CSV line per stock frame, in the order they
// were built: when (ms into the sale), the fan-out delay and the delay
// from the purchase's start (ms; empty when unknown).
func writeTimeline(path string, seen map[int]arrival, sent map[int]time.Time) error {
	keys := make([]int, 0, len(seen))
	for k := range seen {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b int) int { return seen[a].built.Compare(seen[b].built) })
	var b strings.Builder
	b.WriteString("built_ms,fanout_ms,from_purchase_ms\n")
	var first time.Time
	ms := func(d time.Duration) string { return strconv.FormatFloat(float64(d)/1e6, 'f', 1, 64) }
	for _, k := range keys {
		a := seen[k]
		if first.IsZero() {
			first = a.built
		}
		e2e := ""
		if t0, ok := sent[k]; ok {
			e2e = ms(a.last.Sub(t0))
		}
		fmt.Fprintf(&b, "%s,%s,%s\n", ms(a.built.Sub(first)), ms(a.last.Sub(a.built)), e2e)
	}
	return os.WriteFile(path, []byte(b.String()), 0o644)
}

// summary is p50, p99 and max of ds.
func summary(ds []time.Duration) string {
	if len(ds) == 0 {
		return "no samples"
	}
	slices.Sort(ds)
	pct := func(p float64) time.Duration {
		return ds[min(len(ds)-1, int(p*float64(len(ds))))].Round(time.Millisecond)
	}
	return fmt.Sprintf("p50 %s  p99 %s  max %s  (%d samples)", pct(0.5), pct(0.99), ds[len(ds)-1].Round(time.Millisecond), len(ds))
}
