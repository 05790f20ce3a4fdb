// Package memhot is an in-memory domain.HotStock, for the tests of the
// services that use one (package service).
//
// It is a second implementation of the hot stock, beside storage/redis's,
// and it is kept honest the same way: internal/hotstocktest runs one
// contract suite over both, so that a rule here cannot drift from the Lua
// script it mirrors. Each method follows its script step by step and in
// the same order (reserve.lua, load.lua, release.lua, close.lua): an
// answer of memhot is the answer Redis would give.
//
// What memhot does not model is what Redis does on its own: losing data,
// pipelining, the precision of its clock. Answers kept under idempotency
// keys expire by the HotStock's Now, where Redis's expire by its own.
package memhot

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"time"

	"flashlive/domain"
)

// DefaultIdempotencyTTL is how long the first answer to an idempotency key
// is kept when New is given no TTL: storage/redis's default.
const DefaultIdempotencyTTL = 24 * time.Hour

// RefusalTTL bounds how long an answer that took nothing (SOLD_OUT,
// LIMIT_REACHED, ...) is kept: storage/redis's bound.
const RefusalTTL = 10 * time.Minute

// HotStock is an in-memory hot stock of flash events. At every step, for
// each loaded event, stock = remaining + sum(held), remaining >= 0, and a
// reservation never takes a buyer past the limit. A HotStock is safe for
// concurrent use; each method is one atomic step, as each script is.
type HotStock struct {
	// Now is the clock by which kept answers expire and by which Load
	// measures what is left of a kept answer's TTL (time.Now unless set
	// before use).
	Now func() time.Time

	idemTTL time.Duration

	mu      sync.Mutex
	events  map[string]*event
	answers map[string]answer // by idemKey
}

var _ domain.HotStock = (*HotStock)(nil)

// event is what Redis holds under one event's hash tag.
type event struct {
	loaded bool // meta exists
	// closedMark is close.lua's marker: set by Close, loaded or not.
	closedMark bool
	meta       meta
	held       map[string]int
	orders     map[string]heldUnits // the orders whose units were taken here
	outbox     map[string]domain.Reservation
	buyers     map[string]struct{} // ever answered RESERVED; only grows
}

// meta is an event's meta hash; times are Unix milliseconds, as stored.
type meta struct {
	productID, sellerID string
	priceCents          int64
	stock, remaining    int
	limit               int
	startsMs, endsMs    int64
	closed              bool
}

type heldUnits struct {
	units int
	buyer string
}

type answer struct {
	res     domain.ReserveResult
	expires time.Time
}

// New returns an empty hot stock that keeps the first answer to an
// idempotency key for idemTTL (DefaultIdempotencyTTL when idemTTL <= 0).
func New(idemTTL time.Duration) *HotStock {
	if idemTTL <= 0 {
		idemTTL = DefaultIdempotencyTTL
	}
	return &HotStock{
		Now:     time.Now,
		idemTTL: idemTTL,
		events:  map[string]*event{},
		answers: map[string]answer{},
	}
}

func idemKey(eventID, buyerID, key string) string {
	return eventID + "\x00" + buyerID + "\x00" + key
}

// ev returns the state of eventID, creating it empty (not loaded).
func (s *HotStock) ev(eventID string) *event {
	e, ok := s.events[eventID]
	if !ok {
		e = &event{held: map[string]int{}, orders: map[string]heldUnits{}, outbox: map[string]domain.Reservation{}}
		s.events[eventID] = e
	}
	return e
}

func (s *HotStock) loadedEvent(eventID string) (*event, bool) {
	e, ok := s.events[eventID]
	return e, ok && e.loaded
}

func copyResult(r domain.ReserveResult) domain.ReserveResult {
	if r.Reservation != nil {
		cp := *r.Reservation
		r.Reservation = &cp
	}
	return r
}

