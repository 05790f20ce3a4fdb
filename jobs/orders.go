package jobs

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"flashlive/domain"
)

// preheatSource lists the events that start within a window of now (and
// those already LIVE).
type preheatSource interface {
	EventsToPreheat(ctx context.Context, now time.Time, window time.Duration) ([]string, error)
}

// preheater loads events into the hot stock, never overwriting one that is
// loaded.
type preheater interface {
	Preheat(ctx context.Context, eventIDs []string) (int, error)
}

// Preheat loads into the hot stock every event that starts within Window,
// so that the hot path never reads PostgreSQL.
type Preheat struct {
	Events preheatSource
	Sale   preheater
	Window time.Duration
	Logger *slog.Logger
	Now    func() time.Time
}

// Run is the job body.
func (p *Preheat) Run(ctx context.Context) error {
	ids, err := p.Events.EventsToPreheat(ctx, p.Now(), p.Window)
	if err != nil {
		return fmt.Errorf("events to preheat: %w", err)
	}
	n, err := p.Sale.Preheat(ctx, ids)
	if n > 0 {
		p.Logger.InfoContext(ctx, "preheated flash events", "count", n)
	}
	return err
}

// dueOrders lists unpaid orders whose payment window has closed.
type dueOrders interface {
	DueOrderIDs(ctx context.Context, now time.Time, limit int) ([]string, error)
}

// expiryPublisher sends an order to the expiry consumer.
type expiryPublisher interface {
	PublishExpiry(ctx context.Context, orderID string) error
}

// ScanExpiries finds orders past their payment window and publishes one
// expiry message each, at most Batch a run. Every instance may run it: the
// stream drops duplicates and the expiry itself is conditional.
type ScanExpiries struct {
	Orders    dueOrders
	Publisher expiryPublisher
	Now       func() time.Time
}

// expiryBatch is how many due orders one scan publishes at most; the next
// scan takes the rest.
const expiryBatch = 1000

// Run is the job body.
func (s *ScanExpiries) Run(ctx context.Context) error {
	ids, err := s.Orders.DueOrderIDs(ctx, s.Now(), expiryBatch)
	if err != nil {
		return fmt.Errorf("due orders: %w", err)
	}
	for _, id := range ids {
		if err := s.Publisher.PublishExpiry(ctx, id); err != nil {
			return err
		}
	}
	return nil
}

// expirer expires one order if it is still unpaid and due; it returns the
// order as it stands afterwards.
type expirer interface {
	ExpireOrder(ctx context.Context, id string) (*domain.Order, error)
}

// releaser gives the hot stock back the units of an order, once per order.
type releaser interface {
	Release(ctx context.Context, o *domain.Order) (bool, error)
}

// Expiry handles expiry messages: PostgreSQL expires the order
// (conditionally: a payment that came first wins), then the hot stock gets
// its units back and, when Unpaid is set, the order leaves its buyer's
// list of unpaid orders. Each step is idempotent, so a message that comes
// again after a crash in between finishes the work.
type Expiry struct {
	Orders expirer
	Hot    releaser
	Unpaid unpaidList // nil: no list of unpaid orders to keep
	Live   domain.LiveNotifier
	Logger *slog.Logger
}

// Handle expires the order id; an unknown order is logged and done.
func (e *Expiry) Handle(ctx context.Context, id string) error {
	o, err := e.Orders.ExpireOrder(ctx, id)
	if domain.ErrorCode(err) == domain.ENOTFOUND {
		e.Logger.WarnContext(ctx, "expiry of an unknown order", "order_id", id)
		return nil
	} else if err != nil {
		return err
	}
	if o.Status != domain.OrderExpired || o.FlashEventID == "" {
		return nil
	}
	released, err := e.Hot.Release(ctx, o)
	if err != nil {
		return fmt.Errorf("release expired order %s: %w", id, err)
	}
	dropUnpaid(ctx, e.Unpaid, e.Logger, o.BuyerID, o.ID)
	if released {
		e.Logger.InfoContext(ctx, "order expired", "order_id", id, "event_id", o.FlashEventID, "units", o.Quantity())
		e.Live.OrderChanged(o)
		e.Live.StockChanged(o.FlashEventID)
	}
	return nil
}

// reservationStore writes reservations as orders: written ones (new or
// already there) and refused ones (no stock left in PostgreSQL: written
// as CANCELLED orders).
type reservationStore interface {
	WriteReservations(ctx context.Context, rs []domain.Reservation) (written, refused []domain.Reservation, err error)
}

