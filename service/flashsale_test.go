package service_test

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"flashlive/domain"
)

func TestFlashSaleTokenUnknownEventIsReadOncePerTTL(t *testing.T) {
	h := fsNewHarness()
	const unknown = "evt_01HZZUNKNOWN0000000000000"

	var joins fsJoins
	burst := func(step string, wantCalls, wantJoins int64) {
		t.Helper()
		const n = 200
		joins.n.Store(0)
		readsBefore := h.source.calls.Load()
		// A read is held until every caller waits on it: then the n
		// callers share the one read (or, were the read not shared, each
		// has started its own), not merely the cache it fills.
		h.source.hold = func(context.Context, string) {
			fsAwait(t, step+": every caller waits on the read", func() bool {
				return joins.n.Load() >= n || h.source.calls.Load()-readsBefore >= n
			})
		}
		errs := make([]error, n)
		toks := make([]*domain.PurchaseToken, n)
		fsConcurrently(n, func(i int) {
			toks[i], errs[i] = h.sale.PurchaseToken(joins.in(fsBuyer(fmt.Sprintf("usr_b%03d", i))), unknown)
		})
		for i := range n {
			if toks[i] != nil {
				t.Fatalf("%s: call %d: token = %+v, want nil", step, i, toks[i])
			}
			if got, want := domain.ErrorCode(errs[i]), domain.ENOTFOUND; got != want {
				t.Fatalf("%s: call %d: ErrorCode(%v) = %q, want %q", step, i, errs[i], got, want)
			}
		}
		if got, want := h.source.calls.Load(), wantCalls; got != want {
			t.Fatalf("%s: Source.HotEvent calls = %d, want %d", step, got, want)
		}
		if got, want := joins.n.Load(), wantJoins; got != want {
			t.Fatalf("%s: callers waiting on a shared read = %d, want %d", step, got, want)
		}
	}

	// The bursts that read are shared by all 200 callers; the others are
	// answered from the cache, with no flight to wait on.
	burst("first burst", 1, 200)
	h.clock.Add(time.Second)
	burst("second burst 1s later", 1, 0)
	h.clock.Set(fsT0.Add(fsCacheTTL - time.Millisecond))
	burst("third burst just within the TTL", 1, 0)
	h.clock.Set(fsT0.Add(fsCacheTTL + time.Millisecond))
	burst("burst after the TTL", 2, 200)
	burst("burst right after the re-read", 2, 0)

	// An unknown ID never gets as far as the hot stock or the tokens.
	fsWantCount(t, "Hot.Snapshot calls", &h.hot.snapshotCalls, 0)
	fsWantCount(t, "Hot.IsLoaded calls", &h.hot.isLoadedCalls, 0)
	fsWantCount(t, "Tokens.Issue calls", &h.tokens.issueCalls, 0)
}

// A caller that shares another's read of an event (the same flight) takes
// the event from the cache afterwards. When the cache starts afresh in
// between (it does past 10,000 IDs, which a storm of unknown IDs reaches),
// FlashSale.event returns (nil, nil) and PurchaseToken dereferences nil.
// The interleaving is pinned with the clock: the first clock read after the
// event's read is cached triggers one more unknown ID, the one that resets
// the cache.
func TestFlashSaleTokenWaiterSurvivesAnEventCacheReset(t *testing.T) {
	const maxCachedEvents = 10_000 // service.maxCachedEvents (unexported)
	h := fsNewHarness()
	h.source.Put(fsEvent())
	h.hot.put(t, fsEvent(), 10, false)
	for i := range maxCachedEvents - 1 {
		_, err := h.sale.PurchaseToken(fsBuyer(fsBuyerID), fmt.Sprintf("evt_fill%05d", i))
		if got, want := domain.ErrorCode(err), domain.ENOTFOUND; got != want {
			t.Fatalf("filling the cache: ErrorCode(%v) = %q, want %q", err, got, want)
		}
	}
	fsWantCount(t, "Source.HotEvent calls after the fill", &h.source.calls, maxCachedEvents-1)

	gate := h.source.gate(fsEventID)
	var joins fsJoins
	var armed atomic.Bool
	var afterRelease atomic.Int64
	h.sale.Now = func() time.Time {
		// Read 1 after the release caches the event (the 10,000th
		// entry); read 2 is the next caller's, after the flight.
		if armed.Load() && afterRelease.Add(1) == 2 {
			_, _ = h.sale.PurchaseToken(fsBuyer("usr_storm"), "evt_storm")
		}
		return h.clock.Now()
	}

	type answer struct {
		tok   *domain.PurchaseToken
		err   error
		panic any
		stack []byte
	}
	call := func(buyer string, out *answer) {
		defer func() {
			if out.panic = recover(); out.panic != nil {
				out.stack = debug.Stack()
			}
		}()
		out.tok, out.err = h.sale.PurchaseToken(joins.in(fsBuyer(buyer)), fsEventID)
	}
	const waiters = 10
	answers := make([]answer, waiters+1)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); call("usr_leader", &answers[0]) }()
	<-gate.entered // the leader's read is under way
	for i := 1; i <= waiters; i++ {
		wg.Add(1)
		go func() { defer wg.Done(); call(fmt.Sprintf("usr_w%02d", i), &answers[i]) }()
	}
	fsAwait(t, "the leader and the waiters wait on the read", func() bool { return joins.n.Load() >= waiters+1 })
	armed.Store(true)
	gate.open()
	wg.Wait()

	stackShown := false
	for i, a := range answers {
		if a.panic != nil {
			t.Errorf("caller %d: PurchaseToken panicked: %v", i, a.panic)
			if !stackShown {
				stackShown = true
				t.Logf("%s", a.stack)
			}
			continue
		}
		if a.err != nil || a.tok == nil {
			t.Errorf("caller %d: PurchaseToken = %+v, %v; want a token (the event is LIVE)", i, a.tok, a.err)
		}
	}
}

