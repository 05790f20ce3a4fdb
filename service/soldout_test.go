package service_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync/atomic"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"flashlive/domain"
	"flashlive/internal/testenv"
	"flashlive/service"
	"flashlive/storage/redis"
)

// The sold-out tests run FlashSale over the real Redis hot stock, unlike
// the others: what they claim is a count of Redis commands, taken by a hook
// on the hot stock's own client (nothing else uses it).

// commandCounter is a go-redis hook that counts every command sent,
// pipelined ones one by one.
type commandCounter struct{ n atomic.Int64 }

func (c *commandCounter) DialHook(next goredis.DialHook) goredis.DialHook {
	return func(ctx context.Context, network, addr string) (net.Conn, error) { return next(ctx, network, addr) }
}

func (c *commandCounter) ProcessHook(next goredis.ProcessHook) goredis.ProcessHook {
	return func(ctx context.Context, cmd goredis.Cmder) error {
		c.n.Add(1)
		return next(ctx, cmd)
	}
}

func (c *commandCounter) ProcessPipelineHook(next goredis.ProcessPipelineHook) goredis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []goredis.Cmder) error {
		c.n.Add(int64(len(cmds)))
		return next(ctx, cmds)
	}
}

// soldOutHarness is fsNewHarness with a Redis hot stock whose commands
// are counted.
func soldOutHarness(t *testing.T, stock int) (*fsHarness, *redis.HotStock, *commandCounter) {
	t.Helper()
	url, prefix := testenv.Redis(t)
	c, err := redis.Open(context.Background(), url, prefix)
	if err != nil {
		t.Fatalf("open redis: %v", err)
	}
	t.Cleanup(func() { _ = c.Close() })
	counter := &commandCounter{}
	c.RDB.AddHook(counter)
	hot := redis.NewHotStock(c, time.Hour)
	t.Cleanup(hot.Stop)
	h := fsNewHarness()
	h.sale.Hot = hot
	ev := fsEvent()
	ev.Stock, ev.Remaining, ev.PerUserLimit = stock, stock, 1
	if loaded, err := hot.Load(context.Background(), ev); err != nil || !loaded {
		t.Fatalf("load the event = %v, %v; want true, nil", loaded, err)
	}
	return h, hot, counter
}

func soldOutPress(t *testing.T, h *fsHarness, buyer, key string) *domain.PurchaseResult {
	t.Helper()
	res, err := h.sale.Purchase(fsBuyer(buyer), fsRequest(buyer, 1, key))
	if err != nil {
		t.Fatalf("purchase by %s with key %s: %v", buyer, key, err)
	}
	return res
}

func wantOutcome(t *testing.T, what string, res *domain.PurchaseResult, outcome domain.PurchaseOutcome, remaining int) {
	t.Helper()
	if res.Outcome != outcome || res.Remaining == nil || *res.Remaining != remaining {
		got := "nil"
		if res.Remaining != nil {
			got = fmt.Sprint(*res.Remaining)
		}
		t.Fatalf("%s = %s remaining %s, want %s remaining %d", what, res.Outcome, got, outcome, remaining)
	}
}

func TestFlashSaleSoldOutRejectsRunNoRedisCommand(t *testing.T) {
	h, hot, counter := soldOutHarness(t, 2)
	first := soldOutPress(t, h, "usr_a", "a")
	wantOutcome(t, "usr_a's press", first, domain.OutcomeReserved, 1)
	wantOutcome(t, "usr_b's press, the last unit", soldOutPress(t, h, "usr_b", "b"), domain.OutcomeReserved, 0)

	// Sold out: N presses of other buyers, at once, cost Redis nothing.
	counter.n.Store(0)
	const n = 200
	results := make([]*domain.PurchaseResult, n)
	errs := make([]error, n)
	fsConcurrently(n, func(i int) {
		buyer := fmt.Sprintf("usr_c%03d", i)
		results[i], errs[i] = h.sale.Purchase(fsBuyer(buyer), fsRequest(buyer, 1, "k"))
	})
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("press %d: %v", i, errs[i])
		}
		wantOutcome(t, fmt.Sprintf("press %d", i), results[i], domain.OutcomeSoldOut, 0)
	}
	fsWantCount(t, "Redis commands of the sold-out presses", &counter.n, 0)
	if got, want := h.sale.SoldOutAnswers(), int64(n); got != want {
		t.Fatalf("SoldOutAnswers = %d, want %d", got, want)
	}

	// A buyer who was answered RESERVED may re-ask a key that took
	// stock: one read of the key's answer (not a reservation) tells.
	again := soldOutPress(t, h, "usr_a", "a")
	wantOutcome(t, "usr_a re-asking key a", again, domain.OutcomeReserved, 1)
	if got, want := again.Order.ID, first.Order.ID; got != want {
		t.Fatalf("usr_a re-asking key a: order %s, want the first one %s", got, want)
	}
	wantOutcome(t, "usr_a with a new key", soldOutPress(t, h, "usr_a", "a2"), domain.OutcomeSoldOut, 0)
	if got := counter.n.Load(); got != 2 {
		t.Fatalf("Redis commands of usr_a's two presses = %d, want 2 (one read of the key's answer each)", got)
	}
	if got, want := h.sale.SoldOutAnswers(), int64(n+1); got != want {
		t.Fatalf("SoldOutAnswers = %d, want %d (the new key's press too)", got, want)
	}

	// A cancel returns a unit: within the recheck interval this instance
	// may still say SOLD_OUT; past it, the first press re-reads and buys.
	if ok, err := hot.Release(context.Background(), first.Order); err != nil || !ok {
		t.Fatalf("release usr_a's order = %v, %v; want true, nil", ok, err)
	}
	counter.n.Store(0)
	h.clock.Add(service.DefaultSoldOutRecheck - time.Millisecond)
	wantOutcome(t, "a press within the interval", soldOutPress(t, h, "usr_d", "d"), domain.OutcomeSoldOut, 0)
	fsWantCount(t, "Redis commands within the interval", &counter.n, 0)
	h.clock.Add(time.Millisecond)
	wantOutcome(t, "a press once the interval is over", soldOutPress(t, h, "usr_e", "e"), domain.OutcomeReserved, 0)
	// One MULTI/HMGET/SMEMBERS/EXEC to re-read, one reserve, and one
	// re-read again: the unit was the last one.
	fsWantCount(t, "Redis commands of the press that reopened", &counter.n, 4+1+4)
	counter.n.Store(0)
	wantOutcome(t, "usr_d again", soldOutPress(t, h, "usr_d", "d2"), domain.OutcomeSoldOut, 0)
	fsWantCount(t, "Redis commands once sold out again", &counter.n, 0)
}

