package postgres_test

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"flashlive/domain"
	"flashlive/storage/postgres"
)

// newEnvDB returns a DB on e's pool with its own clock, so that two stores
// can see different times at once.
func newEnvDB(e *orderEnv, now time.Time) *postgres.DB {
	return &postgres.DB{Pool: e.db.Pool, Now: func() time.Time { return now }}
}

func TestOrderPayExpireRace(t *testing.T) {
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

func TestOrderPayAndExpire(t *testing.T) {
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

func TestOrderCancelReturnsStockOnce(t *testing.T) {
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
