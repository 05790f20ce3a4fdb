package main

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"flashlive/domain"
	"flashlive/internal/testenv"
	"flashlive/jobs"
	"flashlive/storage/postgres"
)

const (
	orderQuery     = `query($id: ID!) { order(id: $id) { id status totalCents expiresAt paidAt flashEvent { id } items { quantity unitPriceCents product { id } } buyer { id } } }`
	payMutation    = `mutation($id: ID!) { payOrder(id: $id) { id status paidAt } }`
	cancelMutation = `mutation($id: ID!) { cancelOrder(id: $id) { id status } }`
	completeMut    = `mutation($id: ID!) { completeOrder(id: $id) { id status } }`
)

type orderView struct {
	ID, Status string
	TotalCents int64
	ExpiresAt  *string
	PaidAt     *string
}

func (c *client) order(t testing.TB, id string) *orderView {
	t.Helper()
	var out struct{ Order *orderView }
	c.must(t, orderQuery, map[string]any{"id": id}, &out)
	return out.Order
}

// waitStatus polls the buyer's view of an order until it has status.
func (c *client) waitStatus(t testing.TB, id, status string) *orderView {
	t.Helper()
	var o *orderView
	testenv.WaitFor(t, 15*time.Second, "order "+id+" to be "+status, func() bool {
		o = c.order(t, id)
		return o != nil && o.Status == status
	})
	return o
}

// waitSettled waits until the order stream has nothing in flight: every
// reservation published is written and acknowledged, none will come back
// to be written again.
func (a *testApp) waitSettled(t testing.TB) {
	t.Helper()
	testenv.WaitForCheck(t, 30*time.Second, "the order stream to settle", func() error {
		settled, err := a.Orders.Settled(context.Background())
		if err == nil && !settled {
			err = errors.New("reservations in flight")
		}
		return err
	})
}

func TestPurchaseTokenRules(t *testing.T) {
	app := startApp(t, nil)
	seller, _ := app.register(t, "SELLER")
	p := seller.newProduct(t, "Thing", 10)
	scheduled := seller.newEvent(t, eventInput(p.ID, "", app.Clock.Now().Add(time.Hour), 5))
	buyers := app.buyers(t, 2)

	buyers[0].wantCode(t, "CONFLICT", tokenMutation, map[string]any{"e": scheduled.ID})
	buyers[0].wantCode(t, "NOT_FOUND", tokenMutation, map[string]any{"e": "evt_doesnotexist"})
	seller.wantCode(t, "FORBIDDEN", tokenMutation, map[string]any{"e": scheduled.ID})
	app.anon().wantCode(t, "UNAUTHENTICATED", tokenMutation, map[string]any{"e": scheduled.ID})

	_, live := app.liveEvent(t, 5, 1)
	tok := buyers[0].purchaseToken(t, live)
	in := func(token, key string) map[string]any {
		return map[string]any{"in": map[string]any{"eventId": live, "token": token, "idempotencyKey": key}}
	}
	// Another buyer's token, a forged one, one for another event, none.
	buyers[1].wantCode(t, "INVALID", purchaseMutation, in(tok, "a"))
	buyers[0].wantCode(t, "INVALID", purchaseMutation, in(tok[:len(tok)-3]+"xyz", "b"))
	otherTok := buyers[0].purchaseToken(t, live)
	buyers[0].wantCode(t, "INVALID", purchaseMutation, map[string]any{"in": map[string]any{"eventId": scheduled.ID, "token": otherTok, "idempotencyKey": "c"}})
	buyers[0].wantCode(t, "INVALID", purchaseMutation, in("", "d"))
	buyers[0].wantCode(t, "INVALID", purchaseMutation, in(tok, ""))
	buyers[0].wantCode(t, "INVALID", purchaseMutation, map[string]any{"in": map[string]any{"eventId": live, "token": tok, "idempotencyKey": "e", "quantity": 0}})
	// Expired: the clock passes the token's minute.
	app.Clock.Advance(2 * time.Minute)
	buyers[0].wantCode(t, "INVALID", purchaseMutation, in(tok, "f"))
	if got := app.remaining(t, live); got != 5 {
		t.Fatalf("remaining = %d after refused purchases, want 5", got)
	}
}

