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
//   - an outbox record older than OrphanAge whose order is not written is
//     a reservation whose publish was lost (a crash between the script and
//     the publish): it is published again; one whose order is written is
//     forgotten;
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
	for _, ev := range events {
		if err := r.republishOrphans(ctx, ev.ID); err != nil {
			return err
		}
	}
	settled, err := r.Settled(ctx)
	if err != nil || !settled {
		return err
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
