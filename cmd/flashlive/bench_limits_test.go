package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"flashlive/domain"
)

// BenchmarkPurchaseLimits measures what the rate limits cost a purchase
// that reserves: the same purchase through a server with every limit off
// and through one with the sale's limits on (two GCRA checks in Redis,
// per buyer and per address, and the blocklist's door), in one run. The
// limits are set so high that nothing is refused: what is measured is the
// checking. Compare ns/op (per purchase, 16 clients at once) of off and on.
func BenchmarkPurchaseLimits(b *testing.B) {
	never := domain.Limit{Rate: 1_000_000, Burst: 1_000_000, Period: time.Second}
	on := Limits{
		PurchaseUser: never, PurchaseIP: never, TokenUser: never, TokenIP: never,
		BlockStrikes: 50, BlockWindow: time.Minute, BlockFor: time.Minute,
	}
	hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	for _, tt := range []struct {
		name   string
		limits Limits
	}{{"off", Limits{}}, {"on", on}} {
		app := startApp(b, func(c *Config) { c.Limits = tt.limits })
		_, event := app.liveEvent(b, 10_000_000, 1000)
		buyers := app.buyers(b, 1000)
		b.Run(tt.name, func(b *testing.B) {
			tokens := make([]string, len(buyers)) // they live a minute: fresh ones each run
			for i, c := range buyers {
				tokens[i] = c.purchaseToken(b, event)
			}
			var seq atomic.Int64
			b.SetParallelism(16)
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					i := int(seq.Add(1))
					body, _ := json.Marshal(map[string]any{"query": purchaseMutation, "variables": map[string]any{"in": map[string]any{
						"eventId": event, "token": tokens[i%len(buyers)], "quantity": 1, "idempotencyKey": fmt.Sprintf("l-%d", i),
					}}})
					req, _ := http.NewRequest(http.MethodPost, app.URL+"/graphql", bytes.NewReader(body))
					req.Header.Set("Content-Type", "application/json")
					req.Header.Set("Authorization", "Bearer "+buyers[i%len(buyers)].token)
					res, err := hc.Do(req)
					if err != nil {
						b.Error(err)
						return
					}
					out, _ := io.ReadAll(res.Body)
					res.Body.Close()
					if !bytes.Contains(out, []byte(`"RESERVED"`)) {
						b.Errorf("answer %s is not RESERVED", out)
						return
					}
				}
			})
		})
	}
}
