package postgres_test

import (
	"context"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"time"

	"flashlive/domain"
)

func TestOrderWriteReservations(t *testing.T) {
	t.Parallel()
	e := newOrderEnv(t)
	ctx := context.Background()
	seller := e.user(t, domain.RoleSeller)
	a, b := e.user(t, domain.RoleBuyer), e.user(t, domain.RoleBuyer)
	ev := e.flashEvent(t, seller, 10)

	if w, r, err := e.orders.WriteReservations(ctx, nil); err != nil || w != nil || r != nil {
		t.Fatalf("WriteReservations(nil) = %v, %v, %v; want nothing", w, r, err)
	}

	rs := []domain.Reservation{
		e.reservation(ev, a, 1, -3*time.Second),
		e.reservation(ev, b, 2, -2*time.Second),
		e.reservation(ev, a, 1, -time.Second),
	}
	writtenAt := e.clock.Add(time.Second)
	written, refused := e.write(t, rs...)
	if !slices.Equal(orderIDs(written), orderIDs(rs)) || len(refused) != 0 {
		t.Fatalf("written %v refused %v; want all written in order", orderIDs(written), orderIDs(refused))
	}
	e.wantUnits(t, ev.ID, 4, map[domain.OrderStatus]int{domain.OrderAwaitingPayment: 4})

	expires := writtenAt.Add(testPaymentTimeout)
	r := rs[1]
	want := &domain.Order{
		ID: r.OrderID, BuyerID: b.UserID, FlashEventID: ev.ID,
		Items:      []domain.OrderItem{{ProductID: ev.ProductID, Quantity: 2, UnitPriceCents: ev.PriceCents}},
		TotalCents: 2 * ev.PriceCents, Status: domain.OrderAwaitingPayment, CreatedAt: r.CreatedAt, ExpiresAt: &expires,
	}
	got, err := e.orders.FindOrderByID(as(b), r.OrderID)
	if err != nil {
		t.Fatalf("FindOrderByID: %v", err)
	}
	wantOrder(t, "written order", got, want)
	if got, want := *got, *r.Order(domain.OrderAwaitingPayment, &expires); !slices.Equal(got.Items, want.Items) || got.TotalCents != want.TotalCents {
		t.Fatalf("written order %s differs from Reservation.Order %s", fmtOrder(&got), fmtOrder(&want))
	}
	var seller2 string
	if err := e.db.Pool.QueryRow(ctx, `SELECT seller_id FROM order_items WHERE order_id = $1`, r.OrderID).Scan(&seller2); err != nil || seller2 != seller.UserID {
		t.Fatalf("order item seller = %q (%v), want %q", seller2, err, seller.UserID)
	}

	// The same batch again, with one reservation twice and one new one:
	// the duplicates are written already and change nothing.
	e.clock.Add(time.Minute)
	fresh := e.reservation(ev, b, 3, 0)
	again := append(slices.Clone(rs), rs[0], fresh)
	written, refused = e.write(t, again...)
	if !slices.Equal(orderIDs(written), orderIDs(again)) || len(refused) != 0 {
		t.Fatalf("rewrite: written %v refused %v; want all written in order", orderIDs(written), orderIDs(refused))
	}
	e.wantUnits(t, ev.ID, 7, map[domain.OrderStatus]int{domain.OrderAwaitingPayment: 7})
	if got, want := e.countRows(t, "orders"), 4; got != want {
		t.Fatalf("orders = %d, want %d", got, want)
	}
	if got, want := e.countRows(t, "order_items"), 4; got != want {
		t.Fatalf("order items = %d, want %d", got, want)
	}
	// The rewrite left the first order as it was (its expiry included).
	got, err = e.orders.FindOrderByID(as(b), r.OrderID)
	if err != nil {
		t.Fatal(err)
	}
	wantOrder(t, "order after rewrite", got, want)

	// Malformed reservations and unknown events fail the whole batch.
	bad := e.reservation(ev, a, 0, 0)
	_, _, err = e.orders.WriteReservations(ctx, []domain.Reservation{e.reservation(ev, a, 1, 0), bad})
	wantCode(t, err, domain.EINVALID)
	lost := e.reservation(ev, a, 1, 0)
	lost.EventID = "evt_unknown"
	_, _, err = e.orders.WriteReservations(ctx, []domain.Reservation{e.reservation(ev, a, 1, 0), lost})
	wantCode(t, err, domain.ENOTFOUND)
	e.wantUnits(t, ev.ID, 7, map[domain.OrderStatus]int{domain.OrderAwaitingPayment: 7})
	if got, want := e.countRows(t, "orders"), 4; got != want {
		t.Fatalf("orders after failed batches = %d, want %d", got, want)
	}
}

