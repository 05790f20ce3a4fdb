package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"flashlive/domain"
)

// BenchmarkPurchaseLimits measures what the rate limits cost, in one run:
//
//	floor:    { serverTime } through a server with every limit off
//	off:      a purchase that reserves, every limit off
//	on:       the same purchase with the sale's limits on (two GCRA checks
//	          in Redis, per buyer and per address, and the blocklist's
//	          door), set so high that nothing is refused: what is measured
//	          is the checking
//	blocked:  { serverTime } from a blocked address (429 before the body is
//	          read)
//
// ns/op is per request, 16 clients at once; on minus off is the limiter's
// cost per purchase.
func BenchmarkPurchaseLimits(b *testing.B) {
	never := domain.Limit{Rate: 1_000_000, Burst: 1_000_000, Period: time.Second}
	on := Limits{
		PurchaseUser: never, PurchaseIP: never, TokenUser: never, TokenIP: never,
		BlockStrikes: 50, BlockWindow: time.Minute, BlockFor: time.Minute,
	}
	hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	type server struct {
		app    *testApp
		event  string
		buyers []*client
	}
	open := func(l Limits) server {
		app := startApp(b, func(c *Config) { c.Limits, c.MaxUnpaidOrders = l, benchUnpaidCap })
		_, event := app.liveEvent(b, 10_000_000, 1000)
		return server{app, event, app.buyers(b, 1000)}
	}
	servers := map[string]server{"off": open(Limits{}), "on": open(on)}

	run := func(b *testing.B, s server, body func(i int, tokens []string) []byte, wantStatus int, want string) {
		var tokens []string
		if want == `"RESERVED"` {
			tokens = make([]string, len(s.buyers)) // they live a minute: fresh ones each run
			for i, c := range s.buyers {
				tokens[i] = c.purchaseToken(b, s.event)
			}
		}
		var seq atomic.Int64
		b.SetParallelism(16)
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				i := int(seq.Add(1))
				req, _ := http.NewRequest(http.MethodPost, s.app.URL+"/graphql", bytes.NewReader(body(i, tokens)))
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set("Authorization", "Bearer "+s.buyers[i%len(s.buyers)].token)
				res, err := hc.Do(req)
				if err != nil {
					b.Error(err)
					return
				}
				out, _ := io.ReadAll(res.Body)
				res.Body.Close()
				if res.StatusCode != wantStatus || !bytes.Contains(out, []byte(want)) {
					b.Errorf("answer %d %s, want %d with %s", res.StatusCode, out, wantStatus, want)
					return
				}
			}
		})
	}
	serverTime := func(int, []string) []byte { return []byte(`{"query":"{ serverTime }"}`) }
	purchase := func(s server) func(int, []string) []byte {
		return func(i int, tokens []string) []byte {
			body, _ := json.Marshal(map[string]any{"query": purchaseMutation, "variables": map[string]any{"in": map[string]any{
				"eventId": s.event, "token": tokens[i%len(tokens)], "quantity": 1, "idempotencyKey": fmt.Sprintf("l-%d", i),
			}}})
			return body
		}
	}
	b.Run("floor", func(b *testing.B) { run(b, servers["off"], serverTime, http.StatusOK, "serverTime") })
	b.Run("off", func(b *testing.B) { run(b, servers["off"], purchase(servers["off"]), http.StatusOK, `"RESERVED"`) })
	b.Run("on", func(b *testing.B) { run(b, servers["on"], purchase(servers["on"]), http.StatusOK, `"RESERVED"`) })
	b.Run("blocked", func(b *testing.B) {
		s := servers["on"]
		admin := domain.NewContextWithPrincipal(context.Background(), domain.Principal{UserID: "usr_bench", Role: domain.RoleAdmin})
		if _, err := s.app.protect.gate.BlockClient(admin, domain.BlockIP, "127.0.0.1", time.Hour); err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { _, _ = s.app.protect.gate.UnblockClient(admin, domain.BlockIP, "127.0.0.1") })
		run(b, s, serverTime, http.StatusTooManyRequests, "RATE_LIMITED")
	})
}
