package postgres_test

import (
	"cmp"
	"context"
	"maps"
	"slices"
	"testing"
	"time"

	"flashlive/domain"
)

func TestOrderDueOrderIDs(t *testing.T) {
	t.Parallel()
	e := newOrderEnv(t)
	ctx := context.Background()
	seller := e.user(t, domain.RoleSeller)
	buyer := e.user(t, domain.RoleBuyer)
	ev := e.flashEvent(t, seller, 10)
	t0 := e.clock.Now()

	// Written a minute apart, so due a minute apart; one paid, one
	// cancelled.
	var rs []domain.Reservation
	for i := range 5 {
		e.clock.Set(t0.Add(time.Duration(i) * time.Minute))
		r := e.reservation(ev, buyer, 1, 0)
		e.write(t, r)
		rs = append(rs, r)
	}
	if _, err := e.orders.PayOrder(as(buyer), rs[1].OrderID); err != nil {
		t.Fatal(err)
	}
	if _, err := e.orders.CancelOrder(as(buyer), rs[3].OrderID); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		at    time.Duration
		limit int
		want  []string
	}{
		{testPaymentTimeout - time.Microsecond, 10, nil},
		{testPaymentTimeout, 10, []string{rs[0].OrderID}},
		{testPaymentTimeout + 4*time.Minute, 10, []string{rs[0].OrderID, rs[2].OrderID, rs[4].OrderID}},
		{testPaymentTimeout + 4*time.Minute, 2, []string{rs[0].OrderID, rs[2].OrderID}},
	} {
		got, err := e.orders.DueOrderIDs(ctx, t0.Add(tc.at), tc.limit)
		if err != nil {
			t.Fatalf("DueOrderIDs(t0+%s, %d): %v", tc.at, tc.limit, err)
		}
		if !slices.Equal(got, tc.want) {
			t.Fatalf("DueOrderIDs(t0+%s, %d) = %v, want %v", tc.at, tc.limit, got, tc.want)
		}
	}
	_, err := e.orders.DueOrderIDs(ctx, t0, 0)
	wantCode(t, err, domain.EINVALID)
}

