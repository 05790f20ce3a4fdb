package main

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

// acceptLimit is the perUserLimit of the accept phase's event: the
// domain's largest, so that no buyer meets it within a phase.
const acceptLimit = 1000

// acceptBackoff is the least a buyer of the accept phase rests after a
// RATE_LIMITED answer.
const acceptBackoff = time.Second

// accept measures purchases that reserve, steadily, at -conns requests in
// flight for -phase: what the rush cannot show, since the rush is short,
// starts with every buyer asking for a purchase token and is paced by its
// buyers (a reaction time, a look at each answer). It puts a second event
// on sale with a unit for every press (acceptLimit per buyer), gives every
// buyer a purchase token for it, then presses back to back, each press a
// new unit under a new idempotency key, the buyers taken in turn: with
// 1,000 buyers over 256 addresses, no per-buyer or per-address limit is
// met below their rates times the buyers and addresses, so the phase
// measures the accept path's cost, not a limit doing its job (a
// RATE_LIMITED answer shows in the outcomes if one is met). Its orders are
// not checked by the invariants (those are the rush's event's).
func (s *sale) accept(ctx context.Context) error {
	if len(s.buyers) == 0 {
		return nil
	}
	// A product of its own, with the stock of every press.
	stock := len(s.buyers) * acceptLimit
	var prod struct {
		CreateProduct struct{ ID string } `json:"createProduct"`
	}
	if err := s.seller.ep.must(ctx, s.seller.Token, `mutation($stock: Int!) {
		createProduct(input: {name: "Bench cables", priceCents: 999, stock: $stock}) { id } }`, map[string]any{"stock": stock}, &prod); err != nil {
		return err
	}
	startsAt := s.serverNow().Add(time.Second).Truncate(time.Millisecond)
	ev, err := s.createEvent(ctx, startsAt, stock, acceptLimit, map[string]any{"productId": prod.CreateProduct.ID})
	if err != nil {
		return err
	}
	if err := sleep(ctx, time.Until(startsAt.Add(-s.offset))); err != nil {
		return err
	}
	tokens := s.rec.beside("accept tokens")
	slots := make(chan struct{}, s.cfg.Conns)
	var wg sync.WaitGroup
	var failed atomic.Int64
	for _, b := range s.buyers {
		b.ptoken = ""
		wg.Go(func() {
			if s.purchaseToken(ctx, tokens, b, ev, startsAt, slots) != nil {
				failed.Add(1)
			}
		})
	}
	wg.Wait()
	s.rec.end(tokens)
	if n := failed.Load(); n > 0 {
		s.note("accept: %d buyers got no purchase token", n)
	}
	pressers := s.tokenHolders()
	if len(pressers) == 0 {
		s.note("accept: skipped, no buyer holds a purchase token")
		return ctx.Err()
	}
	p := s.rec.begin("accept")
	defer s.rec.end(p)
	// A buyer has one press in flight at most, as a person would, and a
	// buyer told to wait rests that long while the others press: so with
	// fewer buyers than connections the phase does not turn into the
	// abuse that the server's strikes rightly block.
	rest := make([]atomic.Int64, len(pressers))
	busy := make([]atomic.Bool, len(pressers))
	var seq atomic.Int64
	s.spin(ctx, p, s.cfg.Phase, func(ctx context.Context, w, k int) string {
		for spins := 1; ctx.Err() == nil; spins++ {
			i := int(seq.Add(1)) % len(pressers)
			if rest[i].Load() > time.Now().UnixNano() || !busy[i].CompareAndSwap(false, true) {
				if spins%len(pressers) == 0 {
					_ = sleep(ctx, 5*time.Millisecond) // every buyer resting or pressing
				}
				continue
			}
			a := s.press(ctx, pressers[i], ev, fmt.Sprintf("%s-acc-%d-%d", s.runID, w, k))
			if a.RetryAfter > 0 {
				// At least a second, as a person told to wait would: a
				// buyer that came back the moment its budget allowed
				// one press would be refused again at once, and its
				// refusals would pile up into a block.
				rest[i].Store(time.Now().Add(max(a.RetryAfter, acceptBackoff)).UnixNano())
			}
			busy[i].Store(false)
			return a.Outcome
		}
		return "CANCELLED"
	})
	return ctx.Err()
}
