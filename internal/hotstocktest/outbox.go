package hotstocktest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"flashlive/domain"
)

func testOutbox(t *testing.T, s domain.HotStock) {
	ctx := context.Background()
	ev := Event("evt_out", 10, 5)
	MustLoad(t, s, ev)
	var rs []domain.Reservation
	for i := range 3 {
		r := Request(ev.ID, "usr_a", domain.FlashOrderID(fmt.Sprint(i), ev.ID), 1)
		r.CreatedAt = T0.Add(time.Duration(i) * time.Minute)
		rs = append(rs, *MustReserve(t, s, r, fmt.Sprintf("k%d", i), T0).Reservation)
	}
	// Two created at the same instant: by order ID.
	tie := Request(ev.ID, "usr_b", domain.FlashOrderID("0tie", ev.ID), 1)
	tie.CreatedAt = rs[2].CreatedAt
	tied := *MustReserve(t, s, tie, "kt", T0).Reservation
	MustLoad(t, s, Event("evt_out2", 10, 5))
	r := Request("evt_out2", "usr_b", domain.FlashOrderID("other", "evt_out2"), 1)
	other := *MustReserve(t, s, r, "k", T0).Reservation

	wantList := func(step string, before time.Time, want ...domain.Reservation) {
		t.Helper()
		got, err := s.Reservations(ctx, ev.ID, before)
		if err != nil {
			t.Fatalf("%s: Reservations: %v", step, err)
		}
		if len(got) != len(want) {
			t.Fatalf("%s: Reservations = %+v, want %+v", step, got, want)
		}
		for i := range got {
			if !sameReservation(&got[i], &want[i]) {
				t.Fatalf("%s: Reservations[%d] = %+v, want %+v", step, i, got[i], want[i])
			}
		}
	}
	wantList("before +2m (strictly)", T0.Add(2*time.Minute), rs[0], rs[1])
	wantList("before +1h", T0.Add(time.Hour), rs[0], rs[1], tied, rs[2])
	wantList("before T0", T0)
	if got, err := s.Reservations(ctx, "evt_nothing", T0.Add(time.Hour)); err != nil || len(got) != 0 {
		t.Fatalf("Reservations of an unknown event = %v, %v; want none", got, err)
	}
	for _, want := range append(rs, other) {
		found, err := s.FindReservation(ctx, want.OrderID)
		if err != nil {
			t.Fatalf("FindReservation %s: %v", want.OrderID, err)
		}
		if !sameReservation(found, &want) {
			t.Fatalf("FindReservation = %+v, want %+v", *found, want)
		}
	}

	// Forget two orders of two events; forgetting nothing is a no-op.
	if err := s.Forget(ctx, []domain.Reservation{rs[0], other}); err != nil {
		t.Fatalf("Forget: %v", err)
	}
	if err := s.Forget(ctx, nil); err != nil {
		t.Fatalf("Forget nothing: %v", err)
	}
	for _, id := range []string{rs[0].OrderID, other.OrderID, "ord_never", domain.FlashOrderID("never", ev.ID), domain.FlashOrderID("x", "evt_nothing")} {
		_, err := s.FindReservation(ctx, id)
		if got, want := domain.ErrorCode(err), domain.ENOTFOUND; got != want {
			t.Fatalf("FindReservation %s: code %q (%v), want %q", id, got, err, want)
		}
		if got, want := domain.ErrorMessage(err), "order not found"; got != want {
			t.Fatalf("FindReservation %s: message %q, want %q", id, got, want)
		}
	}
	wantList("after Forget", T0.Add(time.Hour), rs[1], tied, rs[2])
	// Forget changes no stock.
	wantTally(t, s, ev.ID, 6, map[string]int{rs[1].OrderID: 1, tied.OrderID: 1, rs[2].OrderID: 1})
	wantTally(t, s, "evt_out2", 9, map[string]int{})
}

func testRemaining(t *testing.T, s domain.HotStock) {
	ctx := context.Background()
	MustLoad(t, s, Event("evt_r1", 10, 5))
	MustLoad(t, s, Event("evt_r2", 3, 5))
	MustReserve(t, s, Request("evt_r1", "usr_a", "ord_1", 4), "k", T0)
	MustReserve(t, s, Request("evt_r2", "usr_a", "ord_2", 3), "k", T0)
	if err := s.Close(ctx, "evt_closed_not_loaded"); err != nil {
		t.Fatalf("Close: %v", err)
	}

	got, err := s.Remaining(ctx, []string{"evt_r1", "evt_absent", "evt_r2", "evt_closed_not_loaded"})
	if err != nil {
		t.Fatalf("Remaining: %v", err)
	}
	want := map[string]int{"evt_r1": 6, "evt_r2": 0}
	if len(got) != len(want) {
		t.Fatalf("Remaining = %v, want %v", got, want)
	}
	for id, n := range want {
		if m, ok := got[id]; !ok || m != n {
			t.Fatalf("Remaining = %v, want %v", got, want)
		}
	}
	for _, ids := range [][]string{nil, {"evt_absent"}} {
		got, err := s.Remaining(ctx, ids)
		if err != nil {
			t.Fatalf("Remaining(%v): %v", ids, err)
		}
		if got == nil || len(got) != 0 {
			t.Fatalf("Remaining(%v) = %v, want an empty map", ids, got)
		}
	}
}
