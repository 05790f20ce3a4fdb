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

	"flashlive/auth"
	"flashlive/domain"
	"flashlive/internal/memhot"
	"flashlive/internal/memsource"
	"flashlive/service"
)

// The tests of FlashSale, SaleEvents and Orders run in memory: no I/O, a
// controllable clock, and call counters read after the goroutines are done.
//
// The hot stock is internal/memhot, a second implementation of
// domain.HotStock that passes the same contract suite as Redis's
// (internal/hotstocktest), behind a spy (fsHot). The source of events is
// internal/memsource, which passes PostgreSQL's contract suite
// (internal/hoteventsourcetest), behind a spy (fsSource). The purchase
// tokens are auth's own, on the test's clock, behind a spy (fsTokens). The
// other doubles (fsPublisher, fsEvents, fsOrderStore, Settled) are
// scripted: each answers what its test sets up and counts its calls, and
// none has a rule of its own.
//
// Concurrent callers are synchronised by gates, never by sleeping: a test
// holds a read or a load (fsSource.hold, fsHot.holdLoad) until what it
// waits for has happened, polled with a deadline (fsAwait).

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

// fsSource is the source of the tests: memsource's, which the contract
// suite of internal/hoteventsourcetest keeps the same as PostgreSQL's,
// seen through a spy that counts reads and marks, fails every read with
// err when set, and runs hold (when set) at the start of every read, where
// a test keeps the read until what it waits for has happened. Events are
// stored with Put.
type fsSource struct {
	*memsource.HotEventSource

	mu   sync.Mutex
	err  error // every read fails with it when set
	hold func(ctx context.Context, id string)

	calls     atomic.Int64
	markCalls atomic.Int64

	keptErr   error // every KeptAnswer fails with it when set
	keptCalls atomic.Int64
}

// keep makes r (with its IdempotencyKey) an answer the source keeps, among
// its event's Answers, as PostgreSQL keeps a written RESERVED answer.
func (s *fsSource) keep(r domain.Reservation) {
	ev, err := s.HotEventSource.HotEvent(context.Background(), r.EventID)
	if err != nil {
		panic(fmt.Sprintf("keep an answer of event %s, which the source does not hold: %v", r.EventID, err))
	}
	ev.Answers = append(ev.Answers, r)
	s.HotEventSource.Put(*ev)
}

func (s *fsSource) KeptAnswer(ctx context.Context, eventID, buyerID, key string) (*domain.Reservation, error) {
	s.keptCalls.Add(1)
	s.mu.Lock()
	err := s.keptErr
	s.mu.Unlock()
	if err != nil {
		return nil, err
	}
	return s.HotEventSource.KeptAnswer(ctx, eventID, buyerID, key)
}

func (s *fsSource) setErr(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.err = err
}

// gate holds the reads of id until the gate opens.
func (s *fsSource) gate(id string) *fsGate {
	g := fsNewGate()
	s.hold = func(ctx context.Context, readID string) {
		if readID == id {
			g.wait(ctx)
		}
	}
	return g
}

