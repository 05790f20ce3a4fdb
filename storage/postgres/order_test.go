package postgres_test

import (
	"context"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/oklog/ulid/v2"

	"flashlive/domain"
	"flashlive/storage/postgres"
)

// testPaymentTimeout is the payment window of the order tests.
const testPaymentTimeout = 15 * time.Minute

// orderEnv is an env with the order store and the hot event source.
type orderEnv struct {
	*env
	orders *postgres.OrderStore
	hot    *postgres.HotEventSource
}

func newOrderEnv(t testing.TB) *orderEnv {
	t.Helper()
	e := newEnv(t, 0)
	return &orderEnv{
		env:    e,
		orders: postgres.NewOrderStore(e.db, testPaymentTimeout),
		hot:    postgres.NewHotEventSource(e.db, 24*time.Hour),
	}
}

// flashEvent creates an event of stock units of a fresh product of seller,
// on sale from now for an hour.
func (e *orderEnv) flashEvent(t testing.TB, seller domain.Principal, stock int) *domain.FlashEvent {
	t.Helper()
	in := e.eventInput(e.product(t, seller, stock).ID, stock)
	// These tests are about stock: one buyer may hold all of it. The
	// per-buyer limit has tests of its own.
	in.PerUserLimit = domain.MaxPerUserLimit
	ev, err := e.events.CreateFlashEvent(as(seller), in)
	if err != nil {
		t.Fatalf("CreateFlashEvent: %v", err)
	}
	return ev
}

// newOrderID returns a fresh order ID; IDs made later sort higher.
func newOrderID() string {
	return domain.PrefixOrder + strings.ToLower(ulid.Make().String())
}

// reservation returns a reservation of qty units of ev for buyer, made at
// the clock's now plus offset.
func (e *orderEnv) reservation(ev *domain.FlashEvent, buyer domain.Principal, qty int, offset time.Duration) domain.Reservation {
	return domain.Reservation{
		OrderID:        newOrderID(),
		BuyerID:        buyer.UserID,
		EventID:        ev.ID,
		ProductID:      ev.ProductID,
		SellerID:       ev.SellerID,
		Quantity:       qty,
		UnitPriceCents: ev.PriceCents,
		CreatedAt:      e.clock.Now().Add(offset),
	}
}

// write writes rs and fails the test on error.
func (e *orderEnv) write(t testing.TB, rs ...domain.Reservation) (written, refused []domain.Reservation) {
	t.Helper()
	written, refused, err := e.orders.WriteReservations(context.Background(), rs)
	if err != nil {
		t.Fatalf("WriteReservations: %v", err)
	}
	return written, refused
}

// sold reads an event's sold count straight from the table.
func (e *orderEnv) sold(t testing.TB, eventID string) int {
	t.Helper()
	var n int
	if err := e.db.Pool.QueryRow(context.Background(), `SELECT sold FROM flash_events WHERE id = $1`, eventID).Scan(&n); err != nil {
		t.Fatalf("read sold: %v", err)
	}
	return n
}

// status reads an order's status straight from the table.
func (e *orderEnv) status(t testing.TB, id string) domain.OrderStatus {
	t.Helper()
	var s domain.OrderStatus
	if err := e.db.Pool.QueryRow(context.Background(), `SELECT status FROM orders WHERE id = $1`, id).Scan(&s); err != nil {
		t.Fatalf("read status of %s: %v", id, err)
	}
	return s
}

