package redis

import (
	"context"
	"fmt"
	"math"
	"testing"
	"time"

	"flashlive/domain"
	"flashlive/internal/testenv"
)

func newTestQueue(t *testing.T, target testenv.RedisTarget, stock int) (*Queue, *HotStock, domain.HotEvent) {
	t.Helper()
	s, c := newTestHotStock(t, target)
	ev := hotEvent("evt_q", stock, 1)
	ev.WaitingRoom = true
	mustLoad(t, s, ev)
	return NewQueue(c), s, ev
}

func mustJoin(t *testing.T, q *Queue, ev *domain.HotEvent, buyer string, now time.Time) domain.QueueTicket {
	t.Helper()
	tk, _, _, err := q.Join(context.Background(), ev, buyer, now)
	if err != nil {
		t.Fatalf("join %s: %v", buyer, err)
	}
	return tk
}

func mustStep(t *testing.T, q *Queue, id string, now time.Time, per int) domain.QueueStep {
	t.Helper()
	st, err := q.Step(context.Background(), id, now, per, time.Minute)
	if err != nil {
		t.Fatalf("step at %v: %v", now, err)
	}
	if !st.Done {
		t.Fatalf("step at %v: not done", now)
	}
	return st
}

// TestQueueShuffleThenFIFO: 2,000 pre-start joiners come out in a random
// order, then 500 post-start joiners strictly in join order; nobody is
// admitted twice, positions derived from the head are exact.
func TestQueueShuffleThenFIFO(t *testing.T) {
	testenv.EachRedis(t, func(t *testing.T, target testenv.RedisTarget) {
		const pre, post = 2000, 500
		q, _, ev := newTestQueue(t, target, 10_000)
		before := ev.StartsAt.Add(-5 * time.Minute)
		for i := range pre {
			tk := mustJoin(t, q, &ev, fmt.Sprintf("usr_%05d", i), before.Add(time.Duration(i)*time.Millisecond))
			if tk.Status != domain.QueueWaiting || tk.Rank != 0 || tk.Seq != int64(i+1) {
				t.Fatalf("pre-start ticket %d = %+v, want WAITING, seq %d, no rank", i, tk, i+1)
			}
		}
		// A join again returns the same ticket.
		if again := mustJoin(t, q, &ev, "usr_00007", before.Add(time.Minute)); again.Seq != 8 {
			t.Fatalf("join again: seq %d, want 8", again.Seq)
		}
		// Before the start, no admission.
		if st := mustStep(t, q, ev.ID, before, 100); len(st.Admitted) != 0 || st.State.Shuffled {
			t.Fatalf("step before start: %+v", st)
		}
		start := ev.StartsAt
		// The first post-start join draws the order; then come 500 in FIFO.
		for i := range post {
			tk := mustJoin(t, q, &ev, fmt.Sprintf("usr_p%04d", i), start.Add(time.Duration(i)*time.Millisecond))
			if tk.Rank != int64(pre+i+1) {
				t.Fatalf("post-start ticket %d rank %d, want %d", i, tk.Rank, pre+i+1)
			}
		}
		seen := map[string]bool{}
		var order []string
		now := start.Add(time.Second)
		for len(order) < pre+post {
			st := mustStep(t, q, ev.ID, now, 97)
			if len(st.Admitted) == 0 {
				t.Fatalf("step at %v admitted nobody; %d of %d admitted", now, len(order), pre+post)
			}
			for _, tk := range st.Admitted {
				if seen[tk.BuyerID] {
					t.Fatalf("%s admitted twice", tk.BuyerID)
				}
				seen[tk.BuyerID] = true
				order = append(order, tk.BuyerID)
				if tk.Status != domain.QueueAdmitted || !tk.ExpiresAt.Equal(now.Add(time.Minute).Truncate(time.Millisecond)) {
					t.Fatalf("admitted %+v", tk)
				}
			}
			// Everyone admitted uses the admission: none stays outstanding.
			for _, tk := range st.Admitted {
				if ok, err := q.UseAdmission(context.Background(), ev.ID, tk.BuyerID, now); err != nil || !ok {
					t.Fatalf("use admission of %s = %v, %v", tk.BuyerID, ok, err)
				}
			}
			// The head's position is 1, and the next waiting buyer's position
			// is exactly its place.
			if st.State.Waiting > 0 {
				s, tks, err := q.Tickets(context.Background(), ev.ID, []string{"usr_p0499"})
				if err != nil {
					t.Fatal(err)
				}
				p, ok := domain.QueuePosition(tks["usr_p0499"].Rank, s.Head)
				if !ok || p != s.Waiting {
					t.Fatalf("last buyer's position %d (%v), want %d", p, ok, s.Waiting)
				}
			}
			now = now.Add(time.Second)
		}
		perm := make([]int, pre)
		for i, b := range order[:pre] {
			var n int
			if _, err := fmt.Sscanf(b, "usr_%05d", &n); err != nil {
				t.Fatalf("pre-start joiner admitted at %d is %s", i, b)
			}
			perm[i] = n
		}
		identity := true
		for i, p := range perm {
			identity = identity && i == p
		}
		if rho := testenv.RankCorrelation(perm); identity || math.Abs(rho) >= 0.1 {
			t.Fatalf("pre-start admission order: rho %.3f (identity %v), want a random permutation", rho, identity)
		}
		for i, b := range order[pre:] {
			if want := fmt.Sprintf("usr_p%04d", i); b != want {
				t.Fatalf("post-start admission %d is %s, want %s", i, b, want)
			}
		}
		// The step of a second already done does nothing.
		if st, err := q.Step(context.Background(), ev.ID, now.Add(-time.Second), 10, time.Minute); err != nil || st.Done {
			t.Fatalf("step again = %+v, %v; want not done", st, err)
		}
	})
}

