package service

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"flashlive/domain"
)

// DefaultSoldOutRecheck is how often, at most, an instance asks the hot
// stock whether an event it knows to be sold out (or closed, or ended) can
// sell again, when FlashSale.SoldOutRecheck is zero: the bound on how long
// returned stock can go unseen.
const DefaultSoldOutRecheck = 500 * time.Millisecond

// Bounds of what the sold-out marks hold: past maxMarkedEvents the marks
// start afresh; an event with more than maxMarkedBuyers buyers is marked
// without its list, as if every buyer were on it (each press reads its
// key's kept answer).
const maxMarkedEvents = 10_000

var maxMarkedBuyers = 100_000 // a variable for the tests (export_test.go)

// EndedMargin is how long past an event's end a press still goes to the
// hot stock rather than being answered ENDED from a mark, and a mark
// answers ENDED only from a view read after it: the bound on how far the
// instances' clocks may differ plus how long a press may be in flight
// after it took its time (a Redis batch may take 5 s). Within it the hot
// stock answers, and keeps the answer under the key, so that a retry of
// the key cannot be answered ENDED here after another instance, whose
// clock is behind or whose press was late, reserved it.
const EndedMargin = 10 * time.Second

// soldOutMarks is what one instance knows of the events that can sell
// nothing now, so that their presses are answered without the rate
// limiter and without the hot stock's script: load shedding once the
// stock is gone.
//
// A mark is made from a fresh answer of the hot stock (never a replay,
// whose figures are old): SOLD_OUT or RESERVED with nothing left, CLOSED,
// ENDED. It is then confirmed by one read of the event's sale view, which
// also lists the buyers ever answered RESERVED. It is trusted for the
// recheck interval from the moment that read was sent; the first press
// after that re-reads the view (one read per event per interval per
// instance, however many presses), and the others go to the hot stock
// while it is under way, as if there were no mark. So, without any message
// between instances, returned stock (a cancel, an expiry, a refused
// reservation, a repair) is seen everywhere within the interval plus one
// read.
//
// What it keeps:
//   - A press is answered from a mark only as the hot stock would answer
//     it: CLOSED, then ENDED (from a view read once EndedMargin was past),
//     then SOLD_OUT (nothing left: every quantity is refused), the order
//     of reserve.lua's checks. Between the end and the margin the hot
//     stock answers.
//   - A key whose first answer took stock always gets that answer: only
//     the buyers in the view's list can have one (every buyer, for an
//     event with more than maxMarkedBuyers), and their presses read the
//     answer kept under their key first (Hot.Answer, one round trip: what
//     reserve.lua reads first too), which is given when there is one;
//     without one the mark answers. The one gap is a buyer whose
//     reservation came after this instance's last read (the stock came
//     back and went again within the interval): their re-ask may be
//     answered SOLD_OUT until the next read, within the interval.
//   - A press answered from a mark is not remembered under its key (that
//     would cost a write): it took nothing, and a retry of the key after
//     the stock came back is a new press. Refusals the hot stock gave are
//     still kept there, as before.
type soldOutMarks struct {
	mu sync.Mutex
	m  map[string]*soldOutMark
	// answered counts the presses answered from a mark.
	answered atomic.Int64
}

type soldOutMark struct {
	// ready is false while the first read of the view is under way: the
	// mark answers nothing yet, and no one else reads.
	ready     bool
	checking  bool      // a re-read is under way
	checked   time.Time // when the read the mark stands on was sent
	remaining int
	closed    bool
	endsAt    time.Time
	// buyers is the view's list; everyone is listed when all is set.
	buyers map[string]struct{}
	all    bool
}

