package redis

import (
	"testing"

	"flashlive/domain"
	"flashlive/internal/hotstocktest"
	"flashlive/internal/testenv"
)

// TestHotStockContract runs the hot stock's contract over Redis: the suite
// that internal/memhot, the service tests' hot stock, passes too.
func TestHotStockContract(t *testing.T) {
	testenv.EachRedis(t, func(t *testing.T, target testenv.RedisTarget) {
		hotstocktest.Run(t, func(t *testing.T) domain.HotStock {
			s := NewHotStock(openTestClient(t, target), hotstocktest.IdempotencyTTL)
			t.Cleanup(s.Stop)
			return s
		})
	})
}

// TestUnpaidContract runs the contract of unpaid orders over Redis (the
// reference, unpaid.lua): the suite that internal/memhot passes too.
func TestUnpaidContract(t *testing.T) {
	testenv.EachRedis(t, func(t *testing.T, target testenv.RedisTarget) {
		hotstocktest.RunUnpaid(t, func(t *testing.T) domain.UnpaidOrders {
			u := NewUnpaidOrders(openTestClient(t, target))
			t.Cleanup(u.Stop)
			return u
		})
	})
}
