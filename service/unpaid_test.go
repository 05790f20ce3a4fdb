package service_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"

	"flashlive/domain"
	"flashlive/internal/memhot"
	"flashlive/service"
	"flashlive/storage/redis"
)

// The tests of the cap on unpaid orders run over memhot's UnpaidOrders
// (held to Redis's by hotstocktest.RunUnpaid) behind a spy, but the last,
// which counts Redis commands over the real thing.

const upWindow = 15 * time.Minute

// upSpy counts the calls FlashSale and Orders make, and fails them with
// admitErr when set.
type upSpy struct {
	*memhot.UnpaidOrders
	admitErr     error
	admits, drop atomic.Int64
}

func (u *upSpy) Admit(ctx context.Context, buyerID, orderID string, windowEnd, now time.Time, max int) (bool, error) {
	u.admits.Add(1)
	if u.admitErr != nil {
		return false, u.admitErr
	}
	return u.UnpaidOrders.Admit(ctx, buyerID, orderID, windowEnd, now, max)
}

func (u *upSpy) Drop(ctx context.Context, buyerID, orderID string) error {
	u.drop.Add(1)
	return u.UnpaidOrders.Drop(ctx, buyerID, orderID)
}

// upHarness is fsNewHarness selling fsEvent (5 per buyer) with a cap of
// max unpaid orders per buyer.
func upHarness(t *testing.T, max int) (*fsHarness, *upSpy) {
	t.Helper()
	h := fsNewHarness()
	h.hot.put(t, fsEvent(), 500, false)
	u := &upSpy{UnpaidOrders: &memhot.UnpaidOrders{}}
	h.sale.Unpaid = service.UnpaidCap{Orders: u, Max: max, Window: upWindow}
	return h, u
}

// wantListed fails t unless buyer has exactly n orders listed at now: a
// probe is refused under a cap of n and admitted under n+1 (then dropped).
func wantListed(t *testing.T, u *upSpy, buyer string, now time.Time, n int) {
	t.Helper()
	ctx := context.Background()
	if n > 0 {
		if ok, err := u.UnpaidOrders.Admit(ctx, buyer, "ord_probe", now.Add(time.Second), now, n); err != nil || ok {
			t.Fatalf("%s has fewer than %d unpaid orders listed (probe admitted = %v, %v)", buyer, n, ok, err)
		}
	}
	if ok, err := u.UnpaidOrders.Admit(ctx, buyer, "ord_probe", now.Add(time.Second), now, n+1); err != nil || !ok {
		t.Fatalf("%s has more than %d unpaid orders listed (probe admitted = %v, %v)", buyer, n, ok, err)
	}
	if err := u.UnpaidOrders.Drop(ctx, buyer, "ord_probe"); err != nil {
		t.Fatal(err)
	}
}

// upWrite does what the order writer does for every reservation
// published so far: it lists each order in its purchase's place.
func upWrite(t *testing.T, h *fsHarness, u *upSpy) {
	t.Helper()
	if err := u.Written(context.Background(), h.pub.list()); err != nil {
		t.Fatal(err)
	}
}

func upPress(t *testing.T, h *fsHarness, buyer, key string, qty int) *domain.PurchaseResult {
	t.Helper()
	res, err := h.sale.Purchase(fsBuyer(buyer), fsRequest(buyer, qty, key))
	if err != nil {
		t.Fatalf("purchase by %s with key %s: %v", buyer, key, err)
	}
	return res
}

// wantCapped fails t unless res is the cap's refusal: LIMIT_REACHED, with
// no order and no stock figure (the hot stock was not asked).
func wantCapped(t *testing.T, what string, res *domain.PurchaseResult) {
	t.Helper()
	if res.Outcome != domain.OutcomeLimitReached || res.Remaining != nil || res.Order != nil {
		t.Fatalf("%s = %+v, want LIMIT_REACHED with no order and no stock figure", what, res)
	}
}

