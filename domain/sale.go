package domain

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"
)

// FlashSale implements FlashSaleService: the hot path of a flash sale. A
// purchase touches only the hot stock (one atomic script) and the order
// stream (an asynchronous publish); PostgreSQL is read only to load an
// event that is not in the hot stock yet, once per event however many
// buyers ask at once.
type FlashSale struct {
	Hot       HotStock
	Source    HotEventSource
	Publisher OrderPublisher
	Tokens    PurchaseTokens
	// Settled reports whether every reservation sent to the order stream
	// is written. An event is reloaded from PostgreSQL (after the hot
	// stock lost it) only then, so that the rebuilt hot stock counts every
	// unit already promised. A first load waits for nothing.
	Settled func(ctx context.Context) (bool, error)
	// NewOrderID makes a unique, time-sortable order ID for an order of
	// the event (see FlashOrderID).
	NewOrderID func(eventID string) string
	Now        func() time.Time
	Logger     *slog.Logger
	// Live is told of stock and order changes (nil: nobody).
	Live LiveNotifier

	loads  flightGroup
	events eventCache
}

var _ FlashSaleService = (*FlashSale)(nil)

// eventCacheTTL is how long FlashSale trusts what it read of an event for
// issuing tokens; unknown IDs are remembered as long, so that a storm of
// requests for a bad ID costs one read.
const eventCacheTTL = 2 * time.Second

// PurchaseToken implements FlashSaleService.
func (s *FlashSale) PurchaseToken(ctx context.Context, eventID string) (*PurchaseToken, error) {
	me, err := RequireRole(ctx, RoleBuyer)
	if err != nil {
		return nil, err
	}
	ev, err := s.event(ctx, eventID)
	if err != nil {
		return nil, err
	}
	snap, err := s.Hot.Snapshot(ctx, eventID)
	if errors.Is(err, ErrNotLoaded) {
		if err := s.ensureLoaded(ctx, eventID); err != nil {
			return nil, err
		}
		snap, err = s.Hot.Snapshot(ctx, eventID)
	}
	if err != nil {
		return nil, err
	}
	hot := *ev
	hot.Closed = hot.Closed || snap.Closed
	if st := hot.statusAt(s.Now(), snap.Remaining); st != FlashEventLive {
		return nil, Errorf(ECONFLICT, "the flash event is %s; purchase tokens are issued only while it is LIVE", st)
	}
	t, err := s.Tokens.Issue(me.UserID, eventID)
	if err != nil {
		return nil, err
	}
	return &t, nil
}