func TestOrderLifecycle(t *testing.T) {
	app := startApp(t, func(c *Config) { c.PaymentTimeout = time.Hour })
	seller, eventID := app.liveEvent(t, 10, 3)
	bs := app.buyers(t, 2)
	buyer, other := bs[0], bs[1]
	tok := buyer.purchaseToken(t, eventID)

	a := buyer.buy(t, eventID, tok, 2, "one")
	if a.Outcome != "RESERVED" || a.Order.Status != "PENDING" || a.Order.TotalCents != 1000 || *a.Remaining != 8 {
		t.Fatalf("purchase = %+v", a)
	}
	// The buyer never sees "not found" for an order we said yes to.
	if o := buyer.order(t, a.Order.ID); o == nil {
		t.Fatal("order(id) right after RESERVED is null")
	}
	o := buyer.waitStatus(t, a.Order.ID, "AWAITING_PAYMENT")
	if o.ExpiresAt == nil {
		t.Fatal("AWAITING_PAYMENT without expiresAt")
	}
	// Others cannot see, pay or cancel it.
	if o := other.order(t, a.Order.ID); o != nil {
		t.Fatal("another buyer sees the order")
	}
	other.wantCode(t, "NOT_FOUND", payMutation, map[string]any{"id": a.Order.ID})
	other.wantCode(t, "NOT_FOUND", cancelMutation, map[string]any{"id": a.Order.ID})
	// The seller sees it among their orders, but cannot complete it unpaid.
	var so struct {
		SellerOrders struct {
			Edges []struct{ Node struct{ ID string } }
		}
	}
	seller.must(t, `query($e: ID) { sellerOrders(flashEventId: $e) { edges { node { id } } } }`, map[string]any{"e": eventID}, &so)
	if len(so.SellerOrders.Edges) != 1 || so.SellerOrders.Edges[0].Node.ID != a.Order.ID {
		t.Fatalf("sellerOrders = %+v", so.SellerOrders.Edges)
	}
	seller.wantCode(t, "CONFLICT", completeMut, map[string]any{"id": a.Order.ID})

	var paid struct{ PayOrder orderView }
	buyer.must(t, payMutation, map[string]any{"id": a.Order.ID}, &paid)
	if paid.PayOrder.Status != "PAID" || paid.PayOrder.PaidAt == nil {
		t.Fatalf("pay = %+v", paid.PayOrder)
	}
	buyer.must(t, payMutation, map[string]any{"id": a.Order.ID}, &paid) // idempotent
	buyer.wantCode(t, "CONFLICT", cancelMutation, map[string]any{"id": a.Order.ID})
	buyer.wantCode(t, "FORBIDDEN", completeMut, map[string]any{"id": a.Order.ID})
	var done struct{ CompleteOrder orderView }
	seller.must(t, completeMut, map[string]any{"id": a.Order.ID}, &done)
	if done.CompleteOrder.Status != "COMPLETED" {
		t.Fatalf("complete = %+v", done.CompleteOrder)
	}

	// Cancel gives the stock back, once.
	b := buyer.buy(t, eventID, tok, 1, "two")
	buyer.waitStatus(t, b.Order.ID, "AWAITING_PAYMENT")
	if got := app.remaining(t, eventID); got != 7 {
		t.Fatalf("remaining = %d, want 7", got)
	}
	var c struct{ CancelOrder orderView }
	buyer.must(t, cancelMutation, map[string]any{"id": b.Order.ID}, &c)
	if c.CancelOrder.Status != "CANCELLED" {
		t.Fatalf("cancel = %+v", c.CancelOrder)
	}
	buyer.wantCode(t, "CONFLICT", cancelMutation, map[string]any{"id": b.Order.ID})
	buyer.wantCode(t, "CONFLICT", payMutation, map[string]any{"id": b.Order.ID})
	if got := app.remaining(t, eventID); got != 8 {
		t.Fatalf("remaining after cancel = %d, want 8", got)
	}
	_, live, sold := app.orderCounts(t, eventID)
	if live != 2 || sold != 2 {
		t.Fatalf("live units %d, sold %d; want 2, 2", live, sold)
	}
	// The cancelled unit counts against the limit no more: 2 held, 1 more allowed.
	if a := buyer.buy(t, eventID, tok, 1, "three"); a.Outcome != "RESERVED" {
		t.Fatalf("purchase after cancel = %s", a.Outcome)
	}
	var mine struct {
		MyOrders struct {
			Edges []struct{ Node struct{ ID, Status string } }
		}
	}
	buyer.must(t, `{ myOrders { edges { node { id status } } } }`, nil, &mine)
	if len(mine.MyOrders.Edges) < 2 {
		t.Fatalf("myOrders = %+v", mine.MyOrders.Edges)
	}
	app.assertNoDrift(t, eventID)

	// Closing stops the sale at once.
	seller.must(t, closeEvent, map[string]any{"id": eventID}, nil)
	if a := buyer.buy(t, eventID, tok, 1, "four"); a.Outcome != "CLOSED" && a.Outcome != "LIMIT_REACHED" {
		t.Fatalf("purchase after close = %s, want CLOSED", a.Outcome)
	}
	otherTokErr := other.post(t, tokenMutation, map[string]any{"e": eventID})
	if otherTokErr.code() != "CONFLICT" {
		t.Fatalf("token after close: %+v", otherTokErr.Errors)
	}
}