// outcome is what the hot stock would answer a press at now, by the mark;
// false when the mark cannot say (its view was read less than EndedMargin
// past the end, or the event can still sell).
func (k *soldOutMark) outcome(now time.Time) (domain.PurchaseOutcome, bool) {
	switch {
	case k.closed:
		return domain.OutcomeClosed, true
	case !k.checked.Before(k.endsAt.Add(EndedMargin)):
		return domain.OutcomeEnded, true
	case now.Before(k.endsAt) && k.remaining == 0:
		return domain.OutcomeSoldOut, true
	}
	return "", false
}

// due reports whether the mark must be read again before it answers at
// now: its interval is over (or the clock went back), or the event's end
// plus EndedMargin has passed since its view was read, so that ENDED is
// answered only from a view read after it.
func (k *soldOutMark) due(now time.Time, every time.Duration) bool {
	if now.Sub(k.checked) >= every || now.Before(k.checked) {
		return true
	}
	endedBy := k.endsAt.Add(EndedMargin)
	return !k.closed && !now.Before(endedBy) && k.checked.Before(endedBy)
}

// lookup is what a press of buyer on the event finds: an answer, or a
// re-read it must make (recheck, only when mayRecheck), or neither (go to
// the hot stock). The answer is the mark's only once the press's key is
// known to have no answer of its own when listed is true (the buyer may
// hold one).
func (s *soldOutMarks) lookup(eventID, buyerID string, now time.Time, every time.Duration, mayRecheck bool) (res *domain.PurchaseResult, recheck, listed bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	k := s.m[eventID]
	if k == nil || !k.ready {
		return nil, false, false
	}
	if k.due(now, every) {
		if k.checking || !mayRecheck {
			return nil, false, false // the re-read decides; meanwhile the hot stock does
		}
		k.checking = true
		return nil, true, false
	}
	out, ok := k.outcome(now)
	if !ok {
		return nil, false, false
	}
	_, listed = k.buyers[buyerID]
	left := k.remaining
	return &domain.PurchaseResult{Outcome: out, Remaining: &left}, false, listed || k.all
}

// marked reports whether the event has a mark that may answer presses
// (ready), without touching it.
func (s *soldOutMarks) marked(eventID string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	k := s.m[eventID]
	return k != nil && k.ready
}

// claim reports whether the caller should make the first read of a new
// mark: no mark is there, ready or being made.
func (s *soldOutMarks) claim(eventID string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.m[eventID]; ok {
		return false
	}
	if s.m == nil || len(s.m) >= maxMarkedEvents {
		s.m = map[string]*soldOutMark{}
	}
	s.m[eventID] = &soldOutMark{}
	return true
}

// settle records what a read of the view sent at sent found: a mark when
// the event can sell nothing, none otherwise (or when the read failed,
// err).
func (s *soldOutMarks) settle(eventID string, v domain.HotSaleView, err error, sent time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	over := v.Closed || !sent.Before(v.EndsAt) || v.Remaining == 0
	if err != nil || !over {
		delete(s.m, eventID)
		return
	}
	k := s.m[eventID]
	if k == nil {
		return // the marks started afresh meanwhile
	}
	*k = soldOutMark{ready: true, checked: sent, remaining: v.Remaining, closed: v.Closed, endsAt: v.EndsAt, all: v.BuyerCount > len(v.Buyers)}
	if !k.all {
		k.buyers = make(map[string]struct{}, len(v.Buyers))
		for _, b := range v.Buyers {
			k.buyers[b] = struct{}{}
		}
	}
}

// marks reports whether a fresh answer of the hot stock says the event
// can sell nothing now.
func marks(res domain.ReserveResult) bool {
	if res.Replay {
		return false
	}
	switch res.Outcome {
	case domain.OutcomeClosed, domain.OutcomeEnded:
		return true
	case domain.OutcomeSoldOut, domain.OutcomeReserved:
		return res.Remaining == 0
	}
	return false
}

