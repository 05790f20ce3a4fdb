package redis

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync/atomic"
	"testing"
	"time"

	"flashlive/domain"
	"flashlive/internal/testenv"
)

const (
	// callDeadline is the deadline of every Reserve in these tests: long
	// enough that a call which ends by it, rather than by an answer, is
	// stuck.
	callDeadline = 30 * time.Second
	// stuckAfter is how long the tests wait for every call to return:
	// past batchTimeout, the most a batch in flight at Stop may take, and
	// well before callDeadline.
	stuckAfter = 2 * batchTimeout
)

// reserveCall is the answer to the i-th Reserve of a test.
type reserveCall struct {
	i   int
	res domain.ReserveResult
	err error
}

// callContext is the context of the test's Reserve calls: it ends at
// callDeadline, or when the test does, so that calls a failed test left
// stuck do not outlive it.
func callContext(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), callDeadline)
	t.Cleanup(cancel)
	return ctx
}

// reserveAll starts one Reserve per buyer usr_<i> (order ord_<i>, one
// unit, key key-<i>) at once, each answering on the returned channel.
func reserveAll(ctx context.Context, s *HotStock, eventID string, calls int) <-chan reserveCall {
	out := make(chan reserveCall, calls)
	for i := range calls {
		go func() {
			r := request(eventID, fmt.Sprintf("usr_%04d", i), fmt.Sprintf("ord_%04d", i), 1)
			res, err := s.Reserve(ctx, r, fmt.Sprintf("key-%d", i), t0.Add(time.Minute))
			out <- reserveCall{i: i, res: res, err: err}
		}()
	}
	return out
}

// awaitCalls receives n answers from out, and fails t if they have not
// all come within stuckAfter.
func awaitCalls(t *testing.T, out <-chan reserveCall, n int) []reserveCall {
	t.Helper()
	guard := time.NewTimer(stuckAfter)
	defer guard.Stop()
	got := make([]reserveCall, 0, n)
	for len(got) < n {
		select {
		case c := <-out:
			got = append(got, c)
		case <-guard.C:
			t.Fatalf("%d of %d Reserve calls still waiting after %v (their deadline is %v): stuck", n-len(got), n, stuckAfter, callDeadline)
		}
	}
	return got
}

// TestHotStockReserveAfterStop: once Stop has returned, every Reserve,
// however many at once, fails at once with ErrStopped, not at its
// deadline, and takes nothing.
func TestHotStockReserveAfterStop(t *testing.T) {
	testenv.EachRedis(t, func(t *testing.T, target testenv.RedisTarget) {
		s, _ := newTestHotStock(t, target)
		const calls = 500
		ev := hotEvent("evt_afterstop", calls, 1)
		mustLoad(t, s, ev)
		before := request(ev.ID, "usr_before", "ord_before", 1)
		if res := mustReserve(t, s, before, "key-before", t0.Add(time.Minute)); res.Outcome != domain.OutcomeReserved {
			t.Fatalf("reserve before Stop = %s, want RESERVED", fmtResult(res))
		}

		s.Stop()
		out := reserveAll(callContext(t), s, ev.ID, calls)
		for _, c := range awaitCalls(t, out, calls) {
			if !errors.Is(c.err, ErrStopped) {
				t.Errorf("Reserve %d after Stop = %s, %v; want an error wrapping ErrStopped", c.i, fmtResult(c.res), c.err)
			}
		}

		st := checkConserved(t, s, ev.ID, 1)
		if got, want := st.remaining, calls-1; got != want {
			t.Fatalf("remaining = %d, want %d", got, want)
		}
		if got, want := len(st.outbox), 1; got != want {
			t.Fatalf("outbox has %d records, want %d (only %s)", got, want, before.OrderID)
		}
		if _, ok := st.outbox[before.OrderID]; !ok {
			t.Fatalf("outbox lacks %s, reserved before Stop", before.OrderID)
		}
	})
}