// read counts a read, holds it when asked to, and fails it when set to.
func (s *fsSource) read(ctx context.Context, id string) error {
	s.calls.Add(1)
	if s.hold != nil {
		s.hold(ctx, id)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}

func (s *fsSource) HotEvent(ctx context.Context, id string) (*domain.HotEvent, error) {
	if err := s.read(ctx, id); err != nil {
		return nil, err
	}
	return s.HotEventSource.HotEvent(ctx, id)
}

// BriefHotEvent counts as a read like HotEvent: the tests count reads of
// the source, cheap or not.
func (s *fsSource) BriefHotEvent(ctx context.Context, id string) (*domain.HotEvent, error) {
	if err := s.read(ctx, id); err != nil {
		return nil, err
	}
	return s.HotEventSource.BriefHotEvent(ctx, id)
}

func (s *fsSource) MarkLoaded(ctx context.Context, id string) error {
	s.markCalls.Add(1)
	return s.HotEventSource.MarkLoaded(ctx, id)
}

// fsGate holds the calls that wait on it until it opens or their ctx
// ends, as a read stuck on the network gives up with its ctx.
type fsGate struct {
	entered     chan struct{} // closed when the first held call begins
	enteredOnce sync.Once
	opened      chan struct{}

	mu     sync.Mutex
	ctxErr error // the ctx error of the last held call once it went on
}

func fsNewGate() *fsGate {
	return &fsGate{entered: make(chan struct{}), opened: make(chan struct{})}
}

func (g *fsGate) wait(ctx context.Context) {
	g.enteredOnce.Do(func() { close(g.entered) })
	// ctx.Err is polled, not ctx.Done waited on: a caller's Done counts
	// as joining a flight (fsJoins), and a read that got a caller's ctx
	// (not a flight's) must not pass for one that joined.
	poll := time.NewTicker(time.Millisecond)
	defer poll.Stop()
	for open := false; !open && ctx.Err() == nil; {
		select {
		case <-g.opened:
			open = true
		case <-poll.C:
		}
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	g.ctxErr = ctx.Err()
}

// open lets every held call, and every later one, go on.
func (g *fsGate) open() { close(g.opened) }

// heldCtxErr is the ctx error a held call saw once it went on.
func (g *fsGate) heldCtxErr() error {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.ctxErr
}

// fsJoins counts the callers that wait on one of FlashSale's shared
// flights (the reads and loads it runs once for all concurrent callers).
// Its contexts count each call of Done: FlashSale's shared waits for the
// flight or the caller's ctx.Done, whichever comes first, once it has
// joined the flight, and nothing else on the paths under test asks a
// caller's ctx for Done. A caller counts once per flight it waits on.
type fsJoins struct{ n atomic.Int64 }

// in returns ctx, counted.
func (j *fsJoins) in(ctx context.Context) context.Context { return fsJoinCtx{ctx, &j.n} }

type fsJoinCtx struct {
	context.Context
	n *atomic.Int64
}

func (c fsJoinCtx) Done() <-chan struct{} {
	c.n.Add(1)
	return c.Context.Done()
}

// fsAwait polls cond until it holds, for at most fsAwaitFor; past that it
// fails t and returns, so that what waits goes on and the test ends. Any
// goroutine may call it.
func fsAwait(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.NewTimer(fsAwaitFor)
	defer deadline.Stop()
	poll := time.NewTicker(time.Millisecond)
	defer poll.Stop()
	for !cond() {
		select {
		case <-poll.C:
		case <-deadline.C:
			t.Errorf("%s: not so after %s", what, fsAwaitFor)
			return
		}
	}
}

const fsAwaitFor = 10 * time.Second

type fsReserveCall struct {
	r   domain.Reservation
	key string
	now time.Time
}

// fsHot is the hot stock of the tests: memhot's, which the contract suite
// of internal/hotstocktest keeps the same as Redis's, seen through a spy
// that counts the calls of FlashSale, SaleEvents and Orders, records what
// they asked, and fails or holds on demand. The other methods go to
// memhot unobserved.
type fsHot struct {
	*memhot.HotStock

	mu       sync.Mutex
	reserves []fsReserveCall
	closed   []string
	released []*domain.Order

	// holdLoad, when set, runs at the start of every Load: a test keeps
	// the load there until what it waits for has happened.
	holdLoad func()
	loadErr  error
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
	answerCalls   atomic.Int64
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

func (h *fsHot) Answer(ctx context.Context, eventID, buyerID, key string) (*domain.ReserveResult, error) {
	h.answerCalls.Add(1)
	return h.HotStock.Answer(ctx, eventID, buyerID, key)
}

func (h *fsHot) Load(ctx context.Context, ev domain.HotEvent) (bool, error) {
	h.loadCalls.Add(1)
	if h.holdLoad != nil {
		h.holdLoad()
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

// fsTokens is the purchase tokens of the tests: auth's own (computation
// only, no I/O, so no second implementation to keep honest), on the
// harness's clock, seen through a spy that counts calls and fails every
// Verify with verifyErr when set.
type fsTokens struct {
	*auth.PurchaseTokens
	verifyErr   error
	issueCalls  atomic.Int64
	verifyCalls atomic.Int64
}

// fsTokenTTL outlives every clock the tests set, so that a token issued
// at fsT0 is valid throughout.
const fsTokenTTL = 24 * time.Hour

// fsNewTokens returns auth's purchase tokens, keyed alike in every test,
// on the clock now.
func fsNewTokens(now func() time.Time) *auth.PurchaseTokens {
	p, err := auth.NewPurchaseTokens([]byte("flashlive-service-test-secret-0123456789"), fsTokenTTL, now)
	if err != nil {
		panic(err)
	}
	return p
}

// fsTokenAt is the token issued at now to buyerID for eventID.
func fsTokenAt(now time.Time, buyerID, eventID string) string {
	tok, err := fsNewTokens(func() time.Time { return now }).Issue(buyerID, eventID)
	if err != nil {
		panic(err)
	}
	return tok.Token
}

// fsToken is the token issued at fsT0 to buyerID for eventID.
func fsToken(buyerID, eventID string) string { return fsTokenAt(fsT0, buyerID, eventID) }

func (k *fsTokens) Issue(buyerID, eventID string) (domain.PurchaseToken, error) {
	k.issueCalls.Add(1)
	return k.PurchaseTokens.Issue(buyerID, eventID)
}

func (k *fsTokens) Verify(token, buyerID, eventID string) error {
	k.verifyCalls.Add(1)
	if err := k.PurchaseTokens.Verify(token, buyerID, eventID); err != nil {
		return err
	}
	return k.verifyErr
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
		source: &fsSource{HotEventSource: memsource.New()},
		pub:    &fsPublisher{},
		clock:  fsNewClock(fsT0),
		logs:   &fsLogBuffer{},
	}
	h.tokens = &fsTokens{PurchaseTokens: fsNewTokens(h.clock.Now)}
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