// outbox forgets the reservations whose orders are written, and gives back
// the units of refused ones.
type outbox interface {
	Forget(ctx context.Context, rs []domain.Reservation) error
	Release(ctx context.Context, o *domain.Order) (bool, error)
}

// unpaidList is every buyer's list of unpaid purchases
// (domain.UnpaidOrders): written orders take their purchase's place, and
// orders that are no longer unpaid leave it.
type unpaidList interface {
	Written(ctx context.Context, rs []domain.Reservation) error
	Drop(ctx context.Context, buyerID, id string) error
}

// dropUnpaid takes an order that is no longer unpaid (expired, refused)
// off its buyer's list, when there is one; a failure only over-counts the
// buyer until the list's own window for the order ends.
func dropUnpaid(ctx context.Context, list unpaidList, logger *slog.Logger, buyerID, id string) {
	if list == nil {
		return
	}
	if err := list.Drop(ctx, buyerID, id); err != nil {
		logger.WarnContext(ctx, "take an order off its buyer's unpaid list; it frees itself when its window ends",
			"id", id, "err", err)
	}
}

// OrderWriter is the order stream's batch handler: one transaction for
// the batch in PostgreSQL, then the outbox records are forgotten (a failure
// there only leaves work for reconciliation, never a lost order). A
// reservation PostgreSQL refused, because the event's sold count would pass
// its stock, is logged loudly and its hot units are given back. When
// Unpaid is set, each order of the batch takes its purchase's place on
// its buyer's list of unpaid orders before it is written, and refused
// ones leave it. The orders are written with the product, seller and price
// of their event as PostgreSQL has them (see WriteReservations); a message
// that said otherwise is logged as an error, as no honest publisher sends
// one.
type OrderWriter struct {
	Orders reservationStore
	Hot    outbox
	Unpaid unpaidList // nil: no list to keep
	Live   domain.LiveNotifier
	Logger *slog.Logger
}

// Handle writes one batch; an error leaves the whole batch to be handled
// again.
func (w *OrderWriter) Handle(ctx context.Context, rs []domain.Reservation) error {
	// Listed by order ID before the orders exist, so that a payment or a
	// cancel, which needs the written order, always finds it listed.
	if w.Unpaid != nil {
		if err := w.Unpaid.Written(ctx, rs); err != nil {
			// Their purchases stay listed until their window ends: an
			// over-count, and paying one does not free its place.
			w.Logger.WarnContext(ctx, "list orders on their buyers' unpaid lists", "err", err)
		}
	}
	written, refused, err := w.Orders.WriteReservations(ctx, rs)
	if err != nil {
		return err
	}
	w.logForged(ctx, rs, append(written[:len(written):len(written)], refused...))
	for _, r := range written {
		w.Live.OrderChanged(r.Order(domain.OrderAwaitingPayment, nil))
	}
	for _, r := range refused {
		w.Logger.ErrorContext(ctx, "PostgreSQL refused a reservation that would oversell; its order is CANCELLED",
			"order_id", r.OrderID, "event_id", r.EventID, "request_id", r.RequestID)
		o := r.Order(domain.OrderCancelled, nil)
		if _, err := w.Hot.Release(ctx, o); err != nil {
			w.Logger.ErrorContext(ctx, "release refused reservation", "order_id", r.OrderID, "err", err)
		}
		dropUnpaid(ctx, w.Unpaid, w.Logger, r.BuyerID, r.OrderID)
		w.Live.OrderChanged(o)
		w.Live.StockChanged(r.EventID)
	}
	if err := w.Hot.Forget(ctx, append(written, refused...)); err != nil {
		w.Logger.WarnContext(ctx, "forget written reservations; reconciliation will", "err", err)
	}
	return nil
}

// logForged logs each reservation of sent whose product, seller or price
// differs from what was written (PostgreSQL's values).
func (w *OrderWriter) logForged(ctx context.Context, sent, wrote []domain.Reservation) {
	byID := make(map[string]domain.Reservation, len(wrote))
	for _, r := range wrote {
		byID[r.OrderID] = r
	}
	for _, m := range sent {
		r, ok := byID[m.OrderID]
		if !ok || (m.ProductID == r.ProductID && m.SellerID == r.SellerID && m.UnitPriceCents == r.UnitPriceCents) {
			continue
		}
		w.Logger.ErrorContext(ctx, "order stream: a reservation disagreed with its event; written with the event's product, seller and price",
			"order_id", m.OrderID, "event_id", m.EventID, "request_id", m.RequestID,
			"sent_product", m.ProductID, "product", r.ProductID, "sent_seller", m.SellerID, "seller", r.SellerID,
			"sent_price_cents", m.UnitPriceCents, "price_cents", r.UnitPriceCents)
	}
}
