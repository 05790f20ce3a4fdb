package hotstocktest

import (
	"context"
	"errors"
	"testing"
	"time"

	"flashlive/domain"
)

func testLoad(t *testing.T, s domain.HotStock) {
	ctx := context.Background()
	ev := Event("evt_load", 10, 3)
	ev.Remaining, ev.Held = 7, map[string]int{"usr_a": 2, "usr_b": 1, "usr_zero": 0}
	MustLoad(t, s, ev)
	if loaded, err := s.IsLoaded(ctx, ev.ID); err != nil || !loaded {
		t.Fatalf("IsLoaded = %v, %v; want true, nil", loaded, err)
	}
	wantTally(t, s, ev.ID, 7, map[string]int{})
	// usr_a holds 2 of 3.
	if res := MustReserve(t, s, Request(ev.ID, "usr_a", "ord_1", 2), "k1", T0); res.Outcome != domain.OutcomeLimitReached {
		t.Fatalf("Reserve over the loaded limit = %s, want LIMIT_REACHED", FormatResult(res))
	}
	MustReserve(t, s, Request(ev.ID, "usr_c", "ord_2", 3), "k2", T0)

	// Loading again, even with the full stock, changes nothing...
	full := Event("evt_load", 10, 3)
	if loaded, err := s.Load(ctx, full); err != nil || loaded {
		t.Fatalf("Load again = %v, %v; want false, nil", loaded, err)
	}
	wantTally(t, s, ev.ID, 4, map[string]int{"ord_2": 3})
	if res := MustReserve(t, s, Request(ev.ID, "usr_c", "ord_3", 1), "k3", T0); res.Outcome != domain.OutcomeLimitReached {
		t.Fatalf("Reserve by usr_c after a second Load = %s, want LIMIT_REACHED (holds 3)", FormatResult(res))
	}
	// ...but closing goes through, and never back.
	full.Closed = true
	if loaded, err := s.Load(ctx, full); err != nil || loaded {
		t.Fatalf("Load closed = %v, %v; want false, nil", loaded, err)
	}
	if res := MustReserve(t, s, Request(ev.ID, "usr_d", "ord_4", 1), "k4", T0); res.Outcome != domain.OutcomeClosed {
		t.Fatalf("Reserve after a closed Load = %s, want CLOSED", FormatResult(res))
	}
	full.Closed = false
	if loaded, err := s.Load(ctx, full); err != nil || loaded {
		t.Fatalf("Load open = %v, %v; want false, nil", loaded, err)
	}
	if res := MustReserve(t, s, Request(ev.ID, "usr_d", "ord_5", 1), "k5", T0); res.Outcome != domain.OutcomeClosed {
		t.Fatalf("Reserve after reopening by Load = %s, want CLOSED", FormatResult(res))
	}
	if snap, err := s.Snapshot(ctx, ev.ID); err != nil || snap != (domain.HotSnapshot{Remaining: 4, Closed: true}) {
		t.Fatalf("Snapshot = %+v, %v; want remaining 4, closed", snap, err)
	}
}