func TestFlashSaleClosedAndEndedRejectsRunNoRedisCommand(t *testing.T) {
	t.Run("closed", func(t *testing.T) {
		h, hot, counter := soldOutHarness(t, 10)
		first := soldOutPress(t, h, "usr_a", "a")
		wantOutcome(t, "usr_a's press", first, domain.OutcomeReserved, 9)
		if err := hot.Close(context.Background(), fsEventID); err != nil {
			t.Fatalf("close: %v", err)
		}
		wantOutcome(t, "the first press after the close", soldOutPress(t, h, "usr_b", "b"), domain.OutcomeClosed, 9)
		counter.n.Store(0)
		for i := range 50 {
			wantOutcome(t, "a press", soldOutPress(t, h, fmt.Sprintf("usr_c%02d", i), "c"), domain.OutcomeClosed, 9)
		}
		fsWantCount(t, "Redis commands of the presses after the close", &counter.n, 0)
		again := soldOutPress(t, h, "usr_a", "a")
		if again.Outcome != domain.OutcomeReserved || again.Order.ID != first.Order.ID {
			t.Fatalf("usr_a re-asking key a = %s %v, want RESERVED %s", again.Outcome, again.Order, first.Order.ID)
		}
	})
	t.Run("ended", func(t *testing.T) {
		h, _, counter := soldOutHarness(t, 10)
		wantOutcome(t, "usr_a's press", soldOutPress(t, h, "usr_a", "a"), domain.OutcomeReserved, 9)
		h.clock.Set(fsEvent().EndsAt)
		wantOutcome(t, "the first press at the end", soldOutPress(t, h, "usr_b", "b"), domain.OutcomeEnded, 9)
		counter.n.Store(0)
		for i := range 50 {
			wantOutcome(t, "a press", soldOutPress(t, h, fmt.Sprintf("usr_c%02d", i), "c"), domain.OutcomeEnded, 9)
		}
		fsWantCount(t, "Redis commands of the presses after the end", &counter.n, 0)
	})
}

// A purchase that cannot start within PurchaseWait, every slot being held
// by a purchase in the hot stock, is refused UNAVAILABLE with that
// retry-after; once the slot frees, purchases go through again.
func TestFlashSalePurchaseAdmissionIsBounded(t *testing.T) {
	h := fsNewHarness()
	h.hot.put(t, fsEvent(), 10, false)
	h.sale.MaxPurchasesInFlight, h.sale.PurchaseWait = 1, 20*time.Millisecond
	h.hot.reserveGate, h.hot.reserveEntered = make(chan struct{}), make(chan struct{}, 1)

	held := make(chan error, 1)
	go func() {
		res, err := h.sale.Purchase(fsBuyer("usr_first"), fsRequest("usr_first", 1, "k"))
		if err == nil && res.Outcome != domain.OutcomeReserved {
			err = fmt.Errorf("outcome %s, want RESERVED", res.Outcome)
		}
		held <- err
	}()
	<-h.hot.reserveEntered // the only slot is held, inside the hot stock

	_, err := h.sale.Purchase(fsBuyer("usr_second"), fsRequest("usr_second", 1, "k"))
	fsWantCode(t, err, domain.EUNAVAILABLE, "try again")
	var de *domain.Error
	if !errors.As(err, &de) || de.RetryAfter != h.sale.PurchaseWait {
		t.Fatalf("refusal = %#v, want RetryAfter %v", err, h.sale.PurchaseWait)
	}
	fsWantCount(t, "Hot.Reserve calls while the slot is held", &h.hot.reserveCalls, 1)

	close(h.hot.reserveGate)
	if err := <-held; err != nil {
		t.Fatalf("the first purchase: %v", err)
	}
	h.hot.reserveGate = nil
	res, err := h.sale.Purchase(fsBuyer("usr_second"), fsRequest("usr_second", 1, "k2"))
	if err != nil || res.Outcome != domain.OutcomeReserved {
		t.Fatalf("a purchase once the slot is free = %+v, %v; want RESERVED", res, err)
	}
}