// TestQueueAdmitsForStockAndExpires: admissions never outnumber the stock
// left; unused ones expire and free their place; a buyer may join again at
// the back.
func TestQueueAdmitsForStockAndExpires(t *testing.T) {
	testenv.EachRedis(t, func(t *testing.T, target testenv.RedisTarget) {
		ctx := context.Background()
		q, _, ev := newTestQueue(t, target, 3)
		now := ev.StartsAt.Add(time.Second)
		for i := range 10 {
			mustJoin(t, q, &ev, fmt.Sprintf("usr_%d", i), now)
		}
		st := mustStep(t, q, ev.ID, now, 100)
		if len(st.Admitted) != 3 || st.State.Waiting != 7 {
			t.Fatalf("first step admitted %d, %d waiting; want 3, 7", len(st.Admitted), st.State.Waiting)
		}
		if st := mustStep(t, q, ev.ID, now.Add(time.Second), 100); len(st.Admitted) != 0 {
			t.Fatalf("admitted %d while 3 outstanding for 3 units", len(st.Admitted))
		}
		if ok, err := q.UseAdmission(ctx, ev.ID, "usr_9", now); err != nil || ok {
			t.Fatalf("never-admitted buyer's admission = %v, %v; want false", ok, err)
		}
		later := now.Add(time.Minute + 2*time.Second)
		st = mustStep(t, q, ev.ID, later, 100)
		if len(st.Expired) != 3 || len(st.Admitted) != 3 {
			t.Fatalf("after expiry: %d expired, %d admitted; want 3, 3", len(st.Expired), len(st.Admitted))
		}
		if ok, err := q.UseAdmission(ctx, ev.ID, st.Expired[0].BuyerID, later); err != nil || ok {
			t.Fatalf("expired admission used = %v, %v", ok, err)
		}
		again := mustJoin(t, q, &ev, st.Expired[0].BuyerID, later)
		if again.Status != domain.QueueWaiting || again.Rank != 11 {
			t.Fatalf("join after expiry = %+v, want WAITING at rank 11", again)
		}
		// Leaving: true for a place, the ticket gone, false the second time.
		for want := range []bool{true, false} {
			held, _, err := q.Leave(ctx, ev.ID, again.BuyerID)
			if err != nil || held != (want == 0) {
				t.Fatalf("leave #%d = %v, %v", want, held, err)
			}
		}
		if _, tks, err := q.Tickets(ctx, ev.ID, []string{again.BuyerID}); err != nil || len(tks) != 0 {
			t.Fatalf("ticket after leave = %v, %v; want none", tks, err)
		}
	})
}

