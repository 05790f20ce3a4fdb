package service_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"flashlive/domain"
	"flashlive/service"
)

// The tests of FlashSale, SaleEvents and Orders run over the in-memory fakes
// below: no I/O, a controllable clock, and call counters read after the
// goroutines are done.

const (
	fsEventID = "evt_01HZZFLASHSALETEST00000000"
	// fsCacheTTL is service.eventCacheTTL (unexported): how long FlashSale
	// trusts an event (or an unknown ID) it read.
	fsCacheTTL = 2 * time.Second
	fsBuyerID  = "usr_buyer"
	fsSellerID = "usr_seller"
)

var fsT0 = time.Date(2030, 1, 2, 12, 0, 0, 0, time.UTC)

// fsClock is a clock the test moves.
type fsClock struct{ ns atomic.Int64 }

func fsNewClock(t time.Time) *fsClock {
	c := &fsClock{}
	c.Set(t)
	return c
}

func (c *fsClock) Now() time.Time      { return time.Unix(0, c.ns.Load()).UTC() }
func (c *fsClock) Set(t time.Time)     { c.ns.Store(t.UnixNano()) }
func (c *fsClock) Add(d time.Duration) { c.ns.Add(int64(d)) }

// fsLogBuffer is a goroutine-safe log sink.
type fsLogBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *fsLogBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *fsLogBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// fsSource is a HotEventSource over a map. It counts its reads and marks;
// MarkLoaded sets the event's LoadedBefore, as the system of record would.
type fsSource struct {
	mu     sync.Mutex
	events map[string]domain.HotEvent
	err    error // every read fails with it when set
	delay  time.Duration
	// A read of gateID closes entered, then waits for gate to close.
	gateID      string
	gate        chan struct{}
	entered     chan struct{}
	enteredOnce sync.Once

	calls     atomic.Int64
	markCalls atomic.Int64
}

func (s *fsSource) put(ev domain.HotEvent) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.events[ev.ID] = ev
}

func (s *fsSource) setErr(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.err = err
}

func (s *fsSource) HotEvent(_ context.Context, id string) (*domain.HotEvent, error) {
	s.calls.Add(1)
	if s.delay > 0 {
		time.Sleep(s.delay)
	}
	if s.gate != nil && id == s.gateID {
		s.enteredOnce.Do(func() { close(s.entered) })
		<-s.gate
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err != nil {
		return nil, s.err
	}
	ev, ok := s.events[id]
	if !ok {
		return nil, domain.Errorf(domain.ENOTFOUND, "flash event %s not found", id)
	}
	return &ev, nil
}

// BriefHotEvent counts as a read like HotEvent: the tests count reads of
// the source, cheap or not.
func (s *fsSource) BriefHotEvent(ctx context.Context, id string) (*domain.HotEvent, error) {
	return s.HotEvent(ctx, id)
}

func (s *fsSource) MarkLoaded(_ context.Context, id string) error {
	s.markCalls.Add(1)
	s.mu.Lock()
	defer s.mu.Unlock()
	if ev, ok := s.events[id]; ok {
		ev.LoadedBefore = true
		s.events[id] = ev
	}
	return nil
}

// fsHotEvent is an event loaded in fsHot.
type fsHotEvent struct {
	ev        domain.HotEvent
	remaining int
	closed    bool
	held      map[string]int
}

type fsReserveCall struct {
	r   domain.Reservation
	key string
	now time.Time
}

// fsHot is an in-memory HotStock: Reserve answers ErrNotLoaded until the
// event is loaded, then checks status, window, limit and stock, and answers
// a repeated idempotency key with its first answer. The methods FlashSale,
// SaleEvents and Orders do not call are left to the embedded nil interface.
type fsHot struct {
	domain.HotStock

	mu       sync.Mutex
	events   map[string]*fsHotEvent
	answers  map[string]domain.ReserveResult // by buyer|event|key
	outbox   map[string]domain.Reservation   // by order ID
	reserves []fsReserveCall
	closed   []string
	released []*domain.Order

	loadDelay  time.Duration
	loadErr    error
	closeErr   error
	releaseErr error
	findErr    error

	reserveCalls  atomic.Int64
	loadCalls     atomic.Int64
	isLoadedCalls atomic.Int64
	snapshotCalls atomic.Int64
	closeCalls    atomic.Int64
	releaseCalls  atomic.Int64
	findCalls     atomic.Int64
}

func fsNewHot() *fsHot {
	return &fsHot{
		events:  map[string]*fsHotEvent{},
		answers: map[string]domain.ReserveResult{},
		outbox:  map[string]domain.Reservation{},
	}
}

// put loads ev (without counting a Load) with the given stock left and
// closed flag.
func (h *fsHot) put(ev domain.HotEvent, remaining int, closed bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.events[ev.ID] = &fsHotEvent{ev: ev, remaining: remaining, closed: closed, held: map[string]int{}}
}

func (h *fsHot) isLoaded(id string) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	_, ok := h.events[id]
	return ok
}

