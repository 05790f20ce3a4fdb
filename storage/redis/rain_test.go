package redis

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"flashlive/domain"
	"flashlive/internal/testenv"
)

func testRain(id string, total int64, n int, start, end time.Time) *domain.RedPacketRain {
	r := rand.New(rand.NewPCG(1, 2))
	return &domain.RedPacketRain{
		ID: id, RoomID: "room_1", SellerID: "usr_s", TotalCents: total,
		Amounts: domain.SplitRedPackets(total, n, r.Int64N), StartsAt: start, EndsAt: end,
	}
}

func TestRainGrabOutcomes(t *testing.T) {
	testenv.EachRedis(t, func(t *testing.T, target testenv.RedisTarget) {
		ctx := context.Background()
		s := NewRains(openTestClient(t, target))
		now := time.Now().Truncate(time.Millisecond)
		r := testRain("rain_a", 3, 2, now.Add(time.Second), now.Add(time.Minute))

		if _, _, err := s.Grab(ctx, r.ID, "usr_1", "k1", "grab_0", now); err != domain.ErrNotLoaded {
			t.Fatalf("grab of an unloaded rain: %v, want ErrNotLoaded", err)
		}
		for i, want := range []bool{true, false} {
			if ok, err := s.Load(ctx, r, nil); err != nil || ok != want {
				t.Fatalf("Load #%d = %v, %v; want %v", i, ok, err, want)
			}
		}
		res, _, err := s.Grab(ctx, r.ID, "usr_1", "early", "grab_0", now)
		if err != nil || res.Outcome != domain.GrabNotStarted {
			t.Fatalf("early grab = %+v, %v", res, err)
		}
		at := now.Add(2 * time.Second)
		// The refusal is the key's first answer, even once the rain is live.
		if res, _, _ := s.Grab(ctx, r.ID, "usr_1", "early", "grab_0", at); res.Outcome != domain.GrabNotStarted || !res.Replay {
			t.Fatalf("early key again = %+v, want its NOT_STARTED", res)
		}
		first, g, err := s.Grab(ctx, r.ID, "usr_1", "k1", "grab_1", at)
		if err != nil || first.Outcome != domain.GrabGrabbed || g == nil || first.PacketsLeft != 1 || g.AmountCents != first.AmountCents {
			t.Fatalf("grab = %+v, %+v, %v", first, g, err)
		}
		again, _, _ := s.Grab(ctx, r.ID, "usr_1", "k1", "grab_x", at.Add(time.Second))
		if again.Outcome != domain.GrabGrabbed || again.AmountCents != first.AmountCents || again.PacketsLeft != 1 || !again.Replay {
			t.Fatalf("same key again = %+v, want %+v", again, first)
		}
		other, _, _ := s.Grab(ctx, r.ID, "usr_1", "k2", "grab_y", at)
		if other.Outcome != domain.GrabAlreadyGrabbed || other.AmountCents != first.AmountCents {
			t.Fatalf("another key = %+v, want ALREADY_GRABBED of %d", other, first.AmountCents)
		}
		second, _, _ := s.Grab(ctx, r.ID, "usr_2", "k1", "grab_2", at)
		if second.Outcome != domain.GrabGrabbed || second.PacketsLeft != 0 || second.AmountCents+first.AmountCents != 3 {
			t.Fatalf("second grab = %+v", second)
		}
		if res, _, _ := s.Grab(ctx, r.ID, "usr_3", "k1", "grab_3", at); res.Outcome != domain.GrabEmpty {
			t.Fatalf("third grab = %+v, want EMPTY", res)
		}
		// ALREADY_GRABBED comes before ENDED.
		if res, _, _ := s.Grab(ctx, r.ID, "usr_2", "late", "grab_4", now.Add(time.Hour)); res.Outcome != domain.GrabAlreadyGrabbed {
			t.Fatalf("holder after the end = %+v, want ALREADY_GRABBED", res)
		}
		if res, _, _ := s.Grab(ctx, r.ID, "usr_4", "late", "grab_4", now.Add(time.Hour)); res.Outcome != domain.GrabEnded {
			t.Fatalf("grab after the end = %+v, want ENDED", res)
		}
		taken, outbox, loaded, err := s.Taken(ctx, r.ID)
		if err != nil || !loaded || taken != 2 || len(outbox) != 2 {
			t.Fatalf("Taken = %d, %d in outbox, %v, %v", taken, len(outbox), loaded, err)
		}
		if err := s.Forget(ctx, outbox[:1]); err != nil {
			t.Fatal(err)
		}
		if _, outbox, _, _ := s.Taken(ctx, r.ID); len(outbox) != 1 {
			t.Fatalf("outbox after Forget: %d, want 1", len(outbox))
		}
		if _, _, err := s.Grab(ctx, r.ID, "usr_1", "", "grab_5", at); domain.ErrorCode(err) != domain.EINVALID {
			t.Fatalf("empty key: %v, want INVALID", err)
		}
	})
}