// soldOutAnswer answers a press from the event's mark, re-reading the
// view first when the mark is due; nil means the press goes to the hot
// stock. A buyer who may hold a first answer under key gets it read (one
// round trip, Hot.Answer) and given when there is one, the mark's answer
// otherwise; with key "" such a buyer gets nil. Uncharged (ahead of the
// rate limiter), the read is the hot stock's only: an event the hot
// stock lost gets nil, and its kept answers are read from PostgreSQL
// only by a charged press (keptAnswer).
func (s *FlashSale) soldOutAnswer(ctx context.Context, eventID, buyerID, key string, charged bool) *domain.PurchaseResult {
	every := s.SoldOutRecheck
	if every <= 0 {
		every = DefaultSoldOutRecheck
	}
	res, recheck, listed := s.soldOut.lookup(eventID, buyerID, s.Now(), every, true)
	if recheck {
		s.readSaleView(ctx, eventID)
		// A read slow enough to be due again on its return answers
		// nothing; the next press re-reads.
		res, _, listed = s.soldOut.lookup(eventID, buyerID, s.Now(), every, false)
	}
	if res == nil {
		return nil
	}
	if listed {
		if key == "" {
			return nil
		}
		var kept *domain.ReserveResult
		var err error
		if charged {
			kept, err = s.keptAnswer(ctx, buyerID, eventID, key)
		} else {
			kept, err = s.Hot.Answer(ctx, eventID, buyerID, key)
		}
		if err != nil {
			return nil // the hot stock answers, or fails, as it would have
		}
		if kept != nil {
			return purchaseResult(*kept)
		}
	}
	s.soldOut.answered.Add(1)
	return res
}

// noteAnswer marks the event when a fresh answer says it can sell nothing,
// unless it is marked (or being marked) already.
func (s *FlashSale) noteAnswer(ctx context.Context, eventID string, res domain.ReserveResult) {
	if marks(res) && s.soldOut.claim(eventID) {
		s.readSaleView(ctx, eventID)
	}
}

// readSaleView reads the event's sale view into its mark. The mark is
// stamped with the time the read was sent, not when it came back: a unit
// returned while the read was in flight is then still within the
// interval the mark is trusted for.
func (s *FlashSale) readSaleView(ctx context.Context, eventID string) {
	sent := s.Now()
	v, err := s.Hot.SaleView(ctx, eventID, maxMarkedBuyers)
	if err != nil && !errors.Is(err, domain.ErrNotLoaded) {
		s.Logger.WarnContext(ctx, "read the sale view of a sold-out event", "event_id", eventID, "err", err)
	}
	s.soldOut.settle(eventID, v, err, sent)
}

// ShedPurchase implements domain.PurchaseShedder: a press that passes
// Purchase's own checks (role, input, token) on an event this instance
// has marked sold out, closed or ended is answered from the mark, after
// at most one read of its key's kept answer in the hot stock (for a
// buyer ever answered RESERVED). A waiting-room event is never shed here:
// its presses must show an admission first (telling one needs the
// event's cached description, read once per event when it is cold). The
// mark's periodic re-read is the one other call it may make (one per
// event per recheck interval).
func (s *FlashSale) ShedPurchase(ctx context.Context, r domain.PurchaseRequest) *domain.PurchaseResult {
	if !s.soldOut.marked(r.EventID) {
		return nil
	}
	me, err := domain.RequireRole(ctx, domain.RoleBuyer)
	if err != nil || r.Validate() != nil || s.Tokens.Verify(r.Token, me.UserID, r.EventID) != nil {
		return nil
	}
	if s.Admissions != nil {
		if ev, err := s.event(ctx, r.EventID); err != nil || ev.WaitingRoom {
			return nil
		}
	}
	return s.soldOutAnswer(ctx, r.EventID, me.UserID, r.IdempotencyKey, false)
}

// SoldOutAnswers returns how many presses this instance answered from
// what it knew of sold-out, closed or ended events, without the hot stock.
func (s *FlashSale) SoldOutAnswers() int64 {
	return s.soldOut.answered.Load()
}