// unitsByStatus returns the units in the event's orders by status.
func (e *orderEnv) unitsByStatus(t testing.TB, eventID string) map[domain.OrderStatus]int {
	t.Helper()
	rows, err := e.db.Pool.Query(context.Background(), `
		SELECT o.status, sum(i.quantity) FROM orders o JOIN order_items i ON i.order_id = o.id
		WHERE o.flash_event_id = $1 GROUP BY o.status`, eventID)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	m := map[domain.OrderStatus]int{}
	for rows.Next() {
		var s domain.OrderStatus
		var n int
		if err := rows.Scan(&s, &n); err != nil {
			t.Fatal(err)
		}
		m[s] = n
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return m
}

// countRows counts the rows of a table.
func (e *orderEnv) countRows(t testing.TB, table string) int {
	t.Helper()
	var n int
	if err := e.db.Pool.QueryRow(context.Background(), `SELECT count(*) FROM `+table).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// wantUnits fails the test unless the event's sold count and units by
// status are exactly those given.
func (e *orderEnv) wantUnits(t testing.TB, eventID string, sold int, want map[domain.OrderStatus]int) {
	t.Helper()
	if got := e.sold(t, eventID); got != sold {
		t.Fatalf("sold = %d, want %d", got, sold)
	}
	if got := e.unitsByStatus(t, eventID); !maps.Equal(got, want) {
		t.Fatalf("units by status = %v, want %v", got, want)
	}
	live, err := liveUnits(context.Background(), e.orders, eventID)
	if err != nil {
		t.Fatalf("LiveUnits: %v", err)
	}
	if live != sold {
		t.Fatalf("LiveUnits = %d, sold = %d: not conserved", live, sold)
	}
}

// wantOrder compares orders field by field, times as instants.
func wantOrder(t testing.TB, what string, got, want *domain.Order) {
	t.Helper()
	if got == nil {
		t.Fatalf("%s: order is nil, want %+v", what, want)
	}
	eqTime := func(a, b *time.Time) bool { return (a == nil) == (b == nil) && (a == nil || a.Equal(*b)) }
	if got.ID != want.ID || got.BuyerID != want.BuyerID || got.FlashEventID != want.FlashEventID ||
		got.TotalCents != want.TotalCents || got.Status != want.Status || !got.CreatedAt.Equal(want.CreatedAt) ||
		!eqTime(got.ExpiresAt, want.ExpiresAt) || !eqTime(got.PaidAt, want.PaidAt) || !slices.Equal(got.Items, want.Items) {
		t.Fatalf("%s:\n got %s\nwant %s", what, fmtOrder(got), fmtOrder(want))
	}
}

func fmtOrder(o *domain.Order) string {
	tm := func(t *time.Time) string {
		if t == nil {
			return "nil"
		}
		return t.UTC().Format(time.RFC3339Nano)
	}
	return fmt.Sprintf("{%s buyer=%s event=%s items=%v total=%d %s created=%s expires=%s paid=%s}",
		o.ID, o.BuyerID, o.FlashEventID, o.Items, o.TotalCents, o.Status,
		o.CreatedAt.UTC().Format(time.RFC3339Nano), tm(o.ExpiresAt), tm(o.PaidAt))
}

func orderIDs(rs []domain.Reservation) []string {
	return ids(rs, func(r domain.Reservation) string { return r.OrderID })
}

func TestOrder_WriteReservations(t *testing.T) {
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

func TestOrder_WriteReservationsOversellGuard(t *testing.T) {
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

func TestOrder_WriteReservationsConcurrent(t *testing.T) {
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

// newEnvDB returns a DB on e's pool with its own clock, so that two stores
// can see different times at once.
func newEnvDB(e *orderEnv, now time.Time) *postgres.DB {
	return &postgres.DB{Pool: e.db.Pool, Now: func() time.Time { return now }}
}

// TestOrder_WriteReservationsPerBuyerLimit: after the hot stock lost its
// state, PostgreSQL still holds each buyer to the event's limit, counting
// the orders already written, earliest reservation first.
func TestOrder_WriteReservationsPerBuyerLimit(t *testing.T) {
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

func TestOrder_PayExpireRace(t *testing.T) {
	t.Parallel()
	e := newOrderEnv(t)
	seller := e.user(t, domain.RoleSeller)
	buyer := e.user(t, domain.RoleBuyer)
	const n = 200
	ev := e.flashEvent(t, seller, n)
	var rs []domain.Reservation
	for i := range n {
		rs = append(rs, e.reservation(ev, buyer, 1, time.Duration(i)*time.Microsecond))
	}
	e.write(t, rs...)
	due := e.clock.Now().Add(testPaymentTimeout)

	// The payer sees the last microsecond of the window, the expiry job
	// its end: each is allowed by its own clock, and only the order's
	// status decides which one wins.
	payer := postgres.NewOrderStore(newEnvDB(e, due.Add(-time.Microsecond)), testPaymentTimeout)
	expirer := postgres.NewOrderStore(newEnvDB(e, due), testPaymentTimeout)
	payErrs := make([]error, n)
	expired := make([]*domain.Order, n)
	expireErrs := make([]error, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i, r := range rs {
		wg.Go(func() {
			<-start
			_, payErrs[i] = payer.PayOrder(as(buyer), r.OrderID)
		})
		wg.Go(func() {
			<-start
			expired[i], expireErrs[i] = expirer.ExpireOrder(context.Background(), r.OrderID)
		})
	}
	close(start)
	wg.Wait()

	paid := 0
	for i, r := range rs {
		if expireErrs[i] != nil {
			t.Fatalf("ExpireOrder(%s): %v", r.OrderID, expireErrs[i])
		}
		final := e.status(t, r.OrderID)
		switch domain.ErrorCode(payErrs[i]) {
		case "":
			paid++
			if final != domain.OrderPaid || expired[i].Status != domain.OrderPaid {
				t.Fatalf("order %s: payment won but it is %s (expiry saw %s)", r.OrderID, final, expired[i].Status)
			}
		case domain.ECONFLICT:
			if final != domain.OrderExpired || expired[i].Status != domain.OrderExpired {
				t.Fatalf("order %s: payment lost but it is %s (expiry saw %s)", r.OrderID, final, expired[i].Status)
			}
			if got, want := domain.ErrorMessage(payErrs[i]), "the payment window has closed"; got != want {
				t.Fatalf("late payment message = %q, want %q", got, want)
			}
		default:
			t.Fatalf("PayOrder(%s): %v", r.OrderID, payErrs[i])
		}
	}
	t.Logf("pay/expire race: %d paid, %d expired", paid, n-paid)
	want := map[domain.OrderStatus]int{}
	if paid > 0 {
		want[domain.OrderPaid] = paid
	}
	if paid < n {
		want[domain.OrderExpired] = n - paid
	}
	e.wantUnits(t, ev.ID, paid, want)

	// Redelivered expiries change nothing.
	for _, r := range rs {
		if _, err := expirer.ExpireOrder(context.Background(), r.OrderID); err != nil {
			t.Fatal(err)
		}
	}
	e.wantUnits(t, ev.ID, paid, want)
}

func TestOrder_PayAndExpire(t *testing.T) {
	t.Parallel()
	e := newOrderEnv(t)
	ctx := context.Background()
	seller := e.user(t, domain.RoleSeller)
	buyer, other := e.user(t, domain.RoleBuyer), e.user(t, domain.RoleBuyer)
	ev := e.flashEvent(t, seller, 10)
	r1, r2, r3 := e.reservation(ev, buyer, 1, 0), e.reservation(ev, buyer, 2, 0), e.reservation(ev, buyer, 3, 0)
	e.write(t, r1, r2, r3)
	expires := e.clock.Now().Add(testPaymentTimeout)

	// Pay r1 inside the window.
	_, err := e.orders.PayOrder(anonymous, r1.OrderID)
	wantCode(t, err, domain.EUNAUTHENTICATED)
	_, err = e.orders.PayOrder(as(other), r1.OrderID)
	wantCode(t, err, domain.ENOTFOUND)
	_, err = e.orders.PayOrder(as(seller), r1.OrderID)
	wantCode(t, err, domain.EFORBIDDEN)
	_, err = e.orders.PayOrder(as(buyer), "ord_unknown")
	wantCode(t, err, domain.ENOTFOUND)
	paidAt := e.clock.Add(time.Minute)
	paid, err := e.orders.PayOrder(as(buyer), r1.OrderID)
	if err != nil {
		t.Fatalf("PayOrder: %v", err)
	}
	want := r1.Order(domain.OrderPaid, &expires)
	want.PaidAt = &paidAt
	wantOrder(t, "paid", paid, want)
	// Paying again returns it unchanged.
	e.clock.Add(time.Minute)
	again, err := e.orders.PayOrder(as(buyer), r1.OrderID)
	if err != nil {
		t.Fatalf("PayOrder again: %v", err)
	}
	wantOrder(t, "paid again", again, want)
	_, err = e.orders.CancelOrder(as(buyer), r1.OrderID)
	wantCode(t, err, domain.ECONFLICT)

	// Not due yet: ExpireOrder changes nothing.
	o, err := e.orders.ExpireOrder(ctx, r2.OrderID)
	if err != nil || o.Status != domain.OrderAwaitingPayment {
		t.Fatalf("ExpireOrder before due = %v, %v; want AWAITING_PAYMENT", o, err)
	}
	e.wantUnits(t, ev.ID, 6, map[domain.OrderStatus]int{domain.OrderPaid: 1, domain.OrderAwaitingPayment: 5})
	if ids, err := e.orders.DueOrderIDs(ctx, e.clock.Now(), 10); err != nil || len(ids) != 0 {
		t.Fatalf("DueOrderIDs before due = %v, %v; want none", ids, err)
	}

	// The window closes at expires: paying then is late, even before the
	// expiry job runs.
	e.clock.Set(expires)
	_, err = e.orders.PayOrder(as(buyer), r2.OrderID)
	wantCode(t, err, domain.ECONFLICT)
	if got, want := domain.ErrorMessage(err), "the payment window has closed"; got != want {
		t.Fatalf("message = %q, want %q", got, want)
	}
	if ids, err := e.orders.DueOrderIDs(ctx, e.clock.Now(), 10); err != nil || !slices.Equal(sorted(ids), sorted([]string{r2.OrderID, r3.OrderID})) {
		t.Fatalf("DueOrderIDs = %v, %v; want %s and %s", ids, err, r2.OrderID, r3.OrderID)
	}
	o, err = e.orders.ExpireOrder(ctx, r2.OrderID)
	if err != nil {
		t.Fatalf("ExpireOrder: %v", err)
	}
	wantOrder(t, "expired", o, r2.Order(domain.OrderExpired, &expires))
	e.wantUnits(t, ev.ID, 4, map[domain.OrderStatus]int{domain.OrderPaid: 1, domain.OrderExpired: 2, domain.OrderAwaitingPayment: 3})
	// Again: the order comes back EXPIRED, the stock is not returned twice.
	o, err = e.orders.ExpireOrder(ctx, r2.OrderID)
	if err != nil {
		t.Fatalf("ExpireOrder again: %v", err)
	}
	wantOrder(t, "expired again", o, r2.Order(domain.OrderExpired, &expires))
	e.wantUnits(t, ev.ID, 4, map[domain.OrderStatus]int{domain.OrderPaid: 1, domain.OrderExpired: 2, domain.OrderAwaitingPayment: 3})
	_, err = e.orders.PayOrder(as(buyer), r2.OrderID)
	wantCode(t, err, domain.ECONFLICT)
	if got, want := domain.ErrorMessage(err), "the payment window has closed"; got != want {
		t.Fatalf("message = %q, want %q", got, want)
	}
	_, err = e.orders.CancelOrder(as(buyer), r2.OrderID)
	wantCode(t, err, domain.ECONFLICT)

	// A paid order never expires.
	o, err = e.orders.ExpireOrder(ctx, r1.OrderID)
	if err != nil {
		t.Fatalf("ExpireOrder(paid): %v", err)
	}
	wantOrder(t, "paid order after expiry", o, want)
	_, err = e.orders.ExpireOrder(ctx, "ord_unknown")
	wantCode(t, err, domain.ENOTFOUND)
	e.wantUnits(t, ev.ID, 4, map[domain.OrderStatus]int{domain.OrderPaid: 1, domain.OrderExpired: 2, domain.OrderAwaitingPayment: 3})
}

func TestOrder_CancelReturnsStockOnce(t *testing.T) {
	t.Parallel()
	e := newOrderEnv(t)
	ctx := context.Background()
	seller := e.user(t, domain.RoleSeller)
	buyer, other := e.user(t, domain.RoleBuyer), e.user(t, domain.RoleBuyer)
	ev := e.flashEvent(t, seller, 10)
	r1, r2 := e.reservation(ev, buyer, 2, 0), e.reservation(ev, buyer, 1, 0)
	e.write(t, r1, r2)
	expires := e.clock.Now().Add(testPaymentTimeout)

	_, err := e.orders.CancelOrder(as(other), r1.OrderID)
	wantCode(t, err, domain.ENOTFOUND)
	_, err = e.orders.CancelOrder(as(seller), r1.OrderID)
	wantCode(t, err, domain.EFORBIDDEN)
	_, err = e.orders.CancelOrder(anonymous, r1.OrderID)
	wantCode(t, err, domain.EUNAUTHENTICATED)
	o, err := e.orders.CancelOrder(as(buyer), r1.OrderID)
	if err != nil {
		t.Fatalf("CancelOrder: %v", err)
	}
	wantOrder(t, "cancelled", o, r1.Order(domain.OrderCancelled, &expires))
	e.wantUnits(t, ev.ID, 1, map[domain.OrderStatus]int{domain.OrderCancelled: 2, domain.OrderAwaitingPayment: 1})
	_, err = e.orders.CancelOrder(as(buyer), r1.OrderID)
	wantCode(t, err, domain.ECONFLICT)
	_, err = e.orders.PayOrder(as(buyer), r1.OrderID)
	wantCode(t, err, domain.ECONFLICT)
	// Expiry of a cancelled order changes nothing, even when due.
	e.clock.Add(testPaymentTimeout)
	o, err = e.orders.ExpireOrder(ctx, r1.OrderID)
	if err != nil || o.Status != domain.OrderCancelled {
		t.Fatalf("ExpireOrder(cancelled) = %v, %v; want CANCELLED", o, err)
	}
	e.wantUnits(t, ev.ID, 1, map[domain.OrderStatus]int{domain.OrderCancelled: 2, domain.OrderAwaitingPayment: 1})

	// Ten cancels of one order at once: one wins, the stock comes back
	// once.
	const n = 10
	errs := make([]error, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			<-start
			_, errs[i] = e.orders.CancelOrder(as(buyer), r2.OrderID)
		})
	}
	close(start)
	wg.Wait()
	won := 0
	for _, err := range errs {
		switch domain.ErrorCode(err) {
		case "":
			won++
		case domain.ECONFLICT:
		default:
			t.Fatalf("CancelOrder: %v", err)
		}
	}
	if won != 1 {
		t.Fatalf("%d concurrent cancels won, want 1", won)
	}
	e.wantUnits(t, ev.ID, 0, map[domain.OrderStatus]int{domain.OrderCancelled: 3})

	// Cart orders give their units back to the products.
	p1, p2 := e.product(t, seller, 5), e.product(t, seller, 7)
	cart, err := e.orders.PlaceOrder(as(buyer), domain.PlaceOrder{
		Items: []domain.CartItem{{ProductID: p1.ID, Quantity: 2}, {ProductID: p2.ID, Quantity: 7}}, IdempotencyKey: "cart-1",
	})
	if err != nil {
		t.Fatalf("PlaceOrder: %v", err)
	}
	if got, want := []int{e.productStock(t, p1.ID), e.productStock(t, p2.ID)}, []int{3, 0}; !slices.Equal(got, want) {
		t.Fatalf("product stock after order = %v, want %v", got, want)
	}
	o, err = e.orders.CancelOrder(as(buyer), cart.ID)
	if err != nil {
		t.Fatalf("CancelOrder(cart): %v", err)
	}
	if o.Status != domain.OrderCancelled {
		t.Fatalf("status = %s, want CANCELLED", o.Status)
	}
	_, err = e.orders.CancelOrder(as(buyer), cart.ID)
	wantCode(t, err, domain.ECONFLICT)
	if got, want := []int{e.productStock(t, p1.ID), e.productStock(t, p2.ID)}, []int{5, 7}; !slices.Equal(got, want) {
		t.Fatalf("product stock after cancel = %v, want %v", got, want)
	}

	// An expired cart order also gives its units back, once.
	cart, err = e.orders.PlaceOrder(as(buyer), domain.PlaceOrder{
		Items: []domain.CartItem{{ProductID: p1.ID, Quantity: 5}}, IdempotencyKey: "cart-2",
	})
	if err != nil {
		t.Fatalf("PlaceOrder: %v", err)
	}
	e.clock.Add(testPaymentTimeout)
	for range 2 {
		o, err = e.orders.ExpireOrder(ctx, cart.ID)
		if err != nil || o.Status != domain.OrderExpired {
			t.Fatalf("ExpireOrder(cart) = %v, %v; want EXPIRED", o, err)
		}
		if got, want := e.productStock(t, p1.ID), 5; got != want {
			t.Fatalf("product stock after expiry = %d, want %d", got, want)
		}
	}
}

func TestOrder_PlaceOrder(t *testing.T) {
	t.Parallel()
	e := newOrderEnv(t)
	s1, s2 := e.user(t, domain.RoleSeller), e.user(t, domain.RoleSeller)
	buyer := e.user(t, domain.RoleBuyer)
	p1, p2, p3 := e.product(t, s1, 5), e.product(t, s1, 3), e.product(t, s2, 1)

	now := e.clock.Now()
	o, err := e.orders.PlaceOrder(as(buyer), domain.PlaceOrder{
		Items:          []domain.CartItem{{ProductID: p3.ID, Quantity: 1}, {ProductID: p1.ID, Quantity: 2}, {ProductID: p2.ID, Quantity: 3}},
		IdempotencyKey: "order-1",
	})
	if err != nil {
		t.Fatalf("PlaceOrder: %v", err)
	}
	expires := now.Add(testPaymentTimeout)
	want := &domain.Order{
		ID: o.ID, BuyerID: buyer.UserID,
		Items: []domain.OrderItem{ // sorted by product ID
			{ProductID: p1.ID, Quantity: 2, UnitPriceCents: p1.PriceCents},
			{ProductID: p2.ID, Quantity: 3, UnitPriceCents: p2.PriceCents},
			{ProductID: p3.ID, Quantity: 1, UnitPriceCents: p3.PriceCents},
		},
		TotalCents: 6 * p1.PriceCents, Status: domain.OrderAwaitingPayment, CreatedAt: now, ExpiresAt: &expires,
	}
	wantOrder(t, "placed", o, want)
	if got, want := domain.KindOfID(o.ID), domain.PrefixOrder; got != want {
		t.Fatalf("ID kind = %q, want %q", got, want)
	}
	found, err := e.orders.FindOrderByID(as(buyer), o.ID)
	if err != nil {
		t.Fatalf("FindOrderByID: %v", err)
	}
	wantOrder(t, "found", found, want)
	if got, want := []int{e.productStock(t, p1.ID), e.productStock(t, p2.ID), e.productStock(t, p3.ID)}, []int{3, 0, 0}; !slices.Equal(got, want) {
		t.Fatalf("stock = %v, want %v", got, want)
	}

	// A retry returns the first order as it stands, whatever it asks.
	e.clock.Add(time.Minute)
	if _, err := e.orders.PayOrder(as(buyer), o.ID); err != nil {
		t.Fatal(err)
	}
	retry, err := e.orders.PlaceOrder(as(buyer), domain.PlaceOrder{
		Items: []domain.CartItem{{ProductID: p1.ID, Quantity: 1}}, IdempotencyKey: "order-1",
	})
	if err != nil {
		t.Fatalf("PlaceOrder retry: %v", err)
	}
	paidAt := e.clock.Now()
	want.Status, want.PaidAt = domain.OrderPaid, &paidAt
	wantOrder(t, "retry", retry, want)
	if got, want := e.productStock(t, p1.ID), 3; got != want {
		t.Fatalf("stock after retry = %d, want %d", got, want)
	}
	// The key is the buyer's: another buyer may use it.
	other, err := e.orders.PlaceOrder(as(e.user(t, domain.RoleBuyer)), domain.PlaceOrder{
		Items: []domain.CartItem{{ProductID: p1.ID, Quantity: 1}}, IdempotencyKey: "order-1",
	})
	if err != nil || other.ID == o.ID {
		t.Fatalf("PlaceOrder by another buyer with the same key = %v, %v; want a new order", other, err)
	}
}

func TestOrder_PlaceOrderRefused(t *testing.T) {
	t.Parallel()
	e := newOrderEnv(t)
	seller := e.user(t, domain.RoleSeller)
	buyer := e.user(t, domain.RoleBuyer)
	p1, p2 := e.product(t, seller, 5), e.product(t, seller, 1)
	hidden := e.product(t, seller, 9)
	if _, err := e.products.UpdateProduct(as(seller), hidden.ID, domain.ProductUpdate{Published: ptr(false)}); err != nil {
		t.Fatal(err)
	}
	place := func(who context.Context, key string, items ...domain.CartItem) error {
		_, err := e.orders.PlaceOrder(who, domain.PlaceOrder{Items: items, IdempotencyKey: key})
		return err
	}
	for _, tc := range []struct {
		name    string
		who     context.Context
		items   []domain.CartItem
		code    string
		message string
	}{
		{"second item short", as(buyer), []domain.CartItem{{ProductID: p1.ID, Quantity: 2}, {ProductID: p2.ID, Quantity: 2}}, domain.ECONFLICT,
			fmt.Sprintf("product %s has 1 units in stock; the order needs 2", p2.ID)},
		{"unpublished", as(buyer), []domain.CartItem{{ProductID: p1.ID, Quantity: 1}, {ProductID: hidden.ID, Quantity: 1}}, domain.ENOTFOUND,
			fmt.Sprintf("product %s not found", hidden.ID)},
		{"unknown", as(buyer), []domain.CartItem{{ProductID: p1.ID, Quantity: 1}, {ProductID: "prd_unknown", Quantity: 1}}, domain.ENOTFOUND,
			"product prd_unknown not found"},
		{"empty", as(buyer), nil, domain.EINVALID, "items must not be empty"},
		{"seller", as(seller), []domain.CartItem{{ProductID: p1.ID, Quantity: 1}}, domain.EFORBIDDEN, "this needs the BUYER role"},
		{"anonymous", anonymous, []domain.CartItem{{ProductID: p1.ID, Quantity: 1}}, domain.EUNAUTHENTICATED, "sign in first"},
	} {
		err := place(tc.who, "key-1", tc.items...)
		wantCode(t, err, tc.code)
		if got := domain.ErrorMessage(err); got != tc.message {
			t.Fatalf("%s: message = %q, want %q", tc.name, got, tc.message)
		}
		// Nothing changed.
		if got, want := []int{e.productStock(t, p1.ID), e.productStock(t, p2.ID), e.productStock(t, hidden.ID)}, []int{5, 1, 9}; !slices.Equal(got, want) {
			t.Fatalf("%s: stock = %v, want %v", tc.name, got, want)
		}
		if got := e.countRows(t, "orders"); got != 0 {
			t.Fatalf("%s: %d orders, want 0", tc.name, got)
		}
	}
	// A refused order does not use up its key.
	if err := place(as(buyer), "key-1", domain.CartItem{ProductID: p1.ID, Quantity: 5}); err != nil {
		t.Fatalf("PlaceOrder after refusals: %v", err)
	}
	if got := e.productStock(t, p1.ID); got != 0 {
		t.Fatalf("stock = %d, want 0", got)
	}
}

func TestOrder_PlaceOrderConcurrent(t *testing.T) {
	t.Parallel()
	e := newOrderEnv(t)
	seller := e.user(t, domain.RoleSeller)
	buyer := e.user(t, domain.RoleBuyer)
	p := e.product(t, seller, 10)
	const n = 10

	run := func(key func(i int) string) ([]*domain.Order, []error) {
		orders, errs := make([]*domain.Order, n), make([]error, n)
		start := make(chan struct{})
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				<-start
				orders[i], errs[i] = e.orders.PlaceOrder(as(buyer), domain.PlaceOrder{
					Items: []domain.CartItem{{ProductID: p.ID, Quantity: 3}}, IdempotencyKey: key(i),
				})
			})
		}
		close(start)
		wg.Wait()
		return orders, errs
	}

	// One key, ten tries at once: one order, stock taken once.
	orders, errs := run(func(int) string { return "same-key" })
	for i, err := range errs {
		if err != nil {
			t.Fatalf("PlaceOrder #%d: %v", i, err)
		}
		wantOrder(t, fmt.Sprintf("order #%d", i), orders[i], orders[0])
	}
	if got, want := e.productStock(t, p.ID), 7; got != want {
		t.Fatalf("stock = %d, want %d", got, want)
	}
	if got, want := e.countRows(t, "orders"), 1; got != want {
		t.Fatalf("orders = %d, want %d", got, want)
	}

	// Ten keys for seven units, three each: two orders, never more.
	_, errs = run(func(i int) string { return fmt.Sprintf("key-%d", i) })
	placed := 0
	for i, err := range errs {
		switch domain.ErrorCode(err) {
		case "":
			placed++
		case domain.ECONFLICT:
		default:
			t.Fatalf("PlaceOrder #%d: %v", i, err)
		}
	}
	if placed != 2 {
		t.Fatalf("%d orders placed, want 2", placed)
	}
	if got, want := e.productStock(t, p.ID), 1; got != want {
		t.Fatalf("stock = %d, want %d", got, want)
	}
	if got, want := e.countRows(t, "orders"), 3; got != want {
		t.Fatalf("orders = %d, want %d", got, want)
	}
}

func TestOrder_Visibility(t *testing.T) {
	t.Parallel()
	e := newOrderEnv(t)
	s1, s2 := e.user(t, domain.RoleSeller), e.user(t, domain.RoleSeller)
	a, b := e.user(t, domain.RoleBuyer), e.user(t, domain.RoleBuyer)
	admin := e.user(t, domain.RoleAdmin)
	ev := e.flashEvent(t, s1, 10)
	flash := e.reservation(ev, a, 1, 0)
	e.write(t, flash)
	p1, p2 := e.product(t, s1, 5), e.product(t, s2, 5)
	cart, err := e.orders.PlaceOrder(as(a), domain.PlaceOrder{
		Items: []domain.CartItem{{ProductID: p1.ID, Quantity: 1}, {ProductID: p2.ID, Quantity: 1}}, IdempotencyKey: "k",
	})
	if err != nil {
		t.Fatal(err)
	}
	bOrder, err := e.orders.PlaceOrder(as(b), domain.PlaceOrder{
		Items: []domain.CartItem{{ProductID: p2.ID, Quantity: 1}}, IdempotencyKey: "k",
	})
	if err != nil {
		t.Fatal(err)
	}

	for _, tc := range []struct {
		name string
		who  context.Context
		id   string
		sees bool
	}{
		{"buyer", as(a), flash.OrderID, true},
		{"another buyer", as(b), flash.OrderID, false},
		{"seller of the item", as(s1), flash.OrderID, true},
		{"another seller", as(s2), flash.OrderID, false},
		{"admin", as(admin), flash.OrderID, true},
		{"anonymous", anonymous, flash.OrderID, false},
		{"first seller of a cart", as(s1), cart.ID, true},
		{"second seller of a cart", as(s2), cart.ID, true},
		{"unknown", as(admin), "ord_unknown", false},
	} {
		o, err := e.orders.FindOrderByID(tc.who, tc.id)
		switch {
		case tc.sees && (err != nil || o.ID != tc.id):
			t.Fatalf("%s: FindOrderByID = %v, %v; want the order", tc.name, o, err)
		case !tc.sees:
			wantCode(t, err, domain.ENOTFOUND)
		}
	}

	list := func(who context.Context, f domain.OrderFilter) ([]string, error) {
		f.First = 10
		page, err := e.orders.FindOrders(who, f)
		return ids(page.Items, func(o *domain.Order) string { return o.ID }), err
	}
	for _, tc := range []struct {
		name string
		who  context.Context
		f    domain.OrderFilter
		want []string
		code string
	}{
		{"my orders", as(a), domain.OrderFilter{BuyerID: a.UserID}, []string{cart.ID, flash.OrderID}, ""},
		{"my flash orders", as(a), domain.OrderFilter{BuyerID: a.UserID, FlashEventID: ev.ID}, []string{flash.OrderID}, ""},
		{"my unpaid orders", as(a), domain.OrderFilter{BuyerID: a.UserID, Status: domain.OrderAwaitingPayment}, []string{cart.ID, flash.OrderID}, ""},
		{"my paid orders", as(a), domain.OrderFilter{BuyerID: a.UserID, Status: domain.OrderPaid}, nil, ""},
		{"orders of s1", as(s1), domain.OrderFilter{SellerID: s1.UserID}, []string{cart.ID, flash.OrderID}, ""},
		{"orders of s2", as(s2), domain.OrderFilter{SellerID: s2.UserID}, []string{bOrder.ID, cart.ID}, ""},
		{"orders of s2 by a", as(s2), domain.OrderFilter{SellerID: s2.UserID, BuyerID: a.UserID}, []string{cart.ID}, ""},
		{"admin, all", as(admin), domain.OrderFilter{}, []string{bOrder.ID, cart.ID, flash.OrderID}, ""},
		{"admin, a buyer", as(admin), domain.OrderFilter{BuyerID: b.UserID}, []string{bOrder.ID}, ""},
		{"another buyer's", as(b), domain.OrderFilter{BuyerID: a.UserID}, nil, domain.EFORBIDDEN},
		{"another seller's", as(s2), domain.OrderFilter{SellerID: s1.UserID}, nil, domain.EFORBIDDEN},
		{"all, not admin", as(s1), domain.OrderFilter{}, nil, domain.EFORBIDDEN},
		{"anonymous", anonymous, domain.OrderFilter{BuyerID: a.UserID}, nil, domain.EUNAUTHENTICATED},
		{"bad status", as(a), domain.OrderFilter{BuyerID: a.UserID, Status: "LOST"}, nil, domain.EINVALID},
	} {
		got, err := list(tc.who, tc.f)
		if got := domain.ErrorCode(err); got != tc.code {
			t.Fatalf("%s: error code %q (%v), want %q", tc.name, got, err, tc.code)
		}
		if !slices.Equal(got, tc.want) {
			t.Fatalf("%s: orders = %v, want %v", tc.name, got, tc.want)
		}
	}

	// Completing: a seller of the items or an ADMIN, once PAID.
	_, err = e.orders.CompleteOrder(as(s1), flash.OrderID)
	wantCode(t, err, domain.ECONFLICT)
	if _, err := e.orders.PayOrder(as(a), flash.OrderID); err != nil {
		t.Fatal(err)
	}
	_, err = e.orders.CompleteOrder(as(a), flash.OrderID)
	wantCode(t, err, domain.EFORBIDDEN)
	_, err = e.orders.CompleteOrder(as(s2), flash.OrderID)
	wantCode(t, err, domain.ENOTFOUND)
	_, err = e.orders.CompleteOrder(anonymous, flash.OrderID)
	wantCode(t, err, domain.EUNAUTHENTICATED)
	done, err := e.orders.CompleteOrder(as(s1), flash.OrderID)
	if err != nil || done.Status != domain.OrderCompleted || len(done.Items) != 1 {
		t.Fatalf("CompleteOrder = %v, %v; want COMPLETED with its item", done, err)
	}
	_, err = e.orders.CompleteOrder(as(s1), flash.OrderID)
	wantCode(t, err, domain.ECONFLICT)
	_, err = e.orders.PayOrder(as(a), flash.OrderID)
	wantCode(t, err, domain.ECONFLICT)
	if _, err := e.orders.PayOrder(as(b), bOrder.ID); err != nil {
		t.Fatal(err)
	}
	if done, err := e.orders.CompleteOrder(as(admin), bOrder.ID); err != nil || done.Status != domain.OrderCompleted {
		t.Fatalf("CompleteOrder as admin = %v, %v; want COMPLETED", done, err)
	}
	// The completed flash order still holds its unit.
	e.wantUnits(t, ev.ID, 1, map[domain.OrderStatus]int{domain.OrderCompleted: 1})
}

func TestOrder_FindOrdersPagination(t *testing.T) {
	t.Parallel()
	e := newOrderEnv(t)
	seller := e.user(t, domain.RoleSeller)
	a, b := e.user(t, domain.RoleBuyer), e.user(t, domain.RoleBuyer)
	ev := e.flashEvent(t, seller, 100)
	var mine, all []domain.Reservation
	for i := range 27 {
		buyer := a
		if i%10 == 9 {
			buyer = b
		}
		r := e.reservation(ev, buyer, 1+i%2, 0)
		all = append(all, r)
		if buyer == a {
			mine = append(mine, r)
		}
	}
	e.write(t, all...)
	if len(mine) != 25 {
		t.Fatalf("setup: %d orders of a, want 25", len(mine))
	}

	var seen []string
	after := ""
	for i, want := range []struct {
		n       int
		hasNext bool
	}{{10, true}, {10, true}, {5, false}} {
		page, err := e.orders.FindOrders(as(a), domain.OrderFilter{BuyerID: a.UserID, PageRequest: domain.PageRequest{First: 10, After: after}})
		if err != nil {
			t.Fatalf("page %d: %v", i, err)
		}
		if len(page.Items) != want.n || page.HasNext != want.hasNext {
			t.Fatalf("page %d: %d items HasNext %t, want %d and %t", i, len(page.Items), page.HasNext, want.n, want.hasNext)
		}
		for _, o := range page.Items {
			if o.BuyerID != a.UserID || len(o.Items) != 1 || o.TotalCents != int64(o.Items[0].Quantity)*ev.PriceCents {
				t.Fatalf("page %d: order %s", i, fmtOrder(o))
			}
			seen = append(seen, o.ID)
		}
		after = page.Items[len(page.Items)-1].ID
	}
	want := orderIDs(mine)
	slices.Reverse(want)
	if !slices.Equal(seen, want) {
		t.Fatalf("paged IDs = %v, want %v", seen, want)
	}

	// The seller sees every order of the product, pages included.
	page, err := e.orders.FindOrders(as(seller), domain.OrderFilter{SellerID: seller.UserID, PageRequest: domain.PageRequest{First: 100}})
	if err != nil {
		t.Fatal(err)
	}
	want = orderIDs(all)
	slices.Reverse(want)
	if got := ids(page.Items, func(o *domain.Order) string { return o.ID }); !slices.Equal(got, want) || page.HasNext {
		t.Fatalf("seller's orders = %v (HasNext %t), want %v", got, page.HasNext, want)
	}
	var units int
	for _, o := range page.Items {
		units += o.Quantity()
	}
	if got, want := units, e.sold(t, ev.ID); got != want {
		t.Fatalf("units in the seller's orders = %d, want sold %d", got, want)
	}

	_, err = e.orders.FindOrders(as(a), domain.OrderFilter{BuyerID: a.UserID, PageRequest: domain.PageRequest{First: -1}})
	wantCode(t, err, domain.EINVALID)
}

func TestOrder_DueOrderIDs(t *testing.T) {
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

func TestOrder_OrdersExistAndLiveUnits(t *testing.T) {
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

// liveUnits is the live-orders side of Conservation alone.
func liveUnits(ctx context.Context, o *postgres.OrderStore, eventID string) (int, error) {
	live, _, err := o.Conservation(ctx, eventID, nil)
	return live, err
}
