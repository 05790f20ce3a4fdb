package main

import (
	"fmt"
	"testing"
	"time"

	"flashlive/service"
	natsstore "flashlive/storage/nats"
)

// TestSoldOutReopensAcrossInstances runs two servers on one PostgreSQL,
// Redis and NATS. Once B knows the event sold out it answers from that
// knowledge; a cancel on A reopens it on B within the recheck bound.
func TestSoldOutReopensAcrossInstances(t *testing.T) {
	ns, err := natsstore.StartEmbedded(natsstore.EmbeddedOptions{StoreDir: t.TempDir(), Listen: "127.0.0.1:-1"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ns.Shutdown(); ns.WaitForShutdown() })
	a := startApp(t, func(c *Config) { c.NATSURL = ns.ClientURL() })
	cfgB := a.Config
	cfgB.HTTPAddr = "127.0.0.1:0"
	b := openApp(t, cfgB)

	_, eventID := a.liveEvent(t, 1, 1)
	bs := a.buyers(t, 2)
	first, second := bs[0], bs[1]
	onB := &client{app: b, token: second.token}
	tok := onB.purchaseToken(t, eventID) // while the event is LIVE
	bought := first.buy(t, eventID, first.purchaseToken(t, eventID), 1, "k")
	if bought.Outcome != "RESERVED" {
		t.Fatalf("the one unit on A: %s", bought.Outcome)
	}
	if r := onB.buy(t, eventID, tok, 1, "b0"); r.Outcome != "SOLD_OUT" {
		t.Fatalf("B's first press: %s, want SOLD_OUT", r.Outcome)
	}
	before := b.Sale.SoldOutAnswers()
	if r := onB.buy(t, eventID, tok, 1, "b1"); r.Outcome != "SOLD_OUT" || *r.Remaining != 0 {
		t.Fatalf("B's second press: %+v, want SOLD_OUT remaining 0", r)
	}
	if got, want := b.Sale.SoldOutAnswers()-before, int64(1); got != want {
		t.Fatalf("presses B answered from what it knew = %d, want %d", got, want)
	}

	first.waitStatus(t, bought.Order.ID, "AWAITING_PAYMENT")
	first.must(t, cancelMutation, map[string]any{"id": bought.Order.ID}, nil)
	cancelled := time.Now()
	// The bound: the recheck interval, plus a read and a press.
	bound := service.DefaultSoldOutRecheck + 500*time.Millisecond
	for n := 2; ; n++ {
		r := onB.buy(t, eventID, tok, 1, fmt.Sprintf("b%d", n))
		if r.Outcome == "RESERVED" {
			break
		}
		if r.Outcome != "SOLD_OUT" {
			t.Fatalf("press %d on B after the cancel: %s, want SOLD_OUT or RESERVED", n, r.Outcome)
		}
		if time.Since(cancelled) > bound {
			t.Fatalf("B still answers SOLD_OUT %s after the cancel on A, want RESERVED within %s", time.Since(cancelled), bound)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