// A caller that stops waiting for a shared read (its ctx ends) gets
// UNAVAILABLE at once, the first caller too; the read goes on, detached
// from the first caller's ctx, and its answer serves the next caller.
func TestFlashSaleTokenWaitersLeaveTheSharedReadRunning(t *testing.T) {
	h := fsNewHarness()
	h.source.Put(fsEvent())
	h.hot.put(t, fsEvent(), 10, false)
	gate := h.source.gate(fsEventID)

	call := func(ctx context.Context) <-chan error {
		done := make(chan error, 1)
		go func() {
			tok, err := h.sale.PurchaseToken(ctx, fsEventID)
			if tok != nil {
				err = fmt.Errorf("token %+v while the read is stuck", tok)
			}
			done <- err
		}()
		return done
	}
	leaderCtx, cancelLeader := context.WithCancel(fsBuyer("usr_leader"))
	defer cancelLeader()
	leader := call(leaderCtx)
	<-gate.entered // the leader's read is under way, and held
	waiterCtx, cancelWaiter := context.WithCancel(fsBuyer("usr_waiter"))
	waiter := call(waiterCtx)
	cancelWaiter()
	fsWantCode(t, <-waiter, domain.EUNAVAILABLE, "still loading", "try again")
	cancelLeader()
	fsWantCode(t, <-leader, domain.EUNAVAILABLE, "still loading", "try again")

	gate.open()
	tok, err := h.sale.PurchaseToken(fsBuyer(fsBuyerID), fsEventID)
	if err != nil {
		t.Fatalf("PurchaseToken after the read: %v", err)
	}
	if got, want := tok.Token, fsToken(fsBuyerID, fsEventID); got != want {
		t.Fatalf("token = %q, want %q", got, want)
	}
	fsWantCount(t, "Source.HotEvent calls", &h.source.calls, 1)
	if gatedErr := gate.heldCtxErr(); gatedErr != nil {
		t.Fatalf("the shared read's ctx ended with its callers' (%v); want it detached", gatedErr)
	}
}

func TestFlashSaleTokenTransientErrorIsNotCached(t *testing.T) {
	h := fsNewHarness()
	h.source.Put(fsEvent())
	h.hot.put(t, fsEvent(), 500, false)
	down := errors.New("pg: connection refused")
	h.source.setErr(down)

	tok, err := h.sale.PurchaseToken(fsBuyer(fsBuyerID), fsEventID)
	if !errors.Is(err, down) || tok != nil {
		t.Fatalf("PurchaseToken while the source is down = %+v, %v; want nil, %v", tok, err, down)
	}
	h.source.setErr(nil)
	tok, err = h.sale.PurchaseToken(fsBuyer(fsBuyerID), fsEventID)
	if err != nil {
		t.Fatalf("PurchaseToken after the source is back: %v", err)
	}
	if got, want := tok.Token, fsToken(fsBuyerID, fsEventID); got != want {
		t.Fatalf("token = %q, want %q", got, want)
	}
	fsWantCount(t, "Source.HotEvent calls", &h.source.calls, 2)
}

