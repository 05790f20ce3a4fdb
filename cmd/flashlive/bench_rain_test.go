package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"testing"
	"time"
)

// BenchmarkGrab measures grabRedPacket through the real server (HTTP,
// GraphQL, the grab script with its outbox record, the asynchronous
// publish) against { serverTime } through the same server as the floor:
//
//	floor:   { serverTime }
//	grabbed: every grab takes a packet (a fresh buyer on a rain with
//	         packets to spare)
//	empty:   every grab finds the rain empty
//	already: every grab is by a buyer who holds a packet (a new key)
func BenchmarkGrab(b *testing.B) {
	app := startApp(b, nil)
	const perRain = 5000
	seller, room, _ := app.liveRain(b, 10, 1, time.Hour)
	buyers := app.buyers(b, perRain)
	hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 512, MaxConnsPerHost: 512}}
	token := func(i int) string { return buyers[i%perRain].token }
	newRain := func(packets int) string {
		now := app.Clock.Now()
		return seller.newRain(b, room, int64(packets)*10, packets, now, now.Add(time.Hour)).ID
	}
	grab := func(rain func(i int) string) func(i int) []byte {
		return func(i int) []byte {
			body, _ := json.Marshal(map[string]any{"query": grabMutation, "variables": map[string]any{"r": rain(i), "k": fmt.Sprintf("b-%d", i)}})
			return body
		}
	}
	b.Run("floor", func(b *testing.B) {
		body := []byte(`{"query":"{ serverTime }"}`)
		benchRequests(b, hc, app.URL, token, func(int) []byte { return body }, "serverTime")
	})
	b.Run("grabbed", func(b *testing.B) {
		// Grab i is buyer i%perRain's on rain i/perRain: always a packet.
		rains := make([]string, b.N/perRain+1)
		for k := range rains {
			rains[k] = newRain(perRain)
		}
		benchRequests(b, hc, app.URL, token, grab(func(i int) string { return rains[i/perRain] }), `"GRABBED"`)
	})
	b.Run("empty", func(b *testing.B) {
		rain := newRain(1)
		// The one packet goes to a buyer who is not in the run.
		if a := app.buyers(b, 1)[0].grab(b, rain, "first"); a.Outcome != "GRABBED" {
			b.Fatalf("taking the one packet: %+v", a)
		}
		benchRequests(b, hc, app.URL, token, grab(func(int) string { return rain }), `"EMPTY"`)
	})
	b.Run("already", func(b *testing.B) {
		rain := newRain(perRain)
		for i := range perRain {
			if a := buyers[i].grab(b, rain, "first"); a.Outcome != "GRABBED" {
				b.Fatalf("buyer %d's first grab: %+v", i, a)
			}
		}
		benchRequests(b, hc, app.URL, token, grab(func(int) string { return rain }), `"ALREADY_GRABBED"`)
	})
}
