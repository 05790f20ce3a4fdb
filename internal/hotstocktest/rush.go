package hotstocktest

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"flashlive/domain"
)

// testReserveConcurrentNeverOversells: many buyers at once, limit one,
// take exactly the stock, one unit each.
func testReserveConcurrent(t *testing.T, s domain.HotStock) {
	ev := Event("evt_rush", 100, 1)
	MustLoad(t, s, ev)
	if got, want := rush(t, s, ev, 2000, 500, func(int) int { return 1 }), ev.Stock; got != want {
		t.Fatalf("RESERVED %d units, want %d", got, want)
	}
}

// testReserveConcurrentRandomQuantities: many buyers at once, each press
// for 1 to 3 units under a limit of 3, never take more than the stock nor
// a buyer more than the limit, and every unit taken is in the outbox.
func testReserveConcurrentRandomQuantities(t *testing.T, s domain.HotStock) {
	ev := Event("evt_rush3", 100, 3)
	MustLoad(t, s, ev)
	rng := rand.New(rand.NewPCG(1, 2))
	qtys := make([]int, 2000)
	for i := range qtys {
		qtys[i] = 1 + rng.IntN(3)
	}
	sold := rush(t, s, ev, len(qtys), 500, func(i int) int { return qtys[i] })
	t.Logf("reserved %d units, %d remaining", sold, ev.Stock-sold)
}

// rush presses for ev's units attempts times at once, a minute into the
// sale: press i is buyer usr_<i mod buyers>'s for qty(i) units under order
// ord_<i> and key key-<i>. It fails t unless every answer is RESERVED (of
// that order and quantity), SOLD_OUT (with fewer units left than asked)
// or LIMIT_REACHED, no more than the stock is taken, no buyer takes more
// than the limit, and the tally holds exactly the units and outbox
// records of the RESERVED answers. It returns the units taken.
func rush(t *testing.T, s domain.HotStock, ev domain.HotEvent, attempts, buyers int, qty func(i int) int) int {
	t.Helper()
	results := make([]domain.ReserveResult, attempts)
	errs := make([]error, attempts)
	var wg sync.WaitGroup
	for i := range attempts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := Request(ev.ID, fmt.Sprintf("usr_%03d", i%buyers), fmt.Sprintf("ord_%04d", i), qty(i))
			results[i], errs[i] = s.Reserve(context.Background(), r, fmt.Sprintf("key-%d", i), T0.Add(time.Minute))
		}()
	}
	wg.Wait()
	sold := 0
	outbox := map[string]int{}
	perBuyer := map[string]int{}
	for i, res := range results {
		if errs[i] != nil {
			t.Fatalf("attempt %d: %v", i, errs[i])
		}
		switch res.Outcome {
		case domain.OutcomeReserved:
			if got, want := res.Reservation.OrderID, fmt.Sprintf("ord_%04d", i); got != want {
				t.Fatalf("attempt %d reserved order %s, want %s", i, got, want)
			}
			if got, want := res.Reservation.Quantity, qty(i); got != want {
				t.Fatalf("attempt %d reserved %d units, want %d", i, got, want)
			}
			sold += qty(i)
			outbox[res.Reservation.OrderID] = qty(i)
			perBuyer[res.Reservation.BuyerID] += qty(i)
		case domain.OutcomeSoldOut:
			if res.Remaining >= qty(i) {
				t.Fatalf("attempt %d: SOLD_OUT for %d units with %d remaining", i, qty(i), res.Remaining)
			}
		case domain.OutcomeLimitReached:
		default:
			t.Fatalf("attempt %d: outcome %s", i, res.Outcome)
		}
	}
	if sold > ev.Stock {
		t.Fatalf("reserved %d units of a stock of %d", sold, ev.Stock)
	}
	for b, n := range perBuyer {
		if n > ev.PerUserLimit {
			t.Fatalf("buyer %s got %d units, limit %d", b, n, ev.PerUserLimit)
		}
	}
	wantTally(t, s, ev.ID, ev.Stock-sold, outbox)
	return sold
}