func (h *fsHot) remaining(id string) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.events[id].remaining
}

func (h *fsHot) Reserve(_ context.Context, r domain.Reservation, key string, now time.Time) (domain.ReserveResult, error) {
	h.reserveCalls.Add(1)
	h.mu.Lock()
	defer h.mu.Unlock()
	h.reserves = append(h.reserves, fsReserveCall{r: r, key: key, now: now})
	e, ok := h.events[r.EventID]
	if !ok {
		return domain.ReserveResult{}, domain.ErrNotLoaded
	}
	k := r.BuyerID + "|" + r.EventID + "|" + key
	if first, ok := h.answers[k]; ok {
		if first.Reservation != nil {
			cp := *first.Reservation
			first.Reservation = &cp
		}
		return first, nil
	}
	var res domain.ReserveResult
	switch {
	case e.closed:
		res.Outcome = domain.OutcomeClosed
	case now.Before(e.ev.StartsAt):
		res.Outcome = domain.OutcomeNotStarted
	case !now.Before(e.ev.EndsAt):
		res.Outcome = domain.OutcomeEnded
	case e.held[r.BuyerID]+r.Quantity > e.ev.PerUserLimit:
		res.Outcome = domain.OutcomeLimitReached
	case e.remaining < r.Quantity:
		res.Outcome = domain.OutcomeSoldOut
	default:
		e.remaining -= r.Quantity
		e.held[r.BuyerID] += r.Quantity
		r.ProductID, r.SellerID, r.UnitPriceCents = e.ev.ProductID, e.ev.SellerID, e.ev.PriceCents
		h.outbox[r.OrderID] = r
		res.Outcome = domain.OutcomeReserved
		cp := r
		res.Reservation = &cp
	}
	res.Remaining = e.remaining
	h.answers[k] = res
	return res, nil
}

