package hotstocktest

import (
	"context"
	"errors"
	"reflect"
	"sort"
	"testing"
	"time"

	"flashlive/domain"
)

// testSaleView pins SaleView and Replay: the buyers ever answered RESERVED
// (held at load, restored with a kept answer, or reserved here) are listed,
// a release or a refusal changes nothing of them, and a replay says so.
func testSaleView(t *testing.T, s domain.HotStock) {
	ctx := context.Background()
	ev := Event("evt_view", 3, 2)
	if _, err := s.SaleView(ctx, ev.ID, 10); !errors.Is(err, domain.ErrNotLoaded) {
		t.Fatalf("SaleView before Load: err = %v, want ErrNotLoaded", err)
	}
	kept := domain.Reservation{
		OrderID: "ord_kept", BuyerID: "usr_kept", EventID: ev.ID, ProductID: ev.ProductID, SellerID: ev.SellerID,
		Quantity: 1, UnitPriceCents: ev.PriceCents, CreatedAt: time.Now().UTC().Truncate(time.Millisecond),
		IdempotencyKey: "kept-key", RemainingAfter: 2,
	}
	ev.Remaining, ev.Held, ev.Answers = 2, map[string]int{"usr_old": 1}, []domain.Reservation{kept}
	MustLoad(t, s, ev)

	want := func(step string, remaining int, closed bool, buyers ...string) {
		t.Helper()
		v, err := s.SaleView(ctx, ev.ID, len(buyers))
		if err != nil {
			t.Fatalf("%s: SaleView: %v", step, err)
		}
		sort.Strings(v.Buyers)
		got := domain.HotSaleView{Remaining: v.Remaining, Closed: v.Closed, EndsAt: v.EndsAt, Buyers: v.Buyers, BuyerCount: v.BuyerCount}
		wantV := domain.HotSaleView{Remaining: remaining, Closed: closed, EndsAt: ev.EndsAt, Buyers: buyers, BuyerCount: len(buyers)}
		// One buyer fewer than there are: counted, not listed.
		short, err := s.SaleView(ctx, ev.ID, len(buyers)-1)
		if err != nil {
			t.Fatalf("%s: SaleView with a bound of %d: %v", step, len(buyers)-1, err)
		}
		if short.Buyers != nil || short.BuyerCount != len(buyers) || short.Remaining != remaining {
			t.Fatalf("%s: SaleView with a bound of %d = %+v, want no list, %d buyers, %d left", step, len(buyers)-1, short, len(buyers), remaining)
		}
		if !got.EndsAt.Equal(wantV.EndsAt) {
			t.Fatalf("%s: SaleView EndsAt = %v, want %v", step, got.EndsAt, wantV.EndsAt)
		}
		got.EndsAt, wantV.EndsAt = time.Time{}, time.Time{}
		if !reflect.DeepEqual(got, wantV) {
			t.Fatalf("%s: SaleView = %+v, want %+v", step, got, wantV)
		}
	}
	want("after load", 2, false, "usr_kept", "usr_old")

	first := MustReserve(t, s, Request(ev.ID, "usr_a", "ord_a", 2), "a", T0)
	if first.Outcome != domain.OutcomeReserved || first.Replay {
		t.Fatalf("first press = %s replay=%v, want RESERVED, not a replay", FormatResult(first), first.Replay)
	}
	out := MustReserve(t, s, Request(ev.ID, "usr_b", "ord_b", 1), "b", T0)
	if out.Outcome != domain.OutcomeSoldOut || out.Replay {
		t.Fatalf("press after the last unit = %s replay=%v, want SOLD_OUT, not a replay", FormatResult(out), out.Replay)
	}
	want("sold out", 0, false, "usr_a", "usr_kept", "usr_old")

	for _, c := range []struct {
		buyer, key string
		wantOut    domain.PurchaseOutcome
	}{{"usr_a", "a", domain.OutcomeReserved}, {"usr_b", "b", domain.OutcomeSoldOut}, {"usr_kept", "kept-key", domain.OutcomeReserved}} {
		again := MustReserve(t, s, Request(ev.ID, c.buyer, "ord_again_"+c.buyer, 1), c.key, T0)
		if again.Outcome != c.wantOut || !again.Replay {
			t.Fatalf("re-asking %s's key = %s replay=%v, want %s, a replay", c.buyer, FormatResult(again), again.Replay, c.wantOut)
		}
	}

	mustRelease(t, s, first.Reservation.Order(domain.OrderCancelled, nil), true)
	want("after a release", 2, false, "usr_a", "usr_kept", "usr_old")
	if err := s.Close(ctx, ev.ID); err != nil {
		t.Fatalf("Close: %v", err)
	}
	want("closed", 2, true, "usr_a", "usr_kept", "usr_old")
}