func TestExpiryReturnsStockOnce(t *testing.T) {
	app := startApp(t, func(c *Config) { c.PaymentTimeout = 2 * time.Second })
	_, eventID := app.liveEvent(t, 5, 5)
	buyer := app.buyers(t, 1)[0]
	tok := buyer.purchaseToken(t, eventID)
	a := buyer.buy(t, eventID, tok, 3, "x")
	buyer.waitStatus(t, a.Order.ID, "AWAITING_PAYMENT")
	buyer.waitStatus(t, a.Order.ID, "EXPIRED")
	// The expiry writes PostgreSQL first, then gives the units back in
	// Redis: the order may read EXPIRED a moment before the stock moves.
	testenv.WaitFor(t, 10*time.Second, "the expired order's units back in the hot stock", func() bool {
		return app.remaining(t, eventID) == 5
	})
	buyer.wantCode(t, "CONFLICT", payMutation, map[string]any{"id": a.Order.ID})
	// The expiry path runs again, twice, as its job does every second and
	// as an expiry message that comes back would: the scan publishes
	// nothing more, and handling the order's expiry again releases nothing.
	ctx := context.Background()
	store := postgres.NewOrderStore(app.DB, app.Config.PaymentTimeout)
	scan := &jobs.ScanExpiries{Orders: store, Publisher: app.Orders, Now: app.Now}
	expiry := &jobs.Expiry{Orders: store, Hot: app.Sale.Hot, Live: app.Hub, Logger: app.Logger}
	for range 2 {
		if err := scan.Run(ctx); err != nil {
			t.Fatalf("scan expiries: %v", err)
		}
		if err := expiry.Handle(ctx, a.Order.ID); err != nil {
			t.Fatalf("expire again: %v", err)
		}
	}
	if got := app.remaining(t, eventID); got != 5 {
		t.Fatalf("remaining later = %d, want 5 (released exactly once)", got)
	}
	_, live, sold := app.orderCounts(t, eventID)
	if live != 0 || sold != 0 {
		t.Fatalf("live %d sold %d after expiry, want 0 0", live, sold)
	}
	app.assertNoDrift(t, eventID)
}

