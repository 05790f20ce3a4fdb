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
// An order takes a place on the buyer's list (Orders) just before the
// hot stock is asked to reserve it, in a step of its own (the list lives
// in the buyer's Redis slot, the stock in the event's): a press that
// finds no place is answered LIMIT_REACHED, and one whose reservation was
// not made gives its place back. Paying or cancelling gives it back too
// (Orders.Unpaid), as do the order's expiry and a reservation the order
// writer refused (jobs.Expiry, jobs.OrderWriter); whatever happens, the
// place frees itself Window after the reservation. So the list may count
// an order that no longer holds stock (a give-back that failed, a crash in
// between) until then, but never misses one within it: the cap holds.
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
// order takes its place on the buyer's list first; without one, the key's
// first answer is given when the hot stock (or the system of record)
// keeps one, as a replay, and errUnpaidCap otherwise: the refusal is not
// kept under the key (it took nothing, and a retry once an order is paid
// is a new press). When the hot stock did not reserve the order (a
// refusal, a replay, an answer that says so for sure), its place is given
// back; when the answer is unknown (Redis did not answer), it is kept, so
// that the cap holds whatever happened.
func (s *FlashSale) reserveUnpaid(ctx context.Context, rsv domain.Reservation, key string, now time.Time) (domain.ReserveResult, error) {
	c := s.Unpaid
	if !c.on() {
		return s.reserve(ctx, rsv, key, now)
	}
	ok, err := c.Orders.Admit(ctx, rsv.BuyerID, rsv.OrderID, now.Add(c.Window), now, c.Max)
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
	reserved := err == nil && res.Outcome == domain.OutcomeReserved && res.Reservation != nil && res.Reservation.OrderID == rsv.OrderID
	surely := err == nil || errors.Is(err, domain.ErrNotLoaded) || domain.ErrorCode(err) != domain.EINTERNAL
	if !reserved && surely {
		s.dropUnpaid(ctx, rsv.BuyerID, rsv.OrderID)
	}
	return res, err
}

// dropUnpaid gives back the place of an order that did not take stock; a
// failure only over-counts the buyer until the order's window ends.
func (s *FlashSale) dropUnpaid(ctx context.Context, buyerID, orderID string) {
	if err := s.Unpaid.Orders.Drop(ctx, buyerID, orderID); err != nil {
		s.Logger.WarnContext(ctx, "give back the unpaid place of an order not reserved; it frees itself when its window ends",
			"order_id", orderID, "err", err)
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