// testLoadKeepsAnswers: a fresh load answers a retry of a key answered
// RESERVED before (ev.Answers) with that answer, taking nothing; an answer
// past the key's TTL is not kept; a load of an event already there leaves
// its keys alone.
func testLoadKeepsAnswers(t *testing.T, s domain.HotStock) {
	ctx := context.Background()
	ev := Event("evt_kept", 10, 3)
	ev.Remaining, ev.Held = 7, map[string]int{"usr_a": 2, "usr_b": 1}
	kept := domain.Reservation{
		OrderID: "ord_old", BuyerID: "usr_a", EventID: ev.ID, ProductID: ev.ProductID, SellerID: ev.SellerID,
		Quantity: 2, UnitPriceCents: ev.PriceCents, CreatedAt: time.Now().Add(-time.Minute).UTC().Truncate(time.Millisecond),
		IdempotencyKey: "k-old", RemainingAfter: 5,
	}
	stale := kept
	stale.OrderID, stale.BuyerID, stale.Quantity, stale.IdempotencyKey = "ord_stale", "usr_b", 1, "k-stale"
	stale.CreatedAt = time.Now().Add(-2 * IdempotencyTTL)
	ev.Answers = []domain.Reservation{kept, stale}
	MustLoad(t, s, ev)

	res := MustReserve(t, s, Request(ev.ID, "usr_a", "ord_new", 1), "k-old", T0)
	if want := (domain.ReserveResult{Outcome: domain.OutcomeReserved, Remaining: 5, Reservation: &kept}); !sameResult(res, want) {
		t.Fatalf("retry of a kept key = %s, want %s", FormatResult(res), FormatResult(want))
	}
	wantTally(t, s, ev.ID, 7, map[string]int{})
	if res := MustReserve(t, s, Request(ev.ID, "usr_a", "ord_a2", 2), "k-a2", T0); res.Outcome != domain.OutcomeLimitReached {
		t.Fatalf("usr_a for 2 more = %s, want LIMIT_REACHED (holds 2 of 3)", FormatResult(res))
	}
	// The stale key is a new press: it reserves (usr_b holds 1 of 3).
	if res := MustReserve(t, s, Request(ev.ID, "usr_b", "ord_b2", 1), "k-stale", T0); res.Outcome != domain.OutcomeReserved || res.Reservation.OrderID != "ord_b2" {
		t.Fatalf("key past its TTL = %s, want a new reservation ord_b2", FormatResult(res))
	}
	// Loading again, with another answer for the key, changes nothing.
	other := kept
	other.OrderID, other.RemainingAfter = "ord_other", 1
	again := Event("evt_kept", 10, 3)
	again.Answers = []domain.Reservation{other}
	if loaded, err := s.Load(ctx, again); err != nil || loaded {
		t.Fatalf("Load again = %v, %v; want false, nil", loaded, err)
	}
	if res := MustReserve(t, s, Request(ev.ID, "usr_a", "ord_new2", 1), "k-old", T0); res.Reservation == nil || res.Reservation.OrderID != "ord_old" {
		t.Fatalf("after a second Load the key answers %s, want ord_old", FormatResult(res))
	}
	// A fresh load does not override a key answered already.
	MustLoad(t, s, Event("evt_kept2", 10, 3))
	first := MustReserve(t, s, Request("evt_kept2", "usr_a", "ord_k2", 1), "k-2", T0)
	if err := s.Close(ctx, "evt_kept2"); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if res := MustReserve(t, s, Request("evt_kept2", "usr_a", "ord_k2b", 1), "k-2", T0); !sameResult(res, first) {
		t.Fatalf("replay = %s, want %s", FormatResult(res), FormatResult(first))
	}
}

