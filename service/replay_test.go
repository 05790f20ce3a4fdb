package service_test

import (
	"errors"
	"testing"
	"time"

	"flashlive/domain"
)

// fsWantExpiredRefusal fails t unless Purchase refused with the expired
// token's error and no result.
func fsWantExpiredRefusal(t *testing.T, res *domain.PurchaseResult, err error) {
	t.Helper()
	if !errors.Is(err, domain.ErrPurchaseTokenExpired) || res != nil {
		t.Fatalf("Purchase = %+v, %v; want nil, ErrPurchaseTokenExpired", res, err)
	}
	fsWantCode(t, err, domain.EINVALID, "expired")
}

// TestFlashSaleExpiredTokenReplaysTheFirstAnswer: with an authentic token
// past its expiry, a key answered before gets its first answer (RESERVED
// or not), from the hot stock, and nothing is reserved, published or
// drawn; a key never answered, another buyer's key and a token that is
// not authentic are refused as before.
func TestFlashSaleExpiredTokenReplaysTheFirstAnswer(t *testing.T) {
	h := fsNewHarness()
	ev := fsEvent()
	ev.Stock, ev.Remaining = 3, 3
	h.source.Put(ev)
	h.hot.put(t, ev, 3, false)
	buyer2 := "usr_buyer2"

	first, err := h.sale.Purchase(fsBuyer(fsBuyerID), fsRequest(fsBuyerID, 3, "k-reserved"))
	if err != nil || first.Outcome != domain.OutcomeReserved || first.Order == nil || *first.Remaining != 0 {
		t.Fatalf("first purchase = %+v, %v; want RESERVED with 0 left", first, err)
	}
	soldOut, err := h.sale.Purchase(fsBuyer(buyer2), fsRequest(buyer2, 1, "k-sold-out"))
	if err != nil || soldOut.Outcome != domain.OutcomeSoldOut {
		t.Fatalf("buyer 2's purchase = %+v, %v; want SOLD_OUT", soldOut, err)
	}
	// The event ends, and every token has expired.
	h.clock.Set(ev.EndsAt.Add(time.Minute))
	h.tokens.verifyErr = domain.ErrPurchaseTokenExpired
	reserves, orderIDs := h.hot.reserveCalls.Load(), h.orderIDs.Load()

	again, err := h.sale.Purchase(fsBuyer(fsBuyerID), fsRequest(fsBuyerID, 1, "k-reserved"))
	if err != nil || again.Outcome != domain.OutcomeReserved || again.Order == nil || again.Order.ID != first.Order.ID ||
		*again.Remaining != 0 || again.Order.TotalCents != first.Order.TotalCents || again.Order.Status != domain.OrderPending {
		t.Fatalf("retry with an expired token = %+v, %v; want the first answer %+v", again, err, first)
	}
	// Buyer 2's SOLD_OUT came from the sold-out mark, which keeps no
	// answer: the retry gets the event's present refusal (it has ended).
	againSoldOut, err := h.sale.Purchase(fsBuyer(buyer2), fsRequest(buyer2, 1, "k-sold-out"))
	if err != nil || againSoldOut.Outcome != domain.OutcomeEnded || againSoldOut.Order != nil || *againSoldOut.Remaining != 0 {
		t.Fatalf("buyer 2's retry with an expired token = %+v, %v; want ENDED with 0 left", againSoldOut, err)
	}

	// A key never answered: the expired token buys nothing.
	res, err := h.sale.Purchase(fsBuyer(fsBuyerID), fsRequest(fsBuyerID, 1, "k-new"))
	fsWantExpiredRefusal(t, res, err)
	// Buyer 2, with an expired token of their own, asks buyer 1's key:
	// keys are per buyer, so there is nothing to read, and buyer 2 holds
	// nothing: the event's present refusal, never buyer 1's order.
	res, err = h.sale.Purchase(fsBuyer(buyer2), fsRequest(buyer2, 1, "k-reserved"))
	if err != nil || res.Outcome != domain.OutcomeEnded || res.Order != nil {
		t.Fatalf("buyer 2 asking buyer 1's key = %+v, %v; want ENDED and no order", res, err)
	}
	answers := h.hot.answerCalls.Load()
	// Buyer 2 with buyer 1's token: not authentic for buyer 2, so no
	// lookup at all.
	stolen := fsRequest(fsBuyerID, 1, "k-reserved")
	res, err = h.sale.Purchase(fsBuyer(buyer2), stolen)
	if res != nil || errors.Is(err, domain.ErrPurchaseTokenExpired) {
		t.Fatalf("buyer 2 with buyer 1's token = %+v, %v; want refused as not valid", res, err)
	}
	fsWantCode(t, err, domain.EINVALID, "not valid")
	fsWantCount(t, "Hot.Answer calls after the stolen token", &h.hot.answerCalls, answers)

	fsWantCount(t, "Hot.Answer calls", &h.hot.answerCalls, 4)
	fsWantCount(t, "Hot.Reserve calls", &h.hot.reserveCalls, reserves)
	fsWantCount(t, "order IDs drawn", &h.orderIDs, orderIDs)
	fsWantCount(t, "publish calls", &h.pub.calls, 1)
	// The hot stock holds the event: its "none" is final, PostgreSQL is
	// not asked.
	fsWantCount(t, "Source.KeptAnswer calls", &h.source.keptCalls, 0)
	if got := h.hot.remaining(fsEventID); got != 0 {
		t.Fatalf("remaining = %d, want 0", got)
	}
}