func TestOrderWriteReservationsOversellGuard(t *testing.T) {
	t.Parallel()
	e := newOrderEnv(t)
	seller := e.user(t, domain.RoleSeller)
	buyer := e.user(t, domain.RoleBuyer)
	ev := e.flashEvent(t, seller, 5)

	// Seven one-unit reservations for five units (the hot stock lost its
	// state), made a second apart and handed over shuffled: the five
	// earliest are served.
	var rs []domain.Reservation
	for i := range 7 {
		rs = append(rs, e.reservation(ev, buyer, 1, time.Duration(i)*time.Second))
	}
	batch := slices.Clone(rs)
	rand.Shuffle(len(batch), func(i, j int) { batch[i], batch[j] = batch[j], batch[i] })
	written, refused := e.write(t, batch...)
	if got, want := sorted(orderIDs(written)), sorted(orderIDs(rs[:5])); !slices.Equal(got, want) {
		t.Fatalf("written = %v, want %v", got, want)
	}
	if got, want := sorted(orderIDs(refused)), sorted(orderIDs(rs[5:])); !slices.Equal(got, want) {
		t.Fatalf("refused = %v, want %v", got, want)
	}
	for _, r := range rs[5:] {
		if got, want := e.status(t, r.OrderID), domain.OrderCancelled; got != want {
			t.Fatalf("refused order %s is %s, want %s", r.OrderID, got, want)
		}
	}
	e.wantUnits(t, ev.ID, 5, map[domain.OrderStatus]int{domain.OrderAwaitingPayment: 5, domain.OrderCancelled: 2})

	// A redelivery is written already, refused orders included: nothing
	// moves.
	written, refused = e.write(t, batch...)
	if len(written) != 7 || len(refused) != 0 {
		t.Fatalf("redelivery: written %d refused %d, want 7 and 0", len(written), len(refused))
	}
	e.wantUnits(t, ev.ID, 5, map[domain.OrderStatus]int{domain.OrderAwaitingPayment: 5, domain.OrderCancelled: 2})

	// Quantities: with 2 units left, the earliest (3 units) does not fit,
	// the two later ones (1 each) do.
	ev2 := e.flashEvent(t, seller, 4)
	e.write(t, e.reservation(ev2, buyer, 2, 0))
	big, small1, small2 := e.reservation(ev2, buyer, 3, time.Second), e.reservation(ev2, buyer, 1, 2*time.Second), e.reservation(ev2, buyer, 1, 3*time.Second)
	written, refused = e.write(t, small2, big, small1)
	if got, want := orderIDs(written), []string{small2.OrderID, small1.OrderID}; !slices.Equal(got, want) {
		t.Fatalf("written = %v, want %v", got, want)
	}
	if got, want := orderIDs(refused), []string{big.OrderID}; !slices.Equal(got, want) {
		t.Fatalf("refused = %v, want %v", got, want)
	}
	e.wantUnits(t, ev2.ID, 4, map[domain.OrderStatus]int{domain.OrderAwaitingPayment: 4, domain.OrderCancelled: 3})

	// One batch over two events: each event guards its own stock.
	x, y := e.flashEvent(t, seller, 2), e.flashEvent(t, seller, 10)
	var mixed []domain.Reservation
	for i := range 3 {
		mixed = append(mixed, e.reservation(x, buyer, 1, time.Duration(i)*time.Second), e.reservation(y, buyer, 1, time.Duration(i)*time.Second))
	}
	written, refused = e.write(t, mixed...)
	if got, want := orderIDs(refused), []string{mixed[4].OrderID}; !slices.Equal(got, want) || len(written) != 5 {
		t.Fatalf("refused = %v (written %d), want %v (written 5)", got, len(written), want)
	}
	e.wantUnits(t, x.ID, 2, map[domain.OrderStatus]int{domain.OrderAwaitingPayment: 2, domain.OrderCancelled: 1})
	e.wantUnits(t, y.ID, 3, map[domain.OrderStatus]int{domain.OrderAwaitingPayment: 3})
}