func TestOrderOrdersExistAndLiveUnits(t *testing.T) {
	t.Parallel()
	e := newOrderEnv(t)
	ctx := context.Background()
	seller := e.user(t, domain.RoleSeller)
	buyer := e.user(t, domain.RoleBuyer)
	ev := e.flashEvent(t, seller, 20)

	awaiting, paid, completed, cancelled, expired := e.reservation(ev, buyer, 2, 0), e.reservation(ev, buyer, 1, 0),
		e.reservation(ev, buyer, 4, 0), e.reservation(ev, buyer, 3, 0), e.reservation(ev, buyer, 5, 0)
	e.write(t, awaiting, paid, completed, cancelled)
	e.clock.Add(time.Minute)
	e.write(t, expired)
	for _, id := range []string{paid.OrderID, completed.OrderID} {
		if _, err := e.orders.PayOrder(as(buyer), id); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := e.orders.CompleteOrder(as(seller), completed.OrderID); err != nil {
		t.Fatal(err)
	}
	if _, err := e.orders.CancelOrder(as(buyer), cancelled.OrderID); err != nil {
		t.Fatal(err)
	}
	e.clock.Add(testPaymentTimeout)
	if o, err := e.orders.ExpireOrder(ctx, expired.OrderID); err != nil || o.Status != domain.OrderExpired {
		t.Fatalf("ExpireOrder = %v, %v", o, err)
	}
	units, err := liveUnits(ctx, e.orders, ev.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := units, 2+1+4; got != want {
		t.Fatalf("LiveUnits = %d, want %d", got, want)
	}
	e.wantUnits(t, ev.ID, 7, map[domain.OrderStatus]int{
		domain.OrderAwaitingPayment: 2, domain.OrderPaid: 1, domain.OrderCompleted: 4, domain.OrderCancelled: 3, domain.OrderExpired: 5,
	})
	if units, err := liveUnits(ctx, e.orders, "evt_unknown"); err != nil || units != 0 {
		t.Fatalf("LiveUnits(unknown) = %d, %v; want 0", units, err)
	}

	unknown := newOrderID()
	exist, err := e.orders.OrdersExist(ctx, []string{awaiting.OrderID, unknown, cancelled.OrderID})
	if err != nil {
		t.Fatal(err)
	}
	if want := map[string]bool{awaiting.OrderID: true, unknown: false, cancelled.OrderID: true}; !maps.Equal(exist, want) {
		t.Fatalf("OrdersExist = %v, want %v", exist, want)
	}
	if exist, err := e.orders.OrdersExist(ctx, nil); err != nil || len(exist) != 0 {
		t.Fatalf("OrdersExist(nil) = %v, %v; want empty", exist, err)
	}
}

// TestOrderDeadOrdersSince: the event's CANCELLED and EXPIRED orders
// that changed at or after since; never a live one nor another event's.
func TestOrderDeadOrdersSince(t *testing.T) {
	t.Parallel()
	e := newOrderEnv(t)
	ctx := context.Background()
	seller := e.user(t, domain.RoleSeller)
	buyer := e.user(t, domain.RoleBuyer)
	ev, other := e.flashEvent(t, seller, 10), e.flashEvent(t, seller, 10)

	early, awaiting, paid, cancelled, expired := e.reservation(ev, buyer, 1, 0), e.reservation(ev, buyer, 1, 0),
		e.reservation(ev, buyer, 1, 0), e.reservation(ev, buyer, 1, 0), e.reservation(ev, buyer, 1, 0)
	elsewhere := e.reservation(other, buyer, 1, 0)
	e.write(t, early, awaiting, paid, cancelled, expired, elsewhere)
	if _, err := e.orders.CancelOrder(as(buyer), early.OrderID); err != nil {
		t.Fatal(err)
	}
	since := e.clock.Add(time.Minute)
	if _, err := e.orders.PayOrder(as(buyer), paid.OrderID); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{cancelled.OrderID, elsewhere.OrderID} {
		if _, err := e.orders.CancelOrder(as(buyer), id); err != nil {
			t.Fatal(err)
		}
	}
	e.clock.Add(testPaymentTimeout)
	if o, err := e.orders.ExpireOrder(ctx, expired.OrderID); err != nil || o.Status != domain.OrderExpired {
		t.Fatalf("ExpireOrder = %v, %v", o, err)
	}

	for _, tc := range []struct {
		eventID string
		since   time.Time
		want    []string
	}{
		{ev.ID, since, sorted([]string{cancelled.OrderID, expired.OrderID})},
		{ev.ID, since.Add(time.Microsecond), []string{expired.OrderID}},
		{ev.ID, since.Add(-time.Minute), sorted([]string{early.OrderID, cancelled.OrderID, expired.OrderID})},
		{other.ID, since, []string{elsewhere.OrderID}},
		{"evt_unknown", since, nil},
	} {
		got, err := e.orders.DeadOrdersSince(ctx, tc.eventID, tc.since)
		if err != nil {
			t.Fatalf("DeadOrdersSince(%s, %s): %v", tc.eventID, tc.since, err)
		}
		if !slices.Equal(got, tc.want) {
			t.Fatalf("DeadOrdersSince(%s, %s) = %v, want %v", tc.eventID, tc.since, got, tc.want)
		}
	}
}

// TestFlashEventEventsCrossing: each event not closed that starts or
// ends in (from, to], LIVE at its start and ENDED at its end.
func TestFlashEventEventsCrossing(t *testing.T) {
	t.Parallel()
	e := newOrderEnv(t)
	ctx := context.Background()
	seller := e.user(t, domain.RoleSeller)
	t0 := e.clock.Now()

	hour := e.flashEvent(t, seller, 10) // t0 to t0+1h
	in := e.eventInput(e.product(t, seller, 10).ID, 10)
	in.StartsAt, in.EndsAt = t0.Add(10*time.Minute), t0.Add(30*time.Minute)
	short, err := e.events.CreateFlashEvent(as(seller), in)
	if err != nil {
		t.Fatalf("CreateFlashEvent: %v", err)
	}
	closed := e.flashEvent(t, seller, 10)
	if _, err := e.events.CloseFlashEvent(as(seller), closed.ID); err != nil {
		t.Fatalf("CloseFlashEvent: %v", err)
	}

	byEvent := func(cs ...domain.Crossing) []domain.Crossing {
		slices.SortFunc(cs, func(a, b domain.Crossing) int {
			return cmp.Or(cmp.Compare(a.EventID, b.EventID), cmp.Compare(a.Status, b.Status))
		})
		return cs
	}
	for _, tc := range []struct {
		from, to time.Time
		want     []domain.Crossing
	}{
		{t0.Add(-time.Microsecond), t0.Add(30 * time.Minute), byEvent(
			domain.Crossing{EventID: hour.ID, Status: domain.FlashEventLive},
			domain.Crossing{EventID: short.ID, Status: domain.FlashEventLive},
			domain.Crossing{EventID: short.ID, Status: domain.FlashEventEnded},
		)},
		{t0, t0.Add(30*time.Minute - time.Microsecond), []domain.Crossing{{EventID: short.ID, Status: domain.FlashEventLive}}},
		{t0.Add(30 * time.Minute), t0.Add(time.Hour), []domain.Crossing{{EventID: hour.ID, Status: domain.FlashEventEnded}}},
		{t0.Add(time.Hour), t0.Add(2 * time.Hour), nil},
	} {
		got, err := e.events.EventsCrossing(ctx, tc.from, tc.to)
		if err != nil {
			t.Fatalf("EventsCrossing(%s, %s): %v", tc.from, tc.to, err)
		}
		if !slices.Equal(got, tc.want) {
			t.Fatalf("EventsCrossing(%s, %s) = %v, want %v", tc.from, tc.to, got, tc.want)
		}
	}
}
