package service

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"

	"flashlive/domain"
)

// FlashSale implements domain.FlashSaleService: the hot path of a flash sale. A
// purchase touches only the hot stock (one atomic script) and the order
// stream (an asynchronous publish); PostgreSQL is read only to load an
// event that is not in the hot stock yet, once per event however many
// buyers ask at once.
type FlashSale struct {
	Hot       domain.HotStock
	Source    domain.HotEventSource
	Publisher domain.OrderPublisher
	Tokens    domain.PurchaseTokens
	// Settled reports whether every reservation sent to the order stream
	// is written. An event is reloaded from PostgreSQL (after the hot
	// stock lost it) only then, so that the rebuilt hot stock counts every
	// unit already promised. A first load waits for nothing.
	Settled func(ctx context.Context) (bool, error)
	// NewOrderID makes a unique, time-sortable order ID for an order of
	// the event (see domain.FlashOrderID).
	NewOrderID func(eventID string) string
	// Now is the clock of windows, reservations and the event cache.
	Now func() time.Time
	// Logger gets what fails without failing the buyer (a publish).
	Logger *slog.Logger
	// Live is told of stock and order changes; never nil
	// (domain.NopNotifier for nobody).
	Live domain.LiveNotifier
	// SoldOutRecheck is how long a press may be answered from what this
	// instance knows of a sold-out, closed or ended event before the hot
	// stock is asked again (DefaultSoldOutRecheck when zero): the bound on
	// how long returned stock can go unseen. See soldOutMarks.
	SoldOutRecheck time.Duration
	// MaxPurchasesInFlight bounds the purchases that reach the hot stock
	// at once (DefaultMaxPurchasesInFlight when zero); a purchase waits at
	// most PurchaseWait (DefaultPurchaseWait when zero) for its turn, then
	// gets UNAVAILABLE with a retry-after. Set both before use.
	MaxPurchasesInFlight int
	PurchaseWait         time.Duration
	// Unpaid caps each buyer's unpaid flash orders across events (no cap
	// when zero); see UnpaidCap.
	Unpaid UnpaidCap
	// Admissions, when set, is asked before a purchase of a waiting-room
	// event reaches the hot stock: the buyer must hold an ADMITTED ticket
	// (nil: waiting-room events sell to any valid token).
	Admissions Admissions

	admission admission
	loads     singleflight.Group
	events    eventCache
	soldOut   soldOutMarks
}

var _ domain.FlashSaleService = (*FlashSale)(nil)

// eventCacheTTL is how long FlashSale trusts what it read of an event for
// issuing tokens; unknown IDs are remembered as long, so that a storm of
// requests for a bad ID costs one read.
const eventCacheTTL = 2 * time.Second

// PurchaseToken implements domain.FlashSaleService.
func (s *FlashSale) PurchaseToken(ctx context.Context, eventID string) (*domain.PurchaseToken, error) {
	me, err := domain.RequireRole(ctx, domain.RoleBuyer)
	if err != nil {
		return nil, err
	}
	ev, st, err := s.EventStatus(ctx, eventID)
	if err != nil {
		return nil, err
	}
	if ev.WaitingRoom {
		return nil, domain.Errorf(domain.ECONFLICT, "this flash event sells through its waiting room: join the queue (joinQueue) and buy with the purchase token of your admission")
	}
	if st != domain.FlashEventLive {
		return nil, domain.Errorf(domain.ECONFLICT, "the flash event is %s; purchase tokens are issued only while it is LIVE", st)
	}
	t, err := s.Tokens.Issue(me.UserID, eventID)
	if err != nil {
		return nil, err
	}
	return &t, nil
}