func TestOrderWriteReservationsConcurrent(t *testing.T) {
	t.Parallel()
	e := newOrderEnv(t)
	seller := e.user(t, domain.RoleSeller)
	buyers := []domain.Principal{e.user(t, domain.RoleBuyer), e.user(t, domain.RoleBuyer), e.user(t, domain.RoleBuyer)}
	const stock, writers, batch, step = 50, 8, 10, 8
	ev := e.flashEvent(t, seller, stock)
	other := e.flashEvent(t, seller, 100)

	// 66 reservations for 50 units; each writer's batch overlaps the next
	// one's by two, and carries one reservation of another event.
	var all []domain.Reservation
	for i := range (writers-1)*step + batch {
		all = append(all, e.reservation(ev, buyers[i%len(buyers)], 1, time.Duration(i)*time.Millisecond))
	}
	type result struct {
		batch, written, refused []domain.Reservation
		err                     error
	}
	results := make([]result, writers)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for w := range writers {
		results[w].batch = append(slices.Clone(all[w*step:w*step+batch]), e.reservation(other, buyers[0], 1, 0))
		wg.Go(func() {
			<-start
			res := &results[w]
			res.written, res.refused, res.err = e.orders.WriteReservations(context.Background(), res.batch)
		})
	}
	close(start)
	wg.Wait()

	refused := map[string]bool{}
	for w, res := range results {
		if res.err != nil {
			t.Fatalf("writer %d: %v", w, res.err)
		}
		if got, want := sorted(append(orderIDs(res.written), orderIDs(res.refused)...)), sorted(orderIDs(res.batch)); !slices.Equal(got, want) {
			t.Fatalf("writer %d: written+refused = %v, want its batch %v", w, got, want)
		}
		for _, r := range res.refused {
			refused[r.OrderID] = true
		}
	}
	e.wantUnits(t, ev.ID, stock, map[domain.OrderStatus]int{domain.OrderAwaitingPayment: stock, domain.OrderCancelled: len(all) - stock})
	e.wantUnits(t, other.ID, writers, map[domain.OrderStatus]int{domain.OrderAwaitingPayment: writers})
	// Every cancelled order was refused to the writer that wrote it.
	if got, want := len(refused), len(all)-stock; got != want {
		t.Fatalf("refused orders = %d, want %d", got, want)
	}
	for id := range refused {
		if got := e.status(t, id); got != domain.OrderCancelled {
			t.Fatalf("refused order %s is %s, want CANCELLED", id, got)
		}
	}
}

