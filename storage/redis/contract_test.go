package redis

import (
	"testing"

	"flashlive/domain"
	"flashlive/internal/hotstocktest"
)

// TestHotStockContract runs the hot stock's contract over Redis: the suite
// that internal/memhot, the service tests' hot stock, passes too.
func TestHotStockContract(t *testing.T) {
	hotstocktest.Run(t, func(t *testing.T) domain.HotStock {
		s := NewHotStock(openTestClient(t), hotstocktest.IdempotencyTTL)
		t.Cleanup(s.Stop)
		return s
	})
}

// TestUnpaidContract runs the contract of unpaid orders over Redis (the
// reference, unpaid.lua): the suite that internal/memhot passes too.
func TestUnpaidContract(t *testing.T) {
	hotstocktest.RunUnpaid(t, func(t *testing.T) domain.UnpaidOrders {
		u := NewUnpaidOrders(openTestClient(t))
		t.Cleanup(u.Stop)
		return u
	})
}