// An event read before is not waited for once its TTL is over: while the
// source is away (PostgreSQL's breaker open, or a read hanging), every
// buyer gets a token from the event as it was, and one read goes on behind
// them all.
func TestFlashSaleTokenServesAKnownEventWithoutWaiting(t *testing.T) {
	h := fsNewHarness()
	h.source.Put(fsEvent())
	h.hot.put(t, fsEvent(), 10, false)
	if _, err := h.sale.PurchaseToken(fsBuyer(fsBuyerID), fsEventID); err != nil {
		t.Fatalf("first PurchaseToken: %v", err)
	}
	fsWantCount(t, "Source.HotEvent calls after the first token", &h.source.calls, 1)

	h.source.setErr(domain.Errorf(domain.EUNAVAILABLE, "the order database is unavailable; retry shortly"))
	gate := h.source.gate(fsEventID)
	h.clock.Add(fsCacheTTL + time.Millisecond)
	const n = 20
	toks := make([]*domain.PurchaseToken, n)
	errs := make([]error, n)
	answered := make(chan struct{})
	go func() {
		defer close(answered)
		fsConcurrently(n, func(i int) {
			toks[i], errs[i] = h.sale.PurchaseToken(fsBuyer(fmt.Sprintf("usr_b%02d", i)), fsEventID)
		})
	}()
	select {
	case <-answered:
	case <-time.After(10 * time.Second):
		gate.open()
		t.Fatal("buyers waited for the read of an event they had seen")
	}
	<-gate.entered // the read behind them started, and is held
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("call %d while the read is held: %v", i, errs[i])
		}
		if got, want := toks[i].Token, fsTokenAt(h.clock.Now(), fmt.Sprintf("usr_b%02d", i), fsEventID); got != want {
			t.Fatalf("call %d: token = %q, want %q", i, got, want)
		}
	}
	fsWantCount(t, "Source.HotEvent calls while the read is held", &h.source.calls, 2)

	gate.open() // the read fails: the event stays as it was
	tok, err := h.sale.PurchaseToken(fsBuyer(fsBuyerID), fsEventID)
	if err != nil {
		t.Fatalf("PurchaseToken after the read failed: %v", err)
	}
	if got, want := tok.Token, fsTokenAt(h.clock.Now(), fsBuyerID, fsEventID); got != want {
		t.Fatalf("token = %q, want %q", got, want)
	}
}

func TestFlashSalePurchaseLoadsAnUnloadedEventOnce(t *testing.T) {
	for _, tt := range []struct {
		name         string
		loadedBefore bool
		// Source reads: one for the event cache (is the ID known?), one
		// for the load, and for a rebuild one more once settled.
		wantReads   int64
		wantSettled int64
		wantMarks   int64
	}{
		{"first load", false, 2, 0, 1},
		{"rebuild", true, 3, 1, 0},
	} {
		t.Run(tt.name, func(t *testing.T) {
			h := fsNewHarness()
			ev := fsEvent()
			ev.LoadedBefore = tt.loadedBefore
			h.source.Put(ev)

			const n = 200
			// The event's first read is held until every buyer waits on it,
			// and its load until every buyer waits on that: then the n
			// buyers share one of each (or, were they not shared, each has
			// started its own), not merely what the first one left.
			var joins fsJoins
			h.source.hold = func(context.Context, string) {
				fsAwait(t, "every buyer waits on the event's read", func() bool {
					return joins.n.Load() >= n || h.source.calls.Load() >= n
				})
			}
			h.hot.holdLoad = func() {
				fsAwait(t, "every buyer waits on the load", func() bool {
					return joins.n.Load() >= 2*n || h.hot.loadCalls.Load() >= n
				})
			}
			results := make([]*domain.PurchaseResult, n)
			errs := make([]error, n)
			fsConcurrently(n, func(i int) {
				buyer := fmt.Sprintf("usr_b%03d", i)
				results[i], errs[i] = h.sale.Purchase(joins.in(fsBuyer(buyer)), fsRequest(buyer, 1, "key-1"))
			})

			orderIDs := map[string]bool{}
			for i := range n {
				if errs[i] != nil {
					t.Fatalf("purchase %d: %v", i, errs[i])
				}
				r := results[i]
				if got, want := r.Outcome, domain.OutcomeReserved; got != want {
					t.Fatalf("purchase %d: Outcome = %s, want %s", i, got, want)
				}
				if r.Order == nil {
					t.Fatalf("purchase %d: Order = nil, want the PENDING order", i)
				}
				if got, want := r.Order.Status, domain.OrderPending; got != want {
					t.Fatalf("purchase %d: Order.Status = %s, want %s", i, got, want)
				}
				orderIDs[r.Order.ID] = true
			}
			if got, want := len(orderIDs), n; got != want {
				t.Fatalf("distinct order IDs = %d, want %d", got, want)
			}
			fsWantCount(t, "Source.HotEvent calls", &h.source.calls, tt.wantReads)
			fsWantCount(t, "Settled calls", &h.settledCalls, tt.wantSettled)
			fsWantCount(t, "Hot.Load calls", &h.hot.loadCalls, 1)
			fsWantCount(t, "Source.MarkLoaded calls", &h.source.markCalls, tt.wantMarks)
			fsWantCount(t, "buyers waiting on a shared read or load", &joins.n, 2*n)
			if got, want := h.hot.remaining(fsEventID), 500-n; got != want {
				t.Fatalf("hot stock left = %d, want %d", got, want)
			}
			if got, want := len(h.pub.list()), n; got != want {
				t.Fatalf("published = %d, want %d", got, want)
			}
			if got := h.hot.reserveCalls.Load(); got < n || got > 2*n {
				t.Fatalf("Hot.Reserve calls = %d, want between %d and %d", got, n, 2*n)
			}
		})
	}
}

