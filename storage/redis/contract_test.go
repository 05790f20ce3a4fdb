package redis

import (
	"context"
	"maps"
	"slices"
	"sync"
	"testing"

	"flashlive/domain"
	"flashlive/internal/hotstocktest"
	"flashlive/internal/testenv"
)

// TestHotStockContract runs the hot stock's contract over Redis: the suite
// that internal/memhot, the service tests' hot stock, passes too. After
// each of its tests, the ledger the scripts keep in Redis is checked too
// (ledgerChecked).
func TestHotStockContract(t *testing.T) {
	testenv.EachRedis(t, func(t *testing.T, target testenv.RedisTarget) {
		hotstocktest.Run(t, func(t *testing.T) domain.HotStock {
			s := NewHotStock(openTestClient(t, target), hotstocktest.IdempotencyTTL)
			t.Cleanup(s.Stop)
			l := &ledgerChecked{HotStock: s, loads: map[string]domain.HotEvent{}}
			t.Cleanup(func() { l.check(t) })
			return l
		})
	})
}

// ledgerChecked is a HotStock that remembers what each fresh Load gave it,
// so that check can hold the ledger in Redis (meta, held, orders) to what
// the answers seen through domain.HotStock imply.
type ledgerChecked struct {
	*HotStock
	mu    sync.Mutex
	loads map[string]domain.HotEvent // by ID: the event of its fresh load
}

// Load implements domain.HotStock, remembering ev's holdings when it
// loads ev.
func (l *ledgerChecked) Load(ctx context.Context, ev domain.HotEvent) (bool, error) {
	ok, err := l.HotStock.Load(ctx, ev)
	if err == nil && ok {
		l.mu.Lock()
		defer l.mu.Unlock()
		ev.Held, ev.Unpaid = maps.Clone(ev.Held), slices.Clone(ev.Unpaid)
		l.loads[ev.ID] = ev
	}
	return ok, err
}

// check fails t unless, for every event loaded, checkConserved holds
// (with the limit raised to what a buyer was loaded with, as Load allows)
// and every buyer's held units are exactly the units of their entries in
// orders plus those loaded without one (holdings that name no unpaid
// order). It checks nothing once t has failed.
func (l *ledgerChecked) check(t *testing.T) {
	if t.Failed() {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	for id, ev := range l.loads {
		limit := ev.PerUserLimit
		for _, n := range ev.Held {
			limit = max(limit, n)
		}
		st := checkConserved(t, l.HotStock, id, limit)
		want := maps.Clone(st.ordered)
		for b, n := range ev.Held {
			want[b] += n
		}
		for _, o := range ev.Unpaid {
			want[o.BuyerID] -= o.Units
		}
		maps.DeleteFunc(want, func(_ string, n int) bool { return n == 0 })
		if !maps.Equal(st.held, want) {
			t.Fatalf("%s: held = %v, want %v (its orders and the units loaded without one)", id, st.held, want)
		}
	}
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
