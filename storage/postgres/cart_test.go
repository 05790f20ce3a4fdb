package postgres_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"flashlive/domain"
)

func TestOrderPlaceOrder(t *testing.T) {
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

func TestOrderPlaceOrderRefused(t *testing.T) {
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

func TestOrderPlaceOrderConcurrent(t *testing.T) {
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
