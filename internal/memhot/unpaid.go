package memhot

import (
	"context"
	"sync"
	"time"

	"flashlive/domain"
)

// UnpaidOrders is an in-memory domain.UnpaidOrders, for the tests of the
// services. It follows storage/redis's unpaid.lua step by step (drop the
// entries past their window, answer an order listed already, count, add),
// and internal/hotstocktest's RunUnpaid holds both to one contract. What
// it does not model is Redis expiring a buyer's whole list. The zero
// value is ready; it is safe for concurrent use.
type UnpaidOrders struct {
	mu     sync.Mutex
	buyers map[string]map[string]time.Time // buyer -> purchase or order ID -> window end
}

var _ domain.UnpaidOrders = (*UnpaidOrders)(nil)

// Admit implements domain.UnpaidOrders.
func (u *UnpaidOrders) Admit(_ context.Context, buyerID, id string, windowEnd, now time.Time, max int) (bool, error) {
	if err := domain.ValidateUnpaidAdmission(buyerID, id, windowEnd, now, max); err != nil {
		return false, err
	}
	u.mu.Lock()
	defer u.mu.Unlock()
	list := u.buyers[buyerID]
	for id, end := range list {
		// Redis keeps milliseconds: compare as unpaid.lua does.
		if end.UnixMilli() <= now.UnixMilli() {
			delete(list, id)
		}
	}
	if _, ok := list[id]; ok {
		return true, nil
	}
	if len(list) >= max {
		return false, nil
	}
	if list == nil {
		if u.buyers == nil {
			u.buyers = map[string]map[string]time.Time{}
		}
		list = map[string]time.Time{}
		u.buyers[buyerID] = list
	}
	list[id] = windowEnd
	return true, nil
}

// Written implements domain.UnpaidOrders.
func (u *UnpaidOrders) Written(_ context.Context, rs []domain.Reservation) error {
	u.mu.Lock()
	defer u.mu.Unlock()
	for _, r := range rs {
		if r.IdempotencyKey == "" || r.BuyerID == "" || r.OrderID == "" {
			continue
		}
		list, id := u.buyers[r.BuyerID], domain.PurchaseID(r.EventID, r.IdempotencyKey)
		if end, ok := list[id]; ok {
			delete(list, id)
			list[r.OrderID] = end
		}
	}
	return nil
}

// Replayed implements domain.UnpaidOrders.
func (u *UnpaidOrders) Replayed(_ context.Context, buyerID, id, orderID string) error {
	if buyerID == "" || id == "" || orderID == "" {
		return domain.Errorf(domain.EINVALID, "settle replayed purchase: buyerId, id and orderId are required")
	}
	u.mu.Lock()
	defer u.mu.Unlock()
	list := u.buyers[buyerID]
	if _, ok := list[orderID]; ok {
		delete(list, id)
	}
	return nil
}

// Drop implements domain.UnpaidOrders.
func (u *UnpaidOrders) Drop(_ context.Context, buyerID, id string) error {
	if buyerID == "" || id == "" {
		return domain.Errorf(domain.EINVALID, "drop an unpaid order: buyerId and id are required")
	}
	u.mu.Lock()
	defer u.mu.Unlock()
	delete(u.buyers[buyerID], id)
	return nil
}