func TestPayRacesExpiry(t *testing.T) {
	app := startApp(t, func(c *Config) { c.PaymentTimeout = 3 * time.Second })
	_, eventID := app.liveEvent(t, 200, 1)
	buyers := app.buyers(t, 200)
	ids := make([]string, len(buyers))
	var wg sync.WaitGroup
	sem := make(chan struct{}, 32)
	for i, b := range buyers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			a := b.buy(t, eventID, b.purchaseToken(t, eventID), 1, "k")
			if a.Outcome != "RESERVED" {
				t.Errorf("buyer %d: %s", i, a.Outcome)
				return
			}
			ids[i] = a.Order.ID
		}()
	}
	wg.Wait()
	testenv.WaitFor(t, 20*time.Second, "200 orders", func() bool { n, _, _ := app.orderCounts(t, eventID); return n == 200 })
	var due time.Time
	if err := app.DB.Pool.QueryRow(context.Background(), `SELECT max(expires_at) FROM orders WHERE flash_event_id = $1`, eventID).Scan(&due); err != nil {
		t.Fatal(err)
	}
	// Every buyer pays at the deadline, give or take, while expiry runs.
	// (This sleep waits for a moment on the clock, not for something to
	// happen: there is nothing to poll.)
	time.Sleep(time.Until(due.Add(-150 * time.Millisecond)))
	for i, b := range buyers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			r := b.post(t, payMutation, map[string]any{"id": ids[i]})
			if c := r.code(); c != "" && c != "CONFLICT" {
				t.Errorf("pay %d: %+v", i, r.Errors)
			}
		}()
	}
	wg.Wait()
	testenv.WaitFor(t, 20*time.Second, "every order to be PAID or EXPIRED", func() bool {
		var open int
		_ = app.DB.Pool.QueryRow(context.Background(), `SELECT count(*) FROM orders WHERE flash_event_id = $1 AND status NOT IN ('PAID','EXPIRED')`, eventID).Scan(&open)
		return open == 0
	})
	var paidN, expiredN int
	_ = app.DB.Pool.QueryRow(context.Background(), `SELECT count(*) FILTER (WHERE status = 'PAID'), count(*) FILTER (WHERE status = 'EXPIRED') FROM orders WHERE flash_event_id = $1`, eventID).Scan(&paidN, &expiredN)
	if paidN+expiredN != 200 {
		t.Fatalf("%d paid + %d expired != 200", paidN, expiredN)
	}
	t.Logf("at the deadline: %d paid, %d expired", paidN, expiredN)
	testenv.WaitFor(t, 10*time.Second, "released stock to settle", func() bool { return app.remaining(t, eventID) == 200-paidN })
	_, live, sold := app.orderCounts(t, eventID)
	if live != paidN || sold != paidN {
		t.Fatalf("live %d, sold %d; want %d paid", live, sold, paidN)
	}
	app.assertNoDrift(t, eventID)
}

// TestLostPublishIsRecovered simulates a crash between the reservation
// script and the publish: the reservation sits in the outbox only, and
// reconciliation turns it into an order.
func TestLostPublishIsRecovered(t *testing.T) {
	app := startApp(t, nil)
	_, eventID := app.liveEvent(t, 5, 2)
	buyer := app.buyers(t, 1)[0]
	buyer.purchaseToken(t, eventID) // loads the event into the hot stock
	var me struct{ Me struct{ ID string } }
	buyer.must(t, meQuery, nil, &me)

	now := app.Clock.Now()
	res, err := app.Sale.Hot.Reserve(context.Background(), domain.Reservation{
		OrderID: newOrderID(eventID), BuyerID: me.Me.ID, EventID: eventID, Quantity: 2, CreatedAt: now,
	}, "lost", now)
	if err != nil || res.Outcome != domain.OutcomeReserved {
		t.Fatalf("reserve: %+v %v", res, err)
	}
	orderID := res.Reservation.OrderID
	// PENDING for the buyer, straight from the outbox.
	if o := buyer.order(t, orderID); o == nil || o.Status != "PENDING" {
		t.Fatalf("order before reconciliation = %+v, want PENDING", o)
	}
	// Too young to be an orphan: left alone.
	if err := app.Reconciler.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n, _, _ := app.orderCounts(t, eventID); n != 0 {
		t.Fatalf("%d orders before the reservation is old enough", n)
	}
	app.Clock.Advance(OrphanAge + time.Second)
	if err := app.Reconciler.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	buyer.waitStatus(t, orderID, "AWAITING_PAYMENT")
	testenv.WaitFor(t, 10*time.Second, "the outbox to be forgotten", func() bool {
		_ = app.Reconciler.Run(context.Background())
		rs, err := app.Sale.Hot.Reservations(context.Background(), eventID, app.Clock.Now().Add(time.Hour))
		return err == nil && len(rs) == 0
	})
	if n, live, sold := app.orderCounts(t, eventID); n != 1 || live != 2 || sold != 2 {
		t.Fatalf("orders %d live %d sold %d, want 1 2 2", n, live, sold)
	}
	app.assertNoDrift(t, eventID)
}

