package redis

import (
	"context"
	"errors"
	"testing"
	"time"

	"flashlive/domain"
	"flashlive/internal/testenv"
)

// wantNotReplicated fails the test unless err is the UNAVAILABLE of an
// answer its replicas do not hold yet, with a retry wait.
func wantNotReplicated(t *testing.T, what string, err error) {
	t.Helper()
	if !errors.Is(err, ErrNotReplicated) {
		t.Fatalf("%s with its replica stopped: %v, want ErrNotReplicated", what, err)
	}
	if code := domain.ErrorCode(err); code != domain.EUNAVAILABLE {
		t.Fatalf("%s: code %s, want %s", what, code, domain.EUNAVAILABLE)
	}
	if domain.RetryAfter(err) <= 0 {
		t.Fatalf("%s: no retry-after in %v", what, err)
	}
}

// TestReplicaMissingRefusesAnswers stops (SIGSTOP) the replica of the
// master that holds an event's slot, then a rain's: with MinReplicas 1 a
// purchase that reserves is answered UNAVAILABLE, not RESERVED, and so is
// a grab that takes a packet, and so are the kept answers read back
// (Answer, Held). Once the replica runs again, a retry with the same key
// answers RESERVED with the first call's order ID (GRABBED with the first
// grab), and nothing was taken twice.
func TestReplicaMissingRefusesAnswers(t *testing.T) {
	cluster := testenv.StartRedisCluster(t)
	c := openTestClient(t, testenv.RedisTarget{Name: "private cluster", URL: cluster.URL})
	c.MinReplicas, c.ReplicaTimeout = 1, 50*time.Millisecond
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	t.Run("purchase", func(t *testing.T) {
		s := NewHotStock(c, time.Hour)
		t.Cleanup(s.Stop)
		ev := hotEvent("evt_norepl", 5, 1)
		mustLoad(t, s, ev)
		now := t0.Add(time.Minute)
		// Replicated while the replica runs (once it has synced; a loaded
		// machine may miss the 50 ms once, and the same key answers again).
		cluster.WaitReplicated(t, cluster.MasterOf(t, s.metaKey(ev.ID)))
		testenv.WaitFor(t, time.Minute, "a replicated reservation", func() bool {
			res, err := s.Reserve(ctx, request(ev.ID, "usr_a", "ord_a", 1), "key-a", now)
			return err == nil && res.Outcome == domain.OutcomeReserved
		})
		replica := cluster.ReplicaOf(t, cluster.MasterOf(t, s.metaKey(ev.ID)))
		cluster.Pause(t, replica)
		_, err := s.Reserve(ctx, request(ev.ID, "usr_b", "ord_b", 1), "key-b", now)
		wantNotReplicated(t, "reserve", err)
		_, err = s.Answer(ctx, ev.ID, "usr_b", "key-b")
		wantNotReplicated(t, "kept answer", err)
		_, err = s.Reserve(ctx, request(ev.ID, "usr_b", "ord_b2", 1), "key-b", now)
		wantNotReplicated(t, "retry", err)
		cluster.Resume(t, replica)

		var res domain.ReserveResult
		testenv.WaitFor(t, time.Minute, "the retry answered once the replica is back", func() bool {
			res, err = s.Reserve(ctx, request(ev.ID, "usr_b", "ord_b3", 1), "key-b", now)
			return err == nil
		})
		if res.Outcome != domain.OutcomeReserved || res.Reservation == nil || res.Reservation.OrderID != "ord_b" || !res.Replay {
			t.Fatalf("retry = %+v (%+v), want the RESERVED replay of ord_b", res, res.Reservation)
		}
		kept, err := s.Answer(ctx, ev.ID, "usr_b", "key-b")
		if err != nil || kept == nil || kept.Reservation.OrderID != "ord_b" {
			t.Fatalf("kept answer = %+v, %v; want ord_b", kept, err)
		}
		st := checkConserved(t, s, ev.ID, 1)
		if got, want := len(st.orders), 2; got != want || st.remaining != 3 {
			t.Fatalf("%d orders, remaining %d; want %d and 3", got, st.remaining, want)
		}
	})

	t.Run("grab", func(t *testing.T) {
		s := NewRains(c)
		now := time.Now().Truncate(time.Millisecond)
		r := testRain("rain_norepl", 30, 3, now.Add(-time.Second), now.Add(time.Hour))
		if ok, err := s.Load(ctx, r, nil); err != nil || !ok {
			t.Fatalf("load rain = %v, %v", ok, err)
		}
		replica := cluster.ReplicaOf(t, cluster.MasterOf(t, s.key(r.ID, "meta")))
		testenv.WaitFor(t, time.Minute, "the replica online again", func() bool {
			_, _, err := s.Grab(ctx, r.ID, "usr_a", "ka", "grab_a", now)
			return err == nil
		})
		cluster.Pause(t, replica)
		_, _, err := s.Grab(ctx, r.ID, "usr_b", "kb", "grab_b", now)
		wantNotReplicated(t, "grab", err)
		_, err = s.Held(ctx, r.ID, "usr_b")
		wantNotReplicated(t, "held grab", err)
		cluster.Resume(t, replica)

		var res domain.GrabResult
		var g *domain.RedPacketGrab
		testenv.WaitFor(t, time.Minute, "the retry answered once the replica is back", func() bool {
			res, g, err = s.Grab(ctx, r.ID, "usr_b", "kb", "grab_b2", now)
			return err == nil
		})
		if res.Outcome != domain.GrabGrabbed || g == nil || g.ID != "grab_b" || !res.Replay {
			t.Fatalf("retry = %+v, %+v; want the GRABBED replay of grab_b", res, g)
		}
		n, out, loaded, err := s.Taken(ctx, r.ID)
		if err != nil || !loaded || n != 2 || len(out) != 2 {
			t.Fatalf("taken = %d, outbox %d, loaded %v, %v; want 2 grabs in the outbox", n, len(out), loaded, err)
		}
		if left, _, err := s.Left(ctx, r.ID); err != nil || left != 1 {
			t.Fatalf("left = %d, %v; want 1", left, err)
		}
	})
}
