package domain

import "time"

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