func TestFlashSalePurchaseRebuildsOnlyWhenSettled(t *testing.T) {
	streamDown := errors.New("nats: consumer info: timeout")
	for _, tt := range []struct {
		name         string
		eventID      string
		loadedBefore bool
		settled      bool
		settledErr   error
		wantCode     string
		wantErr      error
		wantLoads    int64
		wantSettled  int64
		wantReads    int64
		wantLoaded   bool
	}{
		{"rebuild, not settled: UNAVAILABLE, no load", fsEventID, true, false, nil, domain.EUNAVAILABLE, nil, 0, 1, 2, false},
		{"rebuild, settled: read again, loads, reserves", fsEventID, true, true, nil, "", nil, 1, 1, 3, true},
		{"rebuild, Settled fails: its error, no load", fsEventID, true, true, streamDown, domain.EINTERNAL, streamDown, 0, 1, 2, false},
		{"first load, not settled: loads anyway", fsEventID, false, false, nil, "", nil, 1, 0, 2, true},
		{"unknown event: NOT_FOUND, nothing loaded", "evt_01HZZUNKNOWN0000000000000", false, true, nil, domain.ENOTFOUND, nil, 0, 0, 1, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			h := fsNewHarness()
			ev := fsEvent()
			ev.LoadedBefore = tt.loadedBefore
			h.source.Put(ev)
			h.settled.Store(tt.settled)
			h.settledErr = tt.settledErr
			req := fsRequest(fsBuyerID, 2, "key-1")
			req.EventID = tt.eventID
			req.Token = fsToken(fsBuyerID, tt.eventID)

			res, err := h.sale.Purchase(fsBuyer(fsBuyerID), req)
			fsWantCode(t, err, tt.wantCode)
			if tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
				t.Fatalf("Purchase error = %v, want %v", err, tt.wantErr)
			}
			fsWantCount(t, "Hot.Load calls", &h.hot.loadCalls, tt.wantLoads)
			fsWantCount(t, "Settled calls", &h.settledCalls, tt.wantSettled)
			fsWantCount(t, "Source.HotEvent calls", &h.source.calls, tt.wantReads)
			if got, want := h.hot.isLoaded(tt.eventID), tt.wantLoaded; got != want {
				t.Fatalf("loaded = %v, want %v", got, want)
			}
			if tt.wantCode != "" {
				if res != nil {
					t.Fatalf("Purchase result = %+v, want nil", res)
				}
				fsWantCount(t, "publish calls", &h.pub.calls, 0)
				return
			}
			if got, want := res.Outcome, domain.OutcomeReserved; got != want {
				t.Fatalf("Outcome = %s, want %s", got, want)
			}
			fsWantCount(t, "publish calls", &h.pub.calls, 1)
		})
	}

	t.Run("UNAVAILABLE is not sticky: rebuilds once settled", func(t *testing.T) {
		h := fsNewHarness()
		ev := fsEvent()
		ev.LoadedBefore = true
		h.source.Put(ev)
		h.settled.Store(false)
		_, err := h.sale.Purchase(fsBuyer(fsBuyerID), fsRequest(fsBuyerID, 1, "key-1"))
		fsWantCode(t, err, domain.EUNAVAILABLE, "try again")
		fsWantCount(t, "Hot.Load calls", &h.hot.loadCalls, 0)

		h.settled.Store(true)
		res, err := h.sale.Purchase(fsBuyer(fsBuyerID), fsRequest(fsBuyerID, 1, "key-1"))
		if err != nil {
			t.Fatalf("Purchase once settled: %v", err)
		}
		if got, want := res.Outcome, domain.OutcomeReserved; got != want {
			t.Fatalf("Outcome = %s, want %s", got, want)
		}
		fsWantCount(t, "Hot.Load calls", &h.hot.loadCalls, 1)
		fsWantCount(t, "Settled calls", &h.settledCalls, 2)
	})
}

