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

func TestLimiterSharesOneBudgetAcrossClients(t *testing.T) {
	testenv.EachRedis(t, func(t *testing.T, target testenv.RedisTarget) {
		c := openTestClient(t, target)
		ctx := context.Background()
		a, b := NewLimiter(c), NewLimiter(c)
		lim := domain.Limit{Rate: 10, Burst: 5, Period: time.Hour}
		var mu sync.Mutex
		allowed := 0
		var wg sync.WaitGroup
		for i := range 40 {
			l := a
			if i%2 == 1 {
				l = b
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				v, err := l.Allow(ctx, domain.LimitCheck{Name: "t", Key: "bot", Limit: lim})
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				defer mu.Unlock()
				if v.Allowed {
					allowed++
				} else if v.Refused != "t" || v.RetryAfter <= 0 || v.RetryAfter > 6*time.Minute {
					t.Errorf("refusal %+v", v)
				}
			}()
		}
		wg.Wait()
		// Burst 5 at once, then one every 6 minutes: the 40 calls take well
		// under 6 minutes, so exactly the burst passes.
		if got, want := allowed, 5; got != want {
			t.Fatalf("allowed %d, want %d", got, want)
		}
	})
}

func TestLimiterChecksEveryKeyAndNamesTheRefusal(t *testing.T) {
	testenv.EachRedis(t, func(t *testing.T, target testenv.RedisTarget) {
		c := openTestClient(t, target)
		ctx := context.Background()
		l := NewLimiter(c)
		user := domain.LimitCheck{Name: "user", Key: "u1", Limit: domain.Limit{Rate: 1, Burst: 3, Period: time.Hour}}
		ip := domain.LimitCheck{Name: "ip", Key: "127.0.0.9", Limit: domain.Limit{Rate: 1, Burst: 1, Period: time.Hour}}
		off := domain.LimitCheck{Name: "off", Key: "x"}
		v, err := l.Allow(ctx, user, ip, off)
		if err != nil || !v.Allowed {
			t.Fatalf("first: %+v, %v", v, err)
		}
		v, err = l.Allow(ctx, user, ip, off)
		if err != nil || v.Allowed || v.Refused != "ip" {
			t.Fatalf("second: %+v, %v; want refused by ip", v, err)
		}
		if v.RetryAfter < 59*time.Minute || v.RetryAfter > time.Hour {
			t.Fatalf("retry after %s, want about an hour", v.RetryAfter)
		}
		// The user key was charged by both calls: one of its three left.
		if v, _ := l.Allow(ctx, user); !v.Allowed {
			t.Fatalf("third (user only): %+v", v)
		}
		if v, _ := l.Allow(ctx, user); v.Allowed {
			t.Fatalf("fourth (user only) allowed; want refused")
		}
		if v, _ := l.Allow(ctx, off, off); !v.Allowed {
			t.Fatalf("limits that are off refused: %+v", v)
		}
		keys := allKeys(t, c, c.Prefix+"lim:*")
		for _, k := range keys {
			if got, want := k[len(c.Prefix+"lim:"):][0], byte('{'); got != want {
				t.Errorf("key %s has no hash tag", k)
			}
		}
		if got, want := len(keys), 2; got != want {
			t.Fatalf("keys %v, want %d", keys, want)
		}
	})
}

func TestBackoffGrowsAfterTheFreeFailuresAndResets(t *testing.T) {
	testenv.EachRedis(t, func(t *testing.T, target testenv.RedisTarget) {
		c := openTestClient(t, target)
		ctx := context.Background()
		b := NewBackoff(c, 2, time.Minute, 4*time.Minute, time.Hour)
		wait := func() time.Duration {
			t.Helper()
			d, err := b.Wait(ctx, "a@example.com")
			if err != nil {
				t.Fatal(err)
			}
			return d
		}
		fail := func() {
			t.Helper()
			if err := b.Failed(ctx, "a@example.com"); err != nil {
				t.Fatal(err)
			}
		}
		fail()
		if d := wait(); d != 0 {
			t.Fatalf("wait %s after the first of two free failures", d)
		}
		for _, want := range []time.Duration{time.Minute, 2 * time.Minute, 4 * time.Minute, 4 * time.Minute} {
			fail()
			if d := wait(); d > want || d < want-5*time.Second {
				t.Fatalf("wait %s, want about %s", d, want)
			}
		}
		if err := b.Reset(ctx, "a@example.com"); err != nil {
			t.Fatal(err)
		}
		if d := wait(); d != 0 {
			t.Fatalf("wait %s after reset", d)
		}
		fail()
		if d := wait(); d != 0 {
			t.Fatalf("wait %s: the first failure after a reset is free again", d)
		}
	})
}

