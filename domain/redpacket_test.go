package domain_test

import (
	"math/rand/v2"
	"testing"
	"time"

	"flashlive/domain"
)

func TestSplitRedPackets(t *testing.T) {
	for _, tc := range []struct {
		total int64
		n     int
	}{
		{1, 1}, {2, 1}, {2, 2}, {3, 2}, {100, 100}, {101, 100}, {10_000, 100}, {10_000, 7}, {99_999_999, 100_000},
	} {
		for seed := range uint64(20) {
			r := rand.New(rand.NewPCG(seed, 1))
			got := domain.SplitRedPackets(tc.total, tc.n, r.Int64N)
			if len(got) != tc.n {
				t.Fatalf("split(%d, %d): %d packets", tc.total, tc.n, len(got))
			}
			var sum int64
			for i, a := range got {
				if a < 1 {
					t.Fatalf("split(%d, %d) seed %d: packet %d is %d cents", tc.total, tc.n, seed, i, a)
				}
				sum += a
			}
			if sum != tc.total {
				t.Fatalf("split(%d, %d) seed %d: sum %d", tc.total, tc.n, seed, sum)
			}
		}
	}
}

// TestSplitRedPacketsFair: over many splits, each place's mean is close to
// total/n (double mean: no place is favoured), and the bound 2*mean holds.
func TestSplitRedPacketsFair(t *testing.T) {
	const total, n, runs = 10_000, 10, 20_000
	r := rand.New(rand.NewPCG(7, 7))
	var sums [n]int64
	for range runs {
		for i, a := range domain.SplitRedPackets(total, n, r.Int64N) {
			sums[i] += a
		}
	}
	for i, s := range sums {
		mean := float64(s) / runs
		if mean < 950 || mean > 1050 {
			t.Errorf("place %d: mean %.1f cents, want about 1000", i, mean)
		}
	}
}

// TestSplitRedPacketsExtremes: a source that always answers its maximum or
// its minimum still gives valid splits.
func TestSplitRedPacketsExtremes(t *testing.T) {
	for name, intn := range map[string]func(int64) int64{
		"max": func(k int64) int64 { return k - 1 },
		"min": func(int64) int64 { return 0 },
	} {
		got := domain.SplitRedPackets(1000, 10, intn)
		var sum int64
		for _, a := range got {
			if a < 1 {
				t.Fatalf("%s: packet of %d cents", name, a)
			}
			sum += a
		}
		if sum != 1000 {
			t.Fatalf("%s: sum %d", name, sum)
		}
	}
}

func TestRedPacketRainCreateValidate(t *testing.T) {
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	ok := domain.RedPacketRainCreate{RoomID: "room_1", TotalCents: 100, Packets: 10, StartsAt: now.Add(time.Minute), EndsAt: now.Add(2 * time.Minute)}
	if err := ok.Validate(now); err != nil {
		t.Fatalf("valid input: %v", err)
	}
	for name, mut := range map[string]func(*domain.RedPacketRainCreate){
		"no room":         func(c *domain.RedPacketRainCreate) { c.RoomID = "" },
		"zero total":      func(c *domain.RedPacketRainCreate) { c.TotalCents = 0 },
		"zero packets":    func(c *domain.RedPacketRainCreate) { c.Packets = 0 },
		"packets > total": func(c *domain.RedPacketRainCreate) { c.Packets = 101 },
		"ends before":     func(c *domain.RedPacketRainCreate) { c.EndsAt = c.StartsAt.Add(-time.Second) },
		"ends at start":   func(c *domain.RedPacketRainCreate) { c.EndsAt = c.StartsAt },
		"too long":        func(c *domain.RedPacketRainCreate) { c.EndsAt = c.StartsAt.Add(2 * time.Hour) },
		"in the past":     func(c *domain.RedPacketRainCreate) { c.StartsAt = now.Add(-time.Hour); c.EndsAt = now.Add(time.Minute) },
		"too far ahead": func(c *domain.RedPacketRainCreate) {
			c.StartsAt = now.Add(8 * 24 * time.Hour)
			c.EndsAt = c.StartsAt.Add(time.Minute)
		},
		"too much money": func(c *domain.RedPacketRainCreate) { c.TotalCents = domain.MaxRainCents + 1 },
		"too many packets": func(c *domain.RedPacketRainCreate) {
			c.TotalCents = domain.MaxRainCents
			c.Packets = domain.MaxRainPackets + 1
		},
	} {
		c := ok
		mut(&c)
		if got := domain.ErrorCode(c.Validate(now)); got != domain.EINVALID {
			t.Errorf("%s: code %q, want INVALID", name, got)
		}
	}
	one := ok
	one.TotalCents, one.Packets = 1, 1
	if err := one.Validate(now); err != nil {
		t.Fatalf("1 cent in 1 packet: %v", err)
	}
}

func TestRainStatusAt(t *testing.T) {
	s := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	e := s.Add(time.Minute)
	for _, tc := range []struct {
		now  time.Time
		left int
		want domain.RedPacketRainStatus
	}{
		{s.Add(-time.Millisecond), 5, domain.RainScheduled},
		{s, 5, domain.RainLive},
		{s, 0, domain.RainFinished},
		{e.Add(-time.Millisecond), 1, domain.RainLive},
		{e, 1, domain.RainFinished},
	} {
		if got := domain.RainStatusAt(s, e, tc.left, tc.now); got != tc.want {
			t.Errorf("at %v with %d left: %s, want %s", tc.now, tc.left, got, tc.want)
		}
	}
}

func TestRainStateMerge(t *testing.T) {
	a := domain.RainState{RainID: "r", Status: domain.RainLive, PacketsLeft: 5}
	b := domain.RainState{RainID: "r", Status: domain.RainScheduled, PacketsLeft: 7}
	if got := b.Merge(a); got.Status != domain.RainLive || got.PacketsLeft != 5 {
		t.Fatalf("merge: %+v", got)
	}
	if got := a.Merge(b); got.Status != domain.RainLive || got.PacketsLeft != 5 {
		t.Fatalf("merge the other way: %+v", got)
	}
}