// TestOrderWriteReservationsPerBuyerLimit: after the hot stock lost its
// state, PostgreSQL still holds each buyer to the event's limit, counting
// the orders already written, earliest reservation first.
func TestOrderWriteReservationsPerBuyerLimit(t *testing.T) {
	e := newOrderEnv(t)
	seller := e.user(t, domain.RoleSeller)
	a, b := e.user(t, domain.RoleBuyer), e.user(t, domain.RoleBuyer)
	in := e.eventInput(e.product(t, seller, 10).ID, 10)
	in.PerUserLimit = 2
	ev, err := e.events.CreateFlashEvent(as(seller), in)
	if err != nil {
		t.Fatal(err)
	}
	first := e.reservation(ev, a, 1, 0)
	if _, refused := e.write(t, first); len(refused) != 0 {
		t.Fatalf("first reservation refused")
	}
	late1 := e.reservation(ev, a, 1, time.Second)   // a holds 2: fits
	late2 := e.reservation(ev, a, 1, 2*time.Second) // a would hold 3: refused
	other := e.reservation(ev, b, 2, 3*time.Second) // b's own limit
	written, refused := e.write(t, late2, other, late1)
	if got, want := orderIDs(refused), []string{late2.OrderID}; !slices.Equal(got, want) {
		t.Fatalf("refused %v, want %v", got, want)
	}
	if got, want := len(written), 2; got != want {
		t.Fatalf("written %d, want %d", got, want)
	}
	if got, want := e.status(t, late2.OrderID), domain.OrderCancelled; got != want {
		t.Fatalf("refused order is %s, want %s", got, want)
	}
	if got, want := e.sold(t, ev.ID), 4; got != want {
		t.Fatalf("sold = %d, want %d", got, want)
	}
}

func BenchmarkWriteReservations(b *testing.B) {
	e := newOrderEnv(b)
	seller := e.user(b, domain.RoleSeller)
	buyer := e.user(b, domain.RoleBuyer)
	ev := e.flashEvent(b, seller, domain.MaxStock/10)
	const batch = 500
	for b.Loop() {
		rs := make([]domain.Reservation, batch)
		for i := range rs {
			rs[i] = e.reservation(ev, buyer, 1, 0)
		}
		e.write(b, rs...)
	}
}

// TestOrderWriteReservationsTrustsTheEvent: a reservation whose message
// names another price, product or seller than its event (forged, or sent
// by a buggy publisher) is written with the event's values, and comes back
// with them.
func TestOrderWriteReservationsTrustsTheEvent(t *testing.T) {
	t.Parallel()
	e := newOrderEnv(t)
	ctx := context.Background()
	seller, crook := e.user(t, domain.RoleSeller), e.user(t, domain.RoleSeller)
	buyer := e.user(t, domain.RoleBuyer)
	ev := e.flashEvent(t, seller, 10)
	other := e.flashEvent(t, crook, 10)

	forged := e.reservation(ev, buyer, 2, 0)
	forged.UnitPriceCents, forged.ProductID, forged.SellerID = 1, other.ProductID, crook.UserID
	written, refused := e.write(t, forged)
	if len(written) != 1 || len(refused) != 0 {
		t.Fatalf("written %v refused %v; want the order written", orderIDs(written), orderIDs(refused))
	}
	if w := written[0]; w.UnitPriceCents != ev.PriceCents || w.ProductID != ev.ProductID || w.SellerID != seller.UserID {
		t.Fatalf("returned reservation = price %d product %s seller %s; want the event's %d %s %s",
			w.UnitPriceCents, w.ProductID, w.SellerID, ev.PriceCents, ev.ProductID, seller.UserID)
	}
	var price, total int64
	var product, sellerID string
	err := e.db.Pool.QueryRow(ctx, `
		SELECT i.unit_price_cents, o.total_cents, i.product_id, i.seller_id
		FROM orders o JOIN order_items i ON i.order_id = o.id WHERE o.id = $1`, forged.OrderID).Scan(&price, &total, &product, &sellerID)
	if err != nil {
		t.Fatal(err)
	}
	if price != ev.PriceCents || total != 2*ev.PriceCents || product != ev.ProductID || sellerID != seller.UserID {
		t.Fatalf("written order = price %d total %d product %s seller %s; want %d %d %s %s",
			price, total, product, sellerID, ev.PriceCents, 2*ev.PriceCents, ev.ProductID, seller.UserID)
	}
	e.wantUnits(t, ev.ID, 2, map[domain.OrderStatus]int{domain.OrderAwaitingPayment: 2})
	e.wantUnits(t, other.ID, 0, map[domain.OrderStatus]int{})
}
