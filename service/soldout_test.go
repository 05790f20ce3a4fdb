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

// countedClient opens a client of the test Redis whose commands counter
// counts, closed when the test ends.
func countedClient(t *testing.T, counter *commandCounter) *redis.Client {
	t.Helper()
	url, prefix := testenv.Redis(t)
	c, err := redis.Open(context.Background(), url, prefix)
	if err != nil {
		t.Fatalf("open redis: %v", err)
	}
	t.Cleanup(func() { _ = c.Close() })
	c.RDB.AddHook(counter)
	return c
}

// wantFirstAnswer fails unless res is the RESERVED answer of first's order.
func wantFirstAnswer(t *testing.T, what string, res, first *domain.PurchaseResult) {
	t.Helper()
	if res.Outcome != domain.OutcomeReserved || res.Order == nil || res.Order.ID != first.Order.ID {
		t.Fatalf("%s = %s %v, want RESERVED %s", what, res.Outcome, res.Order, first.Order.ID)
	}
}

// soldOutHarness is fsNewHarness with a Redis hot stock whose commands
// are counted.
func soldOutHarness(t *testing.T, stock int) (*fsHarness, *redis.HotStock, *commandCounter) {
	t.Helper()
	counter := &commandCounter{}
	hot := redis.NewHotStock(countedClient(t, counter), time.Hour)
	t.Cleanup(hot.Stop)
	h := fsNewHarness()
	h.sale.Hot = hot
	ev := fsEvent()
	ev.Stock, ev.Remaining, ev.PerUserLimit = stock, stock, 1
	if loaded, err := hot.Load(context.Background(), ev); err != nil || !loaded {
		t.Fatalf("load the event = %v, %v; want true, nil", loaded, err)
	}
	// Run each script once, so that Redis's script cache holds it and no
	// count below includes a NOSCRIPT retry (a fresh Redis holds none).
	if _, err := hot.Answer(context.Background(), ev.ID, "usr_warm", "warm"); err != nil {
		t.Fatalf("warm the answer script: %v", err)
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

// wantPresses presses once as each of n buyers (prefix00, prefix01, ...)
// with key, counting commands from zero, and fails unless every press is
// answered outcome with remaining left and the presses sent commands
// Redis commands in all.
func wantPresses(t *testing.T, h *fsHarness, counter *commandCounter, what, prefix, key string, n int, outcome domain.PurchaseOutcome, remaining int, commands int64) {
	t.Helper()
	counter.n.Store(0)
	for i := range n {
		wantOutcome(t, what, soldOutPress(t, h, fmt.Sprintf("%s%02d", prefix, i), key), outcome, remaining)
	}
	fsWantCount(t, fmt.Sprintf("Redis commands of %d presses (%s)", n, what), &counter.n, commands)
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
	// One MULTI/HMGET/SCARD/EXEC and SMEMBERS to re-read, one reserve,
	// and one re-read again: the unit was the last one.
	fsWantCount(t, "Redis commands of the press that reopened", &counter.n, 5+1+5)
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
		wantPresses(t, h, counter, "a press after the close", "usr_c", "c", 50, domain.OutcomeClosed, 9, 0)
		wantFirstAnswer(t, "usr_a re-asking key a", soldOutPress(t, h, "usr_a", "a"), first)
	})
	t.Run("ended", func(t *testing.T) {
		h, hot, counter := soldOutHarness(t, 10)
		wantOutcome(t, "usr_a's press", soldOutPress(t, h, "usr_a", "a"), domain.OutcomeReserved, 9)
		h.clock.Set(fsEvent().EndsAt)
		wantOutcome(t, "the first press at the end", soldOutPress(t, h, "usr_b", "b"), domain.OutcomeEnded, 9)
		// Within EndedMargin of the end the hot stock answers (and keeps
		// the answer), one script per press: another instance's clock may
		// be behind.
		wantPresses(t, h, counter, "a press within the margin", "usr_m", "m", 5, domain.OutcomeEnded, 9, 5)
		again := soldOutPress(t, h, "usr_m00", "m")
		wantOutcome(t, "re-asking a key answered within the margin", again, domain.OutcomeEnded, 9)
		// A press that started before the end lands late (or another
		// instance's clock is behind): it reserves after this instance's
		// last read, just before the margin is over.
		endedBy := fsEvent().EndsAt.Add(service.EndedMargin)
		h.clock.Set(endedBy.Add(-100 * time.Millisecond))
		wantOutcome(t, "a press just before the margin is over", soldOutPress(t, h, "usr_y", "y"), domain.OutcomeEnded, 9)
		late, err := hot.Reserve(context.Background(), domain.Reservation{
			OrderID: "ord_late", BuyerID: "usr_x", EventID: fsEventID, Quantity: 1, CreatedAt: fsEvent().EndsAt.Add(-time.Millisecond),
		}, "x", fsEvent().EndsAt.Add(-time.Millisecond))
		if err != nil || late.Outcome != domain.OutcomeReserved {
			t.Fatalf("the late reservation = %+v, %v; want RESERVED", late, err)
		}
		// Past the margin, a mark answers ENDED only from a view read
		// past it: one re-read (MULTI/HMGET/SCARD/EXEC and SMEMBERS)
		// lists usr_x, whose key gets its first answer; then nothing.
		h.clock.Set(endedBy)
		counter.n.Store(0)
		again = soldOutPress(t, h, "usr_x", "x")
		if again.Outcome != domain.OutcomeReserved || again.Order == nil || again.Order.ID != "ord_late" {
			t.Fatalf("usr_x re-asking the late key = %s %v, want RESERVED ord_late", again.Outcome, again.Order)
		}
		fsWantCount(t, "Redis commands of the re-read and usr_x's read of its key", &counter.n, 5+1)
		wantPresses(t, h, counter, "a press past the margin", "usr_c", "c", 50, domain.OutcomeEnded, 8, 0)
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

// limitTally is a service.LimitObserver that counts refusals.
type limitTally struct{ n atomic.Int64 }

func (l *limitTally) Limited(context.Context, string) { l.n.Add(1) }

// TestLimitedSaleShedsSoldOutPressesBeforeTheLimiter: once an event is
// sold out, its presses are answered before the rate limit and never
// charged: a buyer who was never answered RESERVED (a bot included) costs
// Redis nothing at all, one who was costs one read of the key's kept
// answer, and a key that took stock gets its first answer.
func TestLimitedSaleShedsSoldOutPressesBeforeTheLimiter(t *testing.T) {
	h, _, hotCommands := soldOutHarness(t, 1)
	limCommands := &commandCounter{}
	lim := redis.NewLimiter(countedClient(t, limCommands))
	t.Cleanup(lim.Stop)
	refusals := &limitTally{}
	sale := &service.LimitedSale{
		FlashSaleService: h.sale,
		Limits:           service.SaleLimits{PurchaseUser: domain.Limit{Rate: 2, Burst: 2, Period: time.Hour}},
		Limiter:          lim, Observer: refusals, Logger: h.sale.Logger,
	}
	press := func(what, buyer, key string, want domain.PurchaseOutcome) *domain.PurchaseResult {
		t.Helper()
		res, err := sale.Purchase(fsBuyer(buyer), fsRequest(buyer, 1, key))
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		if res.Outcome != want {
			t.Fatalf("%s = %s, want %s", what, res.Outcome, want)
		}
		return res
	}

	first := press("usr_a's press, the last unit", "usr_a", "a", domain.OutcomeReserved)
	if limCommands.n.Load() == 0 {
		t.Fatal("usr_a's press, before the event was marked, was not checked by the limiter")
	}
	limCommands.n.Store(0)
	press("usr_b's press once sold out", "usr_b", "b", domain.OutcomeSoldOut)
	hotCommands.n.Store(0)
	const n = 50
	results := make([]*domain.PurchaseResult, n)
	errs := make([]error, n)
	fsConcurrently(n, func(i int) {
		results[i], errs[i] = sale.Purchase(fsBuyer("usr_bot"), fsRequest("usr_bot", 1, fmt.Sprintf("bot-%d", i)))
	})
	for i := range n {
		if errs[i] != nil || results[i].Outcome != domain.OutcomeSoldOut {
			t.Fatalf("bot press %d = %+v, %v; want SOLD_OUT (not RATE_LIMITED: it costs nothing to answer)", i, results[i], errs[i])
		}
	}
	fsWantCount(t, "hot-stock commands of the bot's presses", &hotCommands.n, 0)

	// usr_a was answered RESERVED: each press reads its key's answer, one
	// command, and the limiter is not asked (usr_a's burst is 2: a third
	// charged press would be RATE_LIMITED).
	for i := range 3 {
		wantFirstAnswer(t, fmt.Sprintf("usr_a re-asking key a (%d)", i), press("usr_a re-asking key a", "usr_a", "a", domain.OutcomeReserved), first)
	}
	press("usr_a with a key that took nothing", "usr_a", "a2", domain.OutcomeSoldOut)
	fsWantCount(t, "hot-stock commands of usr_a's 4 presses (a read of the key's answer each)", &hotCommands.n, 4)
	fsWantCount(t, "limiter commands of the sold-out presses", &limCommands.n, 0)
	fsWantCount(t, "refusals heard", &refusals.n, 0)
}

// TestFlashSaleSoldOutMarksAnEventWithTooManyBuyersToList: past the bound
// on the buyers a mark lists, the mark lists none and treats every buyer
// as listed: each press reads its key's kept answer (one command), a key
// that took stock gets its first answer, and the view is not read again
// on every press within the interval.
func TestFlashSaleSoldOutMarksAnEventWithTooManyBuyersToList(t *testing.T) {
	t.Cleanup(service.SetMaxMarkedBuyers(1))
	h, _, counter := soldOutHarness(t, 2)
	first := soldOutPress(t, h, "usr_a", "a")
	wantOutcome(t, "usr_b's press, the last unit", soldOutPress(t, h, "usr_b", "b"), domain.OutcomeReserved, 0)
	// A read of the key's answer each.
	wantPresses(t, h, counter, "a press", "usr_c", "c", 20, domain.OutcomeSoldOut, 0, 20)
	wantFirstAnswer(t, "usr_a re-asking key a", soldOutPress(t, h, "usr_a", "a"), first)
	if got, want := h.sale.SoldOutAnswers(), int64(20); got != want {
		t.Fatalf("SoldOutAnswers = %d, want %d", got, want)
	}
}

// slowView is a hot stock whose sale view takes as long as slow says, on
// the test's clock.
type slowView struct {
	domain.HotStock
	clock *fsClock
	slow  time.Duration
}

func (v *slowView) SaleView(ctx context.Context, eventID string, maxBuyers int) (domain.HotSaleView, error) {
	view, err := v.HotStock.SaleView(ctx, eventID, maxBuyers)
	v.clock.Add(v.slow)
	return view, err
}

// TestFlashSaleSoldOutMarkOutlivesASlowReread: a re-read that comes back
// already due (it took the whole interval) answers nothing, and the next
// press re-reads: the mark is not left waiting for a read no one makes.
func TestFlashSaleSoldOutMarkOutlivesASlowReread(t *testing.T) {
	h, hot, counter := soldOutHarness(t, 1)
	slow := &slowView{HotStock: hot, clock: h.clock}
	h.sale.Hot = slow
	wantOutcome(t, "usr_a's press, the last unit", soldOutPress(t, h, "usr_a", "a"), domain.OutcomeReserved, 0)
	wantOutcome(t, "usr_b from the mark", soldOutPress(t, h, "usr_b", "b"), domain.OutcomeSoldOut, 0)
	marked := h.sale.SoldOutAnswers()

	h.clock.Add(service.DefaultSoldOutRecheck)
	slow.slow = service.DefaultSoldOutRecheck
	wantOutcome(t, "usr_c, whose re-read is slow", soldOutPress(t, h, "usr_c", "c"), domain.OutcomeSoldOut, 0)
	if got := h.sale.SoldOutAnswers(); got != marked {
		t.Fatalf("SoldOutAnswers after the slow re-read = %d, want %d (the hot stock answered)", got, marked)
	}
	slow.slow = 0
	counter.n.Store(0)
	wantOutcome(t, "usr_d, the next press", soldOutPress(t, h, "usr_d", "d"), domain.OutcomeSoldOut, 0)
	fsWantCount(t, "Redis commands of usr_d's press (a re-read)", &counter.n, 5)
	if got, want := h.sale.SoldOutAnswers(), marked+1; got != want {
		t.Fatalf("SoldOutAnswers after the next re-read = %d, want %d (the mark answers again)", got, want)
	}
}
