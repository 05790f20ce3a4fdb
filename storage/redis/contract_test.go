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