func TestFlashSalePurchasePublishesANewReservationOnce(t *testing.T) {
	h := fsNewHarness()
	ev := fsEvent()
	h.source.Put(ev)
	h.hot.put(t, ev, 500, false)
	ctx := domain.NewContextWithRequestID(fsBuyer(fsBuyerID), "req-1")

	first, err := h.sale.Purchase(ctx, fsRequest(fsBuyerID, 3, "key-1"))
	if err != nil {
		t.Fatalf("first Purchase: %v", err)
	}
	wantRsv := domain.Reservation{
		OrderID:        fsOrderID(1),
		BuyerID:        fsBuyerID,
		EventID:        fsEventID,
		ProductID:      ev.ProductID,
		SellerID:       ev.SellerID,
		Quantity:       3,
		UnitPriceCents: ev.PriceCents,
		CreatedAt:      fsT0,
		RequestID:      "req-1",
		// The hot stock keeps the key and the stock left with the
		// reservation, for PostgreSQL to keep the answer.
		IdempotencyKey: "key-1",
		RemainingAfter: 497,
	}
	// What FlashSale asked of the hot stock.
	h.hot.mu.Lock()
	call := h.hot.reserves[0]
	h.hot.mu.Unlock()
	if got, want := call.key, "key-1"; got != want {
		t.Fatalf("Reserve idempotency key = %q, want %q", got, want)
	}
	if got, want := call.now, fsT0; !got.Equal(want) {
		t.Fatalf("Reserve now = %v, want %v", got, want)
	}
	wantAsked := wantRsv
	wantAsked.ProductID, wantAsked.SellerID, wantAsked.UnitPriceCents = "", "", 0
	wantAsked.IdempotencyKey, wantAsked.RemainingAfter = "", 0
	if got, want := call.r, wantAsked; got != want {
		t.Fatalf("Reserve reservation = %+v, want %+v", got, want)
	}

	fsCheckReserved := func(step string, res *domain.PurchaseResult, wantLeft int) {
		t.Helper()
		if got, want := res.Outcome, domain.OutcomeReserved; got != want {
			t.Fatalf("%s: Outcome = %s, want %s", step, got, want)
		}
		if res.Remaining == nil {
			t.Fatalf("%s: Remaining = nil, want %d", step, wantLeft)
		}
		if got, want := *res.Remaining, wantLeft; got != want {
			t.Fatalf("%s: Remaining = %d, want %d", step, got, want)
		}
		o := res.Order
		if o == nil {
			t.Fatalf("%s: Order = nil", step)
		}
		if got, want := o.ID, fsOrderID(1); got != want {
			t.Fatalf("%s: Order.ID = %q, want %q", step, got, want)
		}
		if got, want := o.Status, domain.OrderPending; got != want {
			t.Fatalf("%s: Order.Status = %s, want %s", step, got, want)
		}
		if got, want := o.TotalCents, int64(3)*ev.PriceCents; got != want {
			t.Fatalf("%s: Order.TotalCents = %d, want %d", step, got, want)
		}
		if got, want := o.BuyerID, fsBuyerID; got != want {
			t.Fatalf("%s: Order.BuyerID = %q, want %q", step, got, want)
		}
		if got, want := o.FlashEventID, fsEventID; got != want {
			t.Fatalf("%s: Order.FlashEventID = %q, want %q", step, got, want)
		}
		if got, want := len(o.Items), 1; got != want {
			t.Fatalf("%s: len(Order.Items) = %d, want %d", step, got, want)
		}
		if got, want := o.Items[0], (domain.OrderItem{ProductID: ev.ProductID, Quantity: 3, UnitPriceCents: ev.PriceCents}); got != want {
			t.Fatalf("%s: Order.Items[0] = %+v, want %+v", step, got, want)
		}
		if got, want := o.CreatedAt, fsT0; !got.Equal(want) {
			t.Fatalf("%s: Order.CreatedAt = %v, want %v", step, got, want)
		}
		if o.ExpiresAt != nil || o.PaidAt != nil {
			t.Fatalf("%s: Order ExpiresAt, PaidAt = %v, %v; want nil, nil", step, o.ExpiresAt, o.PaidAt)
		}
	}
	fsCheckReserved("first purchase", first, 497)
	pub := h.pub.list()
	if got, want := len(pub), 1; got != want {
		t.Fatalf("published after the first purchase = %d, want %d", got, want)
	}
	if got, want := pub[0], wantRsv; got != want {
		t.Fatalf("published %+v, want %+v", got, want)
	}

	// The same key again, a second later: a new order ID is drawn, but the
	// hot stock answers with the first reservation, which is not published
	// again.
	h.clock.Add(time.Second)
	again, err := h.sale.Purchase(ctx, fsRequest(fsBuyerID, 3, "key-1"))
	if err != nil {
		t.Fatalf("repeated Purchase: %v", err)
	}
	fsCheckReserved("repeated key", again, 497)
	h.hot.mu.Lock()
	secondAsked := h.hot.reserves[1].r.OrderID
	h.hot.mu.Unlock()
	if got, want := secondAsked, fsOrderID(2); got != want {
		t.Fatalf("second Reserve OrderID = %q, want %q", got, want)
	}
	fsWantCount(t, "publish calls after the repeated key", &h.pub.calls, 1)

	// A new key is a new reservation: published.
	third, err := h.sale.Purchase(ctx, fsRequest(fsBuyerID, 1, "key-2"))
	if err != nil {
		t.Fatalf("third Purchase: %v", err)
	}
	if got, want := third.Order.ID, fsOrderID(3); got != want {
		t.Fatalf("third Order.ID = %q, want %q", got, want)
	}
	fsWantCount(t, "publish calls after a new key", &h.pub.calls, 2)

	// A business outcome other than RESERVED publishes nothing and has no
	// order: 3+1 held, 2 more is past the limit of 5.
	limited, err := h.sale.Purchase(ctx, fsRequest(fsBuyerID, 2, "key-3"))
	if err != nil {
		t.Fatalf("fourth Purchase: %v", err)
	}
	if got, want := limited.Outcome, domain.OutcomeLimitReached; got != want {
		t.Fatalf("fourth Outcome = %s, want %s", got, want)
	}
	if limited.Order != nil {
		t.Fatalf("fourth Order = %+v, want nil", limited.Order)
	}
	if limited.Remaining == nil || *limited.Remaining != 496 {
		t.Fatalf("fourth Remaining = %v, want 496", limited.Remaining)
	}
	fsWantCount(t, "publish calls after LIMIT_REACHED", &h.pub.calls, 2)
}

