package postgres

import (
	"cmp"
	"context"
	"errors"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

	"flashlive/domain"
)

// OrderStore keeps orders in PostgreSQL: flash orders written from the
// order stream (WriteReservations), cart orders (PlaceOrder), and the
// lifecycle both share. It is the system of record for the units each
// order holds: flash_events.sold for flash orders, products.stock for cart
// orders, changed in the same transaction as the order's status.
//
// It serves the PostgreSQL half of domain.OrderService; PENDING flash
// orders (reserved, not written yet) live in the hot stock and are the
// caller's to add.
type OrderStore struct {
	db             *DB
	paymentTimeout time.Duration
}

// NewOrderStore returns an OrderStore on db whose orders wait
// paymentTimeout for their payment once written.
func NewOrderStore(db *DB, paymentTimeout time.Duration) *OrderStore {
	return &OrderStore{db: db, paymentTimeout: paymentTimeout}
}

// liveStatuses are the statuses whose units count against the stock (see
// domain.OrderStatus.Live).
var liveStatuses = []string{
	string(domain.OrderPending), string(domain.OrderAwaitingPayment),
	string(domain.OrderPaid), string(domain.OrderCompleted),
}

const orderColumns = `o.id, o.buyer_id, coalesce(o.flash_event_id, ''), o.total_cents, o.status,
	o.created_at, o.expires_at, o.paid_at`

func scanOrder(row pgx.Row) (*domain.Order, error) {
	var o domain.Order
	err := row.Scan(&o.ID, &o.BuyerID, &o.FlashEventID, &o.TotalCents, &o.Status, &o.CreatedAt, &o.ExpiresAt, &o.PaidAt)
	return &o, err
}

// orderRow is an order with the sellers of its items, who may see and
// complete it.
type orderRow struct {
	*domain.Order
	sellers []string
}

// visibleTo reports whether p may see the order: its buyer, a seller of
// one of its items, or an ADMIN.
func (o *orderRow) visibleTo(p domain.Principal) bool {
	if p.UserID == "" {
		return false
	}
	return p.Role == domain.RoleAdmin || p.UserID == o.BuyerID || o.soldBy(p.UserID)
}

// soldBy reports whether userID sold one of the order's items.
func (o *orderRow) soldBy(userID string) bool {
	return slices.Contains(o.sellers, userID)
}

// querier is what a pool and a transaction have in common.
type querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// loadItems fills the items of orders, and returns the sellers of each
// order by ID, in one query.
func loadItems(ctx context.Context, q querier, orders []*domain.Order) (map[string][]string, error) {
	if len(orders) == 0 {
		return nil, nil
	}
	byID := make(map[string]*domain.Order, len(orders))
	ids := make([]string, len(orders))
	for i, o := range orders {
		byID[o.ID] = o
		ids[i] = o.ID
		o.Items = nil
	}
	rows, err := q.Query(ctx, `
		SELECT order_id, product_id, seller_id, quantity, unit_price_cents FROM order_items
		WHERE order_id = ANY($1) ORDER BY order_id, product_id`, ids)
	if err != nil {
		return nil, translate(err, "find order items", "order")
	}
	sellers := make(map[string][]string, len(orders))
	var orderID, sellerID string
	var it domain.OrderItem
	_, err = pgx.ForEachRow(rows, []any{&orderID, &it.ProductID, &sellerID, &it.Quantity, &it.UnitPriceCents}, func() error {
		o := byID[orderID]
		o.Items = append(o.Items, it)
		if !slices.Contains(sellers[orderID], sellerID) {
			sellers[orderID] = append(sellers[orderID], sellerID)
		}
		return nil
	})
	if err != nil {
		return nil, translate(err, "find order items", "order")
	}
	return sellers, nil
}

// findOrder returns the order with its items and sellers, without
// visibility checks.
func findOrder(ctx context.Context, q querier, id string) (*orderRow, error) {
	o, err := scanOrder(q.QueryRow(ctx, `SELECT `+orderColumns+` FROM orders o WHERE o.id = $1`, id))
	if err != nil {
		return nil, translate(err, "find order", "order")
	}
	sellers, err := loadItems(ctx, q, []*domain.Order{o})
	if err != nil {
		return nil, err
	}
	return &orderRow{Order: o, sellers: sellers[o.ID]}, nil
}

