package hotstocktest

import (
	"context"
	"sync"
	"testing"

	"flashlive/domain"
)

func testReleaseOnce(t *testing.T, s domain.HotStock) {
	ctx := context.Background()
	ev := Event("evt_rel", 5, 3)
	MustLoad(t, s, ev)
	res := MustReserve(t, s, Request(ev.ID, "usr_a", "ord_1", 2), "k1", T0)
	MustReserve(t, s, Request(ev.ID, "usr_a", "ord_2", 1), "k2", T0)
	order := res.Reservation.Order(domain.OrderCancelled, nil)

	const calls = 10
	released := make([]bool, calls)
	errs := make([]error, calls)
	var wg sync.WaitGroup
	for i := range calls {
		wg.Add(1)
		go func() {
			defer wg.Done()
			released[i], errs[i] = s.Release(ctx, order)
		}()
	}
	wg.Wait()
	n := 0
	for i := range calls {
		if errs[i] != nil {
			t.Fatalf("Release %d: %v", i, errs[i])
		}
		if released[i] {
			n++
		}
	}
	if got, want := n, 1; got != want {
		t.Fatalf("Release returned true %d times, want %d", got, want)
	}
	// Release gives back stock, not the outbox record (Forget does).
	wantTally(t, s, ev.ID, 4, map[string]int{"ord_1": 2, "ord_2": 1})
	// usr_a holds 1 of 3 again: 2 more are within the limit, 3 are not.
	if res := MustReserve(t, s, Request(ev.ID, "usr_a", "ord_x", 3), "kx", T0); res.Outcome != domain.OutcomeLimitReached {
		t.Fatalf("Reserve 3 after Release = %s, want LIMIT_REACHED", FormatResult(res))
	}
	if res := MustReserve(t, s, Request(ev.ID, "usr_a", "ord_3", 2), "k3", T0); res.Outcome != domain.OutcomeReserved {
		t.Fatalf("Reserve 2 after Release = %s, want RESERVED", FormatResult(res))
	}
	for _, id := range []string{"ord_2", "ord_3"} {
		mustRelease(t, s, &domain.Order{ID: id, FlashEventID: ev.ID}, true)
	}
	if snap, err := s.Snapshot(ctx, ev.ID); err != nil || snap.Remaining != 5 {
		t.Fatalf("Snapshot = %+v, %v; want remaining 5", snap, err)
	}
	// Orders not reserved here, and orders of no flash event, give nothing.
	for _, o := range []*domain.Order{
		{ID: "ord_unknown", FlashEventID: ev.ID, BuyerID: "usr_a", Items: []domain.OrderItem{{Quantity: 1}}},
		{ID: "ord_cart", BuyerID: "usr_a"},
		{FlashEventID: ev.ID},
		nil,
	} {
		mustRelease(t, s, o, false)
	}
	if snap, err := s.Snapshot(ctx, ev.ID); err != nil || snap.Remaining != 5 {
		t.Fatalf("Snapshot = %+v, %v; want remaining 5", snap, err)
	}
}

// testReleaseAndLoad plays Release and Load in the orders they can meet,
// with the source (PostgreSQL) as each case describes it.
func testReleaseAndLoad(t *testing.T, newHot func(t *testing.T) domain.HotStock) {
	ctx := context.Background()
	t.Run("release while not loaded, then load", func(t *testing.T) {
		s := newHot(t)
		o := &domain.Order{ID: "ord_1", BuyerID: "usr_a", FlashEventID: "evt_rl", Items: []domain.OrderItem{{Quantity: 2}}}
		mustRelease(t, s, o, false)
		if loaded, err := s.IsLoaded(ctx, "evt_rl"); err != nil || loaded {
			t.Fatalf("IsLoaded after Release = %v, %v; want false, nil", loaded, err)
		}
		// The source has the order cancelled: the full stock is left.
		MustLoad(t, s, Event("evt_rl", 5, 2))
		mustRelease(t, s, o, false)
		wantTally(t, s, "evt_rl", 5, map[string]int{})
	})
	t.Run("reserve, release, load again", func(t *testing.T) {
		s := newHot(t)
		ev := Event("evt_rl", 5, 2)
		MustLoad(t, s, ev)
		MustReserve(t, s, Request(ev.ID, "usr_a", "ord_1", 2), "k", T0)
		mustRelease(t, s, &domain.Order{ID: "ord_1", FlashEventID: ev.ID}, true)
		if loaded, err := s.Load(ctx, ev); err != nil || loaded {
			t.Fatalf("Load = %v, %v; want false, nil", loaded, err)
		}
		mustRelease(t, s, &domain.Order{ID: "ord_1", FlashEventID: ev.ID}, false)
		wantTally(t, s, ev.ID, 5, map[string]int{"ord_1": 2})
	})
	t.Run("loaded from the source with the order unpaid: released once", func(t *testing.T) {
		s := newHot(t)
		ev := Event("evt_rl", 5, 2)
		ev.Remaining, ev.Held = 3, map[string]int{"usr_a": 2}
		ev.Unpaid = []domain.HeldOrder{{OrderID: "ord_1", BuyerID: "usr_a", Units: 2}}
		MustLoad(t, s, ev)
		mustRelease(t, s, &domain.Order{ID: "ord_1", FlashEventID: ev.ID}, true)
		mustRelease(t, s, &domain.Order{ID: "ord_1", FlashEventID: ev.ID}, false)
		wantTally(t, s, ev.ID, 5, map[string]int{})
		// usr_a holds nothing now: the limit of 2 is free again.
		if res := MustReserve(t, s, Request(ev.ID, "usr_a", "ord_2", 2), "k", T0); res.Outcome != domain.OutcomeReserved {
			t.Fatalf("Reserve = %s, want RESERVED", FormatResult(res))
		}
	})
	t.Run("loaded from the source with the order held but not listed: nothing released", func(t *testing.T) {
		// Whether the snapshot counted the order as live or as cancelled
		// cannot be told: giving its units back could oversell.
		s := newHot(t)
		ev := Event("evt_rl", 5, 2)
		ev.Remaining, ev.Held = 3, map[string]int{"usr_a": 2}
		MustLoad(t, s, ev)
		mustRelease(t, s, &domain.Order{ID: "ord_1", FlashEventID: ev.ID}, false)
		wantTally(t, s, ev.ID, 3, map[string]int{})
	})
}
