package service

import (
	"context"
	"sync"
	"time"

	"flashlive/domain"
	"flashlive/internal/slots"
)

// Defaults of FlashSale's admission to the purchase path.
const (
	// DefaultMaxPurchasesInFlight is how many purchases may be past
	// admission at once, by default: many Redis pipelines' worth.
	DefaultMaxPurchasesInFlight = 1024
	// DefaultPurchaseWait is how long a purchase may wait for its turn, by
	// default, before it is refused UNAVAILABLE.
	DefaultPurchaseWait = 250 * time.Millisecond
)

// admission bounds the purchases past it: a semaphore whose waiters give
// up after a deadline, so that a crowd the hot stock cannot serve at once
// queues briefly and is then told to come back, never piles up.
type admission struct {
	once  sync.Once
	slots chan struct{}
}

// admit takes a slot for one purchase, waiting at most PurchaseWait (and
// until ctx ends): UNAVAILABLE with a retry-after past that. The caller
// calls release once done.
func (s *FlashSale) admit(ctx context.Context) (release func(), err error) {
	a := &s.admission
	a.once.Do(func() {
		n := s.MaxPurchasesInFlight
		if n <= 0 {
			n = DefaultMaxPurchasesInFlight
		}
		a.slots = make(chan struct{}, n)
	})
	wait := s.PurchaseWait
	if wait <= 0 {
		wait = DefaultPurchaseWait
	}
	if !slots.Acquire(ctx, a.slots, wait) {
		return nil, domain.Retry(domain.EUNAVAILABLE, wait, "too many purchases at once; try again in a moment")
	}
	return func() { <-a.slots }, nil
}