// TestHotStockReserveRacesStop: buyers who keep reserving while Stop is
// called (twice at once) each get, call after call, either the real
// answer or ErrStopped, and none waits until its deadline; what the
// answers say was reserved is exactly what the hot stock holds, so a call
// refused with ErrStopped took nothing.
func TestHotStockReserveRacesStop(t *testing.T) {
	testenv.EachRedis(t, func(t *testing.T, target testenv.RedisTarget) {
		s, _ := newTestHotStock(t, target)
		const (
			workers   = 64
			perWorker = 200 // calls a worker may make; Stop comes well before
			stopAfter = 1000
		)
		// One unit per buyer and one for every call a worker may make: every
		// call that reaches Redis is RESERVED.
		ev := hotEvent("evt_racestop", workers*perWorker, 1)
		mustLoad(t, s, ev)
		ctx := callContext(t)

		// Each worker reserves one order after another until an answer is not
		// RESERVED, then reports the orders it reserved and that last answer.
		type run struct {
			w        int
			reserved []string
			last     reserveCall
		}
		var answered atomic.Int64
		halfway := make(chan struct{})
		out := make(chan run, workers)
		for w := range workers {
			go func() {
				rn := run{w: w}
				for n := range perWorker {
					id := fmt.Sprintf("ord_%02d_%03d", w, n)
					r := request(ev.ID, "usr_"+id, id, 1)
					res, err := s.Reserve(ctx, r, "key-"+id, t0.Add(time.Minute))
					rn.last = reserveCall{i: n, res: res, err: err}
					if err != nil || res.Outcome != domain.OutcomeReserved {
						break
					}
					if got, want := res.Reservation.OrderID, id; got != want {
						rn.last.err = fmt.Errorf("reserved order %s, want %s", got, want)
						break
					}
					rn.reserved = append(rn.reserved, id)
					if answered.Add(1) == stopAfter {
						close(halfway)
					}
				}
				out <- rn
			}()
		}
		stopped := make(chan struct{}, 2)
		for range 2 {
			go func() {
				<-halfway
				s.Stop()
				stopped <- struct{}{}
			}()
		}

		guard := time.NewTimer(stuckAfter)
		defer guard.Stop()
		var reserved []string
		refused := 0
		for range workers {
			var rn run
			select {
			case rn = <-out:
			case <-guard.C:
				t.Fatalf("a worker's Reserve is still waiting after %v (its deadline is %v): stuck", stuckAfter, callDeadline)
			}
			reserved = append(reserved, rn.reserved...)
			switch c := rn.last; {
			case errors.Is(c.err, ErrStopped):
				refused++
			case c.err != nil:
				t.Errorf("worker %d, call %d: %v, want its answer or ErrStopped", rn.w, c.i, c.err)
			case c.res.Outcome == domain.OutcomeReserved:
				t.Errorf("worker %d made all its %d calls before Stop", rn.w, perWorker)
			default:
				t.Errorf("worker %d, call %d = %s, want RESERVED or ErrStopped", rn.w, c.i, fmtResult(c.res))
			}
		}
		for range 2 {
			select {
			case <-stopped:
			case <-guard.C:
				t.Fatalf("Stop has not returned after %v", stuckAfter)
			}
		}
		t.Logf("%d RESERVED, %d workers ended by ErrStopped", len(reserved), refused)

		st := checkConserved(t, s, ev.ID, 1)
		if got, want := st.remaining, ev.Stock-len(reserved); got != want {
			t.Fatalf("remaining = %d, want %d (stock %d - %d RESERVED)", got, want, ev.Stock, len(reserved))
		}
		outbox := make([]string, 0, len(st.outbox))
		for id := range st.outbox {
			outbox = append(outbox, id)
		}
		sort.Strings(outbox)
		sort.Strings(reserved)
		if got, want := fmt.Sprint(outbox), fmt.Sprint(reserved); got != want {
			t.Fatalf("outbox holds %s, want exactly the RESERVED orders %s", got, want)
		}
	})
}

// TestHotStockBatchSpansSlots: reservations of many events that go to
// Redis together (in one batch, one pipeline) each land in their own
// event's slot, on whichever node of a cluster holds it: every buyer is
// answered RESERVED and every event's stock is conserved exactly.
func TestHotStockBatchSpansSlots(t *testing.T) {
	testenv.EachRedis(t, func(t *testing.T, target testenv.RedisTarget) {
		s, c := newTestHotStock(t, target)
		ctx := callContext(t)
		const events, buyers = 24, 20
		ids := make([]string, events)
		slots := map[int64]bool{}
		for e := range ids {
			ids[e] = fmt.Sprintf("evt_span_%02d", e)
			mustLoad(t, s, hotEvent(ids[e], buyers, 1))
			if c.IsCluster() {
				slot, err := c.RDB.ClusterKeySlot(ctx, s.metaKey(ids[e])).Result()
				if err != nil {
					t.Fatal(err)
				}
				slots[slot] = true
			}
		}
		if c.IsCluster() && len(slots) < 2 {
			t.Fatalf("the events share %d slot(s): the test would not span nodes", len(slots))
		}
		out := make(chan reserveCall, events*buyers)
		for i := range events * buyers {
			go func() {
				ev := ids[i%events]
				r := request(ev, fmt.Sprintf("usr_%04d", i/events), fmt.Sprintf("ord_%s_%04d", ev, i/events), 1)
				res, err := s.Reserve(ctx, r, fmt.Sprintf("key-%d", i), t0.Add(time.Minute))
				out <- reserveCall{i: i, res: res, err: err}
			}()
		}
		var written []domain.Reservation
		for _, call := range awaitCalls(t, out, events*buyers) {
			if call.err != nil || call.res.Outcome != domain.OutcomeReserved {
				t.Fatalf("call %d = %+v, %v; want RESERVED", call.i, call.res, call.err)
			}
			written = append(written, *call.res.Reservation)
		}
		left, err := s.Remaining(ctx, ids)
		if err != nil {
			t.Fatal(err)
		}
		for _, id := range ids {
			if st := checkConserved(t, s, id, 1); st.remaining != 0 || len(st.outbox) != buyers {
				t.Fatalf("%s: remaining %d, outbox %d; want 0, %d", id, st.remaining, len(st.outbox), buyers)
			}
			if left[id] != 0 {
				t.Fatalf("Remaining[%s] = %d, want 0", id, left[id])
			}
		}
		// Forget, one pipeline over every event's outbox, empties them all.
		if err := s.Forget(ctx, written); err != nil {
			t.Fatal(err)
		}
		for _, id := range ids {
			if st := checkConserved(t, s, id, 1); len(st.outbox) != 0 {
				t.Fatalf("%s: outbox %d after Forget, want 0", id, len(st.outbox))
			}
		}
	})
}
