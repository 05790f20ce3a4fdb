package postgres

import (
	"cmp"
	"context"
	"errors"
	"slices"

	"github.com/jackc/pgx/v5"

	"flashlive/domain"
)

// PayOrder pays an order of the calling buyer while it is
// AWAITING_PAYMENT and its payment window is open; paying a PAID order
// again returns it unchanged. The status change is conditional, so a
// payment racing the order's expiry either wins or is refused: never both.
// UNAUTHENTICATED, NOT_FOUND (unknown, or another buyer's order),
// FORBIDDEN (its seller or an ADMIN), CONFLICT (the payment window has
// closed, or the order is cancelled or completed).
func (s *OrderStore) PayOrder(ctx context.Context, id string) (*domain.Order, error) {
	me, err := domain.RequirePrincipal(ctx)
	if err != nil {
		return nil, err
	}
	return s.move(ctx, id, transition{
		op: "pay order",
		update: `
			UPDATE orders o SET status = $2, paid_at = $3, updated_at = $3
			WHERE o.id = $1 AND o.status = $4 AND o.expires_at > $3 AND o.buyer_id = $5
			RETURNING ` + orderColumns,
		args: []any{string(domain.OrderPaid), s.db.Now(), string(domain.OrderAwaitingPayment), me.UserID},
		miss: func(o *orderRow) (*domain.Order, error) {
			if err := buyerOf(o, me); err != nil {
				return nil, err
			}
			switch o.Status {
			case domain.OrderPaid:
				return o.Order, nil
			case domain.OrderAwaitingPayment, domain.OrderExpired:
				return nil, domain.Errorf(domain.ECONFLICT, "the payment window has closed")
			default:
				return nil, domain.Errorf(domain.ECONFLICT, "the order is %s and cannot be paid", o.Status)
			}
		},
	})
}

// CancelOrder cancels an AWAITING_PAYMENT order of the calling buyer and,
// in the same transaction, gives its units back to PostgreSQL: exactly
// once, whatever the number of calls. It returns the CANCELLED order, so
// that the caller can release the hot stock too. UNAUTHENTICATED,
// NOT_FOUND, FORBIDDEN (as PayOrder), CONFLICT (paid, completed, expired
// or cancelled already).
func (s *OrderStore) CancelOrder(ctx context.Context, id string) (*domain.Order, error) {
	me, err := domain.RequirePrincipal(ctx)
	if err != nil {
		return nil, err
	}
	return s.move(ctx, id, transition{
		op: "cancel order",
		update: `
			UPDATE orders o SET status = $2, updated_at = $3
			WHERE o.id = $1 AND o.status = $4 AND o.buyer_id = $5
			RETURNING ` + orderColumns,
		args:         []any{string(domain.OrderCancelled), s.db.Now(), string(domain.OrderAwaitingPayment), me.UserID},
		returnsStock: true,
		miss: func(o *orderRow) (*domain.Order, error) {
			if err := buyerOf(o, me); err != nil {
				return nil, err
			}
			return nil, domain.Errorf(domain.ECONFLICT, "the order is %s and can no longer be cancelled", o.Status)
		},
	})
}

// ExpireOrder expires an AWAITING_PAYMENT order whose payment window has
// closed and, in the same transaction, gives its units back to PostgreSQL.
// Any other order comes back unchanged, without error: the caller reads
// its status. An order EXPIRED already is returned as such, so that a
// redelivered expiry can still release the hot stock (Release is
// idempotent); a PAID one never expires. NOT_FOUND for unknown IDs. It is
// a system job: no caller is checked.
func (s *OrderStore) ExpireOrder(ctx context.Context, id string) (*domain.Order, error) {
	return s.move(ctx, id, transition{
		op: "expire order",
		update: `
			UPDATE orders o SET status = $2, updated_at = $3
			WHERE o.id = $1 AND o.status = $4 AND o.expires_at <= $3
			RETURNING ` + orderColumns,
		args:         []any{string(domain.OrderExpired), s.db.Now(), string(domain.OrderAwaitingPayment)},
		returnsStock: true,
		miss:         func(o *orderRow) (*domain.Order, error) { return o.Order, nil },
	})
}