// TestFlashSaleExpiredTokenReadsPostgresWhenTheHotStockLostTheEvent: with
// the event gone from the hot stock (lost, not rebuilt), an expired token
// finds the RESERVED answer the system of record keeps, with one read by
// key and without loading the event; a key it does not keep is refused;
// its failure is returned.
func TestFlashSaleExpiredTokenReadsPostgresWhenTheHotStockLostTheEvent(t *testing.T) {
	h := fsNewHarness()
	ev := fsEvent()
	h.source.Put(ev)
	kept := domain.Reservation{
		OrderID: fsOrderID(7), BuyerID: fsBuyerID, EventID: fsEventID, ProductID: ev.ProductID, SellerID: ev.SellerID,
		Quantity: 2, UnitPriceCents: ev.PriceCents, CreatedAt: fsT0.Add(-time.Minute), IdempotencyKey: "k-kept", RemainingAfter: 41,
	}
	h.source.keep(kept)
	h.tokens.verifyErr = domain.ErrPurchaseTokenExpired

	res, err := h.sale.Purchase(fsBuyer(fsBuyerID), fsRequest(fsBuyerID, 1, "k-kept"))
	if err != nil || res.Outcome != domain.OutcomeReserved || res.Order == nil || res.Order.ID != kept.OrderID ||
		*res.Remaining != 41 || res.Order.TotalCents != 2*ev.PriceCents || res.Order.Status != domain.OrderPending {
		t.Fatalf("retry with an expired token = %+v, %v; want RESERVED order %s with 41 left", res, err, kept.OrderID)
	}
	res, err = h.sale.Purchase(fsBuyer(fsBuyerID), fsRequest(fsBuyerID, 1, "k-not-kept"))
	fsWantExpiredRefusal(t, res, err)
	fsWantCount(t, "Source.KeptAnswer calls", &h.source.keptCalls, 2)

	h.source.mu.Lock()
	h.source.keptErr = domain.Errorf(domain.EUNAVAILABLE, "the database took too long; try again")
	h.source.mu.Unlock()
	res, err = h.sale.Purchase(fsBuyer(fsBuyerID), fsRequest(fsBuyerID, 1, "k-kept"))
	if res != nil {
		t.Fatalf("Purchase with the source failing = %+v, want nil", res)
	}
	fsWantCode(t, err, domain.EUNAVAILABLE)

	// Read only: nothing loaded, reserved, published or drawn.
	fsWantCount(t, "Hot.Load calls", &h.hot.loadCalls, 0)
	fsWantCount(t, "Hot.Reserve calls", &h.hot.reserveCalls, 0)
	fsWantCount(t, "Source.HotEvent calls", &h.source.calls, 0)
	fsWantCount(t, "publish calls", &h.pub.calls, 0)
	fsWantCount(t, "order IDs drawn", &h.orderIDs, 0)
	if h.hot.isLoaded(fsEventID) {
		t.Fatal("the event was loaded by a replay")
	}
}