// TestWriterCrashLosesNothing makes the order writer fail after its
// transaction commits, before it acknowledges (as a crash there would):
// the batch comes back, and nothing is lost or written twice.
func TestWriterCrashLosesNothing(t *testing.T) {
	app := startApp(t, nil)
	_, eventID := app.liveEvent(t, 40, 1)
	buyers := app.buyers(t, 40)

	app.Orders.Stop()
	store := postgres.NewOrderStore(app.DB, app.Config.PaymentTimeout)
	var crashes atomic.Int64
	write := func(ctx context.Context, rs []domain.Reservation) error {
		if _, _, err := store.WriteReservations(ctx, rs); err != nil {
			return err
		}
		if crashes.Add(1) <= 3 {
			return fmt.Errorf("simulated crash after commit")
		}
		return app.Sale.Hot.Forget(ctx, rs)
	}
	if err := app.Orders.Start(write, func(context.Context, string) error { return nil }); err != nil {
		t.Fatal(err)
	}
	answers := runSale(t, buyers, eventID, 1, func() int { return 1 })
	reserved := 0
	for _, as := range answers {
		if as[0].Outcome == "RESERVED" {
			reserved++
		}
	}
	if reserved != 40 {
		t.Fatalf("reserved %d, want 40", reserved)
	}
	testenv.WaitFor(t, 40*time.Second, "40 orders", func() bool { n, _, _ := app.orderCounts(t, eventID); return n == 40 })
	app.waitSettled(t) // the crashed batches' retries are done
	if n, live, sold := app.orderCounts(t, eventID); n != 40 || live != 40 || sold != 40 {
		t.Fatalf("orders %d live %d sold %d, want 40 each", n, live, sold)
	}
	if crashes.Load() <= 3 {
		t.Fatalf("the writer ran %d times: the crash was never retried", crashes.Load())
	}
}

// loseRedisAndRestart deletes every Redis key of the app, closes it and
// opens a new one on the same stores.
func (app *testApp) loseRedisAndRestart(t *testing.T) *testApp {
	t.Helper()
	app.loseRedis(t)
	if err := app.Main.Close(); err != nil {
		t.Fatalf("close: %v", err)
	}
	return openApp(t, app.Config)
}

// loseRedis deletes every Redis key of the app, as a Redis that lost its
// data would have none.
func (app *testApp) loseRedis(t *testing.T) {
	t.Helper()
	ctx := context.Background()
	iter := app.Redis.RDB.Scan(ctx, 0, app.Config.RedisPrefix+"*", 1000).Iterator()
	for iter.Next(ctx) {
		if err := app.Redis.RDB.Del(ctx, iter.Val()).Err(); err != nil {
			t.Fatal(err)
		}
	}
	if err := iter.Err(); err != nil {
		t.Fatal(err)
	}
}

// TestRedisLossNeverOversells loses the hot stock in the middle of a sale
// and restarts the server: the event is rebuilt from PostgreSQL once the
// order stream has settled, and never sells more than its stock.
func TestRedisLossNeverOversells(t *testing.T) {
	app := startApp(t, nil)
	_, eventID := app.liveEvent(t, 50, 1)
	buyers := app.buyers(t, 120)

	count := func(answers [][]purchaseAnswer) int {
		n := 0
		for _, as := range answers {
			for _, a := range as {
				if a.Outcome == "RESERVED" {
					n++
				}
			}
		}
		return n
	}
	firstAnswers := runSale(t, buyers[:30], eventID, 1, func() int { return 1 })
	first := count(firstAnswers)
	if first != 30 {
		t.Fatalf("first wave reserved %d, want 30", first)
	}
	// Redis loses everything of ours, reservations possibly in flight.
	app2 := app.loseRedisAndRestart(t)
	for _, b := range buyers {
		b.app = app2
	}
	second := count(runSale(t, buyers[30:], eventID, 1, func() int { return 1 }))
	if first+second != 50 {
		t.Fatalf("reserved %d + %d, want exactly 50", first, second)
	}
	testenv.WaitFor(t, 30*time.Second, "50 orders", func() bool { n, _, _ := app2.orderCounts(t, eventID); return n == 50 })
	if n, live, sold := app2.orderCounts(t, eventID); n != 50 || live != 50 || sold != 50 {
		t.Fatalf("orders %d live %d sold %d, want 50 each", n, live, sold)
	}
	if got := app2.remaining(t, eventID); got != 0 {
		t.Fatalf("remaining = %d, want 0", got)
	}
	// An order reserved before the loss, cancelled after the rebuild,
	// gives its unit back to the rebuilt hot stock: exactly once.
	lost := firstAnswers[0][0].Order.ID
	buyers[0].must(t, cancelMutation, map[string]any{"id": lost}, nil)
	buyers[0].wantCode(t, "CONFLICT", cancelMutation, map[string]any{"id": lost})
	if got := app2.remaining(t, eventID); got != 1 {
		t.Fatalf("remaining after cancelling an order from before the loss = %d, want 1", got)
	}
	app2.assertNoDrift(t, eventID)
}

