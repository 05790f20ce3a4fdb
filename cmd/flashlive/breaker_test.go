//go:build linux

package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	"flashlive/internal/testenv"
	"flashlive/storage/postgres"
)

// guard is how long an answer may take while PostgreSQL is paused before
// the test calls it a hang: generous, not a performance claim.
const guard = 2 * time.Second

// timed runs fn and fails the test if it took longer than guard.
func timed(t *testing.T, what string, fn func()) {
	t.Helper()
	start := time.Now()
	fn()
	if took := time.Since(start); took > guard {
		t.Fatalf("%s took %s with PostgreSQL paused, more than %s", what, took, guard)
	}
}

// wantReadiness asks /readyz, within guard, and checks each dependency's
// state and the status code.
func (a *testApp) wantReadiness(t *testing.T, step string, want map[string]string) {
	t.Helper()
	var res *http.Response
	var body string
	timed(t, step+": /readyz", func() { res, body = a.get(t, "/readyz") })
	var got map[string]string
	if err := json.Unmarshal([]byte(body), &got); err != nil {
		t.Fatalf("%s: /readyz body %q: %v", step, body, err)
	}
	wantStatus := http.StatusOK
	for name, st := range want {
		if got[name] != st {
			t.Fatalf("%s: /readyz = %d %s; want %s %s", step, res.StatusCode, body, name, st)
		}
		if st != "ok" {
			wantStatus = http.StatusServiceUnavailable
		}
	}
	if len(got) != len(want) || res.StatusCode != wantStatus {
		t.Fatalf("%s: /readyz = %d %s; want %d %v", step, res.StatusCode, body, wantStatus, want)
	}
}