func TestFlashSalePurchasePublishErrorIsLoggedNotReturned(t *testing.T) {
	h := fsNewHarness()
	h.source.Put(fsEvent())
	h.hot.put(t, fsEvent(), 500, false)
	h.pub.err = errors.New("nats: no responders available for request")

	res, err := h.sale.Purchase(fsBuyer(fsBuyerID), fsRequest(fsBuyerID, 2, "key-1"))
	if err != nil {
		t.Fatalf("Purchase with a failing publisher: %v, want no error", err)
	}
	if got, want := res.Outcome, domain.OutcomeReserved; got != want {
		t.Fatalf("Outcome = %s, want %s", got, want)
	}
	if res.Order == nil {
		t.Fatalf("Order = nil, want the PENDING order")
	}
	if got, want := res.Order.ID, fsOrderID(1); got != want {
		t.Fatalf("Order.ID = %q, want %q", got, want)
	}
	if got, want := res.Order.Status, domain.OrderPending; got != want {
		t.Fatalf("Order.Status = %s, want %s", got, want)
	}
	fsWantCount(t, "publish calls", &h.pub.calls, 1)
	// The outbox record is there for reconciliation to publish.
	if r, err := h.hot.FindReservation(context.Background(), fsOrderID(1)); err != nil || r.OrderID != fsOrderID(1) {
		t.Fatalf("outbox record = %+v, %v; want %s", r, err, fsOrderID(1))
	}
	logs := h.logs.String()
	for _, w := range []string{"level=ERROR", `msg="publish reservation"`, "order_id=" + fsOrderID(1), "nats: no responders available for request"} {
		if !strings.Contains(logs, w) {
			t.Fatalf("log %q does not contain %q", logs, w)
		}
	}
	if got, want := strings.Count(logs, "\n"), 1; got != want {
		t.Fatalf("log lines = %d, want %d: %q", got, want, logs)
	}
}

