package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sort"
	"sync/atomic"
	"testing"
	"time"
)

// BenchmarkPurchase measures the flash purchase path through the real
// server (HTTP, GraphQL, token check, reservation script, outbox,
// asynchronous publish) against serverTime through the same server as the
// floor. Run it with `make bench` (see the README); it reports attempts per
// second and p50/p99 latency of each path.
//
//	accept:          every attempt reserves (stock large enough, limit high)
//	soldout:         every attempt finds the stock gone
//	floor:           { serverTime }
//	accept-uncapped: accept on a server without the cap on unpaid orders
//	                 (FLASHLIVE_MAX_UNPAID_ORDERS=0), whose cost is the
//	                 difference; the others run with the cap on, set high
//	                 enough that it refuses nothing
func BenchmarkPurchase(b *testing.B) {
	app := startApp(b, func(c *Config) { c.MaxUnpaidOrders = benchUnpaidCap })
	seller, bigEvent := app.liveEvent(b, 1_000_000, 1000)
	buyers := app.buyers(b, 1000)
	// Purchase tokens live a minute: each run gets fresh ones.
	tokens := map[string][]string{}
	refresh := func(event string) {
		tokens[event] = make([]string, len(buyers))
		for i, c := range buyers {
			tokens[event][i] = c.purchaseToken(b, event)
		}
	}
	// Each sold-out run gets a new one-unit event: tokens are issued while
	// it is LIVE, then its unit is sold.
	var goneEvent string
	soldOut := func() {
		p := seller.newProduct(b, "One-off", 1)
		now := app.Clock.Now()
		goneEvent = seller.newEvent(b, map[string]any{
			"productId": p.ID, "priceCents": 500, "stock": 1, "perUserLimit": 1,
			"startsAt": ts(now.Add(-time.Second)), "endsAt": ts(now.Add(time.Hour)),
		}).ID
		refresh(goneEvent)
		if a := buyers[0].buy(b, goneEvent, tokens[goneEvent][0], 1, "first"); a.Outcome != "RESERVED" {
			b.Fatalf("selling the one unit: %s", a.Outcome)
		}
	}
	transport := &http.Transport{MaxIdleConnsPerHost: 512, MaxConnsPerHost: 512}
	hc := &http.Client{Transport: transport}

	run := func(b *testing.B, prepare func(), body func(i int) []byte, want string) {
		prepare()
		benchRequests(b, hc, app.URL, func(i int) string { return buyers[i%len(buyers)].token }, body, want)
	}
	purchase := func(event *string) func(i int) []byte {
		return func(i int) []byte {
			body, _ := json.Marshal(map[string]any{"query": purchaseMutation, "variables": map[string]any{"in": map[string]any{
				"eventId": *event, "token": tokens[*event][i%len(buyers)], "quantity": 1, "idempotencyKey": fmt.Sprintf("b-%d", i),
			}}})
			return body
		}
	}
	b.Run("floor", func(b *testing.B) {
		body := []byte(`{"query":"{ serverTime }"}`)
		run(b, func() {}, func(int) []byte { return body }, "serverTime")
	})
	b.Run("accept", func(b *testing.B) { run(b, func() { refresh(bigEvent) }, purchase(&bigEvent), `"RESERVED"`) })
	b.Run("soldout", func(b *testing.B) { run(b, soldOut, purchase(&goneEvent), `"SOLD_OUT"`) })
	// Last, as it points run, refresh and purchase at a second server.
	// The server lives as long as the whole benchmark (top), not one
	// round of the sub-benchmark.
	top := b
	var uncapped *testApp
	b.Run("accept-uncapped", func(b *testing.B) {
		if uncapped == nil {
			uncapped = startApp(top, func(c *Config) { c.MaxUnpaidOrders = NoUnpaidCap })
			_, bigEvent = uncapped.liveEvent(top, 1_000_000, 1000)
			app, buyers = uncapped, uncapped.buyers(top, len(buyers))
		}
		run(b, func() { refresh(bigEvent) }, purchase(&bigEvent), `"RESERVED"`)
	})
}

// benchUnpaidCap is the cap on unpaid orders of BenchmarkPurchase's
// server: on, so that every purchase pays for it, and above what any
// buyer holds in a run.
const benchUnpaidCap = 1_000_000

// benchRequests posts body(i) to url's /graphql from 16 goroutines per
// core, b.N times in all, each signed in with token(i), checks that each
// answer contains want, and reports requests per second and the p50 and
// p99 latency.
func benchRequests(b *testing.B, hc *http.Client, url string, token func(i int) string, body func(i int) []byte, want string) {
	var seq atomic.Int64
	lat := make([][]time.Duration, 0)
	var latMu = make(chan struct{}, 1)
	latMu <- struct{}{}
	b.SetParallelism(16)
	b.ResetTimer()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		var mine []time.Duration
		for pb.Next() {
			i := int(seq.Add(1)) - 1
			req, _ := http.NewRequest(http.MethodPost, url+"/graphql", bytes.NewReader(body(i)))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Authorization", "Bearer "+token(i))
			t0 := time.Now()
			res, err := hc.Do(req)
			if err != nil {
				b.Error(err)
				return
			}
			out, _ := io.ReadAll(res.Body)
			res.Body.Close()
			mine = append(mine, time.Since(t0))
			if !bytes.Contains(out, []byte(want)) {
				b.Errorf("answer %s does not contain %s", out, want)
				return
			}
		}
		<-latMu
		lat = append(lat, mine)
		latMu <- struct{}{}
	})
	elapsed := time.Since(start)
	b.StopTimer()
	var all []time.Duration
	for _, l := range lat {
		all = append(all, l...)
	}
	sort.Slice(all, func(i, j int) bool { return all[i] < all[j] })
	if len(all) > 0 {
		b.ReportMetric(float64(len(all))/elapsed.Seconds(), "req/s")
		b.ReportMetric(float64(all[len(all)/2].Microseconds()), "p50-µs")
		b.ReportMetric(float64(all[len(all)*99/100].Microseconds()), "p99-µs")
	}
}