// TestRedisLossKeepsIdempotentAnswers: a key answered RESERVED before the
// hot stock lost its data gets that same answer after the rebuild (same
// order, same remaining) and buys nothing more, though the buyer's limit
// would allow it; a new key still buys (invariant 4 across a crash).
func TestRedisLossKeepsIdempotentAnswers(t *testing.T) {
	app := startApp(t, nil)
	_, eventID := app.liveEvent(t, 10, 3)
	buyer := app.buyers(t, 1)[0]
	token := buyer.purchaseToken(t, eventID)
	first := buyer.buy(t, eventID, token, 1, "key-before-the-loss")
	if first.Outcome != "RESERVED" || first.Order == nil || first.Remaining == nil || *first.Remaining != 9 {
		t.Fatalf("first purchase = %+v, want RESERVED with 9 left", first)
	}
	testenv.WaitFor(t, 15*time.Second, "the order written", func() bool { n, _, _ := app.orderCounts(t, eventID); return n == 1 })

	app2 := app.loseRedisAndRestart(t)
	buyer.app = app2

	// A token is issued once the event is rebuilt (purchaseToken retries
	// until then).
	token = buyer.purchaseToken(t, eventID)
	buy := func(key string) purchaseAnswer { return buyer.buy(t, eventID, token, 1, key) }
	retry := buy("key-before-the-loss")
	if retry.Outcome != "RESERVED" || retry.Order == nil || retry.Order.ID != first.Order.ID || *retry.Remaining != 9 {
		t.Fatalf("retry after the rebuild = %+v, want the first answer (order %s, 9 left)", retry, first.Order.ID)
	}
	if got := app2.remaining(t, eventID); got != 9 {
		t.Fatalf("remaining after the retry = %d, want 9", got)
	}
	if fresh := buy("key-after-the-loss"); fresh.Outcome != "RESERVED" || fresh.Order.ID == first.Order.ID || *fresh.Remaining != 8 {
		t.Fatalf("new key after the rebuild = %+v, want a new order with 8 left", fresh)
	}
	testenv.WaitFor(t, 15*time.Second, "two orders", func() bool { n, _, _ := app2.orderCounts(t, eventID); return n == 2 })
	app2.waitSettled(t)
	if n, live, sold := app2.orderCounts(t, eventID); n != 2 || live != 2 || sold != 2 {
		t.Fatalf("orders %d live %d sold %d, want 2 each", n, live, sold)
	}
	app2.assertNoDrift(t, eventID)
}

// TestDeadOrderUnitsAreReleased simulates a crash between PostgreSQL
// cancelling an order and the hot stock giving its units back:
// reconciliation finds the dead order in the hot ledger and releases it,
// once.
func TestDeadOrderUnitsAreReleased(t *testing.T) {
	app := startApp(t, nil)
	_, eventID := app.liveEvent(t, 5, 2)
	buyer := app.buyers(t, 1)[0]
	a := buyer.buy(t, eventID, buyer.purchaseToken(t, eventID), 2, "k")
	buyer.waitStatus(t, a.Order.ID, "AWAITING_PAYMENT")

	// PostgreSQL cancels it; the process dies before Release.
	store := postgres.NewOrderStore(app.DB, app.Config.PaymentTimeout)
	var me struct{ Me struct{ ID string } }
	buyer.must(t, meQuery, nil, &me)
	ctx := domain.NewContextWithPrincipal(context.Background(), domain.Principal{UserID: me.Me.ID, Role: domain.RoleBuyer})
	if _, err := store.CancelOrder(ctx, a.Order.ID); err != nil {
		t.Fatalf("cancel in PostgreSQL: %v", err)
	}
	if got := app.remaining(t, eventID); got != 3 {
		t.Fatalf("remaining before reconciliation = %d, want 3 (units still held)", got)
	}
	for i := 0; i < 3; i++ {
		if err := app.Reconciler.Run(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	if got := app.remaining(t, eventID); got != 5 {
		t.Fatalf("remaining after reconciliation = %d, want 5 (released exactly once)", got)
	}
	app.assertNoDrift(t, eventID)
}