func TestFlashSaleUnpaidCap(t *testing.T) {
	h, u := upHarness(t, 2)
	first := upPress(t, h, fsBuyerID, "k1", 1)
	wantOutcome(t, "first press", first, domain.OutcomeReserved, 499)
	wantOutcome(t, "second press", upPress(t, h, fsBuyerID, "k2", 1), domain.OutcomeReserved, 498)
	wantListed(t, u, fsBuyerID, h.clock.Now(), 2)
	upWrite(t, h, u)
	wantListed(t, u, fsBuyerID, h.clock.Now(), 2)

	// At the cap: LIMIT_REACHED, the stock left unknown, the hot stock not
	// asked to reserve.
	reserves := h.hot.reserveCalls.Load()
	wantCapped(t, "third press", upPress(t, h, fsBuyerID, "k3", 1))
	fsWantCount(t, "Hot.Reserve calls of the capped press", &h.hot.reserveCalls, reserves)
	if got, want := h.hot.remaining(fsEventID), 498; got != want {
		t.Fatalf("remaining = %d, want %d", got, want)
	}

	// A key already answered (its order written) still gets its first
	// answer, at the cap.
	again := upPress(t, h, fsBuyerID, "k1", 1)
	wantOutcome(t, "k1 asked again at the cap", again, domain.OutcomeReserved, 499)
	if got, want := again.Order.ID, first.Order.ID; got != want {
		t.Fatalf("k1 asked again: order %s, want the first one %s", got, want)
	}
	fsWantCount(t, "Hot.Reserve calls of the replay at the cap", &h.hot.reserveCalls, reserves)
	if got, want := len(h.pub.list()), 2; got != want {
		t.Fatalf("published %d reservations, want %d", got, want)
	}
	// Another buyer has a cap of their own.
	wantOutcome(t, "another buyer", upPress(t, h, "usr_other", "k1", 1), domain.OutcomeReserved, 497)

	// The cap's refusal is not kept under its key: once an order is paid,
	// the same key buys.
	store := &fsOrderStore{
		pay: func(id string) (*domain.Order, error) {
			return &domain.Order{ID: id, BuyerID: fsBuyerID, FlashEventID: fsEventID, Status: domain.OrderPaid}, nil
		},
		cancel: func(id string) (*domain.Order, error) {
			return &domain.Order{ID: id, BuyerID: fsBuyerID, FlashEventID: fsEventID, Status: domain.OrderCancelled}, nil
		},
	}
	orders := &service.Orders{Store: store, Hot: h.hot, Logger: slog.New(slog.NewTextHandler(h.logs, nil)), Live: domain.NopNotifier{}, Unpaid: u}
	if _, err := orders.PayOrder(fsBuyer(fsBuyerID), first.Order.ID); err != nil {
		t.Fatal(err)
	}
	wantListed(t, u, fsBuyerID, h.clock.Now(), 1)
	third := upPress(t, h, fsBuyerID, "k3", 1)
	wantOutcome(t, "k3 once an order is paid", third, domain.OutcomeReserved, 496)
	upWrite(t, h, u)
	wantCapped(t, "k4 at the cap again", upPress(t, h, fsBuyerID, "k4", 1))

	// Cancelling gives a place back too.
	if _, err := orders.CancelOrder(fsBuyer(fsBuyerID), third.Order.ID); err != nil {
		t.Fatal(err)
	}
	wantListed(t, u, fsBuyerID, h.clock.Now(), 1)
	h.clock.Add(time.Minute)
	wantOutcome(t, "k4 once an order is cancelled", upPress(t, h, fsBuyerID, "k4", 1), domain.OutcomeReserved, 496)

	// The end of the payment window frees a place by itself: k2's window
	// ends first, k4's a minute later.
	wantCapped(t, "k5 at the cap", upPress(t, h, fsBuyerID, "k5", 1))
	h.clock.Set(fsT0.Add(upWindow - time.Millisecond))
	wantCapped(t, "k5 just before k2's window ends", upPress(t, h, fsBuyerID, "k5", 1))
	h.clock.Set(fsT0.Add(upWindow))
	wantListed(t, u, fsBuyerID, h.clock.Now(), 1)
	wantOutcome(t, "k5 once k2's window ended", upPress(t, h, fsBuyerID, "k5", 1), domain.OutcomeReserved, 495)
	wantListed(t, u, fsBuyerID, h.clock.Now(), 2)
}

