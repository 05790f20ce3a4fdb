package postgres

import (
	"context"
	"slices"

	"github.com/jackc/pgx/v5"

	"flashlive/domain"
)

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
