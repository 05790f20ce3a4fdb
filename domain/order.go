package domain

import (
	"context"
	"time"
)

// OrderStatus is where an order is in its life.
type OrderStatus string

// The order statuses. PENDING, AWAITING_PAYMENT, PAID and COMPLETED are
// live: their units count against the stock.
const (
	OrderPending         OrderStatus = "PENDING"
	OrderAwaitingPayment OrderStatus = "AWAITING_PAYMENT"
	OrderPaid            OrderStatus = "PAID"
	OrderCompleted       OrderStatus = "COMPLETED"
	OrderCancelled       OrderStatus = "CANCELLED"
	OrderExpired         OrderStatus = "EXPIRED"
)

// Live reports whether the order's units count against the stock.
func (s OrderStatus) Live() bool {
	return s == OrderPending || s == OrderAwaitingPayment || s == OrderPaid || s == OrderCompleted
}

// Valid reports whether s is one of the order statuses above.
func (s OrderStatus) Valid() bool {
	switch s {
	case OrderPending, OrderAwaitingPayment, OrderPaid, OrderCompleted, OrderCancelled, OrderExpired:
		return true
	}
	return false
}

// Order is a buyer's order: a flash order of one event's product, or a cart
// order of several published products.
type Order struct {
	ID           string
	BuyerID      string
	FlashEventID string // "" for cart orders
	Items        []OrderItem
	TotalCents   int64
	Status       OrderStatus
	CreatedAt    time.Time
	ExpiresAt    *time.Time
	PaidAt       *time.Time
}

// OrderItem is one line of an order.
type OrderItem struct {
	ProductID      string
	Quantity       int
	UnitPriceCents int64
}

// Quantity returns the number of units in the order.
func (o *Order) Quantity() int {
	n := 0
	for _, it := range o.Items {
		n += it.Quantity
	}
	return n
}

// OrderFilter selects orders. Exactly the caller's view applies: BuyerID
// for "my orders", SellerID for "orders of my products".
type OrderFilter struct {
	BuyerID      string
	SellerID     string
	FlashEventID string
	Status       OrderStatus
	PageRequest
}

// CartItem is one line of a cart order.
type CartItem struct {
	ProductID string
	Quantity  int
}

// MaxCartItems is the most lines a cart order may have.
const MaxCartItems = 50

// PlaceOrder is the input of OrderService.PlaceOrder.
type PlaceOrder struct {
	Items          []CartItem
	IdempotencyKey string
}

// Validate returns an INVALID error naming the first bad field, or nil.
func (p *PlaceOrder) Validate() error {
	if err := ValidateIdempotencyKey(p.IdempotencyKey); err != nil {
		return err
	}
	if len(p.Items) == 0 {
		return Errorf(EINVALID, "items must not be empty")
	}
	if len(p.Items) > MaxCartItems {
		return Errorf(EINVALID, "an order may have at most %d items", MaxCartItems)
	}
	seen := make(map[string]bool, len(p.Items))
	for _, it := range p.Items {
		if it.ProductID == "" {
			return Errorf(EINVALID, "items: productId is required")
		}
		if seen[it.ProductID] {
			return Errorf(EINVALID, "items: product %s appears twice", it.ProductID)
		}
		seen[it.ProductID] = true
		if it.Quantity < 1 || it.Quantity > 1000 {
			return Errorf(EINVALID, "items: quantity must be between 1 and 1000")
		}
	}
	return nil
}

// MaxIdempotencyKeyLen is the longest idempotency key accepted.
const MaxIdempotencyKeyLen = 128

// ValidateIdempotencyKey returns an INVALID error unless key has 1 to
// MaxIdempotencyKeyLen printable ASCII characters.
func ValidateIdempotencyKey(key string) error {
	if key == "" {
		return Errorf(EINVALID, "idempotencyKey is required")
	}
	if len(key) > MaxIdempotencyKeyLen {
		return Errorf(EINVALID, "idempotencyKey must have at most %d characters", MaxIdempotencyKeyLen)
	}
	for i := 0; i < len(key); i++ {
		if key[i] < 0x21 || key[i] > 0x7e {
			return Errorf(EINVALID, "idempotencyKey must be printable ASCII without spaces")
		}
	}
	return nil
}

// OrderService manages orders as the caller sees them.
type OrderService interface {
	// FindOrderByID returns an order visible to the caller (its buyer, a
	// seller of its products, an ADMIN). A flash order that is reserved
	// but not written yet is returned as PENDING. NOT_FOUND otherwise.
	FindOrderByID(ctx context.Context, id string) (*Order, error)

	// FindOrders returns a page of orders, newest first. The caller must
	// be the filter's buyer or seller, or an ADMIN.
	FindOrders(ctx context.Context, f OrderFilter) (Page[*Order], error)

	// PlaceOrder creates a cart order of published products for the
	// calling buyer, all items or none, taking their stock. A retry with
	// the same idempotency key returns the first order. INVALID,
	// NOT_FOUND (unknown or unpublished product), CONFLICT (not enough
	// stock).
	PlaceOrder(ctx context.Context, p PlaceOrder) (*Order, error)

	// PayOrder pays an order of the calling buyer. Only while
	// AWAITING_PAYMENT and before ExpiresAt; paying a PAID order again
	// returns it unchanged. CONFLICT otherwise (PENDING: retry shortly).
	PayOrder(ctx context.Context, id string) (*Order, error)

	// CancelOrder cancels an unpaid order of the calling buyer and returns
	// its stock exactly once. CONFLICT once paid, expired or cancelled.
	CancelOrder(ctx context.Context, id string) (*Order, error)

	// CompleteOrder marks a PAID order COMPLETED; only a seller of its
	// products (or an ADMIN). CONFLICT unless PAID.
	CompleteOrder(ctx context.Context, id string) (*Order, error)
}
