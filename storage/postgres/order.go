package postgres

import (
	"context"
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
//
// Its methods are filed by job: reads here, the stream writer in
// reservations.go, cart orders in cart.go, pay, cancel, complete and
// expire in order_lifecycle.go, and the background jobs' queries in
// jobs.go.
type OrderStore struct {
	db             *DB
	paymentTimeout time.Duration
}

// NewOrderStore returns an OrderStore on db whose orders wait
// paymentTimeout for their payment once written.
func NewOrderStore(db *DB, paymentTimeout time.Duration) *OrderStore {
	return &OrderStore{db: db, paymentTimeout: paymentTimeout}
}

// Sets of order statuses, from the domain's constants, for queries to
// match with "status = ANY($n)".
var (
	// liveStatuses count against the stock (see domain.OrderStatus.Live).
	liveStatuses = statusList(domain.OrderPending, domain.OrderAwaitingPayment, domain.OrderPaid, domain.OrderCompleted)
	// unpaidStatuses are the live ones not paid yet.
	unpaidStatuses = statusList(domain.OrderPending, domain.OrderAwaitingPayment)
	// deadStatuses are the ends that gave the order's units back.
	deadStatuses = statusList(domain.OrderCancelled, domain.OrderExpired)
)

// statusList returns statuses as the text PostgreSQL stores.
func statusList(statuses ...domain.OrderStatus) []string {
	list := make([]string, len(statuses))
	for i, s := range statuses {
		list[i] = string(s)
	}
	return list
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
	o, err := readWith(ctx, s.db, func(q querier) (*orderRow, error) { return findOrder(ctx, q, id) })
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
	if f.Status != "" && !f.Status.Valid() {
		return domain.Page[*domain.Order]{}, domain.Errorf(domain.EINVALID, "unknown order status %q", f.Status)
	}
	p, err := readWith(ctx, s.db, func(q querier) (domain.Page[*domain.Order], error) { return findOrders(ctx, q, f) })
	if err != nil {
		return domain.Page[*domain.Order]{}, err
	}
	return p, nil
}

// findOrders returns the page of orders of f (normalized) with their
// items, without visibility checks.
func findOrders(ctx context.Context, q querier, f domain.OrderFilter) (domain.Page[*domain.Order], error) {
	rows, err := q.Query(ctx, `
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
	if _, err := loadItems(ctx, q, p.Items); err != nil {
		return domain.Page[*domain.Order]{}, err
	}
	return p, nil
}