func TestFlashSalePurchaseChecksCallerRequestAndToken(t *testing.T) {
	tokenExpired := domain.Errorf(domain.EINVALID, "the purchase token has expired")
	opaque := errors.New("tokens: key rotation in progress")
	valid := fsRequest(fsBuyerID, 1, "key-1")
	with := func(f func(r *domain.PurchaseRequest)) domain.PurchaseRequest {
		r := valid
		f(&r)
		return r
	}
	for _, tt := range []struct {
		name        string
		ctx         context.Context
		req         domain.PurchaseRequest
		verifyErr   error
		wantCode    string
		wantErr     error // errors.Is, when set
		wantWords   []string
		wantVerify  int64
		wantReserve int64
	}{
		{"buyer with a valid request reserves", fsBuyer(fsBuyerID), valid, nil, "", nil, nil, 1, 1},
		{"anonymous", context.Background(), valid, nil, domain.EUNAUTHENTICATED, nil, nil, 0, 0},
		{"principal without a user ID", fsCtx(domain.Principal{Role: domain.RoleBuyer}), valid, nil, domain.EUNAUTHENTICATED, nil, nil, 0, 0},
		{"anonymous with an invalid request: auth first", context.Background(), with(func(r *domain.PurchaseRequest) { r.Quantity = 0 }), nil, domain.EUNAUTHENTICATED, nil, nil, 0, 0},
		{"seller", fsCtx(domain.Principal{UserID: fsSellerID, Role: domain.RoleSeller}), valid, nil, domain.EFORBIDDEN, nil, []string{"BUYER"}, 0, 0},
		{"principal without a role", fsCtx(domain.Principal{UserID: fsBuyerID}), valid, nil, domain.EFORBIDDEN, nil, nil, 0, 0},
		{"quantity 0", fsBuyer(fsBuyerID), with(func(r *domain.PurchaseRequest) { r.Quantity = 0 }), nil, domain.EINVALID, nil, []string{"quantity"}, 0, 0},
		{"quantity negative", fsBuyer(fsBuyerID), with(func(r *domain.PurchaseRequest) { r.Quantity = -1 }), nil, domain.EINVALID, nil, []string{"quantity"}, 0, 0},
		{"quantity above MaxPerUserLimit", fsBuyer(fsBuyerID), with(func(r *domain.PurchaseRequest) { r.Quantity = domain.MaxPerUserLimit + 1 }), nil, domain.EINVALID, nil, []string{"quantity"}, 0, 0},
		{"empty idempotency key", fsBuyer(fsBuyerID), with(func(r *domain.PurchaseRequest) { r.IdempotencyKey = "" }), nil, domain.EINVALID, nil, []string{"idempotencyKey"}, 0, 0},
		{"idempotency key with a space", fsBuyer(fsBuyerID), with(func(r *domain.PurchaseRequest) { r.IdempotencyKey = "a b" }), nil, domain.EINVALID, nil, []string{"idempotencyKey"}, 0, 0},
		{"eventId without evt_ prefix", fsBuyer(fsBuyerID), with(func(r *domain.PurchaseRequest) { r.EventID = "prd_01HZZFLASHSALETEST00000000" }), nil, domain.EINVALID, nil, []string{"eventId"}, 0, 0},
		{"eventId upper-case prefix", fsBuyer(fsBuyerID), with(func(r *domain.PurchaseRequest) { r.EventID = "EVT_01HZZFLASHSALETEST00000000" }), nil, domain.EINVALID, nil, []string{"eventId"}, 0, 0},
		{"empty eventId", fsBuyer(fsBuyerID), with(func(r *domain.PurchaseRequest) { r.EventID = "" }), nil, domain.EINVALID, nil, []string{"eventId"}, 0, 0},
		{"eventId over 64 characters", fsBuyer(fsBuyerID), with(func(r *domain.PurchaseRequest) { r.EventID = "evt_" + strings.Repeat("x", 61) }), nil, domain.EINVALID, nil, []string{"eventId"}, 0, 0},
		{"empty token", fsBuyer(fsBuyerID), with(func(r *domain.PurchaseRequest) { r.Token = "" }), nil, domain.EINVALID, nil, []string{"token"}, 0, 0},
		{"token of another buyer", fsBuyer(fsBuyerID), with(func(r *domain.PurchaseRequest) { r.Token = fsToken("usr_other", fsEventID) }), nil, domain.EINVALID, nil, []string{"token"}, 1, 0},
		{"Verify fails: its error", fsBuyer(fsBuyerID), valid, tokenExpired, domain.EINVALID, tokenExpired, []string{"expired"}, 1, 0},
		{"Verify fails with an internal error: returned as is", fsBuyer(fsBuyerID), valid, opaque, domain.EINTERNAL, opaque, nil, 1, 0},
	} {
		t.Run(tt.name, func(t *testing.T) {
			h := fsNewHarness()
			h.source.Put(fsEvent())
			h.hot.put(t, fsEvent(), 500, false)
			h.tokens.verifyErr = tt.verifyErr

			res, err := h.sale.Purchase(tt.ctx, tt.req)
			fsWantCode(t, err, tt.wantCode, tt.wantWords...)
			if tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
				t.Fatalf("Purchase error = %v, want %v", err, tt.wantErr)
			}
			if tt.wantCode != "" && res != nil {
				t.Fatalf("Purchase result = %+v, want nil", res)
			}
			if tt.wantCode == "" && (res == nil || res.Outcome != domain.OutcomeReserved) {
				t.Fatalf("Purchase result = %+v, want RESERVED", res)
			}
			fsWantCount(t, "Tokens.Verify calls", &h.tokens.verifyCalls, tt.wantVerify)
			fsWantCount(t, "Hot.Reserve calls", &h.hot.reserveCalls, tt.wantReserve)
			if tt.wantCode != "" {
				// No I/O and no order ID drawn on a refused request.
				fsWantCount(t, "Source.HotEvent calls", &h.source.calls, 0)
				fsWantCount(t, "Hot.IsLoaded calls", &h.hot.isLoadedCalls, 0)
				fsWantCount(t, "Hot.Load calls", &h.hot.loadCalls, 0)
				fsWantCount(t, "Settled calls", &h.settledCalls, 0)
				fsWantCount(t, "publish calls", &h.pub.calls, 0)
				fsWantCount(t, "order IDs drawn", &h.orderIDs, 0)
			}
		})
	}
}

