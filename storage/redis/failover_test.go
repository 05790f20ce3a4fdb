package redis

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"flashlive/domain"
	"flashlive/internal/testenv"
)

// TestRedisClusterFailoverNeverOversells kills (SIGKILL) the master that
// holds an event's slot while buyers press "buy", lets the cluster promote
// its replica, starts the killed node again (it rejoins as the promoted
// master's replica), and has every buyer retry with the same idempotency
// key until answered, as clients do. The hot stock requires one replica
// to hold every RESERVED answer before it is given (Client.MinReplicas 1,
// Redis WAIT).
//
// Afterwards the hot stock on the promoted master keeps its invariants
// exactly: stock = remaining + sum(held), no buyer above the limit,
// nothing held but for an order some buyer was told RESERVED; and no
// RESERVED answer is lost with the old master: every one is in the
// promoted master's orders hash and outbox (for the order writer), so
// there are no more RESERVED answers than stock. While the promoted
// master has no replica (until the killed node is back) purchases are
// refused UNAVAILABLE, not answered RESERVED.
func TestRedisClusterFailoverNeverOversells(t *testing.T) {
	cluster := testenv.StartRedisCluster(t)
	c := openTestClient(t, testenv.RedisTarget{Name: "private cluster", URL: cluster.URL})
	c.MinReplicas, c.ReplicaTimeout = 1, 250*time.Millisecond
	s := NewHotStock(c, time.Hour)
	t.Cleanup(s.Stop)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	const stock, waveA, waveB = 200, 150, 250
	now := time.Now()
	ev := hotEvent("evt_failover", stock, 1)
	ev.StartsAt, ev.EndsAt = now.Add(-time.Minute), now.Add(time.Hour)
	mustLoad(t, s, ev)

	var (
		mu       sync.Mutex
		acked    = map[string]string{} // order ID -> buyer, every RESERVED answer
		answered atomic.Int64
		retries  atomic.Int64
		refused  atomic.Int64 // UNAVAILABLE for want of a replica
		wg       sync.WaitGroup
	)
	buy := func(i int) {
		defer wg.Done()
		buyer, order := fmt.Sprintf("usr_%04d", i), fmt.Sprintf("ord_%04d", i)
		r := domain.Reservation{OrderID: order, BuyerID: buyer, EventID: ev.ID, Quantity: 1, CreatedAt: now}
		for {
			call, cancelCall := context.WithTimeout(ctx, 2*time.Second)
			res, err := s.Reserve(call, r, "key-"+order, time.Now())
			cancelCall()
			if err == nil {
				if res.Outcome == domain.OutcomeReserved {
					mu.Lock()
					acked[order] = buyer
					mu.Unlock()
				}
				answered.Add(1)
				return
			}
			if ctx.Err() != nil {
				t.Errorf("buyer %s never answered: %v", buyer, err)
				return
			}
			if errors.Is(err, ErrNotReplicated) {
				if code := domain.ErrorCode(err); code != domain.EUNAVAILABLE {
					t.Errorf("not replicated: code %s, want %s", code, domain.EUNAVAILABLE)
				}
				refused.Add(1)
			}
			// Failing over: the client's back-off before it retries with
			// the same key.
			retries.Add(1)
			select {
			case <-ctx.Done():
			case <-time.After(20 * time.Millisecond):
			}
		}
	}
	for i := range waveA {
		wg.Add(1)
		go buy(i)
	}
	testenv.WaitFor(t, 30*time.Second, "a third of the first wave answered", func() bool { return answered.Load() >= waveA/3 })
	master := cluster.MasterOf(t, s.metaKey(ev.ID))
	cluster.Kill(t, master)
	for i := waveA; i < waveA+waveB; i++ {
		wg.Add(1)
		go buy(i)
	}
	promoted := cluster.WaitFailover(t, s.metaKey(ev.ID), master)
	// The machine comes back: it rejoins as the promoted master's replica,
	// and purchases can be held by two machines again.
	cluster.Restart(t, master)
	cluster.WaitReplicated(t, promoted)
	wg.Wait()
	if t.Failed() {
		return
	}

	st := checkConserved(t, s, ev.ID, 1)
	held := 0
	for _, n := range st.held {
		held += n
	}
	lost := 0
	outbox := map[string]bool{}
	rs, err := s.Reservations(ctx, ev.ID, now.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rs {
		if outbox[r.OrderID] {
			t.Errorf("order %s twice in the outbox", r.OrderID)
		}
		outbox[r.OrderID] = true
	}
	for order := range acked {
		_, held := st.orders[order]
		if !held || !outbox[order] {
			lost++
			t.Errorf("order %s was answered RESERVED but is lost with the old master (held %v, in outbox %v)", order, held, outbox[order])
		}
	}
	for order, v := range st.orders {
		if _, ok := acked[order]; !ok {
			t.Errorf("order %s (%s) holds stock but no buyer was told RESERVED", order, v)
		}
	}
	if got, want := held, len(st.orders); got != want {
		t.Errorf("held %d units for %d orders, want one each", got, want)
	}
	if got, want := st.remaining+held, stock; got != want {
		t.Fatalf("remaining %d + held %d = %d, want stock %d", st.remaining, held, got, want)
	}
	if len(acked) > stock {
		t.Fatalf("%d RESERVED answers for %d units", len(acked), stock)
	}
	if got, want := len(outbox), len(st.orders); got != want {
		t.Errorf("outbox holds %d orders, orders hash %d", got, want)
	}
	// The promoted master serves the rest of the contract too.
	if _, err := s.Tally(ctx, ev.ID); err != nil {
		t.Fatalf("tally after failover: %v", err)
	}
	t.Logf("master %s killed, %s promoted; %d buyers, %d RESERVED answers, %d held, remaining %d, %d retries (%d UNAVAILABLE for want of a replica); acknowledged but lost with the old master: %d",
		master, promoted, waveA+waveB, len(acked), held, st.remaining, retries.Load(), refused.Load(), lost)
}
