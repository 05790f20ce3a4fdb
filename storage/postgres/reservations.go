package postgres

import (
	"cmp"
	"context"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

	"flashlive/domain"
)

// WriteReservations writes the orders of reservations that the hot stock
// accepted, in one transaction, AWAITING_PAYMENT until now plus the
// payment timeout. Every reservation comes back in exactly one of the two
// lists:
//
//   - written: its order is in PostgreSQL, written now or before (a
//     redelivered reservation changes nothing), so its outbox record may
//     be forgotten;
//   - refused: its order was written CANCELLED because the event's stock
//     in PostgreSQL could not take its units, or its buyer would pass the
//     event's per-buyer limit (the hot stock had lost its state).
//     PostgreSQL is the last line against overselling: the event's sold
//     count never passes its stock. When a batch asks more than is left,
//     the earliest reservations (by CreatedAt) are served first.
//
// The product, seller and unit price of every order are the event's, read
// from PostgreSQL, whatever the reservation says: a message on the order
// stream is not trusted for what the buyer pays and whom. The reservations
// returned carry those values.
//
// An error writes nothing: the caller retries the batch. INVALID names a
// malformed reservation and NOT_FOUND an unknown event; a batch holding
// one fails as a whole until it is split.
func (s *OrderStore) WriteReservations(ctx context.Context, rs []domain.Reservation) (written, refused []domain.Reservation, err error) {
	if len(rs) == 0 {
		return nil, nil, nil
	}
	// One row per order ID: a batch may carry a redelivered message twice.
	uniq := make([]domain.Reservation, 0, len(rs))
	seen := make(map[string]bool, len(rs))
	events := make(map[string]bool)
	for _, r := range rs {
		if err := validReservation(&r); err != nil {
			return nil, nil, err
		}
		if !seen[r.OrderID] {
			seen[r.OrderID] = true
			uniq = append(uniq, r)
			events[r.EventID] = true
		}
	}
	eventIDs := make([]string, 0, len(events))
	for id := range events {
		eventIDs = append(eventIDs, id)
	}
	slices.Sort(eventIDs)

	now := s.db.Now()
	expiresAt := now.Add(s.paymentTimeout)
	var refusedIDs map[string]bool
	var eventFacts map[string]lockedEvent
	err = s.db.inTx(ctx, func(tx pgx.Tx) error {
		// Lock the events first, in ID order, so that concurrent batches
		// queue instead of deadlocking. NO KEY UPDATE (what UPDATE takes)
		// leaves the foreign-key checks of other writers alone.
		evs, err := lockEvents(ctx, tx, eventIDs)
		if err != nil {
			return err
		}
		eventFacts = evs
		left, limit := make(map[string]int, len(evs)), make(map[string]int, len(evs))
		for id, e := range evs {
			left[id], limit[id] = e.left, e.limit
		}
		for i := range uniq {
			evs[uniq[i].EventID].stamp(&uniq[i])
		}
		inserted, err := insertReservations(ctx, tx, uniq, now, expiresAt)
		if err != nil {
			return err
		}
		if err := keepAnswers(ctx, tx, uniq); err != nil {
			return err
		}
		held, err := heldUnits(ctx, tx, uniq, inserted)
		if err != nil {
			return err
		}
		var take map[string]int
		take, refusedIDs = allot(uniq, inserted, left, limit, held)
		if err := takeSold(ctx, tx, take); err != nil {
			return err
		}
		if len(refusedIDs) > 0 {
			ids := make([]string, 0, len(refusedIDs))
			for id := range refusedIDs {
				ids = append(ids, id)
			}
			_, err := tx.Exec(ctx, `
				UPDATE orders SET status = $2, expires_at = NULL, updated_at = $3 WHERE id = ANY($1)`,
				ids, string(domain.OrderCancelled), now)
			if err != nil {
				return translate(err, "cancel refused orders", "order")
			}
		}
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	buyers := make([]string, len(uniq))
	for i, r := range uniq {
		buyers[i] = r.BuyerID
	}
	s.db.wrote(ctx, buyers...) // their order lists show these orders at once
	for _, r := range rs {
		// The values written, for the caller to act on (uniq holds them).
		eventFacts[r.EventID].stamp(&r)
		if refusedIDs[r.OrderID] {
			refused = append(refused, r)
		} else {
			written = append(written, r)
		}
	}
	return written, refused, nil
}

func validReservation(r *domain.Reservation) error {
	switch {
	case domain.KindOfID(r.OrderID) != domain.PrefixOrder:
		return domain.Errorf(domain.EINVALID, "reservation %q: orderId is not an order ID", r.OrderID)
	case r.BuyerID == "" || r.EventID == "" || r.ProductID == "" || r.SellerID == "":
		return domain.Errorf(domain.EINVALID, "reservation %s: buyer, event, product and seller are required", r.OrderID)
	case r.Quantity < 1:
		return domain.Errorf(domain.EINVALID, "reservation %s: quantity must be at least 1", r.OrderID)
	case r.UnitPriceCents < 0:
		return domain.Errorf(domain.EINVALID, "reservation %s: unit price must not be negative", r.OrderID)
	case r.CreatedAt.IsZero():
		return domain.Errorf(domain.EINVALID, "reservation %s: createdAt is required", r.OrderID)
	}
	return nil
}

// lockedEvent is what WriteReservations reads of an event it locked.
type lockedEvent struct {
	left, limit     int // units left, per-buyer limit
	product, seller string
	price           int64
}

// stamp sets r's product, seller and unit price to the event's.
func (e lockedEvent) stamp(r *domain.Reservation) {
	r.ProductID, r.SellerID, r.UnitPriceCents = e.product, e.seller, e.price
}

// lockEvents locks the events (ids sorted) and returns, for each, the
// units it has left, its per-buyer limit, product, seller and price.
// NOT_FOUND names the first unknown one.
func lockEvents(ctx context.Context, tx pgx.Tx, ids []string) (map[string]lockedEvent, error) {
	rows, err := tx.Query(ctx, `
		SELECT id, stock - sold, per_user_limit, product_id, seller_id, price_cents
		FROM flash_events WHERE id = ANY($1) ORDER BY id FOR NO KEY UPDATE`, ids)
	if err != nil {
		return nil, translate(err, "lock flash events", "flash event")
	}
	out := make(map[string]lockedEvent, len(ids))
	var id string
	var e lockedEvent
	if _, err := pgx.ForEachRow(rows, []any{&id, &e.left, &e.limit, &e.product, &e.seller, &e.price}, func() error { out[id] = e; return nil }); err != nil {
		return nil, translate(err, "lock flash events", "flash event")
	}
	for _, id := range ids {
		if _, ok := out[id]; !ok {
			return nil, domain.Errorf(domain.ENOTFOUND, "flash event %s not found", id)
		}
	}
	return out, nil
}

// heldUnits returns the units each buyer of rs holds in live orders of the
// events of rs, leaving out the orders in except (this batch's new ones).
// The events are locked, so no other writer changes them meanwhile.
func heldUnits(ctx context.Context, tx pgx.Tx, rs []domain.Reservation, except map[string]bool) (map[buyerEvent]int, error) {
	var events, buyers, skip []string
	for _, r := range rs {
		events, buyers = append(events, r.EventID), append(buyers, r.BuyerID)
	}
	for id := range except {
		skip = append(skip, id)
	}
	rows, err := tx.Query(ctx, `
		SELECT o.flash_event_id, o.buyer_id, sum(i.quantity)
		FROM orders o JOIN order_items i ON i.order_id = o.id
		WHERE o.flash_event_id = ANY($1) AND o.buyer_id = ANY($2) AND o.status = ANY($3) AND NOT (o.id = ANY($4))
		GROUP BY 1, 2`, events, buyers, liveStatuses, skip)
	if err != nil {
		return nil, translate(err, "find held units", "order")
	}
	held := map[buyerEvent]int{}
	var k buyerEvent
	var n int
	if _, err := pgx.ForEachRow(rows, []any{&k.event, &k.buyer, &n}, func() error { held[k] = n; return nil }); err != nil {
		return nil, translate(err, "find held units", "order")
	}
	return held, nil
}

// buyerEvent keys a buyer's units in one event.
type buyerEvent struct{ event, buyer string }

// insertReservations inserts the orders and items of rs (unique order
// IDs) that are not written yet, in one statement, and returns the IDs it
// inserted.
func insertReservations(ctx context.Context, tx pgx.Tx, rs []domain.Reservation, now, expiresAt time.Time) (map[string]bool, error) {
	n := len(rs)
	var (
		ids, buyers, events, products, sellers = make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
		qtys                                   = make([]int32, n)
		prices                                 = make([]int64, n)
		created                                = make([]time.Time, n)
	)
	for i, r := range rs {
		ids[i], buyers[i], events[i], products[i], sellers[i] = r.OrderID, r.BuyerID, r.EventID, r.ProductID, r.SellerID
		qtys[i], prices[i], created[i] = int32(r.Quantity), r.UnitPriceCents, r.CreatedAt
	}
	rows, err := tx.Query(ctx, `
		WITH input AS (
			SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::int[], $7::bigint[], $8::timestamptz[])
				AS t(id, buyer_id, event_id, product_id, seller_id, quantity, unit_price_cents, created_at)
		), new_orders AS (
			INSERT INTO orders (id, buyer_id, flash_event_id, total_cents, status, created_at, expires_at, updated_at)
			SELECT id, buyer_id, event_id, quantity * unit_price_cents, $9, created_at, $10, $11 FROM input
			ON CONFLICT (id) DO NOTHING
			RETURNING id
		)
		INSERT INTO order_items (order_id, product_id, seller_id, quantity, unit_price_cents)
		SELECT i.id, i.product_id, i.seller_id, i.quantity, i.unit_price_cents
		FROM input i JOIN new_orders USING (id)
		RETURNING order_id`,
		ids, buyers, events, products, sellers, qtys, prices, created,
		string(domain.OrderAwaitingPayment), expiresAt, now)
	if err != nil {
		return nil, translate(err, "insert reservations", "order")
	}
	inserted := make(map[string]bool, n)
	var id string
	if _, err := pgx.ForEachRow(rows, []any{&id}, func() error { inserted[id] = true; return nil }); err != nil {
		return nil, translate(err, "insert reservations", "order")
	}
	return inserted, nil
}

// keepAnswers records the idempotency key each reservation answered (the
// first order of a key stays its answer), for a rebuilt hot stock to give
// retries of the key the same answer (see HotEventSource.HotEvent).
func keepAnswers(ctx context.Context, tx pgx.Tx, rs []domain.Reservation) error {
	var events, buyers, keys, orders []string
	var remaining []int32
	for _, r := range rs {
		if r.IdempotencyKey == "" {
			continue
		}
		events, buyers, keys, orders = append(events, r.EventID), append(buyers, r.BuyerID), append(keys, r.IdempotencyKey), append(orders, r.OrderID)
		remaining = append(remaining, int32(max(r.RemainingAfter, 0)))
	}
	if len(keys) == 0 {
		return nil
	}
	_, err := tx.Exec(ctx, `
		INSERT INTO flash_idempotency_keys (flash_event_id, buyer_id, idempotency_key, order_id, remaining_after)
		SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::int[])
		ON CONFLICT (flash_event_id, buyer_id, idempotency_key) DO NOTHING`, events, buyers, keys, orders, remaining)
	return translate(err, "keep idempotency keys", "order")
}

// allot decides which newly inserted orders PostgreSQL takes, earliest
// CreatedAt first: an order is refused when the event's stock left cannot
// take its units, or when its buyer would hold more than the event's
// per-buyer limit. Both are the hot stock's own rules; PostgreSQL checks
// them again because it is the last line when the hot stock lost its
// state. It returns the units to add to each event's sold count and the
// IDs of the orders refused.
func allot(rs []domain.Reservation, inserted map[string]bool, left, limit map[string]int, held map[buyerEvent]int) (take map[string]int, refused map[string]bool) {
	var fresh []domain.Reservation
	for _, r := range rs {
		if inserted[r.OrderID] {
			fresh = append(fresh, r)
		}
	}
	slices.SortFunc(fresh, func(a, b domain.Reservation) int {
		return cmp.Or(a.CreatedAt.Compare(b.CreatedAt), cmp.Compare(a.OrderID, b.OrderID))
	})
	take = make(map[string]int)
	for _, r := range fresh {
		k := buyerEvent{r.EventID, r.BuyerID}
		if r.Quantity <= left[r.EventID]-take[r.EventID] && held[k]+r.Quantity <= limit[r.EventID] {
			take[r.EventID] += r.Quantity
			held[k] += r.Quantity
			continue
		}
		if refused == nil {
			refused = make(map[string]bool)
		}
		refused[r.OrderID] = true
	}
	return take, refused
}

// takeSold adds units to the events' sold counts with an update that can
// never pass the stock. The events are locked and allot kept within what
// they had left, so a miss means the schema's rules changed under us: the
// transaction fails rather than oversell.
func takeSold(ctx context.Context, tx pgx.Tx, take map[string]int) error {
	ids := make([]string, 0, len(take))
	for id, n := range take {
		if n > 0 {
			ids = append(ids, id)
		}
	}
	if len(ids) == 0 {
		return nil
	}
	slices.Sort(ids)
	units := make([]int32, len(ids))
	for i, id := range ids {
		units[i] = int32(take[id])
	}
	tag, err := tx.Exec(ctx, `
		UPDATE flash_events e SET sold = e.sold + t.units
		FROM unnest($1::text[], $2::int[]) AS t(id, units)
		WHERE e.id = t.id AND e.sold + t.units <= e.stock`, ids, units)
	if err != nil {
		return translate(err, "take flash event stock", "flash event")
	}
	if got := tag.RowsAffected(); got != int64(len(ids)) {
		return domain.Errorf(domain.EINTERNAL, "taking flash event stock updated %d of %d events", got, len(ids))
	}
	return nil
}