// TestQueueClosesWhenSoldOut: once the stock is gone every WAITING ticket
// is CLOSED in one step; ADMITTED ones keep their admission; when stock
// comes back only new joiners are admitted.
func TestQueueClosesWhenSoldOut(t *testing.T) {
	testenv.EachRedis(t, func(t *testing.T, target testenv.RedisTarget) {
		ctx := context.Background()
		q, hot, ev := newTestQueue(t, target, 2)
		now := ev.StartsAt.Add(time.Second)
		for i := range 6 {
			mustJoin(t, q, &ev, fmt.Sprintf("usr_%d", i), now)
		}
		st := mustStep(t, q, ev.ID, now, 100)
		var orders []*domain.Order
		for i, tk := range st.Admitted {
			if ok, err := q.UseAdmission(ctx, ev.ID, tk.BuyerID, now); err != nil || !ok {
				t.Fatalf("use admission: %v, %v", ok, err)
			}
			rsv := domain.Reservation{OrderID: fmt.Sprintf("ord_%d", i), BuyerID: tk.BuyerID, EventID: ev.ID, Quantity: 1, CreatedAt: now}
			res, err := hot.Reserve(ctx, rsv, fmt.Sprintf("key-%d", i), now)
			if err != nil || res.Outcome != domain.OutcomeReserved {
				t.Fatalf("reserve: %+v, %v", res, err)
			}
			orders = append(orders, res.Reservation.Order(domain.OrderAwaitingPayment, nil))
		}
		st = mustStep(t, q, ev.ID, now.Add(time.Second), 100)
		if st.Closed != 4 || st.State.Waiting != 0 || st.State.ClosedSeq != 6 {
			t.Fatalf("sold-out step: %+v; want 4 closed, none waiting, closed_seq 6", st)
		}
		_, tks, err := q.Tickets(ctx, ev.ID, []string{"usr_0", "usr_5"})
		if err != nil {
			t.Fatal(err)
		}
		if tks["usr_0"].Status != domain.QueueAdmitted || tks["usr_5"].Status != domain.QueueClosed {
			t.Fatalf("after sold out: %+v", tks)
		}
		// A cancel gives a unit back: a new joiner is admitted, the closed
		// stay closed.
		if ok, err := hot.Release(ctx, orders[0]); err != nil || !ok {
			t.Fatalf("release: %v, %v", ok, err)
		}
		later := now.Add(2 * time.Second)
		if tk := mustJoin(t, q, &ev, "usr_5", later); tk.Status != domain.QueueWaiting || tk.Seq != 7 {
			t.Fatalf("join after close = %+v, want a new WAITING ticket", tk)
		}
		st = mustStep(t, q, ev.ID, later, 100)
		if len(st.Admitted) != 1 || st.Admitted[0].BuyerID != "usr_5" {
			t.Fatalf("after the cancel: admitted %+v, want usr_5 alone", st.Admitted)
		}
		_, tks, err = q.Tickets(ctx, ev.ID, []string{"usr_4"})
		if err != nil || tks["usr_4"].Status != domain.QueueClosed {
			t.Fatalf("closed ticket after the cancel: %+v, %v", tks, err)
		}
	})
}

// TestQueueChallengeSpentOnce: a challenge ID is spent once.
func TestQueueChallengeSpentOnce(t *testing.T) {
	testenv.EachRedis(t, func(t *testing.T, target testenv.RedisTarget) {
		q, _, ev := newTestQueue(t, target, 1)
		for i, want := range []bool{true, false} {
			ok, err := q.UseChallenge(context.Background(), ev.ID, "c1", time.Minute)
			if err != nil || ok != want {
				t.Fatalf("spend #%d = %v, %v; want %v", i, ok, err, want)
			}
		}
	})
}
