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

// Preheat returns the job body that loads into the hot stock every event
// that starts within window, so that the hot path never reads PostgreSQL.
func Preheat(src preheatSource, sale preheater, window time.Duration, logger *slog.Logger, now func() time.Time) func(context.Context) error {
	return func(ctx context.Context) error {
		ids, err := src.EventsToPreheat(ctx, now(), window)
		if err != nil {
			return fmt.Errorf("events to preheat: %w", err)
		}
		n, err := sale.Preheat(ctx, ids)
		if n > 0 {
			logger.Info("preheated flash events", "count", n)
		}
		return err
	}
}

// dueOrders lists unpaid orders whose payment window has closed.
type dueOrders interface {
	DueOrderIDs(ctx context.Context, now time.Time, limit int) ([]string, error)
}

// expiryPublisher sends an order to the expiry consumer.
type expiryPublisher interface {
	PublishExpiry(ctx context.Context, orderID string) error
}

// ScanExpiries returns the job body that finds orders past their payment
// window and publishes one expiry message each. Every instance may run it:
// the stream drops duplicates and the expiry itself is conditional.
func ScanExpiries(store dueOrders, pub expiryPublisher, now func() time.Time) func(context.Context) error {
	return func(ctx context.Context) error {
		ids, err := store.DueOrderIDs(ctx, now(), 1000)
		if err != nil {
			return fmt.Errorf("due orders: %w", err)
		}
		for _, id := range ids {
			if err := pub.PublishExpiry(ctx, id); err != nil {
				return err
			}
		}
		return nil
	}
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

// ExpireOrder returns the handler of expiry messages: PostgreSQL expires
// the order (conditionally: a payment that came first wins), then the hot
// stock gets its units back. Both steps are idempotent, so a message that
// comes again after a crash in between finishes the work.
func ExpireOrder(store expirer, hot releaser, live domain.LiveNotifier, logger *slog.Logger) func(context.Context, string) error {
	return func(ctx context.Context, id string) error {
		o, err := store.ExpireOrder(ctx, id)
		if domain.ErrorCode(err) == domain.ENOTFOUND {
			logger.WarnContext(ctx, "expiry of an unknown order", "order_id", id)
			return nil
		} else if err != nil {
			return err
		}
		if o.Status != domain.OrderExpired || o.FlashEventID == "" {
			return nil
		}
		released, err := hot.Release(ctx, o)
		if err != nil {
			return fmt.Errorf("release expired order %s: %w", id, err)
		}
		if released {
			logger.InfoContext(ctx, "order expired", "order_id", id, "event_id", o.FlashEventID, "units", o.Quantity())
			live.OrderChanged(o)
			live.StockChanged(o.FlashEventID)
		}
		return nil
	}
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

// WriteOrders returns the order writer's batch handler: one transaction
// for the batch in PostgreSQL, then the outbox records are forgotten (a
// failure there only leaves work for reconciliation, never a lost order).
// A reservation PostgreSQL refused, because the event's sold count would
// pass its stock, is logged loudly and its hot units are given back.
func WriteOrders(store reservationStore, hot outbox, live domain.LiveNotifier, logger *slog.Logger) func(context.Context, []domain.Reservation) error {
	return func(ctx context.Context, rs []domain.Reservation) error {
		written, refused, err := store.WriteReservations(ctx, rs)
		if err != nil {
			return err
		}
		for _, r := range written {
			live.OrderChanged(r.Order(domain.OrderAwaitingPayment, nil))
		}
		for _, r := range refused {
			logger.ErrorContext(ctx, "PostgreSQL refused a reservation that would oversell; its order is CANCELLED",
				"order_id", r.OrderID, "event_id", r.EventID, "request_id", r.RequestID)
			o := r.Order(domain.OrderCancelled, nil)
			if _, err := hot.Release(ctx, o); err != nil {
				logger.ErrorContext(ctx, "release refused reservation", "order_id", r.OrderID, "err", err)
			}
			live.OrderChanged(o)
			live.StockChanged(r.EventID)
		}
		if err := hot.Forget(ctx, append(written, refused...)); err != nil {
			logger.WarnContext(ctx, "forget written reservations; reconciliation will", "err", err)
		}
		return nil
	}
}