// Purchase implements FlashSaleService.
func (s *FlashSale) Purchase(ctx context.Context, r PurchaseRequest) (*PurchaseResult, error) {
	me, err := RequireRole(ctx, RoleBuyer)
	if err != nil {
		return nil, err
	}
	if err := r.Validate(); err != nil {
		return nil, err
	}
	if err := s.Tokens.Verify(r.Token, me.UserID, r.EventID); err != nil {
		return nil, err
	}
	now := s.Now()
	rsv := Reservation{
		OrderID:   s.NewOrderID(r.EventID),
		BuyerID:   me.UserID,
		EventID:   r.EventID,
		Quantity:  r.Quantity,
		CreatedAt: now,
		RequestID: RequestIDFromContext(ctx),
	}
	res, err := s.Hot.Reserve(ctx, rsv, r.IdempotencyKey, now)
	if errors.Is(err, ErrNotLoaded) {
		if err := s.ensureLoaded(ctx, r.EventID); err != nil {
			return nil, err
		}
		res, err = s.Hot.Reserve(ctx, rsv, r.IdempotencyKey, now)
	}
	if errors.Is(err, ErrNotLoaded) {
		return nil, Errorf(EUNAVAILABLE, "the flash event is being loaded; try again in a moment")
	} else if err != nil {
		return nil, err
	}
	left := res.Remaining
	out := &PurchaseResult{Outcome: res.Outcome, Remaining: &left}
	if res.Outcome == OutcomeReserved && res.Reservation != nil {
		got := res.Reservation
		if got.OrderID == rsv.OrderID {
			// A new reservation, not the first answer to a repeated key.
			if err := s.Publisher.PublishReservation(ctx, *got); err != nil {
				// The outbox has it: reconciliation publishes it again.
				s.Logger.ErrorContext(ctx, "publish reservation", "order_id", got.OrderID, "err", err)
			}
		}
		out.Order = got.Order(OrderPending, nil)
		if got.OrderID == rsv.OrderID {
			live := notifierOr(s.Live)
			live.StockChanged(r.EventID)
			live.OrderChanged(out.Order)
		}
	}
	return out, nil
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
	return s.loads.do(ctx, eventID, func(ctx context.Context) error {
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
				return Errorf(EUNAVAILABLE, "the flash event is being rebuilt; try again in a moment")
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
// source at most once per eventCacheTTL (and once at a time).
func (s *FlashSale) event(ctx context.Context, id string) (*HotEvent, error) {
	if ev, err, ok := s.events.get(id, s.Now()); ok {
		return ev, err
	}
	var ev *HotEvent
	err := s.loads.do(ctx, "read:"+id, func(ctx context.Context) error {
		var err error
		if cached, cerr, ok := s.events.get(id, s.Now()); ok {
			ev, err = cached, cerr
			return err
		}
		ev, err = s.Source.BriefHotEvent(ctx, id)
		if err == nil || ErrorCode(err) == ENOTFOUND {
			s.events.put(id, ev, err, s.Now())
		}
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

func (e *HotEvent) statusAt(now time.Time, remaining int) FlashEventStatus {
	var closedAt *time.Time
	if e.Closed {
		closedAt = &now
	}
	fe := FlashEvent{StartsAt: e.StartsAt, EndsAt: e.EndsAt, ClosedAt: closedAt}
	return fe.StatusAt(now, remaining)
}

// HotStockReader is the StockReader of a server with a hot stock: the
// stock left of loaded events comes from it, that of the others from
// PostgreSQL's sold count.
type HotStockReader struct {
	Hot HotStock
}

var _ StockReader = HotStockReader{}

// RemainingStock implements StockReader.
func (h HotStockReader) RemainingStock(ctx context.Context, events []*FlashEvent) (map[string]int, error) {
	ids := make([]string, len(events))
	for i, e := range events {
		ids[i] = e.ID
	}
	hot, err := h.Hot.Remaining(ctx, ids)
	if err != nil {
		return nil, err
	}
	cold, _ := SoldCountStock{}.RemainingStock(ctx, events)
	for id, n := range hot {
		cold[id] = n
	}
	return cold, nil
}

// flightGroup runs one call per key at a time; callers that come while it
// runs wait for it and share its error. (golang.org/x/sync/singleflight
// does the same; domain imports only the standard library.)
type flightGroup struct {
	mu sync.Mutex
	m  map[string]*flight
}

type flight struct {
	done chan struct{}
	err  error
}

// flightTimeout bounds a shared call: it runs detached from the first
// caller's context, so that one buyer leaving does not fail the others.
const flightTimeout = 5 * time.Second

// do runs fn once for all concurrent callers with key. Each caller waits
// at most until its own ctx ends.
func (g *flightGroup) do(ctx context.Context, key string, fn func(context.Context) error) error {
	g.mu.Lock()
	f, ok := g.m[key]
	if !ok {
		if g.m == nil {
			g.m = map[string]*flight{}
		}
		f = &flight{done: make(chan struct{})}
		g.m[key] = f
		go func() {
			fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), flightTimeout)
			defer cancel()
			f.err = fn(fctx)
			g.mu.Lock()
			delete(g.m, key)
			g.mu.Unlock()
			close(f.done)
		}()
	}
	g.mu.Unlock()
	select {
	case <-f.done:
		return f.err
	case <-ctx.Done():
		return Errorf(EUNAVAILABLE, "the flash event is still loading; try again in a moment")
	}
}

// eventCache remembers events (and unknown IDs) for eventCacheTTL. It
// holds at most maxCachedEvents entries and starts afresh past that.
type eventCache struct {
	mu sync.Mutex
	m  map[string]cachedEvent
}

type cachedEvent struct {
	ev  *HotEvent
	err error
	at  time.Time
}

const maxCachedEvents = 10_000

func (c *eventCache) get(id string, now time.Time) (*HotEvent, error, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[id]
	if !ok || now.Sub(e.at) > eventCacheTTL || now.Before(e.at) {
		return nil, nil, false
	}
	return e.ev, e.err, true
}

func (c *eventCache) put(id string, ev *HotEvent, err error, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil || len(c.m) >= maxCachedEvents {
		c.m = map[string]cachedEvent{}
	}
	c.m[id] = cachedEvent{ev: ev, err: err, at: now}
}
