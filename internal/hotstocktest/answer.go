package hotstocktest

import (
	"context"
	"errors"
	"testing"
	"time"

	"flashlive/domain"
)

// testAnswer: Answer reads the first answer of a buyer's key, RESERVED or
// not, whatever the clock and the stock say since, including one a Load
// restored; it is nil for a key not answered while the event is loaded
// and ErrNotLoaded while it is not; it changes nothing.
func testAnswer(t *testing.T, s domain.HotStock) {
	ctx := context.Background()
	answer := func(eventID, buyerID, key string) (*domain.ReserveResult, error) {
		t.Helper()
		return s.Answer(ctx, eventID, buyerID, key)
	}
	wantAnswer := func(what string, got *domain.ReserveResult, err error, want domain.ReserveResult) {
		t.Helper()
		if err != nil || got == nil || !sameResult(*got, want) {
			t.Fatalf("Answer of %s = %v, %v; want %s", what, got, err, FormatResult(want))
		}
	}
	wantNone := func(what string, got *domain.ReserveResult, err error, wantErr error) {
		t.Helper()
		if got != nil || !errors.Is(err, wantErr) {
			t.Fatalf("Answer of %s = %v, %v; want nil, %v", what, got, err, wantErr)
		}
	}

	ev := Event("evt_answer", 2, 2)
	got, err := answer(ev.ID, "usr_a", "k-1")
	wantNone("a key of an event not loaded", got, err, domain.ErrNotLoaded)
	MustLoad(t, s, ev)
	got, err = answer(ev.ID, "usr_a", "k-1")
	wantNone("a key not answered", got, err, nil)

	reserved := MustReserve(t, s, Request(ev.ID, "usr_a", "ord_a1", 2), "k-1", T0)
	soldOut := MustReserve(t, s, Request(ev.ID, "usr_b", "ord_b1", 1), "k-2", T0)
	if reserved.Outcome != domain.OutcomeReserved || soldOut.Outcome != domain.OutcomeSoldOut {
		t.Fatalf("reserve = %s, %s; want RESERVED, SOLD_OUT", FormatResult(reserved), FormatResult(soldOut))
	}
	if err := s.Close(ctx, ev.ID); err != nil {
		t.Fatalf("Close: %v", err)
	}
	got, err = answer(ev.ID, "usr_a", "k-1")
	wantAnswer("a RESERVED key", got, err, reserved)
	got, err = answer(ev.ID, "usr_b", "k-2")
	wantAnswer("a SOLD_OUT key", got, err, soldOut)
	got, err = answer(ev.ID, "usr_b", "k-1")
	wantNone("another buyer's key", got, err, nil)
	got, err = answer("evt_other", "usr_a", "k-1")
	wantNone("the key on another event, not loaded", got, err, domain.ErrNotLoaded)
	wantTally(t, s, ev.ID, 0, map[string]int{"ord_a1": 2})

	for _, tt := range []struct{ what, eventID, buyerID, key string }{
		{"no event", "", "usr_a", "k-1"},
		{"no buyer", ev.ID, "", "k-1"},
		{"no key", ev.ID, "usr_a", ""},
		{"a key with a space", ev.ID, "usr_a", "k 1"},
	} {
		got, err := answer(tt.eventID, tt.buyerID, tt.key)
		if got != nil || domain.ErrorCode(err) != domain.EINVALID {
			t.Fatalf("Answer with %s = %v, %v; want nil, INVALID", tt.what, got, err)
		}
	}

	// A rebuild's load restores a RESERVED answer; Answer reads it.
	rebuilt := Event("evt_answer_rebuilt", 10, 3)
	rebuilt.Remaining, rebuilt.Held = 8, map[string]int{"usr_a": 2}
	kept := domain.Reservation{
		OrderID: "ord_kept", BuyerID: "usr_a", EventID: rebuilt.ID, ProductID: rebuilt.ProductID, SellerID: rebuilt.SellerID,
		Quantity: 2, UnitPriceCents: rebuilt.PriceCents, CreatedAt: time.Now().Add(-time.Minute).UTC().Truncate(time.Millisecond),
		IdempotencyKey: "k-kept", RemainingAfter: 8,
	}
	rebuilt.Answers = []domain.Reservation{kept}
	MustLoad(t, s, rebuilt)
	got, err = answer(rebuilt.ID, "usr_a", "k-kept")
	wantAnswer("a key a Load restored", got, err, domain.ReserveResult{Outcome: domain.OutcomeReserved, Remaining: 8, Reservation: &kept})
}