// Purchase implements domain.FlashSaleService.
func (s *FlashSale) Purchase(ctx context.Context, r domain.PurchaseRequest) (*domain.PurchaseResult, error) {
	me, err := domain.RequireRole(ctx, domain.RoleBuyer)
	if err != nil {
		return nil, err
	}
	if err := r.Validate(); err != nil {
		return nil, err
	}
	if err := s.Tokens.Verify(r.Token, me.UserID, r.EventID); err != nil {
		return s.answerAgain(ctx, me.UserID, r, err)
	}
	if err := s.checkAdmitted(ctx, me.UserID, r.EventID); err != nil {
		return nil, err
	}
	// Load shedding: once the stock is gone, presses are answered here,
	// without the hot stock's script (a past buyer's after a read of the
	// key's kept answer). LimitedSale asks ShedPurchase the same first.
	if out := s.soldOutAnswer(ctx, r.EventID, me.UserID, r.IdempotencyKey, true); out != nil {
		return out, nil
	}
	release, err := s.admit(ctx)
	if err != nil {
		return nil, err
	}
	defer release()
	now := s.Now()
	rsv := domain.Reservation{
		OrderID:   s.NewOrderID(r.EventID),
		BuyerID:   me.UserID,
		EventID:   r.EventID,
		Quantity:  r.Quantity,
		CreatedAt: now,
		RequestID: domain.RequestIDFromContext(ctx),
	}
	res, err := s.reserveUnpaid(ctx, rsv, r.IdempotencyKey, now)
	if errors.Is(err, errUnpaidCap) {
		return unpaidCapReached(), nil
	} else if errors.Is(err, domain.ErrNotLoaded) {
		return nil, domain.Errorf(domain.EUNAVAILABLE, "the flash event is being loaded; try again in a moment")
	} else if err != nil {
		if domain.ErrorCode(err) == domain.EUNAVAILABLE {
			// Such as a reservation its Redis replicas do not hold yet:
			// the buyer retries with the key; the cause is for us.
			s.Logger.WarnContext(ctx, "purchase not answered", "event_id", r.EventID, "err", err)
		}
		return nil, err
	}
	s.noteAnswer(ctx, r.EventID, res)
	out := purchaseResult(res)
	if got := res.Reservation; out.Order != nil && got.OrderID == rsv.OrderID {
		// A new reservation, not the first answer to a repeated key.
		if err := s.Publisher.PublishReservation(ctx, *got); err != nil {
			// The outbox has it: reconciliation publishes it again.
			s.Logger.ErrorContext(ctx, "publish reservation", "order_id", got.OrderID, "err", err)
		}
		live := s.Live
		live.StockChanged(r.EventID)
		live.OrderChanged(out.Order)
	}
	return out, nil
}

// reserve asks the hot stock to reserve rsv, loading its event first
// when the hot stock does not hold it.
func (s *FlashSale) reserve(ctx context.Context, rsv domain.Reservation, key string, now time.Time) (domain.ReserveResult, error) {
	res, err := s.Hot.Reserve(ctx, rsv, key, now)
	if errors.Is(err, domain.ErrNotLoaded) {
		if err := s.ensureLoaded(ctx, rsv.EventID); err != nil {
			return domain.ReserveResult{}, err
		}
		res, err = s.Hot.Reserve(ctx, rsv, key, now)
	}
	return res, err
}

// purchaseResult is the buyer's answer to what the hot stock answered:
// a RESERVED one carries its order, PENDING until written.
func purchaseResult(res domain.ReserveResult) *domain.PurchaseResult {
	left := res.Remaining
	out := &domain.PurchaseResult{Outcome: res.Outcome, Remaining: &left}
	if res.Outcome == domain.OutcomeReserved && res.Reservation != nil {
		out.Order = res.Reservation.Order(domain.OrderPending, nil)
	}
	return out
}