func (h *fsHot) Load(_ context.Context, ev domain.HotEvent) (bool, error) {
	h.loadCalls.Add(1)
	if h.loadDelay > 0 {
		time.Sleep(h.loadDelay)
	}
	if h.loadErr != nil {
		return false, h.loadErr
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if _, ok := h.events[ev.ID]; ok {
		return false, nil
	}
	h.events[ev.ID] = &fsHotEvent{ev: ev, remaining: ev.Remaining, closed: ev.Closed, held: map[string]int{}}
	return true, nil
}

func (h *fsHot) IsLoaded(_ context.Context, id string) (bool, error) {
	h.isLoadedCalls.Add(1)
	return h.isLoaded(id), nil
}

func (h *fsHot) Snapshot(_ context.Context, id string) (domain.HotSnapshot, error) {
	h.snapshotCalls.Add(1)
	h.mu.Lock()
	defer h.mu.Unlock()
	e, ok := h.events[id]
	if !ok {
		return domain.HotSnapshot{}, domain.ErrNotLoaded
	}
	return domain.HotSnapshot{Remaining: e.remaining, Closed: e.closed}, nil
}

func (h *fsHot) Close(_ context.Context, id string) error {
	h.closeCalls.Add(1)
	if h.closeErr != nil {
		return h.closeErr
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	h.closed = append(h.closed, id)
	if e, ok := h.events[id]; ok {
		e.closed = true
	}
	return nil
}

func (h *fsHot) Release(_ context.Context, o *domain.Order) (bool, error) {
	h.releaseCalls.Add(1)
	if h.releaseErr != nil {
		return false, h.releaseErr
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	h.released = append(h.released, o)
	return true, nil
}

func (h *fsHot) FindReservation(_ context.Context, orderID string) (*domain.Reservation, error) {
	h.findCalls.Add(1)
	if h.findErr != nil {
		return nil, h.findErr
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	r, ok := h.outbox[orderID]
	if !ok {
		return nil, domain.Errorf(domain.ENOTFOUND, "no reservation %s", orderID)
	}
	return &r, nil
}

// fsPublisher records what it publishes; it fails every publish with err
// when set.
type fsPublisher struct {
	mu        sync.Mutex
	published []domain.Reservation
	err       error
	calls     atomic.Int64
}

func (p *fsPublisher) PublishReservation(_ context.Context, r domain.Reservation) error {
	p.calls.Add(1)
	if p.err != nil {
		return p.err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.published = append(p.published, r)
	return nil
}

func (p *fsPublisher) list() []domain.Reservation {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]domain.Reservation(nil), p.published...)
}

// fsTokens issues "tok|buyer|event" and accepts only that.
type fsTokens struct {
	verifyErr   error
	issueCalls  atomic.Int64
	verifyCalls atomic.Int64
}

func fsToken(buyerID, eventID string) string { return "tok|" + buyerID + "|" + eventID }

func (k *fsTokens) Issue(buyerID, eventID string) (domain.PurchaseToken, error) {
	k.issueCalls.Add(1)
	return domain.PurchaseToken{Token: fsToken(buyerID, eventID), ExpiresAt: fsT0.Add(time.Minute)}, nil
}

func (k *fsTokens) Verify(token, buyerID, eventID string) error {
	k.verifyCalls.Add(1)
	if k.verifyErr != nil {
		return k.verifyErr
	}
	if token != fsToken(buyerID, eventID) {
		return domain.Errorf(domain.EINVALID, "the purchase token is not valid")
	}
	return nil
}

// fsHarness is a FlashSale wired to fresh fakes.
type fsHarness struct {
	sale   *service.FlashSale
	hot    *fsHot
	source *fsSource
	pub    *fsPublisher
	tokens *fsTokens
	clock  *fsClock
	logs   *fsLogBuffer

	settled      atomic.Bool
	settledErr   error
	settledCalls atomic.Int64
	orderIDs     atomic.Int64
}

func fsNewHarness() *fsHarness {
	h := &fsHarness{
		hot:    fsNewHot(),
		source: &fsSource{events: map[string]domain.HotEvent{}},
		pub:    &fsPublisher{},
		tokens: &fsTokens{},
		clock:  fsNewClock(fsT0),
		logs:   &fsLogBuffer{},
	}
	h.settled.Store(true)
	h.sale = &service.FlashSale{
		Hot:       h.hot,
		Source:    h.source,
		Publisher: h.pub,
		Tokens:    h.tokens,
		Settled: func(context.Context) (bool, error) {
			h.settledCalls.Add(1)
			return h.settled.Load(), h.settledErr
		},
		NewOrderID: func(eventID string) string {
			n := h.orderIDs.Add(1)
			if eventID != fsEventID {
				return fmt.Sprintf("ord_%06d_unexpected_event_%s", n, eventID)
			}
			return fsOrderID(int(n))
		},
		Now:    h.clock.Now,
		Logger: slog.New(slog.NewTextHandler(h.logs, nil)),
	}
	return h
}

// fsEvent is a LIVE event: started a minute before fsT0, ends an hour
// after, 500 units, 5 per buyer.
func fsEvent() domain.HotEvent {
	return domain.HotEvent{
		ID:           fsEventID,
		ProductID:    "prd_phone",
		SellerID:     fsSellerID,
		PriceCents:   1999,
		Stock:        500,
		PerUserLimit: 5,
		StartsAt:     fsT0.Add(-time.Minute),
		EndsAt:       fsT0.Add(time.Hour),
		Remaining:    500,
	}
}

// fsOrderID is the nth order ID FlashSale draws for fsEventID: a flash
// order ID carries its event (see domain.FlashOrderID).
func fsOrderID(n int) string {
	return fmt.Sprintf("ord_%06d_%s", n, strings.TrimPrefix(fsEventID, domain.PrefixFlashEvent))
}

func fsCtx(p domain.Principal) context.Context {
	return domain.NewContextWithPrincipal(context.Background(), p)
}

func fsBuyer(id string) context.Context {
	return fsCtx(domain.Principal{UserID: id, Role: domain.RoleBuyer})
}

func fsRequest(buyerID string, qty int, key string) domain.PurchaseRequest {
	return domain.PurchaseRequest{EventID: fsEventID, Token: fsToken(buyerID, fsEventID), Quantity: qty, IdempotencyKey: key}
}

// fsWantCode fails t unless err carries code and its message contains
// every one of words. code "" means err must be nil.
func fsWantCode(t *testing.T, err error, code string, words ...string) {
	t.Helper()
	if got, want := domain.ErrorCode(err), code; got != want {
		t.Fatalf("ErrorCode(%v) = %q, want %q", err, got, want)
	}
	for _, w := range words {
		if msg := domain.ErrorMessage(err); !strings.Contains(msg, w) {
			t.Fatalf("ErrorMessage = %q, want it to contain %q", msg, w)
		}
	}
}

func fsWantCount(t *testing.T, what string, c *atomic.Int64, want int64) {
	t.Helper()
	if got := c.Load(); got != want {
		t.Fatalf("%s = %d, want %d", what, got, want)
	}
}

// fsConcurrently runs f(i) for i in [0, n) in n goroutines released at
// once, and returns when all are done.
func fsConcurrently(n int, f func(i int)) {
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			f(i)
		}()
	}
	close(start)
	wg.Wait()
}

func TestFlashSaleTokenUnknownEventIsReadOncePerTTL(t *testing.T) {
	h := fsNewHarness()
	h.source.delay = 20 * time.Millisecond // let the burst pile up on the flight
	const unknown = "evt_01HZZUNKNOWN0000000000000"

	burst := func(step string, wantCalls int64) {
		t.Helper()
		const n = 200
		errs := make([]error, n)
		toks := make([]*domain.PurchaseToken, n)
		fsConcurrently(n, func(i int) {
			toks[i], errs[i] = h.sale.PurchaseToken(fsBuyer(fmt.Sprintf("usr_b%03d", i)), unknown)
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
	}

	burst("first burst", 1)
	h.clock.Add(time.Second)
	burst("second burst 1s later", 1)
	h.clock.Set(fsT0.Add(fsCacheTTL - time.Millisecond))
	burst("third burst just within the TTL", 1)
	h.clock.Set(fsT0.Add(fsCacheTTL + time.Millisecond))
	burst("burst after the TTL", 2)
	burst("burst right after the re-read", 2)

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
	h.source.put(fsEvent())
	h.hot.put(fsEvent(), 10, false)
	for i := range maxCachedEvents - 1 {
		_, err := h.sale.PurchaseToken(fsBuyer(fsBuyerID), fmt.Sprintf("evt_fill%05d", i))
		if got, want := domain.ErrorCode(err), domain.ENOTFOUND; got != want {
			t.Fatalf("filling the cache: ErrorCode(%v) = %q, want %q", err, got, want)
		}
	}
	fsWantCount(t, "Source.HotEvent calls after the fill", &h.source.calls, maxCachedEvents-1)

	h.source.gateID, h.source.gate, h.source.entered = fsEventID, make(chan struct{}), make(chan struct{})
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
		out.tok, out.err = h.sale.PurchaseToken(fsBuyer(buyer), fsEventID)
	}
	const waiters = 10
	answers := make([]answer, waiters+1)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); call("usr_leader", &answers[0]) }()
	<-h.source.entered // the leader's read is under way
	for i := 1; i <= waiters; i++ {
		wg.Add(1)
		go func() { defer wg.Done(); call(fmt.Sprintf("usr_w%02d", i), &answers[i]) }()
	}
	time.Sleep(50 * time.Millisecond) // let the waiters join the flight
	armed.Store(true)
	close(h.source.gate)
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

func TestFlashSaleTokenTransientErrorIsNotCached(t *testing.T) {
	h := fsNewHarness()
	h.source.put(fsEvent())
	h.hot.put(fsEvent(), 500, false)
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
			h.source.put(ev)
			h.source.delay = 5 * time.Millisecond
			h.hot.loadDelay = 20 * time.Millisecond

			const n = 200
			results := make([]*domain.PurchaseResult, n)
			errs := make([]error, n)
			fsConcurrently(n, func(i int) {
				buyer := fmt.Sprintf("usr_b%03d", i)
				results[i], errs[i] = h.sale.Purchase(fsBuyer(buyer), fsRequest(buyer, 1, "key-1"))
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
			h.source.put(ev)
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
		h.source.put(ev)
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
	h.source.put(ev)
	h.hot.put(ev, 500, false)
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
	h.source.put(fsEvent())
	h.hot.put(fsEvent(), 500, false)
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
			h.source.put(fsEvent())
			h.hot.put(fsEvent(), 500, false)
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
			h.source.put(src)
			if tt.loaded {
				h.hot.put(ev, tt.hotLeft, tt.hotClosed)
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
			if got, want := tok.Token, fsToken(fsBuyerID, fsEventID); got != want {
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
			h.source.put(fsEvent())
			h.hot.put(fsEvent(), 10, false)
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

// fsEvents is the FlashEventService under SaleEvents.
type fsEvents struct {
	domain.FlashEventService
	create      func(domain.FlashEventCreate) (*domain.FlashEvent, error)
	close       func(id string) (*domain.FlashEvent, error)
	createCalls atomic.Int64
	closeCalls  atomic.Int64
}

func (f *fsEvents) CreateFlashEvent(_ context.Context, c domain.FlashEventCreate) (*domain.FlashEvent, error) {
	f.createCalls.Add(1)
	return f.create(c)
}

func (f *fsEvents) CloseFlashEvent(_ context.Context, id string) (*domain.FlashEvent, error) {
	f.closeCalls.Add(1)
	return f.close(id)
}

func TestFlashSaleSaleEventsCloseAlsoClosesTheHotStock(t *testing.T) {
	closedAt := fsT0
	closed := &domain.FlashEvent{ID: fsEventID, ClosedAt: &closedAt}
	already := domain.Errorf(domain.ECONFLICT, "the flash event is closed already")
	notFound := domain.Errorf(domain.ENOTFOUND, "no such flash event")
	forbidden := domain.Errorf(domain.EFORBIDDEN, "not your flash event")
	redisDown := errors.New("redis: connection refused")
	for _, tt := range []struct {
		name       string
		storeEvent *domain.FlashEvent
		storeErr   error
		hotErr     error
		wantEvent  *domain.FlashEvent
		wantErr    error
		wantCloses int64
	}{
		{"closed now: hot closed too", closed, nil, nil, closed, nil, 1},
		{"closed already (CONFLICT): hot closed too, CONFLICT returned", nil, already, nil, nil, already, 1},
		{"NOT_FOUND: hot untouched", nil, notFound, nil, nil, notFound, 0},
		{"FORBIDDEN: hot untouched", nil, forbidden, nil, nil, forbidden, 0},
		{"closed now, hot close fails: its error", closed, nil, redisDown, nil, redisDown, 1},
		{"closed already, hot close fails: its error", nil, already, redisDown, nil, redisDown, 1},
	} {
		t.Run(tt.name, func(t *testing.T) {
			h := fsNewHarness()
			h.hot.put(fsEvent(), 10, false)
			h.hot.closeErr = tt.hotErr
			store := &fsEvents{close: func(string) (*domain.FlashEvent, error) { return tt.storeEvent, tt.storeErr }}
			s := &service.SaleEvents{FlashEventService: store, Sale: h.sale, PreheatWindow: time.Hour, Logger: h.sale.Logger}

			got, err := s.CloseFlashEvent(fsCtx(domain.Principal{UserID: fsSellerID, Role: domain.RoleSeller}), fsEventID)
			if err != tt.wantErr {
				t.Fatalf("CloseFlashEvent error = %v, want %v", err, tt.wantErr)
			}
			if got != tt.wantEvent {
				t.Fatalf("CloseFlashEvent event = %+v, want %+v", got, tt.wantEvent)
			}
			fsWantCount(t, "store close calls", &store.closeCalls, 1)
			fsWantCount(t, "Hot.Close calls", &h.hot.closeCalls, tt.wantCloses)
			if tt.wantCloses == 1 && tt.hotErr == nil {
				h.hot.mu.Lock()
				ids := h.hot.closed
				h.hot.mu.Unlock()
				if got, want := strings.Join(ids, ","), fsEventID; got != want {
					t.Fatalf("hot closed %q, want %q", got, want)
				}
				snap, err := h.hot.Snapshot(context.Background(), fsEventID)
				if err != nil || !snap.Closed {
					t.Fatalf("hot snapshot = %+v, %v; want closed", snap, err)
				}
			}
		})
	}
}

func TestFlashSaleSaleEventsCreatePreheatsOnlyWithinTheWindow(t *testing.T) {
	const window = 10 * time.Minute
	storeDown := errors.New("pg: connection refused")
	for _, tt := range []struct {
		name        string
		startsIn    time.Duration
		storeErr    error
		preloaded   bool
		wantErr     error
		wantLoads   int64
		wantLoaded  bool
		wantWarning bool
	}{
		{"starts in half the window: preheated", window / 2, nil, false, nil, 1, true, false},
		{"starts exactly at the window: preheated", window, nil, false, nil, 1, true, false},
		{"started 30s ago: preheated", -30 * time.Second, nil, false, nil, 1, true, false},
		{"starts 1ns past the window: not preheated", window + time.Nanosecond, nil, false, nil, 0, false, false},
		{"starts in a day: not preheated", 24 * time.Hour, nil, false, nil, 0, false, false},
		{"loaded already: not loaded again", window / 2, nil, true, nil, 0, true, false},
		{"preheat fails (hot stock down): event returned, warning logged", window / 2, nil, false, nil, 1, false, true},
		{"store fails: its error, nothing preheated", window / 2, storeDown, false, storeDown, 0, false, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			h := fsNewHarness()
			if tt.wantWarning {
				h.hot.loadErr = errors.New("redis: connection refused")
			}
			hev := fsEvent()
			hev.StartsAt = fsT0.Add(tt.startsIn)
			h.source.put(hev)
			if tt.preloaded {
				h.hot.put(hev, 500, false)
			}
			created := &domain.FlashEvent{ID: fsEventID, StartsAt: hev.StartsAt, EndsAt: hev.EndsAt, Stock: 500, PerUserLimit: 5}
			store := &fsEvents{create: func(domain.FlashEventCreate) (*domain.FlashEvent, error) {
				if tt.storeErr != nil {
					return nil, tt.storeErr
				}
				return created, nil
			}}
			s := &service.SaleEvents{FlashEventService: store, Sale: h.sale, PreheatWindow: window, Logger: h.sale.Logger}

			got, err := s.CreateFlashEvent(fsCtx(domain.Principal{UserID: fsSellerID, Role: domain.RoleSeller}), domain.FlashEventCreate{ProductID: "prd_phone"})
			if err != tt.wantErr {
				t.Fatalf("CreateFlashEvent error = %v, want %v", err, tt.wantErr)
			}
			if tt.wantErr == nil && got != created {
				t.Fatalf("CreateFlashEvent event = %+v, want %+v", got, created)
			}
			if tt.wantErr != nil && got != nil {
				t.Fatalf("CreateFlashEvent event = %+v, want nil", got)
			}
			fsWantCount(t, "Hot.Load calls", &h.hot.loadCalls, tt.wantLoads)
			if tt.wantLoads > 0 && !tt.preloaded {
				// A new event: marked before its first load (so that a
				// failed load is retried as a rebuild), no wait for Settled.
				fsWantCount(t, "Source.MarkLoaded calls", &h.source.markCalls, 1)
			} else {
				fsWantCount(t, "Source.MarkLoaded calls", &h.source.markCalls, 0)
			}
			fsWantCount(t, "Settled calls", &h.settledCalls, 0)
			if got, want := h.hot.isLoaded(fsEventID), tt.wantLoaded; got != want {
				t.Fatalf("loaded = %v, want %v", got, want)
			}
			if tt.startsIn > window || tt.wantErr != nil {
				// Not even asked.
				fsWantCount(t, "Hot.IsLoaded calls", &h.hot.isLoadedCalls, 0)
				fsWantCount(t, "Source.HotEvent calls", &h.source.calls, 0)
			}
			logs := h.logs.String()
			if got, want := strings.Contains(logs, "preheat a new flash event"), tt.wantWarning; got != want {
				t.Fatalf("warning logged = %v, want %v: %q", got, want, logs)
			}
			if tt.wantWarning {
				for _, w := range []string{"level=WARN", "event_id=" + fsEventID, "redis: connection refused"} {
					if !strings.Contains(logs, w) {
						t.Fatalf("log %q does not contain %q", logs, w)
					}
				}
			}
		})
	}
}

// fsOrderStore is the OrderService under Orders.
type fsOrderStore struct {
	domain.OrderService
	find, pay, cancel func(id string) (*domain.Order, error)
}

func (s *fsOrderStore) FindOrderByID(_ context.Context, id string) (*domain.Order, error) {
	return s.find(id)
}

func (s *fsOrderStore) PayOrder(_ context.Context, id string) (*domain.Order, error) {
	return s.pay(id)
}

func (s *fsOrderStore) CancelOrder(_ context.Context, id string) (*domain.Order, error) {
	return s.cancel(id)
}

// fsOrders returns Orders over a hot stock holding the outbox record of
// ord_pending (2 units of usr_buyer at 1999).
func fsOrders(store *fsOrderStore) (*service.Orders, *fsHot, *fsLogBuffer) {
	hot := fsNewHot()
	hot.outbox["ord_pending"] = domain.Reservation{
		OrderID: "ord_pending", BuyerID: fsBuyerID, EventID: fsEventID, ProductID: "prd_phone",
		SellerID: fsSellerID, Quantity: 2, UnitPriceCents: 1999, CreatedAt: fsT0,
	}
	logs := &fsLogBuffer{}
	return &service.Orders{Store: store, Hot: hot, Logger: slog.New(slog.NewTextHandler(logs, nil))}, hot, logs
}

func TestFlashSaleOrdersFindOrderByIDFallsBackToTheOutbox(t *testing.T) {
	written := &domain.Order{ID: "ord_written", BuyerID: fsBuyerID, Status: domain.OrderAwaitingPayment}
	notFound := domain.Errorf(domain.ENOTFOUND, "no such order")
	pgDown := errors.New("pg: connection refused")
	redisDown := errors.New("redis: connection refused")
	buyer := fsBuyer(fsBuyerID)
	for _, tt := range []struct {
		name      string
		ctx       context.Context
		id        string
		storeErr  error
		findErr   error
		wantOrder string // "" for none
		wantErr   error
		wantFinds int64
	}{
		{"written order: from the store, outbox not read", buyer, "ord_written", nil, nil, "ord_written", nil, 0},
		{"pending order of the caller: PENDING", buyer, "ord_pending", notFound, nil, "ord_pending", nil, 1},
		{"pending order of another buyer: NOT_FOUND", fsBuyer("usr_other"), "ord_pending", notFound, nil, "", notFound, 1},
		{"pending order, caller is the seller: NOT_FOUND", fsCtx(domain.Principal{UserID: fsSellerID, Role: domain.RoleSeller}), "ord_pending", notFound, nil, "", notFound, 1},
		{"pending order, caller is an ADMIN: PENDING", fsCtx(domain.Principal{UserID: "usr_admin", Role: domain.RoleAdmin}), "ord_pending", notFound, nil, "ord_pending", nil, 1},
		{"pending order, anonymous: NOT_FOUND, outbox not read", context.Background(), "ord_pending", notFound, nil, "", notFound, 0},
		{"no reservation either: the store's NOT_FOUND", buyer, "ord_nothing", notFound, nil, "", notFound, 1},
		{"store fails otherwise: its error, outbox not read", buyer, "ord_pending", pgDown, nil, "", pgDown, 0},
		{"outbox read fails: its error", buyer, "ord_pending", notFound, redisDown, "", redisDown, 1},
		// The writer wrote the order and forgot its reservation between
		// the store's NOT_FOUND and the outbox read.
		{"written between the two reads: the written order", buyer, "ord_written", notFound, nil, "ord_written", nil, 1},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var reads atomic.Int64
			store := &fsOrderStore{find: func(id string) (*domain.Order, error) {
				n := reads.Add(1)
				if tt.storeErr != nil && !(id == "ord_written" && n > 1) {
					return nil, tt.storeErr
				}
				return written, nil
			}}
			o, hot, _ := fsOrders(store)
			hot.findErr = tt.findErr

			got, err := o.FindOrderByID(tt.ctx, tt.id)
			if err != tt.wantErr {
				t.Fatalf("FindOrderByID error = %v, want %v", err, tt.wantErr)
			}
			fsWantCount(t, "Hot.FindReservation calls", &hot.findCalls, tt.wantFinds)
			if tt.wantOrder == "" {
				if got != nil {
					t.Fatalf("FindOrderByID = %+v, want nil", got)
				}
				return
			}
			if got == nil {
				t.Fatalf("FindOrderByID = nil, want %s", tt.wantOrder)
			}
			if got, want := got.ID, tt.wantOrder; got != want {
				t.Fatalf("Order.ID = %q, want %q", got, want)
			}
			if tt.wantOrder == "ord_written" {
				if got != written {
					t.Fatalf("FindOrderByID = %+v, want the store's %+v", got, written)
				}
				return
			}
			if got, want := got.Status, domain.OrderPending; got != want {
				t.Fatalf("Order.Status = %s, want %s", got, want)
			}
			if got, want := got.BuyerID, fsBuyerID; got != want {
				t.Fatalf("Order.BuyerID = %q, want %q", got, want)
			}
			if got, want := got.FlashEventID, fsEventID; got != want {
				t.Fatalf("Order.FlashEventID = %q, want %q", got, want)
			}
			if got, want := got.TotalCents, int64(2*1999); got != want {
				t.Fatalf("Order.TotalCents = %d, want %d", got, want)
			}
			if got, want := got.Quantity(), 2; got != want {
				t.Fatalf("Order.Quantity() = %d, want %d", got, want)
			}
		})
	}
}

func TestFlashSaleOrdersCancelAndPay(t *testing.T) {
	flash := &domain.Order{ID: "ord_flash", BuyerID: fsBuyerID, FlashEventID: fsEventID, Status: domain.OrderCancelled,
		Items: []domain.OrderItem{{ProductID: "prd_phone", Quantity: 2, UnitPriceCents: 1999}}}
	cart := &domain.Order{ID: "ord_cart", BuyerID: fsBuyerID, Status: domain.OrderCancelled,
		Items: []domain.OrderItem{{ProductID: "prd_case", Quantity: 1, UnitPriceCents: 500}}}
	paid := &domain.Order{ID: "ord_flash", BuyerID: fsBuyerID, FlashEventID: fsEventID, Status: domain.OrderPaid}
	notFound := domain.Errorf(domain.ENOTFOUND, "no such order")
	conflict := domain.Errorf(domain.ECONFLICT, "the order is paid already")
	redisDown := errors.New("redis: connection refused")
	byID := func(id string) (*domain.Order, error) {
		switch id {
		case "ord_flash":
			return flash, nil
		case "ord_cart":
			return cart, nil
		case "ord_paid":
			return nil, conflict
		}
		return nil, notFound
	}

	for _, tt := range []struct {
		name         string
		ctx          context.Context
		id           string
		releaseErr   error
		wantOrder    *domain.Order
		wantCode     string
		wantErr      error // identity, when set
		wantWords    []string
		wantReleases int64
		wantLog      bool
	}{
		{"flash order: hot stock released", fsBuyer(fsBuyerID), "ord_flash", nil, flash, "", nil, nil, 1, false},
		{"cart order: hot stock untouched", fsBuyer(fsBuyerID), "ord_cart", nil, cart, "", nil, nil, 0, false},
		{"release fails: cancelled anyway, logged", fsBuyer(fsBuyerID), "ord_flash", redisDown, flash, "", nil, nil, 1, true},
		{"store CONFLICT: returned, nothing released", fsBuyer(fsBuyerID), "ord_paid", nil, nil, domain.ECONFLICT, conflict, nil, 0, false},
		{"pending order of the caller: CONFLICT still being written", fsBuyer(fsBuyerID), "ord_pending", nil, nil, domain.ECONFLICT, nil, []string{"still being written"}, 0, false},
		{"pending order of another buyer: NOT_FOUND", fsBuyer("usr_other"), "ord_pending", nil, nil, domain.ENOTFOUND, notFound, nil, 0, false},
		{"unknown order: NOT_FOUND", fsBuyer(fsBuyerID), "ord_nothing", nil, nil, domain.ENOTFOUND, notFound, nil, 0, false},
	} {
		t.Run("cancel: "+tt.name, func(t *testing.T) {
			o, hot, logs := fsOrders(&fsOrderStore{cancel: byID})
			hot.releaseErr = tt.releaseErr

			got, err := o.CancelOrder(tt.ctx, tt.id)
			fsWantCode(t, err, tt.wantCode, tt.wantWords...)
			if tt.wantErr != nil && err != tt.wantErr {
				t.Fatalf("CancelOrder error = %v, want %v", err, tt.wantErr)
			}
			if got != tt.wantOrder {
				t.Fatalf("CancelOrder = %+v, want %+v", got, tt.wantOrder)
			}
			fsWantCount(t, "Hot.Release calls", &hot.releaseCalls, tt.wantReleases)
			if tt.wantReleases == 1 && tt.releaseErr == nil {
				hot.mu.Lock()
				released := hot.released
				hot.mu.Unlock()
				if len(released) != 1 || released[0] != flash {
					t.Fatalf("released %+v, want [%+v]", released, flash)
				}
			}
			logged := logs.String()
			if got, want := strings.Contains(logged, "release hot stock"), tt.wantLog; got != want {
				t.Fatalf("release failure logged = %v, want %v: %q", got, want, logged)
			}
			if tt.wantLog {
				for _, w := range []string{"level=ERROR", "order_id=ord_flash", "redis: connection refused"} {
					if !strings.Contains(logged, w) {
						t.Fatalf("log %q does not contain %q", logged, w)
					}
				}
			}
		})
	}

	payByID := func(id string) (*domain.Order, error) {
		switch id {
		case "ord_flash":
			return paid, nil
		case "ord_paid":
			return nil, conflict
		}
		return nil, notFound
	}
	for _, tt := range []struct {
		name      string
		ctx       context.Context
		id        string
		wantOrder *domain.Order
		wantCode  string
		wantErr   error
		wantWords []string
	}{
		{"written order: paid", fsBuyer(fsBuyerID), "ord_flash", paid, "", nil, nil},
		{"pending order of the caller: CONFLICT still being written", fsBuyer(fsBuyerID), "ord_pending", nil, domain.ECONFLICT, nil, []string{"still being written", "try again"}},
		{"pending order of another buyer: NOT_FOUND", fsBuyer("usr_other"), "ord_pending", nil, domain.ENOTFOUND, notFound, nil},
		{"pending order, anonymous: NOT_FOUND", context.Background(), "ord_pending", nil, domain.ENOTFOUND, notFound, nil},
		{"store CONFLICT: returned", fsBuyer(fsBuyerID), "ord_paid", nil, domain.ECONFLICT, conflict, nil},
		{"unknown order: NOT_FOUND", fsBuyer(fsBuyerID), "ord_nothing", nil, domain.ENOTFOUND, notFound, nil},
	} {
		t.Run("pay: "+tt.name, func(t *testing.T) {
			o, hot, _ := fsOrders(&fsOrderStore{pay: payByID})
			got, err := o.PayOrder(tt.ctx, tt.id)
			fsWantCode(t, err, tt.wantCode, tt.wantWords...)
			if tt.wantErr != nil && err != tt.wantErr {
				t.Fatalf("PayOrder error = %v, want %v", err, tt.wantErr)
			}
			if got != tt.wantOrder {
				t.Fatalf("PayOrder = %+v, want %+v", got, tt.wantOrder)
			}
			fsWantCount(t, "Hot.Release calls", &hot.releaseCalls, 0)
		})
	}
}
