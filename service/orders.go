package service

import (
	"context"
	"log/slog"

	"flashlive/domain"
)

// Orders implements domain.OrderService over the system of record (Store,
// PostgreSQL) and the hot stock: it answers for orders that are reserved
// but not written yet, and gives the hot stock back the units of the
// orders it cancels.
type Orders struct {
	Store  domain.OrderService
	Hot    domain.HotStock
	Logger *slog.Logger
	// Live is told of every status change made here; never nil
	// (domain.NopNotifier for nobody).
	Live domain.LiveNotifier
	// Unpaid, when set, is the list of unpaid orders that a paid or
	// cancelled flash order leaves (see UnpaidCap).
	Unpaid domain.UnpaidOrders
}

var _ domain.OrderService = (*Orders)(nil)

// FindOrderByID implements domain.OrderService. While a flash order is being
// written it is found as PENDING, by its buyer only.
func (o *Orders) FindOrderByID(ctx context.Context, id string) (*domain.Order, error) {
	ord, err := o.Store.FindOrderByID(ctx, id)
	if domain.ErrorCode(err) != domain.ENOTFOUND {
		return ord, err
	}
	pend, perr := o.pending(ctx, id, err)
	if domain.ErrorCode(perr) == domain.ENOTFOUND {
		// The writer may have written it (and forgotten the reservation)
		// between the two reads: look once more.
		return o.Store.FindOrderByID(ctx, id)
	}
	return pend, perr
}

// pending returns the PENDING order of a reservation of the caller, or
// notFound.
func (o *Orders) pending(ctx context.Context, id string, notFound error) (*domain.Order, error) {
	me, ok := domain.PrincipalFromContext(ctx)
	if !ok {
		return nil, notFound
	}
	r, err := o.Hot.FindReservation(ctx, id)
	if domain.ErrorCode(err) == domain.ENOTFOUND {
		return nil, notFound
	} else if err != nil {
		return nil, err
	}
	if r.BuyerID != me.UserID && me.Role != domain.RoleAdmin {
		return nil, notFound
	}
	return r.Order(domain.OrderPending, nil), nil
}

// FindOrders implements domain.OrderService.
func (o *Orders) FindOrders(ctx context.Context, f domain.OrderFilter) (domain.Page[*domain.Order], error) {
	return o.Store.FindOrders(ctx, f)
}

// PlaceOrder implements domain.OrderService.
func (o *Orders) PlaceOrder(ctx context.Context, p domain.PlaceOrder) (*domain.Order, error) {
	return o.Store.PlaceOrder(ctx, p)
}

// PayOrder implements domain.OrderService.
func (o *Orders) PayOrder(ctx context.Context, id string) (*domain.Order, error) {
	ord, err := o.Store.PayOrder(ctx, id)
	if err != nil {
		return nil, o.whilePending(ctx, id, err)
	}
	o.dropUnpaid(ctx, ord)
	o.Live.OrderChanged(ord)
	return ord, nil
}

// CancelOrder implements domain.OrderService. PostgreSQL takes the order back
// first; then the hot stock gets its units, exactly once (Release is
// idempotent). Should that fail, reconciliation releases it later.
func (o *Orders) CancelOrder(ctx context.Context, id string) (*domain.Order, error) {
	ord, err := o.Store.CancelOrder(ctx, id)
	if err != nil {
		return nil, o.whilePending(ctx, id, err)
	}
	if ord.FlashEventID != "" {
		if _, err := o.Hot.Release(ctx, ord); err != nil {
			o.Logger.ErrorContext(ctx, "release hot stock of a cancelled order; reconciliation will", "order_id", id, "err", err)
		}
		o.dropUnpaid(ctx, ord)
		o.Live.StockChanged(ord.FlashEventID)
	}
	o.Live.OrderChanged(ord)
	return ord, nil
}

// CompleteOrder implements domain.OrderService.
func (o *Orders) CompleteOrder(ctx context.Context, id string) (*domain.Order, error) {
	ord, err := o.Store.CompleteOrder(ctx, id)
	if err != nil {
		return nil, err
	}
	o.Live.OrderChanged(ord)
	return ord, nil
}

// whilePending turns NOT_FOUND for an order still being written into a
// CONFLICT that tells the buyer to retry.
func (o *Orders) whilePending(ctx context.Context, id string, err error) error {
	if domain.ErrorCode(err) != domain.ENOTFOUND {
		return err
	}
	if _, perr := o.pending(ctx, id, err); perr == nil {
		return domain.Errorf(domain.ECONFLICT, "the order is still being written; try again in a moment")
	}
	return err
}
