package service_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"flashlive/domain"
	"flashlive/internal/memhot"
	"flashlive/service"
)

// The tests of FlashSale, SaleEvents and Orders run in memory: no I/O, a
// controllable clock, and call counters read after the goroutines are done.
//
// The hot stock is internal/memhot, a second implementation of
// domain.HotStock that passes the same contract suite as Redis's
// (internal/hotstocktest), behind a spy (fsHot). The other doubles
// (fsSource, fsPublisher, fsTokens, fsEvents, fsOrderStore) are scripted:
// each answers what its test sets up and counts its calls. The one rule
// among them is fsSource's, that MarkLoaded makes later reads LoadedBefore;
// no contract suite pins it to PostgreSQL's HotEventSource yet.

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
	// gatedCtxErr is the ctx error of the gated read once the gate opens.
	gatedCtxErr error

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

func (s *fsSource) HotEvent(ctx context.Context, id string) (*domain.HotEvent, error) {
	s.calls.Add(1)
	if s.delay > 0 {
		time.Sleep(s.delay)
	}
	gated := s.gate != nil && id == s.gateID
	if gated {
		s.enteredOnce.Do(func() { close(s.entered) })
		<-s.gate
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if gated {
		s.gatedCtxErr = ctx.Err()
	}
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

type fsReserveCall struct {
	r   domain.Reservation
	key string
	now time.Time
}

// fsHot is the hot stock of the tests: memhot's, which the contract suite
// of internal/hotstocktest keeps the same as Redis's, seen through a spy
// that counts the calls of FlashSale, SaleEvents and Orders, records what
// they asked, and fails or delays on demand. The other methods go to
// memhot unobserved.
type fsHot struct {
	*memhot.HotStock

	mu       sync.Mutex
	reserves []fsReserveCall
	closed   []string
	released []*domain.Order

	loadDelay time.Duration
	loadErr   error
	// reserveGate, when set, holds every Reserve until it is closed;
	// reserveEntered is told of each Reserve that reached the gate.
	reserveGate    chan struct{}
	reserveEntered chan struct{}
	closeErr       error
	releaseErr     error
	findErr        error

	reserveCalls  atomic.Int64
	loadCalls     atomic.Int64
	isLoadedCalls atomic.Int64
	snapshotCalls atomic.Int64
	closeCalls    atomic.Int64
	releaseCalls  atomic.Int64
	findCalls     atomic.Int64
}

func fsNewHot() *fsHot {
	return &fsHot{HotStock: memhot.New(0)}
}

// put loads ev with the given stock left (the rest held by another buyer)
// and closed flag, without counting a Load.
func (h *fsHot) put(t *testing.T, ev domain.HotEvent, remaining int, closed bool) {
	t.Helper()
	ev.Remaining, ev.Closed = remaining, closed
	fsHeldElsewhere(&ev)
	if loaded, err := h.HotStock.Load(context.Background(), ev); err != nil || !loaded {
		t.Fatalf("load %s into the hot stock = %v, %v; want true, nil", ev.ID, loaded, err)
	}
}

// fsHeldElsewhere makes ev consistent (Remaining + sum(Held) == Stock) by
// giving the units not left to a buyer no test uses.
func fsHeldElsewhere(ev *domain.HotEvent) {
	if n := ev.Stock - ev.Remaining; n > 0 {
		ev.Held = map[string]int{"usr_earlier": n}
	}
}

func (h *fsHot) isLoaded(id string) bool {
	ok, _ := h.HotStock.IsLoaded(context.Background(), id)
	return ok
}

func (h *fsHot) remaining(id string) int {
	snap, _ := h.HotStock.Snapshot(context.Background(), id)
	return snap.Remaining
}

func (h *fsHot) Reserve(ctx context.Context, r domain.Reservation, key string, now time.Time) (domain.ReserveResult, error) {
	h.reserveCalls.Add(1)
	h.mu.Lock()
	h.reserves = append(h.reserves, fsReserveCall{r: r, key: key, now: now})
	h.mu.Unlock()
	if h.reserveGate != nil {
		h.reserveEntered <- struct{}{}
		<-h.reserveGate
	}
	return h.HotStock.Reserve(ctx, r, key, now)
}

func (h *fsHot) Load(ctx context.Context, ev domain.HotEvent) (bool, error) {
	h.loadCalls.Add(1)
	if h.loadDelay > 0 {
		time.Sleep(h.loadDelay)
	}
	if h.loadErr != nil {
		return false, h.loadErr
	}
	return h.HotStock.Load(ctx, ev)
}

func (h *fsHot) IsLoaded(ctx context.Context, id string) (bool, error) {
	h.isLoadedCalls.Add(1)
	return h.HotStock.IsLoaded(ctx, id)
}

func (h *fsHot) Snapshot(ctx context.Context, id string) (domain.HotSnapshot, error) {
	h.snapshotCalls.Add(1)
	return h.HotStock.Snapshot(ctx, id)
}

func (h *fsHot) Close(ctx context.Context, id string) error {
	h.closeCalls.Add(1)
	if h.closeErr != nil {
		return h.closeErr
	}
	h.mu.Lock()
	h.closed = append(h.closed, id)
	h.mu.Unlock()
	return h.HotStock.Close(ctx, id)
}

func (h *fsHot) Release(ctx context.Context, o *domain.Order) (bool, error) {
	h.releaseCalls.Add(1)
	if h.releaseErr != nil {
		return false, h.releaseErr
	}
	h.mu.Lock()
	h.released = append(h.released, o)
	h.mu.Unlock()
	return h.HotStock.Release(ctx, o)
}

func (h *fsHot) FindReservation(ctx context.Context, orderID string) (*domain.Reservation, error) {
	h.findCalls.Add(1)
	if h.findErr != nil {
		return nil, h.findErr
	}
	return h.HotStock.FindReservation(ctx, orderID)
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
		Live:   domain.NopNotifier{},
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
