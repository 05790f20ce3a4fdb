package postgres_test

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
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

// liveUnits is the live-orders side of Conservation alone.
func liveUnits(ctx context.Context, o *postgres.OrderStore, eventID string) (int, error) {
	live, _, err := o.Conservation(ctx, eventID, nil)
	return live, err
}

func TestOrderVisibility(t *testing.T) {
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

func TestOrderFindOrdersPagination(t *testing.T) {
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
