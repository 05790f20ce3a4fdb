package graph

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"

	"flashlive/domain"
)

// countingReads reads rains from a map and counts the reads.
type countingReads struct {
	n     atomic.Int64
	mu    sync.Mutex
	rains map[string]domain.RedPacketRain
}

func (c *countingReads) read(_ context.Context, id string) (*domain.RedPacketRain, error) {
	c.n.Add(1)
	c.mu.Lock()
	defer c.mu.Unlock()
	d, ok := c.rains[id]
	if !ok {
		return nil, domain.Errorf(domain.ENOTFOUND, "no rain %s", id)
	}
	return &d, nil
}

func TestRainCacheReadsEachRainOnce(t *testing.T) {
	src := &countingReads{rains: map[string]domain.RedPacketRain{
		"rain_1": {ID: "rain_1", TotalCents: 1000, Amounts: []int64{400, 600}, PacketsLeft: 2},
	}}
	var c rainCache
	ctx := context.Background()
	first, err := c.get(ctx, "rain_1", false, src.read)
	if err != nil || first.TotalCents != 1000 {
		t.Fatalf("first get = %+v, %v", first, err)
	}
	first.PacketsLeft = 0 // the caller's copy: the kept rain must not move
	var wg sync.WaitGroup
	for range 100 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			d, err := c.get(ctx, "rain_1", false, src.read)
			if err != nil || d.PacketsLeft != 2 {
				t.Errorf("get = %+v, %v; want the kept rain with 2 left", d, err)
			}
		}()
	}
	wg.Wait()
	if n := src.n.Load(); n != 1 {
		t.Fatalf("%d reads for 101 gets of one rain, want 1", n)
	}

	// FINISHED and not refunded when kept: read again, then kept refunded.
	src.mu.Lock()
	src.rains["rain_1"] = domain.RedPacketRain{ID: "rain_1", TotalCents: 1000, Amounts: []int64{400, 600}, Refunded: true, RefundedCents: 600}
	src.mu.Unlock()
	d, err := c.get(ctx, "rain_1", true, src.read)
	if err != nil || !d.Refunded || d.RefundedCents != 600 || src.n.Load() != 2 {
		t.Fatalf("finished get = %+v, %v after %d reads; want the refund read once more", d, err, src.n.Load())
	}
	if _, err := c.get(ctx, "rain_1", true, src.read); err != nil || src.n.Load() != 2 {
		t.Fatalf("a refunded rain was read again (%d reads, %v)", src.n.Load(), err)
	}

	// A rain that cannot be read is not kept: the next get reads again.
	if _, err := c.get(ctx, "rain_x", false, src.read); domain.ErrorCode(err) != domain.ENOTFOUND {
		t.Fatalf("missing rain: %v, want NOT_FOUND", err)
	}
	if _, err := c.get(ctx, "rain_x", false, src.read); err == nil || src.n.Load() != 4 {
		t.Fatalf("missing rain read %d times in all, want 4", src.n.Load())
	}
}

func TestRainCacheStaysBounded(t *testing.T) {
	src := &countingReads{rains: map[string]domain.RedPacketRain{}}
	for i := range rainCacheSize + 50 {
		id := fmt.Sprintf("rain_%d", i)
		src.rains[id] = domain.RedPacketRain{ID: id}
	}
	var c rainCache
	for id := range src.rains {
		if _, err := c.get(context.Background(), id, false, src.read); err != nil {
			t.Fatal(err)
		}
	}
	if n := len(c.rains); n != rainCacheSize {
		t.Fatalf("cache holds %d rains, want %d", n, rainCacheSize)
	}
}
