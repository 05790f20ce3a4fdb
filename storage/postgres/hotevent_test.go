package postgres_test

import (
	"context"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"flashlive/domain"
)

func TestHotEvent(t *testing.T) {
	t.Parallel()
	e := newOrderEnv(t)
	ctx := context.Background()
	seller := e.user(t, domain.RoleSeller)
	a, b, c := e.user(t, domain.RoleBuyer), e.user(t, domain.RoleBuyer), e.user(t, domain.RoleBuyer)
	in := e.eventInput(e.product(t, seller, 10).ID, 10)
	in.PerUserLimit = 4
	in.StartsAt = in.StartsAt.Add(time.Minute)
	ev, err := e.events.CreateFlashEvent(as(seller), in)
	if err != nil {
		t.Fatal(err)
	}
	want := domain.HotEvent{
		ID: ev.ID, ProductID: ev.ProductID, SellerID: seller.UserID, PriceCents: in.PriceCents,
		Stock: 10, PerUserLimit: 4, StartsAt: in.StartsAt, EndsAt: in.EndsAt,
		Remaining: 10, Held: map[string]int{},
	}
	wantHot(t, e, "no orders", ev.ID, want)

	// a holds 1+2 (one more unit cancelled), b 1 (two more expired), c
	// nothing (its unit cancelled).
	a1, a2, aGone := e.reservation(ev, a, 1, 0), e.reservation(ev, a, 2, 0), e.reservation(ev, a, 1, 0)
	b1, bGone := e.reservation(ev, b, 1, 0), e.reservation(ev, b, 2, 0)
	cGone := e.reservation(ev, c, 1, 0)
	e.write(t, a1, a2, aGone, b1, cGone)
	e.clock.Add(time.Minute)
	e.write(t, bGone)
	for _, cancel := range []struct {
		who domain.Principal
		id  string
	}{{a, aGone.OrderID}, {c, cGone.OrderID}} {
		if _, err := e.orders.CancelOrder(as(cancel.who), cancel.id); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := e.orders.PayOrder(as(a), a2.OrderID); err != nil {
		t.Fatal(err)
	}
	e.clock.Add(testPaymentTimeout)
	if o, err := e.orders.ExpireOrder(ctx, bGone.OrderID); err != nil || o.Status != domain.OrderExpired {
		t.Fatalf("ExpireOrder = %v, %v", o, err)
	}
	want.Remaining = 6
	want.Held = map[string]int{a.UserID: 3, b.UserID: 1}
	want.Unpaid = []domain.HeldOrder{{OrderID: a1.OrderID, BuyerID: a.UserID, Units: 1}, {OrderID: b1.OrderID, BuyerID: b.UserID, Units: 1}}
	wantHot(t, e, "with orders", ev.ID, want)

	if _, err := e.events.CloseFlashEvent(as(seller), ev.ID); err != nil {
		t.Fatal(err)
	}
	want.Closed = true
	wantHot(t, e, "closed", ev.ID, want)

	_, err = e.hot.HotEvent(ctx, "evt_unknown")
	wantCode(t, err, domain.ENOTFOUND)
}

func wantHot(t *testing.T, e *orderEnv, what, id string, want domain.HotEvent) {
	t.Helper()
	got, err := e.hot.HotEvent(context.Background(), id)
	if err != nil {
		t.Fatalf("%s: HotEvent: %v", what, err)
	}
	if got.Held == nil {
		t.Fatalf("%s: Held is nil, want a map", what)
	}
	g := got
	if g.ID != want.ID || g.ProductID != want.ProductID || g.SellerID != want.SellerID || g.PriceCents != want.PriceCents ||
		g.Stock != want.Stock || g.PerUserLimit != want.PerUserLimit || !g.StartsAt.Equal(want.StartsAt) ||
		!g.EndsAt.Equal(want.EndsAt) || g.Closed != want.Closed || g.Remaining != want.Remaining || !maps.Equal(g.Held, want.Held) ||
		!slices.Equal(g.Unpaid, want.Unpaid) {
		t.Fatalf("%s: HotEvent =\n %+v\nwant\n %+v", what, *got, want)
	}
	// Remaining agrees with the live orders.
	live, err := liveUnits(context.Background(), e.orders, id)
	if err != nil {
		t.Fatal(err)
	}
	if got.Remaining != got.Stock-live {
		t.Fatalf("%s: Remaining %d, but stock %d less live units %d is %d", what, got.Remaining, got.Stock, live, got.Stock-live)
	}
}

func TestHotEventEventsToPreheat(t *testing.T) {
	t.Parallel()
	e := newOrderEnv(t)
	ctx := context.Background()
	seller := e.user(t, domain.RoleSeller)
	t0 := e.clock.Now()
	create := func(start, end time.Duration) *domain.FlashEvent {
		t.Helper()
		in := e.eventInput(e.product(t, seller, 1).ID, 1)
		in.StartsAt, in.EndsAt = t0.Add(start), t0.Add(end)
		ev, err := e.events.CreateFlashEvent(as(seller), in)
		if err != nil {
			t.Fatal(err)
		}
		return ev
	}
	soon := create(35*time.Minute, 2*time.Hour)
	onSale := create(0, time.Hour)
	later := create(45*time.Minute, 2*time.Hour)
	ended := create(0, 20*time.Minute)
	closed := create(31*time.Minute, time.Hour)
	if _, err := e.events.CloseFlashEvent(as(seller), closed.ID); err != nil {
		t.Fatal(err)
	}
	edge := create(40*time.Minute, time.Hour) // starts exactly at now+window: not yet

	for _, tc := range []struct {
		now    time.Duration
		window time.Duration
		want   []string
	}{
		{30 * time.Minute, 10 * time.Minute, []string{onSale.ID, soon.ID}},
		{30 * time.Minute, 10*time.Minute + time.Microsecond, []string{onSale.ID, soon.ID, edge.ID}},
		{30 * time.Minute, time.Hour, []string{onSale.ID, soon.ID, edge.ID, later.ID}},
		{0, 0, []string{}},
		{0, time.Microsecond, []string{onSale.ID, ended.ID}},
		{time.Hour, 0, []string{soon.ID, later.ID}},
		{3 * time.Hour, time.Hour, []string{}},
	} {
		got, err := e.hot.EventsToPreheat(ctx, t0.Add(tc.now), tc.window)
		if err != nil {
			t.Fatalf("EventsToPreheat(t0+%s, %s): %v", tc.now, tc.window, err)
		}
		// Same start: any order between them is fine.
		if !slices.Equal(sorted(got), sorted(tc.want)) {
			t.Fatalf("EventsToPreheat(t0+%s, %s) = %v, want %v", tc.now, tc.window, got, tc.want)
		}
	}
}

// TestHotEventKeptAnswers: the writer keeps the key each reservation
// answered; HotEvent returns those reservations whatever became of their
// order (the first answer stays the answer), and a second order under a
// key already kept does not replace the first.
func TestHotEventKeptAnswers(t *testing.T) {
	t.Parallel()
	e := newOrderEnv(t)
	seller := e.user(t, domain.RoleSeller)
	a, b := e.user(t, domain.RoleBuyer), e.user(t, domain.RoleBuyer)
	ev := e.flashEvent(t, seller, 10)
	keyed := func(r domain.Reservation, key string, left int) domain.Reservation {
		r.IdempotencyKey, r.RemainingAfter = key, left
		r.CreatedAt = r.CreatedAt.UTC().Truncate(time.Millisecond)
		return r
	}
	a1 := keyed(e.reservation(ev, a, 2, 0), "k-1", 8)
	a2 := keyed(e.reservation(ev, a, 1, 0), "k-2", 7)
	b1 := e.reservation(ev, b, 1, 0) // no key: nothing to keep
	e.write(t, a1, a2, b1)
	if _, err := e.orders.CancelOrder(as(a), a2.OrderID); err != nil {
		t.Fatal(err)
	}
	again := keyed(e.reservation(ev, a, 1, 0), "k-1", 5) // same key, another order
	e.write(t, again, a1)                                // and a1 redelivered

	got, err := e.hot.HotEvent(context.Background(), ev.ID)
	if err != nil {
		t.Fatal(err)
	}
	want := []domain.Reservation{a1, a2}
	slices.SortFunc(want, func(x, y domain.Reservation) int { return strings.Compare(x.OrderID, y.OrderID) })
	if len(got.Answers) != len(want) {
		t.Fatalf("Answers = %+v, want %+v", got.Answers, want)
	}
	for i, w := range want {
		if g := got.Answers[i]; !sameKeptAnswer(g, w) {
			t.Fatalf("Answers[%d] = %+v, want %+v", i, g, w)
		}
	}
}

// sameKeptAnswer reports whether g is the kept answer w: every field a
// kept answer carries (not RequestID), times by Equal.
func sameKeptAnswer(g, w domain.Reservation) bool {
	return g.OrderID == w.OrderID && g.BuyerID == w.BuyerID && g.EventID == w.EventID && g.ProductID == w.ProductID &&
		g.SellerID == w.SellerID && g.Quantity == w.Quantity && g.UnitPriceCents == w.UnitPriceCents &&
		g.CreatedAt.Equal(w.CreatedAt) && g.IdempotencyKey == w.IdempotencyKey && g.RemainingAfter == w.RemainingAfter
}

// TestKeptAnswer: one kept answer, read by event, buyer and key, whatever
// became of its order; NOT_FOUND for another buyer, another event, a key
// never kept, and a key past answersFor.
func TestKeptAnswer(t *testing.T) {
	t.Parallel()
	e := newOrderEnv(t)
	ctx := context.Background()
	seller := e.user(t, domain.RoleSeller)
	a, b := e.user(t, domain.RoleBuyer), e.user(t, domain.RoleBuyer)
	ev, other := e.flashEvent(t, seller, 10), e.flashEvent(t, seller, 10)
	a1 := e.reservation(ev, a, 2, 0)
	a1.IdempotencyKey, a1.RemainingAfter = "k-1", 8
	a1.CreatedAt = a1.CreatedAt.UTC().Truncate(time.Millisecond)
	old := e.reservation(ev, a, 1, -25*time.Hour)
	old.IdempotencyKey = "k-old"
	e.write(t, a1, old)
	if _, err := e.orders.CancelOrder(as(a), a1.OrderID); err != nil {
		t.Fatal(err)
	}

	got, err := e.hot.KeptAnswer(ctx, ev.ID, a.UserID, "k-1")
	if err != nil || got == nil || !sameKeptAnswer(*got, a1) {
		t.Fatalf("KeptAnswer(k-1) = %+v, %v; want %+v", got, err, a1)
	}
	for _, tt := range []struct{ what, eventID, buyerID, key string }{
		{"another buyer", ev.ID, b.UserID, "k-1"},
		{"another event", other.ID, a.UserID, "k-1"},
		{"a key never kept", ev.ID, a.UserID, "k-2"},
		{"a key past answersFor", ev.ID, a.UserID, "k-old"},
	} {
		got, err := e.hot.KeptAnswer(ctx, tt.eventID, tt.buyerID, tt.key)
		if got != nil || domain.ErrorCode(err) != domain.ENOTFOUND {
			t.Fatalf("KeptAnswer of %s = %+v, %v; want nil, NOT_FOUND", tt.what, got, err)
		}
	}
}

// TestDeleteKeptAnswers: HotEvent leaves out keys past answersFor, and
// pruning deletes the keys of orders created before the cutoff; newer ones
// stay, and so do the orders.
func TestDeleteKeptAnswers(t *testing.T) {
	t.Parallel()
	e := newOrderEnv(t)
	ctx := context.Background()
	seller, a := e.user(t, domain.RoleSeller), e.user(t, domain.RoleBuyer)
	ev := e.flashEvent(t, seller, 10)
	old, fresh := e.reservation(ev, a, 1, -25*time.Hour), e.reservation(ev, a, 1, 0)
	old.IdempotencyKey, fresh.IdempotencyKey = "k-old", "k-fresh"
	e.write(t, old, fresh)
	// Past the source's 24 h, a key is no longer an answer to restore...
	got, err := e.hot.HotEvent(ctx, ev.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Answers) != 1 || got.Answers[0].IdempotencyKey != "k-fresh" {
		t.Fatalf("Answers = %+v, want k-fresh only (k-old is past 24 h)", got.Answers)
	}
	// ...and pruning deletes it.
	n, err := e.orders.DeleteKeptAnswers(ctx, e.clock.Now().Add(-24*time.Hour))
	if err != nil || n != 1 {
		t.Fatalf("DeleteKeptAnswers = %d, %v; want 1, nil", n, err)
	}
	if got, err = e.hot.HotEvent(ctx, ev.ID); err != nil || len(got.Answers) != 1 {
		t.Fatalf("Answers after pruning = %+v, %v; want k-fresh only", got, err)
	}
	if n := e.countRows(t, "orders"); n != 2 {
		t.Fatalf("orders after pruning = %d, want 2", n)
	}
}
