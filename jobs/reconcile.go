package jobs

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"sync"
	"time"

	"flashlive/domain"
)

// reconcileEvents lists the events a pass looks at.
type reconcileEvents interface {
	EventsToReconcile(ctx context.Context, now time.Time) ([]*domain.FlashEvent, error)
}

// reconcileOrders answers what a pass asks PostgreSQL: which orders are
// written, which of an event's orders died since a moment, and the units
// of an event's live orders (and which of the given outbox IDs are
// written).
type reconcileOrders interface {
	OrdersExist(ctx context.Context, ids []string) (map[string]bool, error)
	DeadOrdersSince(ctx context.Context, eventID string, since time.Time) ([]string, error)
	Conservation(ctx context.Context, eventID string, ids []string) (live int, written map[string]bool, err error)
}

// settler reports whether every reservation sent to the order stream is
// written.
type settler interface {
	Settled(ctx context.Context) (bool, error)
}

// DriftReporter receives the conservation difference of each event a pass
// could check: 0 when all is well.
type DriftReporter interface {
	ReportDrift(eventID string, drift int)
}

// DriftForgetter is a DriftReporter that is also told, after each
// complete pass, every event the pass reconciled, so that it can forget
// the drift of the others: events that ended, or no longer need it.
type DriftForgetter interface {
	KeepDrift(eventIDs []string)
}

// Reconciler proves, and where it can restores, that every reservation
// becomes an order and that stock is conserved:
//
//   - once the order stream has settled (the writer has written all it
//     was given), an outbox record older than OrphanAge whose order is not
//     written is a reservation whose publish was lost (a crash between the
//     script and the publish): it is published again; one whose order is
//     written is forgotten;
//   - an order that PostgreSQL cancelled or expired since the last pass,
//     and whose units the hot stock still holds (a crash or a Redis error
//     between the two, or a rebuild that read the order a moment before
//     it died), gets them back through the idempotent Release;
//   - once the order stream has settled, for every loaded event,
//     stock = remaining + units in live orders + units still in the outbox;
//     the difference is reported through Drift (0 when all is well) and
//     logged loudly when it is not; a pass during which the hot stock
//     moved proves nothing and reports nothing.
type Reconciler struct {
	Events    reconcileEvents
	Orders    reconcileOrders
	Hot       domain.HotStock
	Publisher domain.OrderPublisher
	// Live is told of the stock reconciliation gives back.
	Live   domain.LiveNotifier
	Stream settler
	// OrphanAge is how old an outbox record must be to count as orphaned.
	OrphanAge time.Duration
	// Drift receives the conservation difference of each checked event.
	Drift  DriftReporter
	Logger *slog.Logger
	Now    func() time.Time

	// mu makes passes run one at a time; it guards deadSince, where the
	// next pass looks for dead orders from (the start of the last complete
	// pass, less a margin).
	mu        sync.Mutex
	deadSince time.Time
}

// deadLookback is how far back the first pass looks for dead orders, and
// deadMargin how far before the previous pass the next one looks.
const (
	deadLookback = 15 * time.Minute
	deadMargin   = 30 * time.Second
)

// Run is the job body: one pass over recent events. Passes run one at a
// time.
func (r *Reconciler) Run(ctx context.Context) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	events, err := r.Events.EventsToReconcile(ctx, r.Now())
	if err != nil {
		return fmt.Errorf("events to reconcile: %w", err)
	}
	// Only a settled stream tells an orphan (never published) from a
	// reservation the writer has not reached yet; republishing the latter
	// would only add load while the writer is behind.
	settled, err := r.Stream.Settled(ctx)
	if err != nil || !settled {
		return err
	}
	start := r.Now()
	since := r.deadSince
	if since.IsZero() {
		since = start.Add(-deadLookback)
	}
	for _, ev := range events {
		if err := r.republishOrphans(ctx, ev.ID); err != nil {
			return err
		}
		if err := r.releaseDead(ctx, ev.ID, since); err != nil {
			return err
		}
	}
	r.deadSince = start.Add(-deadMargin)
	for _, ev := range events {
		drift, known, err := r.drift(ctx, ev)
		if err != nil {
			return err
		}
		if !known {
			continue
		}
		r.Drift.ReportDrift(ev.ID, drift)
		if drift != 0 {
			r.Logger.Error("STOCK DRIFT: stock != remaining + live orders + outbox", "event_id", ev.ID, "stock", ev.Stock, "drift", drift)
		}
	}
	if f, ok := r.Drift.(DriftForgetter); ok {
		ids := make([]string, len(events))
		for i, ev := range events {
			ids[i] = ev.ID
		}
		f.KeepDrift(ids)
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

// releaseDead gives back the hot units of the event's orders that died
// (cancelled, expired, refused) since the last pass: Release acts only on
// the ones the hot stock still holds, once.
func (r *Reconciler) releaseDead(ctx context.Context, eventID string, since time.Time) error {
	ids, err := r.Orders.DeadOrdersSince(ctx, eventID, since)
	if err != nil {
		return err
	}
	for _, id := range ids {
		released, err := r.Hot.Release(ctx, &domain.Order{ID: id, FlashEventID: eventID})
		if err != nil {
			return err
		}
		if released {
			r.Logger.Warn("released the hot units of a dead order", "order_id", id, "event_id", eventID)
			r.Live.StockChanged(eventID)
		}
	}
	return nil
}

// drift returns stock - (remaining + live units + outbox units not yet
// written) for ev, and whether it could tell: the event must be loaded,
// and the hot stock must not change while PostgreSQL is read (else a
// reservation made in between would count twice or not at all).
func (r *Reconciler) drift(ctx context.Context, ev *domain.FlashEvent) (int, bool, error) {
	before, err := r.Hot.Tally(ctx, ev.ID)
	if errors.Is(err, domain.ErrNotLoaded) {
		return 0, false, nil
	} else if err != nil {
		return 0, false, err
	}
	ids := make([]string, 0, len(before.Outbox))
	for id := range before.Outbox {
		ids = append(ids, id)
	}
	live, written, err := r.Orders.Conservation(ctx, ev.ID, ids)
	if err != nil {
		return 0, false, err
	}
	after, err := r.Hot.Tally(ctx, ev.ID)
	if err != nil || after.Remaining != before.Remaining || !maps.Equal(after.Outbox, before.Outbox) {
		return 0, false, err // still selling: look again next time
	}
	outbox := 0
	for id, units := range before.Outbox {
		if !written[id] {
			outbox += units
		}
	}
	return ev.Stock - (before.Remaining + live + outbox), true, nil
}
