package jobs

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"flashlive/domain"
)

// Reconciler proves, and where it can restores, that every reservation
// becomes an order and that stock is conserved:
//
//   - once the order stream has settled (the writer has written all it
//     was given), an outbox record older than OrphanAge whose order is not
//     written is a reservation whose publish was lost (a crash between the
//     script and the publish): it is published again; one whose order is
//     written is forgotten;
//   - an order the hot stock still holds units for, but that PostgreSQL
//     has cancelled or expired (a crash or a Redis error between the two,
//     or a rebuild that read the order a moment before it died), gets its
//     units back through the idempotent Release;
//   - once the order stream has settled, for every loaded event,
//     stock = remaining + units in live orders + units still in the outbox;
//     the difference is reported through Drift (0 when all is well) and
//     logged loudly when it is not 0 twice in a row.
type Reconciler struct {
	Events interface {
		EventsToReconcile(ctx context.Context, now time.Time) ([]*domain.FlashEvent, error)
	}
	Orders interface {
		OrdersExist(ctx context.Context, ids []string) (map[string]bool, error)
		OrderStatuses(ctx context.Context, ids []string) (map[string]domain.OrderStatus, error)
		LiveUnits(ctx context.Context, eventID string) (int, error)
	}
	Hot       domain.HotStock
	Publisher domain.OrderPublisher
	Settled   func(ctx context.Context) (bool, error)
	// OrphanAge is how old an outbox record must be to count as orphaned.
	OrphanAge time.Duration
	// Drift receives the conservation difference of each checked event.
	Drift  func(eventID string, drift int)
	Logger *slog.Logger
	Now    func() time.Time
}

// Run is the job body: one pass over recent events.
func (r *Reconciler) Run(ctx context.Context) error {
	events, err := r.Events.EventsToReconcile(ctx, r.Now())
	if err != nil {
		return fmt.Errorf("events to reconcile: %w", err)
	}
	// Only a settled stream tells an orphan (never published) from a
	// reservation the writer has not reached yet; republishing the latter
	// would only add load while the writer is behind.
	settled, err := r.Settled(ctx)
	if err != nil || !settled {
		return err
	}
	for _, ev := range events {
		if err := r.republishOrphans(ctx, ev.ID); err != nil {
			return err
		}
		if err := r.releaseDead(ctx, ev.ID); err != nil {
			return err
		}
	}
	for _, ev := range events {
		drift, loaded, err := r.drift(ctx, ev)
		if err != nil {
			return err
		}
		if !loaded {
			continue
		}
		if drift != 0 {
			// A purchase may have landed between the reads: look again.
			if drift, _, err = r.drift(ctx, ev); err != nil {
				return err
			}
		}
		r.Drift(ev.ID, drift)
		if drift != 0 {
			r.Logger.Error("STOCK DRIFT: stock != remaining + live orders + outbox", "event_id", ev.ID, "stock", ev.Stock, "drift", drift)
		}
	}
	return nil
}

// republishOrphans publishes again the old outbox records of eventID that
// have no order, and forgets those that have one.
func (r *Reconciler) republishOrphans(ctx context.Context, eventID string) error {
	rs, err := r.Hot.Reservations(ctx, eventID, r.Now().Add(-r.OrphanAge))
	if err != nil || len(rs) == 0 {
		return err
	}
	ids := make([]string, len(rs))
	for i, x := range rs {
		ids[i] = x.OrderID
	}
	exist, err := r.Orders.OrdersExist(ctx, ids)
	if err != nil {
		return err
	}
	var written []domain.Reservation
	for _, x := range rs {
		if exist[x.OrderID] {
			written = append(written, x)
			continue
		}
		r.Logger.Warn("re-publishing an orphaned reservation", "order_id", x.OrderID, "event_id", eventID, "reserved_at", x.CreatedAt)
		if err := r.Publisher.PublishReservation(ctx, x); err != nil {
			return err
		}
	}
	if len(written) > 0 {
		return r.Hot.Forget(ctx, written)
	}
	return nil
}

// releaseDead gives back the hot units of the event's cancelled and
// expired orders that the hot stock still holds.
func (r *Reconciler) releaseDead(ctx context.Context, eventID string) error {
	ids, err := r.Hot.Ledger(ctx, eventID)
	if err != nil || len(ids) == 0 {
		return err
	}
	statuses, err := r.Orders.OrderStatuses(ctx, ids)
	if err != nil {
		return err
	}
	for _, id := range ids {
		if st, ok := statuses[id]; ok && !st.Live() {
			released, err := r.Hot.Release(ctx, &domain.Order{ID: id, FlashEventID: eventID, Status: st})
			if err != nil {
				return err
			}
			if released {
				r.Logger.Warn("released the hot units of a dead order", "order_id", id, "event_id", eventID, "status", st)
			}
		}
	}
	return nil
}

// drift returns stock - (remaining + live units + outbox units not yet
// written) for ev, and whether ev is in the hot stock at all.
func (r *Reconciler) drift(ctx context.Context, ev *domain.FlashEvent) (int, bool, error) {
	left, err := r.Hot.Remaining(ctx, []string{ev.ID})
	if err != nil {
		return 0, false, err
	}
	remaining, loaded := left[ev.ID]
	if !loaded {
		return 0, false, nil
	}
	live, err := r.Orders.LiveUnits(ctx, ev.ID)
	if err != nil {
		return 0, true, err
	}
	rs, err := r.Hot.Reservations(ctx, ev.ID, r.Now().Add(time.Hour))
	if err != nil {
		return 0, true, err
	}
	ids := make([]string, len(rs))
	for i, x := range rs {
		ids[i] = x.OrderID
	}
	exist, err := r.Orders.OrdersExist(ctx, ids)
	if err != nil {
		return 0, true, err
	}
	outbox := 0
	for _, x := range rs {
		if !exist[x.OrderID] {
			outbox += x.Quantity
		}
	}
	return ev.Stock - (remaining + live + outbox), true, nil
}
