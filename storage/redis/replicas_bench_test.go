package redis

import (
	"context"
	"fmt"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"flashlive/domain"
	"flashlive/internal/testenv"
)

// BenchmarkReserveReplicas measures, on one Redis Cluster of its own (3
// masters, a replica each), the cost of holding each RESERVED answer on
// a replica: reservations that each take a unit, 64 at once, with
// MinReplicas 0 (no wait) and 1 (one WAIT per master per batch), against
// the floor of one round trip (HGET of the event's meta). It reports
// p50 and p99 per call and calls per second.
//
//	go test -run '^$' -bench BenchmarkReserveReplicas -benchtime 3s -count 3 ./storage/redis/
func BenchmarkReserveReplicas(b *testing.B) {
	cluster := testenv.StartRedisCluster(b)
	target := testenv.RedisTarget{Name: "private cluster", URL: cluster.URL}
	c0, c1 := openTestClient(b, target), openTestClient(b, target)
	c1.MinReplicas = 1
	ctx := context.Background()
	floor := NewHotStock(c0, time.Hour)
	b.Cleanup(floor.Stop)
	ev := hotEvent("evt_floor", 1, 1)
	if _, err := floor.Load(ctx, ev); err != nil {
		b.Fatal(err)
	}
	b.Run("floor", func(b *testing.B) {
		measure(b, func(int64) error { return c0.RDB.HGet(ctx, floor.metaKey(ev.ID), "remaining").Err() })
	})
	var run atomic.Int64
	for _, tc := range []struct {
		name string
		c    *Client
	}{{"min-replicas-0", c0}, {"min-replicas-1", c1}} {
		b.Run(tc.name, func(b *testing.B) {
			s := NewHotStock(tc.c, time.Hour)
			defer s.Stop()
			ev := hotEvent(fmt.Sprintf("evt_bench_%d", run.Add(1)), b.N+64, 1)
			if _, err := s.Load(ctx, ev); err != nil {
				b.Fatal(err)
			}
			now := t0.Add(time.Minute)
			measure(b, func(i int64) error {
				id := fmt.Sprintf("%d", i)
				res, err := s.Reserve(ctx, request(ev.ID, "usr_"+id, "ord_"+id, 1), "k"+id, now)
				if err == nil && res.Outcome != domain.OutcomeReserved {
					err = fmt.Errorf("outcome %s", res.Outcome)
				}
				return err
			})
		})
	}
}

// measure runs op b.N times, 64 at once, and reports p50, p99 and calls
// per second.
func measure(b *testing.B, op func(i int64) error) {
	var (
		mu   sync.Mutex
		lats []time.Duration
		next atomic.Int64
	)
	b.SetParallelism(max(1, 64/runtime.GOMAXPROCS(0)))
	start := time.Now()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		var mine []time.Duration
		for pb.Next() {
			t := time.Now()
			if err := op(next.Add(1)); err != nil {
				b.Error(err)
				return
			}
			mine = append(mine, time.Since(t))
		}
		mu.Lock()
		lats = append(lats, mine...)
		mu.Unlock()
	})
	b.StopTimer()
	elapsed := time.Since(start)
	if len(lats) == 0 {
		return
	}
	slices.Sort(lats)
	b.ReportMetric(float64(lats[len(lats)/2].Microseconds()), "p50-µs")
	b.ReportMetric(float64(lats[len(lats)*99/100].Microseconds()), "p99-µs")
	b.ReportMetric(float64(len(lats))/elapsed.Seconds(), "calls/s")
}