// TestPausedPostgresFlashSaleGoesOn: with PostgreSQL frozen (SIGSTOP),
// reads and writes answer UNAVAILABLE, at once once the breaker is open;
// tokens and purchases of a preheated event keep answering from Redis
// and NATS; /readyz answers in time and blames PostgreSQL only. Once
// PostgreSQL runs again, every RESERVED answer becomes an order and the
// stock adds up exactly, with nothing parked.
func TestPausedPostgresFlashSaleGoesOn(t *testing.T) {
	pg := testenv.StartPostgres(t)
	app := startApp(t, func(c *Config) {
		c.PostgresURL = pg.URL
		c.PostgresTimeout = 500 * time.Millisecond
		// Long enough that the breaker stays open while the test looks.
		c.PostgresBreakerCooldown = 5 * time.Second
	})
	const stock, before, buyersN = 20, 5, 40
	seller, eventID := app.liveEvent(t, stock, 1)
	buyers := app.buyers(t, buyersN)
	tokens := make([]string, buyersN)
	for i := range 2 * before {
		tokens[i] = buyers[i].purchaseToken(t, eventID)
	}
	orderIDs := map[string]bool{}
	for i := range before {
		a := buyers[i].buy(t, eventID, tokens[i], 1, fmt.Sprintf("before-%d", i))
		if a.Outcome != "RESERVED" {
			t.Fatalf("purchase %d before the pause = %s, want RESERVED", i, a.Outcome)
		}
		orderIDs[a.Order.ID] = true
	}
	testenv.WaitFor(t, 20*time.Second, "the first orders to be written", func() bool {
		n, _, _ := app.orderCounts(t, eventID)
		return n == before
	})
	app.wantReadiness(t, "before the pause", map[string]string{"postgres": "ok", "redis": "ok", "nats": "ok"})

	pg.Pause(t)
	t.Cleanup(func() { pg.Resume(t) }) // before the app closes, should the test fail
	app.wantReadiness(t, "just paused", map[string]string{"postgres": "down", "redis": "ok", "nats": "ok"})

	// Reads time out (UNAVAILABLE) until the breaker opens.
	read := `query($id: ID!) { flashEvent(id: $id) { id } }`
	testenv.WaitFor(t, 30*time.Second, "the breaker to open", func() bool {
		timed(t, "a read", func() { app.anon().wantCode(t, "UNAVAILABLE", read, map[string]any{"id": eventID}) })
		return app.DB.Pool.BreakerState() == postgres.BreakerOpen
	})
	if got, want := app.metric(t, "flashlive_postgres_breaker_state"), "2"; got != want {
		t.Fatalf("metric %q, want %q", got, want)
	}
	timed(t, "a read with the breaker open", func() {
		r := app.anon().wantCode(t, "UNAVAILABLE", read, map[string]any{"id": eventID})
		if got, want := r.Errors[0].Message, "the order database is unavailable; retry shortly"; got != want {
			t.Fatalf("message = %q, want %q", got, want)
		}
	})
	timed(t, "a write with the breaker open", func() {
		seller.wantCode(t, "UNAVAILABLE", createProduct, map[string]any{"in": map[string]any{"name": "Lamp", "priceCents": 1999, "stock": 1}})
	})
	app.wantReadiness(t, "breaker open", map[string]string{"postgres": "down", "redis": "ok", "nats": "ok"})

	// The flash path goes on: tokens for the preheated event, purchases.
	// Every buyer gets a token first (a sold-out event issues none), then
	// they all press "buy" at once.
	took := make([]time.Duration, buyersN)
	answers := make([]purchaseAnswer, buyersN)
	concurrently := func(fn func(i int)) {
		var wg sync.WaitGroup
		for i := before; i < buyersN; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				start := time.Now()
				fn(i)
				took[i] = time.Since(start)
			}()
		}
		wg.Wait()
		for i := before; i < buyersN; i++ {
			if took[i] > guard {
				t.Fatalf("buyer %d took %s with PostgreSQL paused, more than %s", i, took[i], guard)
			}
		}
	}
	concurrently(func(i int) {
		if tokens[i] == "" {
			var out struct{ FlashPurchaseToken struct{ Token string } }
			buyers[i].must(t, tokenMutation, map[string]any{"e": eventID}, &out)
			tokens[i] = out.FlashPurchaseToken.Token
		}
	})
	concurrently(func(i int) {
		answers[i] = buyers[i].buy(t, eventID, tokens[i], 1, fmt.Sprintf("paused-%d", i))
	})
	reserved, soldOut := before, 0
	for i := before; i < buyersN; i++ {
		switch a := answers[i]; a.Outcome {
		case "RESERVED":
			if a.Order == nil || orderIDs[a.Order.ID] {
				t.Fatalf("RESERVED answer with order %+v", a.Order)
			}
			orderIDs[a.Order.ID] = true
			reserved++
		case "SOLD_OUT":
			soldOut++
		default:
			t.Fatalf("purchase of buyer %d with PostgreSQL paused = %q, want RESERVED or SOLD_OUT", i, a.Outcome)
		}
	}
	if reserved != stock || soldOut != buyersN-stock {
		t.Fatalf("RESERVED %d, SOLD_OUT %d; want %d, %d", reserved, soldOut, stock, buyersN-stock)
	}

	pg.Resume(t)
	testenv.WaitFor(t, 30*time.Second, "reads to answer again", func() bool {
		r := app.anon().post(t, read, map[string]any{"id": eventID})
		return len(r.Errors) == 0
	})
	if len(orderIDs) != reserved {
		t.Fatalf("%d distinct order IDs for %d RESERVED answers", len(orderIDs), reserved)
	}
	app.assertOrdersWritten(t, eventID, orderIDs, stock, 60*time.Second)
	if left := app.remaining(t, eventID); left != 0 {
		t.Fatalf("remaining %d after selling all %d", left, stock)
	}
	if got := app.Orders.Parked(); got != 0 {
		t.Fatalf("%d order messages parked, want 0", got)
	}
	app.assertNoDrift(t, eventID)
	app.wantReadiness(t, "after the resume", map[string]string{"postgres": "ok", "redis": "ok", "nats": "ok"})
	if got, want := app.metric(t, "flashlive_postgres_breaker_state"), "0"; got != want {
		t.Fatalf("metric %q, want %q", got, want)
	}
}