// Reserve implements domain.HotStock as reserve.lua does: a key seen
// before gets its first answer; then the event must be loaded; then
// closed, not started, ended, sold out and the buyer's limit are checked,
// in that order. Every answer but ErrNotLoaded is kept under the key.
// INVALID for a missing ID, a quantity below 1 or a bad key; CONFLICT when
// r.OrderID is reserved already.
func (s *HotStock) Reserve(_ context.Context, r domain.Reservation, idempotencyKey string, now time.Time) (domain.ReserveResult, error) {
	switch {
	case r.EventID == "":
		return domain.ReserveResult{}, domain.Errorf(domain.EINVALID, "reserve: eventId is required")
	case r.BuyerID == "":
		return domain.ReserveResult{}, domain.Errorf(domain.EINVALID, "reserve: buyerId is required")
	case r.OrderID == "":
		return domain.ReserveResult{}, domain.Errorf(domain.EINVALID, "reserve: orderId is required")
	case r.Quantity < 1:
		return domain.ReserveResult{}, domain.Errorf(domain.EINVALID, "reserve: quantity must be at least 1")
	}
	if err := domain.ValidateIdempotencyKey(idempotencyKey); err != nil {
		return domain.ReserveResult{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	k := idemKey(r.EventID, r.BuyerID, idempotencyKey)
	if a, ok := s.answers[k]; ok && s.Now().Before(a.expires) {
		res := copyResult(a.res)
		res.Replay = true
		return res, nil
	}
	e, ok := s.loadedEvent(r.EventID)
	if !ok {
		return domain.ReserveResult{}, domain.ErrNotLoaded
	}
	m := &e.meta
	keep := func(res domain.ReserveResult) (domain.ReserveResult, error) {
		ttl := min(s.idemTTL, RefusalTTL)
		if res.Reservation != nil {
			ttl = s.idemTTL
		}
		s.answers[k] = answer{res: copyResult(res), expires: s.Now().Add(ttl)}
		return res, nil
	}
	nowMs := now.UnixMilli()
	switch {
	case m.closed:
		return keep(domain.ReserveResult{Outcome: domain.OutcomeClosed, Remaining: m.remaining})
	case nowMs < m.startsMs:
		return keep(domain.ReserveResult{Outcome: domain.OutcomeNotStarted, Remaining: m.remaining})
	case nowMs >= m.endsMs:
		return keep(domain.ReserveResult{Outcome: domain.OutcomeEnded, Remaining: m.remaining})
	case m.remaining < r.Quantity:
		return keep(domain.ReserveResult{Outcome: domain.OutcomeSoldOut, Remaining: m.remaining})
	case e.held[r.BuyerID]+r.Quantity > m.limit:
		return keep(domain.ReserveResult{Outcome: domain.OutcomeLimitReached, Remaining: m.remaining})
	}
	_, inOrders := e.orders[r.OrderID]
	_, inOutbox := e.outbox[r.OrderID]
	if inOrders || inOutbox {
		return domain.ReserveResult{}, domain.Errorf(domain.ECONFLICT, "order %s is already reserved", r.OrderID)
	}
	m.remaining -= r.Quantity
	e.held[r.BuyerID] += r.Quantity
	e.orders[r.OrderID] = heldUnits{units: r.Quantity, buyer: r.BuyerID}
	e.addBuyer(r.BuyerID)
	rsv := domain.Reservation{
		OrderID:        r.OrderID,
		BuyerID:        r.BuyerID,
		EventID:        r.EventID,
		ProductID:      m.productID,
		SellerID:       m.sellerID,
		Quantity:       r.Quantity,
		UnitPriceCents: m.priceCents,
		CreatedAt:      r.CreatedAt.UTC().Truncate(time.Millisecond),
		RequestID:      r.RequestID,
		IdempotencyKey: idempotencyKey,
		RemainingAfter: m.remaining,
	}
	e.outbox[r.OrderID] = rsv
	return keep(domain.ReserveResult{Outcome: domain.OutcomeReserved, Remaining: m.remaining, Reservation: &rsv})
}

// Answer implements domain.HotStock as storage/redis's does: the answer
// kept under the key, else nil for a loaded event and ErrNotLoaded for
// one not loaded. It changes nothing.
func (s *HotStock) Answer(_ context.Context, eventID, buyerID, idempotencyKey string) (*domain.ReserveResult, error) {
	if eventID == "" || buyerID == "" {
		return nil, domain.Errorf(domain.EINVALID, "answer: eventId and buyerId are required")
	}
	if err := domain.ValidateIdempotencyKey(idempotencyKey); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if a, ok := s.answers[idemKey(eventID, buyerID, idempotencyKey)]; ok && s.Now().Before(a.expires) {
		res := copyResult(a.res)
		return &res, nil
	}
	if _, ok := s.loadedEvent(eventID); !ok {
		return nil, domain.ErrNotLoaded
	}
	return nil, nil
}

// Load implements domain.HotStock as load.lua does: a loaded event keeps
// its stock and held units (only Closed goes through); a fresh load takes
// ev's stock, held units and unpaid orders, and keeps ev.Answers under
// their keys (where no answer is kept already) until idemTTL after their
// reservation. ev must be consistent (Remaining + sum(Held) == Stock, no
// negative numbers, unpaid orders held by their buyers, kept answers of
// this event with their key), or Load returns an error and changes nothing.
func (s *HotStock) Load(_ context.Context, ev domain.HotEvent) (bool, error) {
	if ev.ID == "" {
		return false, domain.Errorf(domain.EINVALID, "load: event ID is required")
	}
	held := 0
	for b, n := range ev.Held {
		if n < 0 {
			return false, fmt.Errorf("load event %s: buyer %s holds %d units", ev.ID, b, n)
		}
		held += n
	}
	if ev.Stock < 0 || ev.Remaining < 0 || ev.Remaining+held != ev.Stock {
		return false, fmt.Errorf("load event %s: remaining %d + held %d != stock %d", ev.ID, ev.Remaining, held, ev.Stock)
	}
	for _, o := range ev.Unpaid {
		if o.Units < 1 || o.Units > ev.Held[o.BuyerID] {
			return false, fmt.Errorf("load event %s: unpaid order %s of %d units is not held by %s", ev.ID, o.OrderID, o.Units, o.BuyerID)
		}
	}
	type kept struct {
		key string
		res domain.ReserveResult
		ttl time.Duration
	}
	var answers []kept
	now := s.Now()
	for _, r := range ev.Answers {
		ttl := r.CreatedAt.Add(s.idemTTL).Sub(now)
		if ttl < time.Millisecond {
			continue
		}
		if r.IdempotencyKey == "" || r.BuyerID == "" || r.OrderID == "" || r.EventID != ev.ID {
			return false, fmt.Errorf("load event %s: kept answer for order %q lacks its key, buyer or event", ev.ID, r.OrderID)
		}
		answers = append(answers, kept{
			key: idemKey(ev.ID, r.BuyerID, r.IdempotencyKey),
			res: domain.ReserveResult{Outcome: domain.OutcomeReserved, Remaining: r.RemainingAfter, Reservation: &r},
			ttl: ttl.Truncate(time.Millisecond),
		})
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	e := s.ev(ev.ID)
	closed := ev.Closed || e.closedMark
	if e.loaded {
		if closed {
			e.meta.closed = true
		}
		return false, nil
	}
	e.held = map[string]int{}
	for b, n := range ev.Held {
		if n != 0 {
			e.held[b] = n
			e.addBuyer(b)
		}
	}
	e.orders = map[string]heldUnits{}
	for _, o := range ev.Unpaid {
		e.orders[o.OrderID] = heldUnits{units: o.Units, buyer: o.BuyerID}
	}
	for _, a := range answers {
		if cur, ok := s.answers[a.key]; ok && now.Before(cur.expires) {
			continue
		}
		s.answers[a.key] = answer{res: copyResult(a.res), expires: now.Add(a.ttl)}
		e.addBuyer(a.res.Reservation.BuyerID)
	}
	e.meta = meta{
		productID: ev.ProductID, sellerID: ev.SellerID, priceCents: ev.PriceCents,
		stock: ev.Stock, remaining: ev.Remaining, limit: ev.PerUserLimit,
		startsMs: ev.StartsAt.UnixMilli(), endsMs: ev.EndsAt.UnixMilli(), closed: closed,
	}
	e.loaded = true
	return true, nil
}

func (e *event) addBuyer(id string) {
	if e.buyers == nil {
		e.buyers = map[string]struct{}{}
	}
	e.buyers[id] = struct{}{}
}

// SaleView implements domain.HotStock; Buyers are sorted.
func (s *HotStock) SaleView(_ context.Context, eventID string, maxBuyers int) (domain.HotSaleView, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.loadedEvent(eventID)
	if !ok {
		return domain.HotSaleView{}, domain.ErrNotLoaded
	}
	v := domain.HotSaleView{Remaining: e.meta.remaining, Closed: e.meta.closed, EndsAt: time.UnixMilli(e.meta.endsMs).UTC(), BuyerCount: len(e.buyers)}
	if v.BuyerCount > maxBuyers {
		return v, nil
	}
	for b := range e.buyers {
		v.Buyers = append(v.Buyers, b)
	}
	sort.Strings(v.Buyers)
	return v, nil
}

// IsLoaded implements domain.HotStock.
func (s *HotStock) IsLoaded(_ context.Context, eventID string) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok := s.loadedEvent(eventID)
	return ok, nil
}

// Snapshot implements domain.HotStock. ErrNotLoaded when the event is not
// loaded.
func (s *HotStock) Snapshot(_ context.Context, eventID string) (domain.HotSnapshot, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.loadedEvent(eventID)
	if !ok {
		return domain.HotSnapshot{}, domain.ErrNotLoaded
	}
	return domain.HotSnapshot{Remaining: e.meta.remaining, Closed: e.meta.closed}, nil
}

// Close implements domain.HotStock as close.lua does: the event is closed
// for good, and an event not loaded yet loads closed whatever its source
// says.
func (s *HotStock) Close(_ context.Context, eventID string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	e := s.ev(eventID)
	e.closedMark = true
	if e.loaded {
		e.meta.closed = true
	}
	return nil
}

// Release implements domain.HotStock as release.lua does: it gives back
// the units Reserve (or a Load's unpaid orders) recorded for o.ID, once,
// and nothing for an order of no flash event, an event not loaded, or an
// order not recorded here.
func (s *HotStock) Release(_ context.Context, o *domain.Order) (bool, error) {
	if o == nil || o.FlashEventID == "" || o.ID == "" {
		return false, nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.loadedEvent(o.FlashEventID)
	if !ok {
		return false, nil
	}
	h, ok := e.orders[o.ID]
	if !ok {
		return false, nil
	}
	delete(e.orders, o.ID)
	e.meta.remaining += h.units
	if e.held[h.buyer] -= h.units; e.held[h.buyer] <= 0 {
		delete(e.held, h.buyer)
	}
	return true, nil
}

// Remaining implements domain.HotStock: events not loaded are absent.
func (s *HotStock) Remaining(_ context.Context, eventIDs []string) (map[string]int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]int, len(eventIDs))
	for _, id := range eventIDs {
		if e, ok := s.loadedEvent(id); ok {
			out[id] = e.meta.remaining
		}
	}
	return out, nil
}

// Reservations implements domain.HotStock: the outbox records with
// CreatedAt strictly before before, oldest first (ties by order ID).
func (s *HotStock) Reservations(_ context.Context, eventID string, before time.Time) ([]domain.Reservation, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []domain.Reservation
	if e, ok := s.events[eventID]; ok {
		for _, r := range e.outbox {
			if r.CreatedAt.Before(before) {
				out = append(out, r)
			}
		}
	}
	domain.SortOldestFirst(out)
	return out, nil
}

// FindReservation implements domain.HotStock: NOT_FOUND for IDs of no
// flash order (domain.FlashOrderID) and once the record is forgotten.
func (s *HotStock) FindReservation(_ context.Context, orderID string) (*domain.Reservation, error) {
	eventID, ok := domain.EventOfFlashOrder(orderID)
	if !ok {
		return nil, domain.Errorf(domain.ENOTFOUND, "order not found")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.events[eventID]
	if !ok {
		return nil, domain.Errorf(domain.ENOTFOUND, "order not found")
	}
	r, ok := e.outbox[orderID]
	if !ok {
		return nil, domain.Errorf(domain.ENOTFOUND, "order not found")
	}
	return &r, nil
}

// Forget implements domain.HotStock: it deletes the outbox records of rs
// and changes no stock.
func (s *HotStock) Forget(_ context.Context, rs []domain.Reservation) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, r := range rs {
		if e, ok := s.events[r.EventID]; ok {
			delete(e.outbox, r.OrderID)
		}
	}
	return nil
}

// Tally implements domain.HotStock: remaining and the outbox's units by
// order ID, in one step. ErrNotLoaded when the event is not loaded.
func (s *HotStock) Tally(_ context.Context, eventID string) (domain.HotTally, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.loadedEvent(eventID)
	if !ok {
		return domain.HotTally{}, domain.ErrNotLoaded
	}
	t := domain.HotTally{Remaining: e.meta.remaining, Outbox: make(map[string]int, len(e.outbox))}
	for id, r := range e.outbox {
		t.Outbox[id] = r.Quantity
	}
	return t, nil
}