// CompleteOrder marks a PAID order COMPLETED (delivered). The caller must
// be a seller of one of its items or an ADMIN. UNAUTHENTICATED, NOT_FOUND
// (an order the caller may not see), FORBIDDEN (its buyer), CONFLICT
// unless PAID.
func (s *OrderStore) CompleteOrder(ctx context.Context, id string) (*domain.Order, error) {
	me, err := domain.RequirePrincipal(ctx)
	if err != nil {
		return nil, err
	}
	return s.move(ctx, id, transition{
		op: "complete order",
		update: `
			UPDATE orders o SET status = $2, updated_at = $3
			WHERE o.id = $1 AND o.status = $4
			  AND ($5 OR EXISTS (SELECT 1 FROM order_items i WHERE i.order_id = o.id AND i.seller_id = $6))
			RETURNING ` + orderColumns,
		args: []any{string(domain.OrderCompleted), s.db.Now(), string(domain.OrderPaid), me.Role == domain.RoleAdmin, me.UserID},
		miss: func(o *orderRow) (*domain.Order, error) {
			switch {
			case !o.visibleTo(me):
				return nil, domain.Errorf(domain.ENOTFOUND, "order not found")
			case me.Role != domain.RoleAdmin && !o.soldBy(me.UserID):
				return nil, domain.Errorf(domain.EFORBIDDEN, "only a seller of the order's products may complete it")
			}
			return nil, domain.Errorf(domain.ECONFLICT, "the order is %s; only PAID orders can be completed", o.Status)
		},
	})
}

// transition is one conditional change of an order's status.
type transition struct {
	// op names the change in errors: "pay order".
	op string
	// update changes the order whose ID is $1, when its status and the
	// caller allow, and returns it (orderColumns); args are its parameters
	// from $2 on.
	update string
	args   []any
	// returnsStock reports whether the new status gives the order's units
	// back, in the same transaction as the change.
	returnsStock bool
	// miss answers for an order that update left as it was: the error
	// saying why, or the order when as it stands it is the answer.
	miss func(*orderRow) (*domain.Order, error)
}

// move makes the transition t on the order id in one transaction and
// returns the changed order with its items. When t.update changes
// nothing, it reads the order (NOT_FOUND when there is none) and returns
// what t.miss makes of it.
func (s *OrderStore) move(ctx context.Context, id string, t transition) (*domain.Order, error) {
	var o *domain.Order
	err := s.db.Pool.inTx(ctx, pgx.TxOptions{}, func(tx pgx.Tx) error {
		changed, err := scanOrder(tx.QueryRow(ctx, t.update, append([]any{id}, t.args...)...))
		if errors.Is(err, pgx.ErrNoRows) {
			return nil
		}
		if err != nil {
			return translate(err, t.op, "order")
		}
		if _, err := loadItems(ctx, tx, []*domain.Order{changed}); err != nil {
			return err
		}
		if t.returnsStock {
			if err := returnStock(ctx, tx, changed); err != nil {
				return err
			}
		}
		o = changed
		return nil
	})
	if err != nil {
		return nil, err
	}
	if o != nil {
		// The caller's write, and the buyer's: the job that expires an
		// order has no principal, the buyer's list must show it at once.
		s.db.wrote(ctx, o.BuyerID)
		return o, nil
	}
	row, err := findOrder(ctx, s.db.Pool, id)
	if err != nil {
		return nil, err
	}
	return t.miss(row)
}

// returnStock gives back the units of o, cancelled or expired in tx: to
// its event's sold count for a flash order, to its products' stock for a
// cart order.
func returnStock(ctx context.Context, tx pgx.Tx, o *domain.Order) error {
	if o.FlashEventID != "" {
		tag, err := tx.Exec(ctx, `UPDATE flash_events SET sold = sold - $2 WHERE id = $1`, o.FlashEventID, o.Quantity())
		if err != nil {
			return translate(err, "return flash event stock", "flash event")
		}
		if tag.RowsAffected() != 1 {
			return domain.Errorf(domain.EINTERNAL, "flash event %s of order %s is gone", o.FlashEventID, o.ID)
		}
		return nil
	}
	items := slices.Clone(o.Items)
	slices.SortFunc(items, func(a, b domain.OrderItem) int { return cmp.Compare(a.ProductID, b.ProductID) })
	ids := make([]string, len(items))
	qtys := make([]int32, len(items))
	for i, it := range items {
		ids[i], qtys[i] = it.ProductID, int32(it.Quantity)
	}
	// Lock in ID order first, as PlaceOrder does, so that the two queue
	// instead of deadlocking.
	if _, err := tx.Exec(ctx, `SELECT FROM products WHERE id = ANY($1) ORDER BY id FOR NO KEY UPDATE`, ids); err != nil {
		return translate(err, "lock products", "product")
	}
	_, err := tx.Exec(ctx, `
		UPDATE products p SET stock = p.stock + t.quantity
		FROM unnest($1::text[], $2::int[]) AS t(id, quantity) WHERE p.id = t.id`, ids, qtys)
	return translate(err, "return product stock", "product")
}

// buyerOf returns nil when me is the order's buyer; NOT_FOUND when me may
// not see the order, FORBIDDEN when me sees it as its seller or an ADMIN.
func buyerOf(o *orderRow, me domain.Principal) error {
	switch {
	case !o.visibleTo(me):
		return domain.Errorf(domain.ENOTFOUND, "order not found")
	case o.BuyerID != me.UserID:
		return domain.Errorf(domain.EFORBIDDEN, "only the buyer may do this")
	}
	return nil
}
