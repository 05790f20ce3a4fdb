package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"flashlive/internal/testenv"
)

// purchaseIn is the purchaseFlash input of one press.
func purchaseIn(eventID, token, key string) map[string]any {
	return map[string]any{"in": map[string]any{"eventId": eventID, "token": token, "quantity": 1, "idempotencyKey": key}}
}

// wantSameAnswer fails t unless got is first: RESERVED, the same order,
// the same stock left.
func wantSameAnswer(t *testing.T, what string, got, first purchaseAnswer) {
	t.Helper()
	if got.Outcome != "RESERVED" || got.Order == nil || got.Order.ID != first.Order.ID ||
		got.Remaining == nil || *got.Remaining != *first.Remaining || got.Order.TotalCents != first.Order.TotalCents {
		t.Fatalf("%s = %+v, want the first answer %+v (order %s)", what, got, first, first.Order.ID)
	}
}

// TestExpiredTokenReplaysAnsweredKey: a buyer whose purchase token ran out
// after the event sold out (so no new token can be had) asks again the
// key of their RESERVED press and gets that first answer, same order; so
// after the event ended. The expired token buys nothing with a new key,
// and nobody else's token or key reads the answer.
func TestExpiredTokenReplaysAnsweredKey(t *testing.T) {
	app := startApp(t, nil)
	// On sale for ten minutes: it ends while the buyers' access tokens
	// (an hour) are still good.
	_, eventID := app.liveEventFor(t, 2, 2, 10*time.Minute)
	buyers := app.buyers(t, 2)
	b1, b2 := buyers[0], buyers[1]
	tok1, tok2 := b1.purchaseToken(t, eventID), b2.purchaseToken(t, eventID)

	first := b1.buy(t, eventID, tok1, 1, "press-1")
	if first.Outcome != "RESERVED" || first.Order == nil || first.Remaining == nil || *first.Remaining != 1 {
		t.Fatalf("buyer 1's press = %+v, want RESERVED with 1 left", first)
	}
	if a := b2.buy(t, eventID, tok2, 1, "press-2"); a.Outcome != "RESERVED" || *a.Remaining != 0 {
		t.Fatalf("buyer 2's press = %+v, want RESERVED with 0 left", a)
	}
	// Sold out: no new token for anyone.
	b1.wantCode(t, "CONFLICT", tokenMutation, map[string]any{"e": eventID})

	// The tokens' minute passes.
	app.Clock.Advance(2 * time.Minute)
	wantSameAnswer(t, "buyer 1's retry with the expired token", b1.buy(t, eventID, tok1, 1, "press-1"), first)

	// A new key: the expired token buys nothing, and says why.
	r := b1.wantCode(t, "INVALID", purchaseMutation, purchaseIn(eventID, tok1, "press-new"))
	if !strings.Contains(r.Errors[0].Message, "expired") {
		t.Fatalf("new key with an expired token: message %q, want it to say the token expired", r.Errors[0].Message)
	}
	// Buyer 2 with buyer 1's token: not theirs, expired or not.
	r = b2.wantCode(t, "INVALID", purchaseMutation, purchaseIn(eventID, tok1, "press-1"))
	if !strings.Contains(r.Errors[0].Message, "not valid") {
		t.Fatalf("buyer 2 with buyer 1's token: message %q, want not valid", r.Errors[0].Message)
	}
	// Buyer 2's own expired token and buyer 1's key: keys are per buyer.
	r = b2.wantCode(t, "INVALID", purchaseMutation, purchaseIn(eventID, tok2, "press-1"))
	if !strings.Contains(r.Errors[0].Message, "expired") {
		t.Fatalf("buyer 2 asking buyer 1's key: message %q, want expired", r.Errors[0].Message)
	}

	// The event ends: the answer stays.
	app.Clock.Advance(10 * time.Minute)
	wantSameAnswer(t, "buyer 1's retry after the event ended", b1.buy(t, eventID, tok1, 1, "press-1"), first)
	app.anon().wantCode(t, "UNAUTHENTICATED", purchaseMutation, purchaseIn(eventID, tok1, "press-1"))

	testenv.WaitFor(t, 15*time.Second, "two orders", func() bool { n, _, _ := app.orderCounts(t, eventID); return n == 2 })
	if n, live, sold := app.orderCounts(t, eventID); n != 2 || live != 2 || sold != 2 {
		t.Fatalf("orders %d live %d sold %d, want 2 each", n, live, sold)
	}
	if got := app.remaining(t, eventID); got != 0 {
		t.Fatalf("remaining = %d, want 0", got)
	}
}

// TestExpiredTokenReplaysFromPostgresAfterRedisLoss: once the order is
// written, its key's answer survives the hot stock losing everything: an
// expired token's retry after the event ended (so nothing reloads the
// event) is answered from PostgreSQL's kept answers, without loading the
// event back; a new key is refused.
func TestExpiredTokenReplaysFromPostgresAfterRedisLoss(t *testing.T) {
	app := startApp(t, nil)
	_, eventID := app.liveEventFor(t, 10, 3, 10*time.Minute)
	buyer := app.buyers(t, 1)[0]
	tok := buyer.purchaseToken(t, eventID)
	first := buyer.buy(t, eventID, tok, 1, "press-before-the-loss")
	if first.Outcome != "RESERVED" || first.Order == nil || *first.Remaining != 9 {
		t.Fatalf("first press = %+v, want RESERVED with 9 left", first)
	}
	testenv.WaitFor(t, 15*time.Second, "the order written", func() bool { n, _, _ := app.orderCounts(t, eventID); return n == 1 })

	// The event ends, then Redis loses everything of ours.
	app.Clock.Advance(15 * time.Minute)
	app.loseRedis(t)

	wantSameAnswer(t, "retry after the loss", buyer.buy(t, eventID, tok, 1, "press-before-the-loss"), first)
	buyer.wantCode(t, "INVALID", purchaseMutation, purchaseIn(eventID, tok, "press-after-the-loss"))
	if loaded, err := app.stores.hot.IsLoaded(context.Background(), eventID); err != nil || loaded {
		t.Fatalf("IsLoaded after the replay = %v, %v; want false: a replay reads, it never loads", loaded, err)
	}
	// The replay made no order (the one order may have expired meanwhile:
	// the clock moved past its payment window).
	if n, _, _ := app.orderCounts(t, eventID); n != 1 {
		t.Fatalf("orders %d, want 1: a replay never makes an order", n)
	}
}
