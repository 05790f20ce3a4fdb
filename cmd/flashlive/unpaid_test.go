package main

import (
	"fmt"
	"sync"
	"testing"
	"time"
)

// unpaidApp is a Main that lets a buyer hold max unpaid flash orders, with
// a payment window of ten minutes (less than the buyers' access tokens
// live), and n events LIVE for three hours (so that the clock can pass a
// payment window while they sell), 10 units each, 5 per buyer.
func unpaidApp(t *testing.T, max, n int) (*testApp, []string) {
	t.Helper()
	app := startApp(t, func(c *Config) { c.MaxUnpaidOrders, c.PaymentTimeout = max, unpaidWindow })
	events := make([]string, n)
	for i := range events {
		_, events[i] = app.liveEventFor(t, 10, 5, 3*time.Hour)
	}
	return app, events
}

const unpaidWindow = 10 * time.Minute

// wantCapped fails t unless a is the cap's refusal: LIMIT_REACHED, no
// order, no stock figure.
func wantCapped(t *testing.T, what string, a purchaseAnswer) {
	t.Helper()
	if a.Outcome != "LIMIT_REACHED" || a.Order != nil || a.Remaining != nil {
		t.Fatalf("%s = %+v, want LIMIT_REACHED with no order and no remaining", what, a)
	}
}

func wantReserved(t *testing.T, what string, a purchaseAnswer) string {
	t.Helper()
	if a.Outcome != "RESERVED" || a.Order == nil {
		t.Fatalf("%s = %+v, want RESERVED", what, a)
	}
	return a.Order.ID
}

// TestUnpaidOrderCap: a buyer holding the cap's worth of unpaid orders
// across events gets LIMIT_REACHED on the next, on any event; paying,
// cancelling or expiry frees a place.
func TestUnpaidOrderCap(t *testing.T) {
	const max = 3
	app, events := unpaidApp(t, max, max+1)
	buyer := app.buyers(t, 1)[0]
	tokens := func() []string {
		toks := make([]string, len(events))
		for i, e := range events {
			toks[i] = buyer.purchaseToken(t, e)
		}
		return toks
	}
	tok := tokens()
	orders := make([]string, max)
	for i := range max {
		orders[i] = wantReserved(t, fmt.Sprintf("order %d, event %d", i, i), buyer.buy(t, events[i], tok[i], 1, "k"))
	}
	wantCapped(t, "a fourth order, on a fourth event", buyer.buy(t, events[max], tok[max], 1, "k"))
	wantCapped(t, "a second unit of the first event", buyer.buy(t, events[0], tok[0], 1, "k2"))
	if got := app.remaining(t, events[max]); got != 10 {
		t.Fatalf("remaining of the fourth event = %d, want 10", got)
	}
	// A key already answered still gets its first answer at the cap.
	if got := wantReserved(t, "event 0's key again", buyer.buy(t, events[0], tok[0], 1, "k")); got != orders[0] {
		t.Fatalf("event 0's key again: order %s, want the first one %s", got, orders[0])
	}
	// Another buyer is not held back.
	other := app.buyers(t, 1)[0]
	wantReserved(t, "another buyer", other.buy(t, events[max], other.purchaseToken(t, events[max]), 1, "k"))

	// Paying frees a place; the refused key buys then (the cap's refusal
	// is not kept).
	buyer.waitStatus(t, orders[0], "AWAITING_PAYMENT")
	buyer.must(t, payMutation, map[string]any{"id": orders[0]}, nil)
	fourth := wantReserved(t, "the fourth event once order 0 is paid", buyer.buy(t, events[max], tok[max], 1, "k"))
	wantCapped(t, "then one more", buyer.buy(t, events[max], tok[max], 1, "k3"))

	// Cancelling frees a place.
	buyer.waitStatus(t, orders[1], "AWAITING_PAYMENT")
	buyer.must(t, cancelMutation, map[string]any{"id": orders[1]}, nil)
	fifth := wantReserved(t, "once order 1 is cancelled", buyer.buy(t, events[max], tok[max], 1, "k3"))
	wantCapped(t, "then one more", buyer.buy(t, events[1], tok[1], 1, "k4"))

	// Expiry frees the places of the orders it expires (before the end of
	// the list's own window, the payment window and a margin).
	open := []string{orders[2], fourth, fifth}
	for _, id := range open {
		buyer.waitStatus(t, id, "AWAITING_PAYMENT")
	}
	app.Clock.Advance(unpaidWindow + time.Second)
	for _, id := range open {
		buyer.waitStatus(t, id, "EXPIRED")
	}
	tok = tokens()
	for i := range max {
		wantReserved(t, fmt.Sprintf("order %d after the window", i), buyer.buy(t, events[i], tok[i], 1, "after"))
	}
	wantCapped(t, "one more after the window", buyer.buy(t, events[max], tok[max], 1, "after"))
}

// TestUnpaidOrderCapConcurrentBurst: one buyer's concurrent burst across
// events never passes the cap: exactly max RESERVED, every one an order.
func TestUnpaidOrderCapConcurrentBurst(t *testing.T) {
	const max, perEvent = 3, 10
	app, events := unpaidApp(t, max, 4)
	buyer := app.buyers(t, 1)[0]
	tok := make([]string, len(events))
	for i, e := range events {
		tok[i] = buyer.purchaseToken(t, e)
	}
	n := len(events) * perEvent
	answers := make([]purchaseAnswer, n)
	// Released together by a closed channel, so that the presses overlap.
	var wg sync.WaitGroup
	gate := make(chan struct{})
	for i := range n {
		e := i % len(events)
		wg.Go(func() { <-gate; answers[i] = buyer.buy(t, events[e], tok[e], 1, fmt.Sprintf("k%d", i)) })
	}
	close(gate)
	wg.Wait()
	reserved, capped := 0, 0
	units := 0
	for i, a := range answers {
		switch a.Outcome {
		case "RESERVED":
			reserved++
		case "LIMIT_REACHED":
			wantCapped(t, fmt.Sprintf("press %d", i), a)
			capped++
		default:
			t.Fatalf("press %d = %+v, want RESERVED or LIMIT_REACHED", i, a)
		}
	}
	if reserved != max || capped != n-max {
		t.Fatalf("%d presses with a cap of %d: %d RESERVED, %d LIMIT_REACHED; want %d and %d", n, max, reserved, capped, max, n-max)
	}
	app.waitSettled(t)
	for _, e := range events {
		orders, live, sold := app.orderCounts(t, e)
		if orders != live || live != sold {
			t.Fatalf("event %s: %d orders, %d live units, sold %d; want them equal", e, orders, live, sold)
		}
		units += live
		app.assertNoDrift(t, e)
	}
	if units != max {
		t.Fatalf("units in live orders across the events = %d, want %d", units, max)
	}
}