// TestRainGrabStorm: 1,000 grabs by 500 buyers on 100 packets: exactly
// 100 taken, no buyer twice, the amounts sum exactly to the total.
func TestRainGrabStorm(t *testing.T) {
	testenv.EachRedis(t, func(t *testing.T, target testenv.RedisTarget) {
		ctx := context.Background()
		s := NewRains(openTestClient(t, target))
		now := time.Now()
		r := testRain("rain_storm", 10_000, 100, now.Add(-time.Second), now.Add(time.Minute))
		if _, err := s.Load(ctx, r, nil); err != nil {
			t.Fatal(err)
		}
		var mu sync.Mutex
		var sum int64
		grabbed := map[string]int{}
		var wg sync.WaitGroup
		for i := range 1000 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				buyer := fmt.Sprintf("usr_%d", i%500)
				res, _, err := s.Grab(ctx, r.ID, buyer, fmt.Sprintf("k%d", i), fmt.Sprintf("grab_%d", i), time.Now())
				if err != nil {
					t.Error(err)
					return
				}
				if res.Outcome == domain.GrabGrabbed {
					mu.Lock()
					sum += res.AmountCents
					grabbed[buyer]++
					mu.Unlock()
				}
			}()
		}
		wg.Wait()
		if len(grabbed) != 100 {
			t.Fatalf("%d buyers grabbed, want 100", len(grabbed))
		}
		for b, n := range grabbed {
			if n != 1 {
				t.Fatalf("buyer %s grabbed %d times", b, n)
			}
		}
		if sum != 10_000 {
			t.Fatalf("grabbed %d cents, want 10000", sum)
		}
		if left, _, _ := s.Left(ctx, r.ID); left != 0 {
			t.Fatalf("%d packets left, want 0", left)
		}
	})
}

// TestRainLoadWithGrabs: a rain rebuilt from PostgreSQL keeps its holders
// and offers only the packets nobody holds.
func TestRainLoadWithGrabs(t *testing.T) {
	testenv.EachRedis(t, func(t *testing.T, target testenv.RedisTarget) {
		ctx := context.Background()
		s := NewRains(openTestClient(t, target))
		now := time.Now().Truncate(time.Millisecond)
		r := testRain("rain_rebuilt", 100, 3, now.Add(-time.Second), now.Add(time.Minute))
		g := &domain.RedPacketGrab{ID: "grab_1", RainID: r.ID, BuyerID: "usr_1", PacketIndex: 1, AmountCents: r.Amounts[1], IdempotencyKey: "k", GrabbedAt: now, PacketsLeftAfter: 2}
		bad := *g
		bad.AmountCents++
		if _, err := s.Load(ctx, r, []*domain.RedPacketGrab{&bad}); err == nil {
			t.Fatal("Load with a grab that matches no packet: no error")
		}
		if ok, err := s.Load(ctx, r, []*domain.RedPacketGrab{g}); err != nil || !ok {
			t.Fatalf("Load = %v, %v", ok, err)
		}
		if left, loaded, _ := s.Left(ctx, r.ID); left != 2 || !loaded {
			t.Fatalf("left = %d, want 2", left)
		}
		res, _, _ := s.Grab(ctx, r.ID, "usr_1", "k", "grab_x", now)
		if res.Outcome != domain.GrabGrabbed || res.AmountCents != r.Amounts[1] || !res.Replay {
			t.Fatalf("holder's key after a rebuild = %+v", res)
		}
		var sum int64 = r.Amounts[1]
		for i := 2; i <= 3; i++ {
			res, _, _ := s.Grab(ctx, r.ID, fmt.Sprintf("usr_%d", i), "k", fmt.Sprintf("grab_%d", i), now)
			sum += res.AmountCents
		}
		if sum != 100 {
			t.Fatalf("sum after rebuild %d, want 100", sum)
		}
	})
}