// TestFlashSaleUnpaidCapSettlesEachAnswer: a refusal gives the press's
// place back; retries of a key share one place, which a replay gives back
// once the order stands for it; an error keeps it.
func TestFlashSaleUnpaidCapSettlesEachAnswer(t *testing.T) {
	h, u := upHarness(t, 3)
	now := h.clock.Now()
	wantOutcome(t, "5 units", upPress(t, h, fsBuyerID, "k1", 5), domain.OutcomeReserved, 495)
	wantListed(t, u, fsBuyerID, now, 1)

	// The event's own limit: refused by the hot stock, place given back.
	wantOutcome(t, "a sixth unit", upPress(t, h, fsBuyerID, "k2", 1), domain.OutcomeLimitReached, 495)
	wantListed(t, u, fsBuyerID, now, 1)
	fsWantCount(t, "Drop calls", &u.drop, 1)
	// Retries before the order is written share the purchase's place,
	// which stands for the order.
	for range 3 {
		wantOutcome(t, "k1 again", upPress(t, h, fsBuyerID, "k1", 5), domain.OutcomeReserved, 495)
	}
	wantListed(t, u, fsBuyerID, now, 1)
	// Once it is written, a retry takes a place for a moment, and gives it
	// back.
	upWrite(t, h, u)
	wantOutcome(t, "k1 once written", upPress(t, h, fsBuyerID, "k1", 5), domain.OutcomeReserved, 495)
	wantListed(t, u, fsBuyerID, now, 1)
	// An error may hide a reservation: the place is kept. Here an
	// unknown event (which no purchase token can name).
	const unknown = "evt_01HZZUNKNOWN0000000000000"
	_, err := h.sale.Purchase(fsBuyer(fsBuyerID), domain.PurchaseRequest{
		EventID: unknown, Token: fsToken(fsBuyerID, unknown), Quantity: 1, IdempotencyKey: "k3",
	})
	fsWantCode(t, err, domain.ENOTFOUND)
	wantListed(t, u, fsBuyerID, now, 2)
	mustUpDrop(t, u, domain.PurchaseID(unknown, "k3"))
	fsWantCount(t, "Drop calls", &u.drop, 2)

	// Redis did not answer the reservation: it may have been made, so the
	// place is kept (an over-count until the window ends, never a miss).
	h.sale.Hot = upLostReserve{h.hot}
	_, err = h.sale.Purchase(fsBuyer(fsBuyerID), fsRequest(fsBuyerID, 1, "k4"))
	if !errors.Is(err, errUpLost) {
		t.Fatalf("purchase with Redis lost = %v, want %v", err, errUpLost)
	}
	wantListed(t, u, fsBuyerID, now, 2)
	fsWantCount(t, "Drop calls", &u.drop, 2)

	// A failing list fails the press before the hot stock is asked.
	h.sale.Hot = h.hot
	u.admitErr = errUpLost
	reserves := h.hot.reserveCalls.Load()
	if _, err := h.sale.Purchase(fsBuyer(fsBuyerID), fsRequest(fsBuyerID, 1, "k5")); !errors.Is(err, errUpLost) {
		t.Fatalf("purchase with the list failing = %v, want %v", err, errUpLost)
	}
	fsWantCount(t, "Hot.Reserve calls", &h.hot.reserveCalls, reserves)
}

var errUpLost = errors.New("redis: i/o timeout")

func mustUpDrop(t *testing.T, u *upSpy, id string) {
	t.Helper()
	if err := u.Drop(context.Background(), fsBuyerID, id); err != nil {
		t.Fatal(err)
	}
}

// upLostReserve is a hot stock whose Reserve gets no answer from Redis.
type upLostReserve struct{ *fsHot }

func (upLostReserve) Reserve(context.Context, domain.Reservation, string, time.Time) (domain.ReserveResult, error) {
	return domain.ReserveResult{}, fmt.Errorf("reserve stock: %w", errUpLost)
}

// TestFlashSaleUnpaidCapConcurrentBurst: one buyer's burst never passes
// the cap.
func TestFlashSaleUnpaidCapConcurrentBurst(t *testing.T) {
	const n, max = 64, 3
	h, u := upHarness(t, max)
	results := make([]*domain.PurchaseResult, n)
	errs := make([]error, n)
	fsConcurrently(n, func(i int) {
		results[i], errs[i] = h.sale.Purchase(fsBuyer(fsBuyerID), fsRequest(fsBuyerID, 1, fmt.Sprintf("k%02d", i)))
	})
	got := map[domain.PurchaseOutcome]int{}
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("press %d: %v", i, errs[i])
		}
		got[results[i].Outcome]++
	}
	if got[domain.OutcomeReserved] != max || got[domain.OutcomeLimitReached] != n-max {
		t.Fatalf("outcomes of %d presses with a cap of %d = %v, want %d RESERVED and %d LIMIT_REACHED", n, max, got, max, n-max)
	}
	if got, want := h.hot.remaining(fsEventID), 500-max; got != want {
		t.Fatalf("remaining = %d, want %d", got, want)
	}
	wantListed(t, u, fsBuyerID, h.clock.Now(), max)
}