func TestFlashSaleTokenOnlyWhileLive(t *testing.T) {
	ev := fsEvent()
	ev.StartsAt, ev.EndsAt = fsT0, fsT0.Add(time.Hour)
	for _, tt := range []struct {
		name         string
		now          time.Time
		cachedClosed bool // the event as read from the source
		cachedLeft   int
		loaded       bool
		hotLeft      int
		hotClosed    bool
		wantStatus   domain.FlashEventStatus
		wantLoads    int64
	}{
		{"1ns before start: SCHEDULED", fsT0.Add(-time.Nanosecond), false, 10, true, 10, false, domain.FlashEventScheduled, 0},
		{"at start: LIVE", fsT0, false, 10, true, 10, false, domain.FlashEventLive, 0},
		{"1ns before end: LIVE", ev.EndsAt.Add(-time.Nanosecond), false, 10, true, 10, false, domain.FlashEventLive, 0},
		{"at end: ENDED", ev.EndsAt, false, 10, true, 10, false, domain.FlashEventEnded, 0},
		{"after end: ENDED", ev.EndsAt.Add(time.Hour), false, 10, true, 10, false, domain.FlashEventEnded, 0},
		{"hot stock 0: SOLD_OUT although the source says 10 left", fsT0, false, 10, true, 0, false, domain.FlashEventSoldOut, 0},
		{"hot stock 1: LIVE although the source says 0 left", fsT0, false, 0, true, 1, false, domain.FlashEventLive, 0},
		{"hot says closed, cached event open: CLOSED", fsT0, false, 10, true, 10, true, domain.FlashEventClosed, 0},
		{"cached event closed, hot open: CLOSED", fsT0, true, 10, true, 10, false, domain.FlashEventClosed, 0},
		{"closed and sold out: CLOSED", fsT0, false, 10, true, 0, true, domain.FlashEventClosed, 0},
		{"closed before start: CLOSED", fsT0.Add(-time.Hour), false, 10, true, 10, true, domain.FlashEventClosed, 0},
		{"not loaded: loaded, then LIVE", fsT0, false, 10, false, 0, false, domain.FlashEventLive, 1},
		{"not loaded and sold out in the source: loaded, then SOLD_OUT", fsT0, false, 0, false, 0, false, domain.FlashEventSoldOut, 1},
	} {
		t.Run(tt.name, func(t *testing.T) {
			h := fsNewHarness()
			h.clock.Set(tt.now)
			src := ev
			src.Closed, src.Remaining = tt.cachedClosed, tt.cachedLeft
			fsHeldElsewhere(&src)
			h.source.Put(src)
			if tt.loaded {
				h.hot.put(t, ev, tt.hotLeft, tt.hotClosed)
			}

			tok, err := h.sale.PurchaseToken(fsBuyer(fsBuyerID), fsEventID)
			fsWantCount(t, "Hot.Load calls", &h.hot.loadCalls, tt.wantLoads)
			if tt.wantStatus != domain.FlashEventLive {
				fsWantCode(t, err, domain.ECONFLICT, string(tt.wantStatus), "LIVE")
				if !strings.Contains(domain.ErrorMessage(err), "is "+string(tt.wantStatus)+";") {
					t.Fatalf("ErrorMessage = %q, want status %s", domain.ErrorMessage(err), tt.wantStatus)
				}
				if tok != nil {
					t.Fatalf("token = %+v, want nil", tok)
				}
				fsWantCount(t, "Tokens.Issue calls", &h.tokens.issueCalls, 0)
				return
			}
			if err != nil {
				t.Fatalf("PurchaseToken: %v", err)
			}
			if got, want := tok.Token, fsTokenAt(tt.now, fsBuyerID, fsEventID); got != want {
				t.Fatalf("token = %q, want %q", got, want)
			}
			fsWantCount(t, "Tokens.Issue calls", &h.tokens.issueCalls, 1)
		})
	}

	t.Run("callers", func(t *testing.T) {
		for _, c := range []struct {
			name string
			ctx  context.Context
			want string
		}{
			{"anonymous", context.Background(), domain.EUNAUTHENTICATED},
			{"seller", fsCtx(domain.Principal{UserID: fsSellerID, Role: domain.RoleSeller}), domain.EFORBIDDEN},
		} {
			h := fsNewHarness()
			h.source.Put(fsEvent())
			h.hot.put(t, fsEvent(), 10, false)
			tok, err := h.sale.PurchaseToken(c.ctx, fsEventID)
			if tok != nil {
				t.Fatalf("%s: token = %+v, want nil", c.name, tok)
			}
			fsWantCode(t, err, c.want)
			fsWantCount(t, c.name+": Source.HotEvent calls", &h.source.calls, 0)
			fsWantCount(t, c.name+": Tokens.Issue calls", &h.tokens.issueCalls, 0)
		}
	})
}
