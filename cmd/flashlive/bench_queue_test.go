package main

import (
	"context"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"flashlive/internal/testenv"
)

// commandCounter counts the Redis commands a client sends (a script call
// is one; what it runs inside is not seen here).
type commandCounter struct{ n atomic.Int64 }

func (c *commandCounter) DialHook(next goredis.DialHook) goredis.DialHook { return next }
func (c *commandCounter) ProcessHook(next goredis.ProcessHook) goredis.ProcessHook {
	return func(ctx context.Context, cmd goredis.Cmder) error { c.n.Add(1); return next(ctx, cmd) }
}
func (c *commandCounter) ProcessPipelineHook(next goredis.ProcessPipelineHook) goredis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []goredis.Cmder) error {
		c.n.Add(int64(len(cmds)))
		return next(ctx, cmds)
	}
}

// serverCalls sums the calls of every command in INFO commandstats: what
// the whole Redis server ran, scripts' inner commands included.
func serverCalls(t testing.TB, rdb goredis.UniversalClient) int64 {
	t.Helper()
	info, err := rdb.Info(context.Background(), "commandstats").Result()
	if err != nil {
		t.Fatal(err)
	}
	var total int64
	for _, line := range strings.Split(info, "\n") {
		if _, rest, ok := strings.Cut(line, "calls="); ok {
			n, _ := strconv.ParseInt(strings.SplitN(rest, ",", 2)[0], 10, 64)
			total += n
		}
	}
	return total
}

func envInt(name string, def int) int {
	if n, err := strconv.Atoi(os.Getenv(name)); err == nil && n > 0 {
		return n
	}
	return def
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkWaitingRoom fills one waiting room with
// FLASHLIVE_BENCH_QUEUE_TICKETS tickets (100,000) joined over GraphQL,
// FLASHLIVE_BENCH_QUEUE_SOCKETS of their buyers (8,000: client and server
// share this process's 20,000 file descriptors) connected over /ws, and
// lets the queue admit at its default rate for FLASHLIVE_BENCH_QUEUE_WINDOW
// seconds (60), every connected buyer's position moving each second. It
// reports join throughput, the Redis commands this process sent per
// second and what the Redis server ran per second (INFO commandstats: a
// shared server counts other clients too), queue frames delivered per
// second, and the process's CPU and heap (clients included). Run once:
//
//	go test ./cmd/flashlive/ -run '^$' -bench BenchmarkWaitingRoom -benchtime 1x -timeout 30m
func BenchmarkWaitingRoom(b *testing.B) {
	tickets := envInt("FLASHLIVE_BENCH_QUEUE_TICKETS", 100_000)
	sockets := min(envInt("FLASHLIVE_BENCH_QUEUE_SOCKETS", 8_000), tickets)
	window := time.Duration(envInt("FLASHLIVE_BENCH_QUEUE_WINDOW", 60)) * time.Second
	a := startApp(b, func(c *Config) {
		c.Queue = QueueConfig{AdmitPerSecond: DefaultQueueAdmitPerSecond, AdmissionTTL: time.Hour}
		c.PostgresTimeout = time.Minute // one INSERT makes every buyer
	})
	_, eventID := a.waitingRoomEvent(b, tickets, -time.Second)
	buyers := a.buyers(b, tickets)
	counter := &commandCounter{}
	a.Redis.RDB.AddHook(counter)

	// The connected buyers are the last to join (the first are admitted
	// while the rest join): they sign in over /ws first, so that their
	// joins' notices find them.
	var frames, admittedFrames atomic.Int64
	var wg sync.WaitGroup
	sem := make(chan struct{}, 64)
	conns := make([]*wsClient, sockets)
	for i := range sockets {
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			conns[i] = a.dial(b, buyers[tickets-sockets+i].token, nil)
		}()
	}
	wg.Wait()
	for _, w := range conns {
		go func() {
			for f := range w.Frames {
				if f["type"] == "queue" {
					frames.Add(1)
					if f["status"] == "ADMITTED" {
						admittedFrames.Add(1)
					}
				}
			}
		}()
	}
	testenv.WaitFor(b, time.Minute, "every socket signed in", func() bool { return a.Hub.Connected() >= int64(sockets) })

	start := time.Now()
	each(buyers, func(_ int, c *client) { c.join(b, eventID) })
	joinTook := time.Since(start)
	runtime.GC()
	st0, _, _ := a.stores.queue.Tickets(context.Background(), eventID, nil)
	adm0 := admittedFrames.Load()
	sent0, server0, frames0, cpu0 := counter.n.Load(), serverCalls(b, a.Redis.RDB), frames.Load(), cpuTime()
	b.ResetTimer()
	t0 := time.Now()
	<-time.After(window) // the measuring window
	elapsed := time.Since(t0).Seconds()
	b.StopTimer()
	sent, server, delivered, cpu := counter.n.Load()-sent0, serverCalls(b, a.Redis.RDB)-server0, frames.Load()-frames0, cpuTime()-cpu0
	st1, _, _ := a.stores.queue.Tickets(context.Background(), eventID, nil)
	b.Logf("waiting %d -> %d (head %d -> %d); %d admission frames", st0.Waiting, st1.Waiting, st0.Head, st1.Head, admittedFrames.Load()-adm0)
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	b.ReportMetric(float64(tickets)/joinTook.Seconds(), "joins/s")
	b.ReportMetric(float64(sent)/elapsed, "redis-cmds-sent/s")
	b.ReportMetric(float64(server)/elapsed, "redis-server-calls/s")
	b.ReportMetric(float64(delivered)/elapsed, "queue-frames/s")
	b.ReportMetric(cpu.Seconds()/elapsed, "cpu-cores")
	b.ReportMetric(float64(ms.HeapInuse)/(1<<20), "heap-MiB")
	b.Logf("%d tickets, %d sockets: joins %.0f/s (%s); over %.0fs: %.1f Redis commands/s sent, %.1f/s run by the server, %.0f queue frames/s, %.2f cores, heap %d MiB, sys %d MiB",
		tickets, sockets, float64(tickets)/joinTook.Seconds(), joinTook.Round(time.Millisecond), elapsed,
		float64(sent)/elapsed, float64(server)/elapsed, float64(delivered)/elapsed, cpu.Seconds()/elapsed, ms.HeapInuse>>20, ms.Sys>>20)
}