// FindOrderByID returns the order with its items when the caller is its
// buyer, a seller of one of its items, or an ADMIN. NOT_FOUND for anyone
// else, anonymous callers included, so that IDs do not leak.
func (s *OrderStore) FindOrderByID(ctx context.Context, id string) (*domain.Order, error) {
	me, _ := domain.PrincipalFromContext(ctx)
	o, err := findOrder(ctx, s.db.Pool, id)
	if err != nil {
		return nil, err
	}
	if !o.visibleTo(me) {
		return nil, domain.Errorf(domain.ENOTFOUND, "order not found")
	}
	return o.Order, nil
}

// FindOrders returns a page of orders with their items, newest first. The
// filter's BuyerID keeps the orders of that buyer, SellerID the orders
// with an item of that seller. The caller must be the filter's buyer or
// seller; an ADMIN may read any filter, and every order with neither.
// UNAUTHENTICATED, FORBIDDEN, INVALID (page size or status).
func (s *OrderStore) FindOrders(ctx context.Context, f domain.OrderFilter) (domain.Page[*domain.Order], error) {
	me, err := domain.RequirePrincipal(ctx)
	if err != nil {
		return domain.Page[*domain.Order]{}, err
	}
	if me.Role != domain.RoleAdmin && (f.BuyerID == "" || f.BuyerID != me.UserID) && (f.SellerID == "" || f.SellerID != me.UserID) {
		return domain.Page[*domain.Order]{}, domain.Errorf(domain.EFORBIDDEN, "you may list your own orders and the orders of your products only")
	}
	if err := f.Normalize(); err != nil {
		return domain.Page[*domain.Order]{}, err
	}
	if f.Status != "" && !validStatus(f.Status) {
		return domain.Page[*domain.Order]{}, domain.Errorf(domain.EINVALID, "unknown order status %q", f.Status)
	}
	rows, err := s.db.Pool.Query(ctx, `
		SELECT `+orderColumns+` FROM orders o
		WHERE ($1 = '' OR o.id < $1)
		  AND ($2 = '' OR o.buyer_id = $2)
		  AND ($3 = '' OR EXISTS (SELECT 1 FROM order_items i WHERE i.order_id = o.id AND i.seller_id = $3))
		  AND ($4 = '' OR o.flash_event_id = $4)
		  AND ($5 = '' OR o.status = $5)
		ORDER BY o.id DESC LIMIT $6`,
		f.After, f.BuyerID, f.SellerID, f.FlashEventID, string(f.Status), f.First+1)
	if err != nil {
		return domain.Page[*domain.Order]{}, translate(err, "find orders", "order")
	}
	os, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (*domain.Order, error) { return scanOrder(r) })
	if err != nil {
		return domain.Page[*domain.Order]{}, translate(err, "find orders", "order")
	}
	p := page(os, f.PageRequest)
	if _, err := loadItems(ctx, s.db.Pool, p.Items); err != nil {
		return domain.Page[*domain.Order]{}, err
	}
	return p, nil
}