func testLoadInconsistent(t *testing.T, newHot func(t *testing.T) domain.HotStock) {
	s := newHot(t)
	ctx := context.Background()
	fresh := domain.Reservation{OrderID: "ord_k", BuyerID: "usr_a", EventID: "evt_bad", Quantity: 1, CreatedAt: time.Now(), IdempotencyKey: "k"}
	for _, tt := range []struct {
		name string
		edit func(*domain.HotEvent)
	}{
		{"remaining above stock", func(ev *domain.HotEvent) { ev.Remaining = 11 }},
		{"held missing", func(ev *domain.HotEvent) { ev.Remaining = 9 }},
		{"held too much", func(ev *domain.HotEvent) { ev.Held = map[string]int{"usr_a": 1} }},
		{"negative held", func(ev *domain.HotEvent) { ev.Remaining, ev.Held = 11, map[string]int{"usr_a": -1} }},
		{"negative remaining", func(ev *domain.HotEvent) { ev.Remaining, ev.Held = -1, map[string]int{"usr_a": 11} }},
		{"no ID", func(ev *domain.HotEvent) { ev.ID = "" }},
		{"unpaid order its buyer does not hold", func(ev *domain.HotEvent) {
			ev.Remaining, ev.Held = 9, map[string]int{"usr_a": 1}
			ev.Unpaid = []domain.HeldOrder{{OrderID: "ord_9", BuyerID: "usr_a", Units: 2}}
		}},
		{"unpaid order of no units", func(ev *domain.HotEvent) {
			ev.Remaining, ev.Held = 9, map[string]int{"usr_a": 1}
			ev.Unpaid = []domain.HeldOrder{{OrderID: "ord_9", BuyerID: "usr_a", Units: 0}}
		}},
		{"kept answer without its key", func(ev *domain.HotEvent) {
			r := fresh
			r.IdempotencyKey = ""
			ev.Answers = []domain.Reservation{r}
		}},
		{"kept answer of another event", func(ev *domain.HotEvent) {
			r := fresh
			r.EventID = "evt_other"
			ev.Answers = []domain.Reservation{r}
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ev := Event("evt_bad", 10, 3)
			tt.edit(&ev)
			if loaded, err := s.Load(ctx, ev); err == nil || loaded {
				t.Fatalf("Load = %v, %v; want false and an error", loaded, err)
			}
			if loaded, err := s.IsLoaded(ctx, "evt_bad"); err != nil || loaded {
				t.Fatalf("IsLoaded = %v, %v; want false, nil", loaded, err)
			}
		})
	}
	if _, err := s.Load(ctx, domain.HotEvent{}); domain.ErrorCode(err) != domain.EINVALID {
		t.Fatalf("Load without an ID: %v, want INVALID", err)
	}
}

func testClose(t *testing.T, s domain.HotStock) {
	ctx := context.Background()
	// Not loaded: nothing is loaded, but a load that read its source
	// before the close still loads the event closed.
	if err := s.Close(ctx, "evt_race"); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if loaded, err := s.IsLoaded(ctx, "evt_race"); err != nil || loaded {
		t.Fatalf("IsLoaded after Close = %v, %v; want false, nil", loaded, err)
	}
	if _, err := s.Snapshot(ctx, "evt_race"); !errors.Is(err, domain.ErrNotLoaded) {
		t.Fatalf("Snapshot after Close: %v, want ErrNotLoaded", err)
	}
	MustLoad(t, s, Event("evt_race", 3, 1)) // read while open
	if snap, err := s.Snapshot(ctx, "evt_race"); err != nil || snap != (domain.HotSnapshot{Remaining: 3, Closed: true}) {
		t.Fatalf("Snapshot = %+v, %v; want remaining 3, closed", snap, err)
	}
	if res := MustReserve(t, s, Request("evt_race", "usr_a", "ord_1", 1), "k", T0); res.Outcome != domain.OutcomeClosed {
		t.Fatalf("Reserve = %s, want CLOSED", FormatResult(res))
	}

	// Loaded: closed for good, stock untouched; closing again is harmless.
	ev := Event("evt_open", 5, 2)
	MustLoad(t, s, ev)
	MustReserve(t, s, Request(ev.ID, "usr_a", "ord_2", 1), "k", T0)
	for range 2 {
		if err := s.Close(ctx, ev.ID); err != nil {
			t.Fatalf("Close: %v", err)
		}
	}
	if snap, err := s.Snapshot(ctx, ev.ID); err != nil || snap != (domain.HotSnapshot{Remaining: 4, Closed: true}) {
		t.Fatalf("Snapshot = %+v, %v; want remaining 4, closed", snap, err)
	}
	if res := MustReserve(t, s, Request(ev.ID, "usr_b", "ord_3", 1), "k", T0); res.Outcome != domain.OutcomeClosed || res.Remaining != 4 {
		t.Fatalf("Reserve = %s, want CLOSED remaining=4", FormatResult(res))
	}
	wantTally(t, s, ev.ID, 4, map[string]int{"ord_2": 1})
}
