package memhot_test

import (
	"testing"

	"flashlive/domain"
	"flashlive/internal/hotstocktest"
	"flashlive/internal/memhot"
)

// TestContract runs the hot stock's contract over memhot: the suite that
// storage/redis passes against Redis.
func TestContract(t *testing.T) {
	hotstocktest.Run(t, func(*testing.T) domain.HotStock { return memhot.New(hotstocktest.IdempotencyTTL) })
}

// TestUnpaidContract runs the contract of unpaid orders over memhot's: the
// suite that storage/redis passes against Redis.
func TestUnpaidContract(t *testing.T) {
	hotstocktest.RunUnpaid(t, func(*testing.T) domain.UnpaidOrders { return &memhot.UnpaidOrders{} })
}
