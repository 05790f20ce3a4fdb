package redis

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"flashlive/domain"
	"flashlive/internal/testenv"
)

// TestUnpaidOrdersKey pins what RunUnpaid cannot see: each buyer's list
// is one sorted set in a slot of its own, that expires with the last
// window it holds and is gone once emptied.
func TestUnpaidOrdersKey(t *testing.T) {
	testenv.EachRedis(t, func(t *testing.T, target testenv.RedisTarget) {
		ctx := context.Background()
		c := openTestClient(t, target)
		u := NewUnpaidOrders(c)
		t.Cleanup(u.Stop)
		now := time.Now().Truncate(time.Millisecond)
		key := c.Prefix + "{buyer:usr_a}:unpaid"
		for _, o := range []struct {
			id  string
			end time.Time
		}{{"ord_late", now.Add(20 * time.Minute)}, {"ord_early", now.Add(10 * time.Minute)}} {
			if ok, err := u.Admit(ctx, "usr_a", o.id, o.end, now, 5); err != nil || !ok {
				t.Fatalf("Admit %s = %v, %v; want true, nil", o.id, ok, err)
			}
		}
		got, err := c.RDB.ZRangeWithScores(ctx, key, 0, -1).Result()
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 2 || got[0].Member != "ord_early" || int64(got[0].Score) != now.Add(10*time.Minute).UnixMilli() ||
			got[1].Member != "ord_late" || int64(got[1].Score) != now.Add(20*time.Minute).UnixMilli() {
			t.Fatalf("%s = %+v, want ord_early and ord_late scored by their window ends", key, got)
		}
		// The set lives as long as its last window, not the last one added.
		at, err := c.RDB.PExpireTime(ctx, key).Result()
		if err != nil {
			t.Fatal(err)
		}
		if got, want := at.Milliseconds(), now.Add(20*time.Minute).UnixMilli(); got != want {
			t.Fatalf("PEXPIRETIME %s = %d, want %d (the last window's end)", key, got, want)
		}
		for _, id := range []string{"ord_early", "ord_late"} {
			if err := u.Drop(ctx, "usr_a", id); err != nil {
				t.Fatal(err)
			}
		}
		if n, err := c.RDB.Exists(ctx, key).Result(); err != nil || n != 0 {
			t.Fatalf("EXISTS %s after dropping every order = %d, %v; want 0", key, n, err)
		}
	})
}

// TestUnpaidOrdersStopped: once stopped, Admit fails with ErrStopped
// wrapped, and lists nothing.
func TestUnpaidOrdersStopped(t *testing.T) {
	testenv.EachRedis(t, func(t *testing.T, target testenv.RedisTarget) {
		c := openTestClient(t, target)
		u := NewUnpaidOrders(c)
		u.Stop()
		now := time.Now()
		ok, err := u.Admit(context.Background(), "usr_a", "ord_0", now.Add(time.Minute), now, 1)
		if ok || !errors.Is(err, ErrStopped) {
			t.Fatalf("Admit after Stop = %v, %v; want false and ErrStopped", ok, err)
		}
	})
}

// BenchmarkReserveUnpaidCap measures what the cap on unpaid orders adds
// to an accepted purchase in Redis: reserve.lua alone ("off"), and
// unpaid.lua then reserve.lua ("on"), as service.FlashSale calls them,
// from many goroutines at once (each script pipelined by its batcher).
// Every call reserves; the cap never refuses.
func BenchmarkReserveUnpaidCap(b *testing.B) {
	for _, capped := range []bool{false, true} {
		name := "off"
		if capped {
			name = "on"
		}
		for _, target := range testenv.RedisTargets(b) {
			b.Run(name+"/"+target.Name, func(b *testing.B) {
				ctx := context.Background()
				c := openTestClient(b, target)
				s := NewHotStock(c, time.Hour)
				b.Cleanup(s.Stop)
				u := NewUnpaidOrders(c)
				b.Cleanup(u.Stop)
				now := time.Now()
				ev := hotEvent("evt_bench", 1<<30, 10)
				ev.StartsAt, ev.EndsAt = now.Add(-time.Minute), now.Add(time.Hour)
				if ok, err := s.Load(ctx, ev); err != nil || !ok {
					b.Fatalf("load = %v, %v", ok, err)
				}
				var seq atomic.Int64
				b.SetParallelism(64)
				b.ResetTimer()
				b.RunParallel(func(pb *testing.PB) {
					for pb.Next() {
						i := seq.Add(1)
						buyer, order := fmt.Sprintf("usr_%d", i%1000), fmt.Sprintf("ord_%d", i)
						if capped {
							if ok, err := u.Admit(ctx, buyer, order, now.Add(time.Hour), now, 1<<20); err != nil || !ok {
								b.Errorf("admit = %v, %v", ok, err)
								return
							}
						}
						r := domain.Reservation{OrderID: order, BuyerID: fmt.Sprintf("usr_%d", i), EventID: ev.ID, Quantity: 1, CreatedAt: now}
						if res, err := s.Reserve(ctx, r, fmt.Sprintf("k%d", i), now); err != nil || res.Outcome != domain.OutcomeReserved {
							b.Errorf("reserve = %+v, %v", res, err)
							return
						}
					}
				})
			})
		}
	}
}
