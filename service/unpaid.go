package service

import (
	"context"
	"errors"
	"time"

	"flashlive/domain"
)

// UnpaidCap bounds how many flash orders one buyer may hold unpaid at
// once, across events: accounts are free, so without it a script could
// take an event's whole stock one unit per account and hold it for the
// payment window; with it, each account holds at most Max orders'
// worth.
//
// A purchase takes a place on the buyer's list (Orders), under its
// domain.PurchaseID, just before the hot stock is asked to reserve it, in
// a step of its own (the list lives in the buyer's Redis slot, the stock
// in the event's). Every press of one idempotency key shares that place,
// so retries in flight never crowd each other out. A press that finds no
// place gets its key's first answer when one is kept, LIMIT_REACHED
// otherwise. A refusal gives the place back; a replayed RESERVED gives
// back the retry's place once the order stands for it. The order writer
// lists the order in its purchase's place as it writes it
// (jobs.OrderWriter), and
// paying, cancelling, expiry or a refused write take it off (Orders,
// jobs.Expiry, jobs.OrderWriter); whatever happens, a place frees itself
// Window after the press. So the list may count a purchase that holds no
// stock (a call that failed, a crash in between, a key retried after its
// order was paid) until then, but never misses one: the cap holds.
type UnpaidCap struct {
	// Orders is every buyer's list of unpaid orders; nil means no cap.
	Orders domain.UnpaidOrders
	// Max is how many unpaid orders a buyer may hold; 0 or less means no
	// cap.
	Max int
	// Window is how long after its reservation an order counts at most:
	// the payment window, plus a margin for the order's write (its
	// payment window starts then).
	Window time.Duration
}

// on reports whether the cap applies.
func (c UnpaidCap) on() bool {
	return c.Orders != nil && c.Max > 0 && c.Window > 0
}

// errUnpaidCap is what reserveUnpaid returns for a press the cap refused
// that is no replay: Purchase answers it LIMIT_REACHED.
var errUnpaidCap = errors.New("the buyer holds as many unpaid flash orders as they may")

// reserveUnpaid is reserve within the buyer's cap of unpaid orders. The
// purchase takes its place on the buyer's list first; without one, the
// key's first answer is given when the hot stock (or the system of
// record) keeps one, as a replay, and errUnpaidCap otherwise: the refusal
// is not kept under the key (it took nothing, and a retry once an order
// is paid is a new press). After the hot stock answered, a refusal gives
// the place back and a replayed RESERVED settles it (Replayed); a fresh
// reservation keeps it for the order writer, and so does an error (Redis
// may have reserved), so that the cap holds whatever happened.
func (s *FlashSale) reserveUnpaid(ctx context.Context, rsv domain.Reservation, key string, now time.Time) (domain.ReserveResult, error) {
	c := s.Unpaid
	if !c.on() {
		return s.reserve(ctx, rsv, key, now)
	}
	id := domain.PurchaseID(rsv.EventID, key)
	ok, err := c.Orders.Admit(ctx, rsv.BuyerID, id, now.Add(c.Window), now, c.Max)
	if err != nil {
		return domain.ReserveResult{}, err
	}
	if !ok {
		kept, err := s.keptAnswer(ctx, rsv.BuyerID, rsv.EventID, key)
		if err != nil {
			return domain.ReserveResult{}, err
		}
		if kept == nil {
			return domain.ReserveResult{}, errUnpaidCap
		}
		res := *kept
		res.Replay = true
		return res, nil
	}
	res, err := s.reserve(ctx, rsv, key, now)
	switch {
	case err != nil:
	case res.Outcome != domain.OutcomeReserved || res.Reservation == nil:
		s.settleUnpaid(ctx, "give back the unpaid place of a refused press", rsv, func() error {
			return c.Orders.Drop(ctx, rsv.BuyerID, id)
		})
	case res.Reservation.OrderID != rsv.OrderID:
		s.settleUnpaid(ctx, "settle the unpaid place of a replayed press", rsv, func() error {
			return c.Orders.Replayed(ctx, rsv.BuyerID, id, res.Reservation.OrderID)
		})
	}
	return res, err
}

// settleUnpaid runs a give-back of a press's place; a failure only
// over-counts the buyer until the place's window ends.
func (s *FlashSale) settleUnpaid(ctx context.Context, what string, rsv domain.Reservation, give func() error) {
	if err := give(); err != nil {
		s.Logger.WarnContext(ctx, what+"; it frees itself when its window ends", "event_id", rsv.EventID, "buyer_id", rsv.BuyerID, "err", err)
	}
}

// unpaidCapReached is the answer to a press the cap refused: the stock
// left is not known (the hot stock was not asked).
func unpaidCapReached() *domain.PurchaseResult {
	return &domain.PurchaseResult{Outcome: domain.OutcomeLimitReached}
}

// dropUnpaid takes a flash order that is no longer unpaid (paid,
// cancelled) off its buyer's list, when there is one; a failure only
// over-counts the buyer until the order's window ends.
func (o *Orders) dropUnpaid(ctx context.Context, ord *domain.Order) {
	if o.Unpaid == nil || ord.FlashEventID == "" {
		return
	}
	if err := o.Unpaid.Drop(ctx, ord.BuyerID, ord.ID); err != nil {
		o.Logger.WarnContext(ctx, "take a settled order off its buyer's unpaid list; it frees itself when its window ends",
			"order_id", ord.ID, "err", err)
	}
}