// answerAgain answers a purchase whose token Verify refused. An authentic
// token past its expiry (domain.ErrPurchaseTokenExpired) may still ask
// again a key already answered, and gets the first answer, whatever the
// event became since (sold out, ended): a buyer whose token ran out can no
// longer get another, but must learn what the earlier press got. It
// never reserves: a key with no kept answer is answered with the event's
// present refusal when a sold-out mark knows it can sell the buyer
// nothing, and refused as refusal says otherwise, as is every other
// refusal.
func (s *FlashSale) answerAgain(ctx context.Context, buyerID string, r domain.PurchaseRequest, refusal error) (*domain.PurchaseResult, error) {
	if !errors.Is(refusal, domain.ErrPurchaseTokenExpired) {
		return nil, refusal
	}
	res, err := s.keptAnswer(ctx, buyerID, r.EventID, r.IdempotencyKey)
	if err != nil {
		return nil, err
	}
	if res != nil {
		return purchaseResult(*res), nil
	}
	// No kept answer. A refusal answered from a sold-out mark is not kept
	// (keeping it would cost the hot stock a write per reject), so a key
	// may have been answered SOLD_OUT, ENDED or CLOSED without a trace:
	// when the event can sell this buyer nothing, its present refusal is
	// the answer, to any key (no token could buy anything anyway). A
	// buyer ever answered RESERVED (any buyer, on an event with too many to
	// list), or an event still on sale, gets the expiry.
	if out := s.soldOutAnswer(ctx, r.EventID, buyerID, "", true); out != nil {
		return out, nil
	}
	return nil, refusal
}

// keptAnswer returns the first answer given to the buyer's key of the
// event, or nil when none is kept, in at most two reads by key: the hot
// stock's (one round trip), and only when the hot stock does not hold
// the event (lost and not rebuilt yet), the RESERVED answers PostgreSQL
// keeps. A loaded hot stock holds every answer still within its TTL, so
// its "none" is final.
func (s *FlashSale) keptAnswer(ctx context.Context, buyerID, eventID, key string) (*domain.ReserveResult, error) {
	res, err := s.Hot.Answer(ctx, eventID, buyerID, key)
	if !errors.Is(err, domain.ErrNotLoaded) {
		return res, err
	}
	kept, err := s.Source.KeptAnswer(ctx, eventID, buyerID, key)
	switch {
	case domain.ErrorCode(err) == domain.ENOTFOUND:
		return nil, nil
	case err != nil:
		return nil, err
	}
	return &domain.ReserveResult{Outcome: domain.OutcomeReserved, Remaining: kept.RemainingAfter, Reservation: kept}, nil
}

// ensureLoaded loads the event into the hot stock unless it is there,
// once at a time per event. Unknown IDs are NOT_FOUND (and remembered).
func (s *FlashSale) ensureLoaded(ctx context.Context, eventID string) error {
	if ok, err := s.Hot.IsLoaded(ctx, eventID); err != nil || ok {
		return err
	}
	if _, err := s.event(ctx, eventID); err != nil {
		return err
	}
	return s.shared(ctx, eventID, func(ctx context.Context) error {
		if ok, err := s.Hot.IsLoaded(ctx, eventID); err != nil || ok {
			return err
		}
		ev, err := s.Source.HotEvent(ctx, eventID)
		if err != nil {
			return err
		}
		if ev.LoadedBefore {
			// A rebuild: reservations the lost hot stock made may still be
			// on their way to PostgreSQL. Wait until the stream has
			// settled, then read again so that they are counted.
			settled, err := s.Settled(ctx)
			if err != nil {
				return err
			}
			if !settled {
				return domain.Errorf(domain.EUNAVAILABLE, "the flash event is being rebuilt; try again in a moment")
			}
			if ev, err = s.Source.HotEvent(ctx, eventID); err != nil {
				return err
			}
		}
		if !ev.LoadedBefore {
			// Marked before it is loaded: should the load fail, the next
			// one waits as a rebuild does, which is safe; the other way
			// round, a lost hot stock could be rebuilt without waiting.
			if err := s.Source.MarkLoaded(ctx, eventID); err != nil {
				return err
			}
		}
		_, err = s.Hot.Load(ctx, *ev)
		return err
	})
}