func validStatus(s domain.OrderStatus) bool {
	switch s {
	case domain.OrderPending, domain.OrderAwaitingPayment, domain.OrderPaid,
		domain.OrderCompleted, domain.OrderCancelled, domain.OrderExpired:
		return true
	}
	return false
}

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
	err = s.db.inTx(ctx, func(tx pgx.Tx) error {
		// Lock the events first, in ID order, so that concurrent batches
		// queue instead of deadlocking. NO KEY UPDATE (what UPDATE takes)
		// leaves the foreign-key checks of other writers alone.
		left, limit, err := lockEvents(ctx, tx, eventIDs)
		if err != nil {
			return err
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
	for _, r := range rs {
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

// lockEvents locks the events (ids sorted) and returns the units each has
// left and its per-buyer limit. NOT_FOUND names the first unknown one.
func lockEvents(ctx context.Context, tx pgx.Tx, ids []string) (left, limit map[string]int, err error) {
	rows, err := tx.Query(ctx, `
		SELECT id, stock - sold, per_user_limit FROM flash_events WHERE id = ANY($1) ORDER BY id FOR NO KEY UPDATE`, ids)
	if err != nil {
		return nil, nil, translate(err, "lock flash events", "flash event")
	}
	left, limit = make(map[string]int, len(ids)), make(map[string]int, len(ids))
	var id string
	var n, l int
	if _, err := pgx.ForEachRow(rows, []any{&id, &n, &l}, func() error { left[id], limit[id] = n, l; return nil }); err != nil {
		return nil, nil, translate(err, "lock flash events", "flash event")
	}
	for _, id := range ids {
		if _, ok := left[id]; !ok {
			return nil, nil, domain.Errorf(domain.ENOTFOUND, "flash event %s not found", id)
		}
	}
	return left, limit, nil
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

// DeleteKeptAnswers deletes the kept idempotency keys (see keepAnswers) of
// orders created before cutoff, which a rebuilt hot stock no longer
// restores, and returns how many it deleted.
func (s *OrderStore) DeleteKeptAnswers(ctx context.Context, cutoff time.Time) (int64, error) {
	tag, err := s.db.Pool.Exec(ctx, `
		DELETE FROM flash_idempotency_keys k USING orders o
		WHERE o.id = k.order_id AND o.created_at < $1`, cutoff)
	if err != nil {
		return 0, translate(err, "delete kept idempotency keys", "order")
	}
	return tag.RowsAffected(), nil
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

// PlaceOrder creates a cart order of published products for the calling
// BUYER (or ADMIN), AWAITING_PAYMENT until now plus the payment timeout:
// every item or none, each at its product's price, taking the products'
// stock. A retry with the same idempotency key returns the first order as
// it stands, also when the retries race. UNAUTHENTICATED, FORBIDDEN,
// INVALID, NOT_FOUND (unknown or unpublished product), CONFLICT (not
// enough stock), each naming the product.
func (s *OrderStore) PlaceOrder(ctx context.Context, p domain.PlaceOrder) (*domain.Order, error) {
	me, err := domain.RequireRole(ctx, domain.RoleBuyer)
	if err != nil {
		return nil, err
	}
	if err := p.Validate(); err != nil {
		return nil, err
	}
	now := s.db.Now()
	expiresAt := now.Add(s.paymentTimeout)
	o := &domain.Order{
		ID: newID(domain.PrefixOrder), BuyerID: me.UserID, Status: domain.OrderAwaitingPayment,
		CreatedAt: now, ExpiresAt: &expiresAt,
	}
	var first string
	err = s.db.inTx(ctx, func(tx pgx.Tx) error {
		// Claim the key before anything else: a concurrent request with
		// the same key waits here until this one commits (and then finds
		// its order) or rolls back (and then tries for itself).
		tag, err := tx.Exec(ctx, `
			INSERT INTO orders (id, buyer_id, idempotency_key, total_cents, status, created_at, expires_at, updated_at)
			VALUES ($1, $2, $3, 0, $4, $5, $6, $5)
			ON CONFLICT (buyer_id, idempotency_key) WHERE idempotency_key IS NOT NULL DO NOTHING`,
			o.ID, me.UserID, p.IdempotencyKey, string(o.Status), now, expiresAt)
		if err != nil {
			return translate(err, "insert order", "order")
		}
		if tag.RowsAffected() == 0 {
			err := tx.QueryRow(ctx, `SELECT id FROM orders WHERE buyer_id = $1 AND idempotency_key = $2`,
				me.UserID, p.IdempotencyKey).Scan(&first)
			return translate(err, "find order by idempotency key", "order")
		}
		items, sellers, err := takeProductStock(ctx, tx, p.Items)
		if err != nil {
			return err
		}
		o.Items = items
		productIDs := make([]string, len(items))
		qtys := make([]int32, len(items))
		prices := make([]int64, len(items))
		for i, it := range items {
			productIDs[i], qtys[i], prices[i] = it.ProductID, int32(it.Quantity), it.UnitPriceCents
			o.TotalCents += int64(it.Quantity) * it.UnitPriceCents
		}
		_, err = tx.Exec(ctx, `
			INSERT INTO order_items (order_id, product_id, seller_id, quantity, unit_price_cents)
			SELECT $1, * FROM unnest($2::text[], $3::text[], $4::int[], $5::bigint[])`,
			o.ID, productIDs, sellers, qtys, prices)
		if err != nil {
			return translate(err, "insert order items", "order")
		}
		_, err = tx.Exec(ctx, `UPDATE orders SET total_cents = $2 WHERE id = $1`, o.ID, o.TotalCents)
		return translate(err, "update order total", "order")
	})
	if err != nil {
		return nil, err
	}
	if first != "" {
		row, err := findOrder(ctx, s.db.Pool, first)
		if err != nil {
			return nil, err
		}
		return row.Order, nil
	}
	return o, nil
}

// takeProductStock locks the products of the cart in ID order (so that
// concurrent orders queue instead of deadlocking), checks them in cart
// order and takes their stock. It returns the order's items sorted by
// product ID, as they are read back, with the seller of each.
func takeProductStock(ctx context.Context, tx pgx.Tx, cart []domain.CartItem) ([]domain.OrderItem, []string, error) {
	ids := make([]string, len(cart))
	for i, it := range cart {
		ids[i] = it.ProductID
	}
	slices.Sort(ids)
	type product struct {
		seller    string
		price     int64
		stock     int
		published bool
	}
	// NO KEY UPDATE, what the UPDATE below takes anyway, does not block
	// the foreign-key checks of orders written meanwhile.
	rows, err := tx.Query(ctx, `
		SELECT id, seller_id, price_cents, stock, published FROM products
		WHERE id = ANY($1) ORDER BY id FOR NO KEY UPDATE`, ids)
	if err != nil {
		return nil, nil, translate(err, "lock products", "product")
	}
	products := make(map[string]product, len(ids))
	var id string
	var pr product
	_, err = pgx.ForEachRow(rows, []any{&id, &pr.seller, &pr.price, &pr.stock, &pr.published}, func() error {
		products[id] = pr
		return nil
	})
	if err != nil {
		return nil, nil, translate(err, "lock products", "product")
	}
	qty := make(map[string]int, len(cart))
	for _, it := range cart {
		pr, ok := products[it.ProductID]
		if !ok || !pr.published {
			return nil, nil, domain.Errorf(domain.ENOTFOUND, "product %s not found", it.ProductID)
		}
		if pr.stock < it.Quantity {
			return nil, nil, domain.Errorf(domain.ECONFLICT, "product %s has %d units in stock; the order needs %d", it.ProductID, pr.stock, it.Quantity)
		}
		qty[it.ProductID] = it.Quantity
	}
	items := make([]domain.OrderItem, len(ids))
	sellers := make([]string, len(ids))
	qtys := make([]int32, len(ids))
	for i, id := range ids {
		items[i] = domain.OrderItem{ProductID: id, Quantity: qty[id], UnitPriceCents: products[id].price}
		sellers[i] = products[id].seller
		qtys[i] = int32(qty[id])
	}
	_, err = tx.Exec(ctx, `
		UPDATE products p SET stock = p.stock - t.quantity
		FROM unnest($1::text[], $2::int[]) AS t(id, quantity) WHERE p.id = t.id`, ids, qtys)
	if err != nil {
		return nil, nil, translate(err, "take product stock", "product")
	}
	return items, sellers, nil
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
	now := s.db.Now()
	o, err := scanOrder(s.db.Pool.QueryRow(ctx, `
		UPDATE orders o SET status = $3, paid_at = $4, updated_at = $4
		WHERE o.id = $1 AND o.buyer_id = $2 AND o.status = $5 AND o.expires_at > $4
		RETURNING `+orderColumns,
		id, me.UserID, string(domain.OrderPaid), now, string(domain.OrderAwaitingPayment)))
	if err == nil {
		_, err = loadItems(ctx, s.db.Pool, []*domain.Order{o})
		return o, err
	}
	if !errors.Is(err, pgx.ErrNoRows) {
		return nil, translate(err, "pay order", "order")
	}
	row, err := findOrder(ctx, s.db.Pool, id)
	if err != nil {
		return nil, err
	}
	if err := buyerOf(row, me); err != nil {
		return nil, err
	}
	switch row.Status {
	case domain.OrderPaid:
		return row.Order, nil
	case domain.OrderAwaitingPayment, domain.OrderExpired:
		return nil, domain.Errorf(domain.ECONFLICT, "the payment window has closed")
	default:
		return nil, domain.Errorf(domain.ECONFLICT, "the order is %s and cannot be paid", row.Status)
	}
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
	o, err := s.settle(ctx, id, domain.OrderCancelled, `o.buyer_id = $4`, me.UserID)
	if err != nil || o != nil {
		return o, err
	}
	row, err := findOrder(ctx, s.db.Pool, id)
	if err != nil {
		return nil, err
	}
	if err := buyerOf(row, me); err != nil {
		return nil, err
	}
	return nil, domain.Errorf(domain.ECONFLICT, "the order is %s and can no longer be cancelled", row.Status)
}

// ExpireOrder expires an AWAITING_PAYMENT order whose payment window has
// closed and, in the same transaction, gives its units back to PostgreSQL.
// Any other order comes back unchanged, without error: the caller reads
// its status. An order EXPIRED already is returned as such, so that a
// redelivered expiry can still release the hot stock (Release is
// idempotent); a PAID one never expires. NOT_FOUND for unknown IDs. It is
// a system job: no caller is checked.
func (s *OrderStore) ExpireOrder(ctx context.Context, id string) (*domain.Order, error) {
	o, err := s.settle(ctx, id, domain.OrderExpired, `o.expires_at <= $3`)
	if err != nil || o != nil {
		return o, err
	}
	row, err := findOrder(ctx, s.db.Pool, id)
	if err != nil {
		return nil, err
	}
	return row.Order, nil
}

// settle moves an AWAITING_PAYMENT order that meets cond to status (an
// end without stock) and gives its stock back, in one transaction. In
// cond, $3 is now and $4 the first of args. It returns nil, nil when no
// order matched.
func (s *OrderStore) settle(ctx context.Context, id string, status domain.OrderStatus, cond string, args ...any) (*domain.Order, error) {
	now := s.db.Now()
	var o *domain.Order
	err := s.db.inTx(ctx, func(tx pgx.Tx) error {
		var err error
		o, err = scanOrder(tx.QueryRow(ctx, `
			UPDATE orders o SET status = $2, updated_at = $3
			WHERE o.id = $1 AND o.status = '`+string(domain.OrderAwaitingPayment)+`' AND `+cond+`
			RETURNING `+orderColumns,
			append([]any{id, string(status), now}, args...)...))
		if err != nil {
			o = nil
			if errors.Is(err, pgx.ErrNoRows) {
				return nil
			}
			return translate(err, "settle order", "order")
		}
		if _, err := loadItems(ctx, tx, []*domain.Order{o}); err != nil {
			return err
		}
		return returnStock(ctx, tx, o)
	})
	if err != nil {
		return nil, err
	}
	return o, nil
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
	o, err := scanOrder(s.db.Pool.QueryRow(ctx, `
		UPDATE orders o SET status = $2, updated_at = $3
		WHERE o.id = $1 AND o.status = $4
		  AND ($5 OR EXISTS (SELECT 1 FROM order_items i WHERE i.order_id = o.id AND i.seller_id = $6))
		RETURNING `+orderColumns,
		id, string(domain.OrderCompleted), s.db.Now(), string(domain.OrderPaid), me.Role == domain.RoleAdmin, me.UserID))
	if err == nil {
		_, err = loadItems(ctx, s.db.Pool, []*domain.Order{o})
		return o, err
	}
	if !errors.Is(err, pgx.ErrNoRows) {
		return nil, translate(err, "complete order", "order")
	}
	row, err := findOrder(ctx, s.db.Pool, id)
	if err != nil {
		return nil, err
	}
	switch {
	case !row.visibleTo(me):
		return nil, domain.Errorf(domain.ENOTFOUND, "order not found")
	case me.Role != domain.RoleAdmin && !row.soldBy(me.UserID):
		return nil, domain.Errorf(domain.EFORBIDDEN, "only a seller of the order's products may complete it")
	}
	return nil, domain.Errorf(domain.ECONFLICT, "the order is %s; only PAID orders can be completed", row.Status)
}

// DueOrderIDs returns up to limit IDs of AWAITING_PAYMENT orders whose
// payment window closed at or before now, the earliest due first.
// INVALID when limit is not positive.
func (s *OrderStore) DueOrderIDs(ctx context.Context, now time.Time, limit int) ([]string, error) {
	if limit < 1 {
		return nil, domain.Errorf(domain.EINVALID, "limit must be at least 1")
	}
	rows, err := s.db.Pool.Query(ctx, `
		SELECT id FROM orders WHERE status = $1 AND expires_at <= $2
		ORDER BY expires_at, id LIMIT $3`, string(domain.OrderAwaitingPayment), now, limit)
	if err != nil {
		return nil, translate(err, "find due orders", "order")
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
	return ids, translate(err, "find due orders", "order")
}

// OrdersExist reports, for each of ids, whether its order is written,
// whatever its status: reconciliation tells orphan reservations from
// written ones with it. Every ID of ids is a key of the map.
func (s *OrderStore) OrdersExist(ctx context.Context, ids []string) (map[string]bool, error) {
	exist := make(map[string]bool, len(ids))
	for _, id := range ids {
		exist[id] = false
	}
	if len(ids) == 0 {
		return exist, nil
	}
	rows, err := s.db.Pool.Query(ctx, `SELECT id FROM orders WHERE id = ANY($1)`, ids)
	if err != nil {
		return nil, translate(err, "find orders", "order")
	}
	var id string
	_, err = pgx.ForEachRow(rows, []any{&id}, func() error { exist[id] = true; return nil })
	if err != nil {
		return nil, translate(err, "find orders", "order")
	}
	return exist, nil
}

// DeadOrdersSince returns the IDs of the event's orders that became
// CANCELLED or EXPIRED at or after since.
func (s *OrderStore) DeadOrdersSince(ctx context.Context, eventID string, since time.Time) ([]string, error) {
	rows, err := s.db.Pool.Query(ctx, `
		SELECT id FROM orders WHERE flash_event_id = $1 AND status IN ('CANCELLED', 'EXPIRED') AND updated_at >= $2
		ORDER BY id`, eventID, since)
	if err != nil {
		return nil, translate(err, "find dead orders", "order")
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
	return ids, translate(err, "find dead orders", "order")
}

// Conservation returns, from one snapshot, the units in the event's live
// orders and which of the given order IDs are written: PostgreSQL's side
// of stock conservation.
func (s *OrderStore) Conservation(ctx context.Context, eventID string, ids []string) (live int, written map[string]bool, err error) {
	written = make(map[string]bool, len(ids))
	err = pgx.BeginTxFunc(ctx, s.db.Pool, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
		if err := tx.QueryRow(ctx, `
			SELECT coalesce(sum(i.quantity), 0) FROM orders o JOIN order_items i ON i.order_id = o.id
			WHERE o.flash_event_id = $1 AND o.status = ANY($2)`, eventID, liveStatuses).Scan(&live); err != nil {
			return translate(err, "count live units", "order")
		}
		if len(ids) == 0 {
			return nil
		}
		rows, err := tx.Query(ctx, `SELECT id FROM orders WHERE id = ANY($1)`, ids)
		if err != nil {
			return translate(err, "find orders", "order")
		}
		var id string
		_, err = pgx.ForEachRow(rows, []any{&id}, func() error { written[id] = true; return nil })
		return translate(err, "find orders", "order")
	})
	return live, written, err
}