// TestFlashSaleUnpaidCapConcurrentSameKey: retries of one key in flight
// together share one place, even at a cap of 1: each gets the first
// answer.
func TestFlashSaleUnpaidCapConcurrentSameKey(t *testing.T) {
	const n = 32
	h, u := upHarness(t, 1)
	results := make([]*domain.PurchaseResult, n)
	errs := make([]error, n)
	fsConcurrently(n, func(i int) {
		results[i], errs[i] = h.sale.Purchase(fsBuyer(fsBuyerID), fsRequest(fsBuyerID, 2, "the-same-key"))
	})
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("press %d: %v", i, errs[i])
		}
		wantOutcome(t, fmt.Sprintf("press %d", i), results[i], domain.OutcomeReserved, 498)
		if got, want := results[i].Order.ID, results[0].Order.ID; got != want {
			t.Fatalf("press %d: order %s, want %s", i, got, want)
		}
	}
	wantListed(t, u, fsBuyerID, h.clock.Now(), 1)
}

func TestFlashSaleUnpaidCapOff(t *testing.T) {
	for _, c := range []service.UnpaidCap{{Max: 0, Window: upWindow}, {Max: 1}} {
		h, u := upHarness(t, 1)
		c.Orders = u
		h.sale.Unpaid = c
		for i := range 3 {
			wantOutcome(t, fmt.Sprintf("press %d with %+v", i, c), upPress(t, h, fsBuyerID, fmt.Sprintf("k%d", i), 1), domain.OutcomeReserved, 499-i)
		}
		fsWantCount(t, "Admit calls", &u.admits, 0)
	}
}

// TestFlashSaleUnpaidCapSoldOutRejectsRunNoRedisCommand: with the cap on
// (over Redis), a sold-out event's rejects still cost Redis nothing; an
// accepted press costs one admission more than the reservation; a replay
// once sold out costs one read of the kept answer.
func TestFlashSaleUnpaidCapSoldOutRejectsRunNoRedisCommand(t *testing.T) {
	h, _, counter := soldOutHarness(t, 3)
	u := redis.NewUnpaidOrders(countedClient(t, counter))
	t.Cleanup(u.Stop)
	h.sale.Unpaid = service.UnpaidCap{Orders: u, Max: 5, Window: upWindow}

	first := soldOutPress(t, h, "usr_a", "a") // and the connections are set up
	wantOutcome(t, "usr_a's press", first, domain.OutcomeReserved, 2)
	counter.n.Store(0)
	wantOutcome(t, "usr_b's press", soldOutPress(t, h, "usr_b", "b"), domain.OutcomeReserved, 1)
	fsWantCount(t, "Redis commands of an accepted press (admit, reserve)", &counter.n, 2)
	wantOutcome(t, "usr_c's press, the last unit", soldOutPress(t, h, "usr_c", "c"), domain.OutcomeReserved, 0)

	counter.n.Store(0)
	const n = 100
	fsConcurrently(n, func(i int) {
		buyer := fmt.Sprintf("usr_d%03d", i)
		if res, err := h.sale.Purchase(fsBuyer(buyer), fsRequest(buyer, 1, "k")); err != nil || res.Outcome != domain.OutcomeSoldOut {
			t.Errorf("press %d = %+v, %v; want SOLD_OUT", i, res, err)
		}
	})
	fsWantCount(t, "Redis commands of the sold-out presses", &counter.n, 0)

	// usr_b's replay runs the answer script once first: on a Redis that
	// never saw it, go-redis's EVALSHA misses (NOSCRIPT) and sends EVAL, a
	// command more than a replay costs once the script is cached.
	if warm := soldOutPress(t, h, "usr_b", "b"); warm.Order == nil {
		t.Fatalf("usr_b re-asking key b = %+v, want its order", warm)
	}
	counter.n.Store(0)
	again := soldOutPress(t, h, "usr_a", "a")
	if again.Order == nil || again.Order.ID != first.Order.ID {
		t.Fatalf("usr_a re-asking key a = %+v, want the first order %s", again, first.Order.ID)
	}
	// On a sold-out event a replay reads the key's answer and nothing
	// else: the cap's list is not touched, as the replay takes nothing.
	fsWantCount(t, "Redis commands of a replay on a sold-out event (the kept answer)", &counter.n, 1)
}