// Preheat loads the events into the hot stock (those already loaded keep
// their stock) and returns how many it loaded.
func (s *FlashSale) Preheat(ctx context.Context, eventIDs []string) (int, error) {
	n := 0
	for _, id := range eventIDs {
		loaded, err := s.Hot.IsLoaded(ctx, id)
		if err != nil {
			return n, err
		}
		if loaded {
			continue
		}
		if err := s.ensureLoaded(ctx, id); err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}

// event returns the cached description of an event, reading it from the
// source at most once per eventCacheTTL (and once at a time). An event
// read before is never waited for: past its TTL it is answered as it was
// and read again behind the caller, so that issuing tokens for an event in
// the hot stock does not wait on PostgreSQL, even while it is away (what
// can change of an event, its closing and its stock, the hot stock says).
func (s *FlashSale) event(ctx context.Context, id string) (*domain.HotEvent, error) {
	if ev, err, ok := s.events.get(id, s.Now()); ok {
		return ev, err
	}
	read := func(ctx context.Context) (*domain.HotEvent, error) {
		if cached, cerr, ok := s.events.get(id, s.Now()); ok {
			return cached, cerr
		}
		ev, err := s.Source.BriefHotEvent(ctx, id)
		if err == nil || domain.ErrorCode(err) == domain.ENOTFOUND {
			s.events.put(id, ev, err, s.Now())
		}
		return ev, err
	}
	if ev, ok := s.events.known(id); ok {
		s.flight(ctx, "read:"+id, func(ctx context.Context) error {
			_, err := read(ctx)
			return err
		})
		return ev, nil
	}
	var ev *domain.HotEvent
	err := s.shared(ctx, "read:"+id, func(ctx context.Context) error {
		var err error
		ev, err = read(ctx)
		return err
	})
	if err != nil {
		return nil, err
	}
	if ev == nil { // read by another caller of the same flight
		var ok bool
		if ev, err, ok = s.events.get(id, s.Now()); !ok {
			// Gone from the cache already (it was reset): read it.
			ev, err = s.Source.BriefHotEvent(ctx, id)
		}
	}
	return ev, err
}

// flightTimeout bounds a shared load: it runs detached from the first
// caller's context, so that one buyer leaving does not fail the others.
const flightTimeout = 5 * time.Second

// flight runs fn once for all concurrent callers with key (singleflight),
// detached from the first caller's ctx and bounded by flightTimeout, and
// returns where its outcome arrives; nobody has to wait for it.
func (s *FlashSale) flight(ctx context.Context, key string, fn func(context.Context) error) <-chan singleflight.Result {
	return s.loads.DoChan(key, func() (any, error) {
		fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), flightTimeout)
		defer cancel()
		return nil, fn(fctx)
	})
}

// shared runs fn as a flight (see flight) and waits for it. Each caller
// waits at most until its own ctx ends: then it gets UNAVAILABLE, and the
// flight goes on for the others.
func (s *FlashSale) shared(ctx context.Context, key string, fn func(context.Context) error) error {
	select {
	case r := <-s.flight(ctx, key, fn):
		return r.Err
	case <-ctx.Done():
		return domain.Errorf(domain.EUNAVAILABLE, "the flash event is still loading; try again in a moment")
	}
}

// eventCache remembers events (and unknown IDs) for eventCacheTTL. It
// holds at most maxCachedEvents entries and starts afresh past that.
type eventCache struct {
	mu sync.Mutex
	m  map[string]cachedEvent
}

type cachedEvent struct {
	ev  *domain.HotEvent
	err error
	at  time.Time
}

const maxCachedEvents = 10_000

func (c *eventCache) get(id string, now time.Time) (*domain.HotEvent, error, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[id]
	if !ok || now.Sub(e.at) > eventCacheTTL || now.Before(e.at) {
		return nil, nil, false
	}
	return e.ev, e.err, true
}

// known returns the event id as last read, however old, unless the ID
// was unknown.
func (c *eventCache) known(id string) (*domain.HotEvent, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[id]
	return e.ev, ok && e.ev != nil
}

func (c *eventCache) put(id string, ev *domain.HotEvent, err error, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil || len(c.m) >= maxCachedEvents {
		c.m = map[string]cachedEvent{}
	}
	c.m[id] = cachedEvent{ev: ev, err: err, at: now}
}