func TestBlocklistStrikesBlockAndReleases(t *testing.T) {
	testenv.EachRedis(t, func(t *testing.T, target testenv.RedisTarget) {
		c := openTestClient(t, target)
		ctx := context.Background()
		bl := NewBlocklist(c, 3, time.Minute, time.Hour)
		for i := range 3 {
			blocked, err := bl.Strike(ctx, domain.BlockIP, "127.0.0.7")
			if err != nil {
				t.Fatal(err)
			}
			if got, want := blocked, i == 2; got != want {
				t.Fatalf("strike %d blocked=%v, want %v", i+1, got, want)
			}
		}
		if blocked, _ := bl.Strike(ctx, domain.BlockIP, "127.0.0.7"); blocked {
			t.Fatal("a strike while blocked blocked again")
		}
		d, err := bl.BlockedFor(ctx, domain.BlockIP, "127.0.0.7")
		if err != nil || d < 59*time.Minute || d > time.Hour {
			t.Fatalf("blocked for %s, %v; want about an hour", d, err)
		}
		if d, _ := bl.BlockedFor(ctx, domain.BlockAccount, "127.0.0.7"); d != 0 {
			t.Fatalf("an account of the same value is blocked for %s", d)
		}
		if err := bl.Block(ctx, domain.BlockAccount, "usr_x", 30*time.Minute); err != nil {
			t.Fatal(err)
		}
		list, err := bl.Blocked(ctx)
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]bool{}
		for _, b := range list {
			got[string(b.Kind)+" "+b.Value] = true
		}
		if got, want := fmt.Sprint(got), fmt.Sprint(map[string]bool{"IP 127.0.0.7": true, "ACCOUNT usr_x": true}); got != want {
			t.Fatalf("blocked %s, want %s", got, want)
		}
		was, err := bl.Unblock(ctx, domain.BlockIP, "127.0.0.7")
		if err != nil || !was {
			t.Fatalf("unblock: %v, %v", was, err)
		}
		if was, _ := bl.Unblock(ctx, domain.BlockIP, "127.0.0.7"); was {
			t.Fatal("a second unblock reported a block")
		}
		if d, _ := bl.BlockedFor(ctx, domain.BlockIP, "127.0.0.7"); d != 0 {
			t.Fatalf("still blocked for %s after unblock", d)
		}
		// A block ends by itself: Redis drops the key at its TTL.
		if err := bl.Block(ctx, domain.BlockIP, "127.0.0.8", 50*time.Millisecond); err != nil {
			t.Fatal(err)
		}
		deadline := time.Now().Add(5 * time.Second)
		for {
			d, err := bl.BlockedFor(ctx, domain.BlockIP, "127.0.0.8")
			if err != nil {
				t.Fatal(err)
			}
			if d == 0 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatal("block did not end by itself")
			}
			time.Sleep(10 * time.Millisecond)
		}
	})
}

// BenchmarkLimiterAllow is the limiter's cost per purchase seen from the
// server: one Allow of a buyer's and an address's check, 16 callers at
// once, against the test Redis.
func BenchmarkLimiterAllow(b *testing.B) {
	for _, target := range testenv.RedisTargets(b) {
		b.Run(target.Name, func(b *testing.B) {
			l := NewLimiter(openTestClient(b, target))
			never := domain.Limit{Rate: 1_000_000, Burst: 1_000_000, Period: time.Second}
			var seq atomic.Int64
			b.SetParallelism(16)
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					i := seq.Add(1)
					v, err := l.Allow(context.Background(),
						domain.LimitCheck{Name: "purchase-user", Key: fmt.Sprintf("usr_%d", i%1000), Limit: never},
						domain.LimitCheck{Name: "purchase-ip", Key: "127.0.0.1", Limit: never})
					if err != nil || !v.Allowed {
						b.Fatalf("%+v %v", v, err)
					}
				}
			})
		})
	}
}

// The rate refills: a key refused for its burst is allowed again once the
// wait it was told has passed, and a stopped limiter refuses to check
// (so that the services' rule, a failed limiter lets the request through,
// decides) instead of hanging.
func TestLimiterRefillsAndStops(t *testing.T) {
	testenv.EachRedis(t, func(t *testing.T, target testenv.RedisTarget) {
		ctx := context.Background()
		l := NewLimiter(openTestClient(t, target))
		ch := domain.LimitCheck{Name: "refill", Key: fmt.Sprint(time.Now().UnixNano()), Limit: domain.Limit{Rate: 20, Burst: 2, Period: time.Second}}
		for i := range 2 {
			if v, err := l.Allow(ctx, ch); err != nil || !v.Allowed {
				t.Fatalf("press %d of the burst: %+v, %v", i, v, err)
			}
		}
		v, err := l.Allow(ctx, ch)
		if err != nil || v.Allowed || v.RetryAfter <= 0 || v.RetryAfter > 50*time.Millisecond {
			t.Fatalf("past the burst: %+v, %v; want refused for at most one interval (50ms)", v, err)
		}
		testenv.WaitFor(t, 2*time.Second, "the refused key allowed again", func() bool {
			v, err := l.Allow(ctx, ch)
			return err == nil && v.Allowed
		})
		l.Stop()
		if _, err := l.Allow(ctx, ch); !errors.Is(err, ErrStopped) {
			t.Fatalf("after Stop: %v, want ErrStopped", err)
		}
	})
}
