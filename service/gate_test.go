package service

import (
	"context"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"flashlive/domain"
)

// countingBlocklist is a domain.Blocklist in memory that counts the reads
// of BlockedFor; during a read it runs duringRead, once, when set.
type countingBlocklist struct {
	mu         sync.Mutex
	until      map[gateKey]time.Time
	now        func() time.Time
	reads      int
	duringRead func()
}

func (b *countingBlocklist) BlockedFor(_ context.Context, kind domain.BlockKind, value string) (time.Duration, error) {
	b.mu.Lock()
	b.reads++
	d := max(b.until[gateKey{kind, value}].Sub(b.now()), 0)
	f := b.duringRead
	b.duringRead = nil
	b.mu.Unlock()
	if f != nil {
		f()
	}
	return d, nil
}

func (b *countingBlocklist) set(kind domain.BlockKind, value string, until time.Time) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.until == nil {
		b.until = map[gateKey]time.Time{}
	}
	b.until[gateKey{kind, value}] = until
}

func (b *countingBlocklist) readCount() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.reads
}

// wantReads fails the test unless BlockedFor was read n times in all.
func (b *countingBlocklist) wantReads(t *testing.T, n int, what string) {
	t.Helper()
	if got := b.readCount(); got != n {
		t.Fatalf("%s: %d reads of the blocklist in all, want %d", what, got, n)
	}
}

func (b *countingBlocklist) Strike(context.Context, domain.BlockKind, string) (bool, error) {
	return false, nil
}

func (b *countingBlocklist) Block(_ context.Context, kind domain.BlockKind, value string, d time.Duration) error {
	b.set(kind, value, b.now().Add(d))
	return nil
}

func (b *countingBlocklist) Unblock(_ context.Context, kind domain.BlockKind, value string) (bool, error) {
	b.set(kind, value, time.Time{})
	return true, nil
}

func (b *countingBlocklist) Blocked(context.Context) ([]domain.BlockedClient, error) { return nil, nil }

type nopGateMetrics struct{}

func (nopGateMetrics) Limited(string)                    {}
func (nopGateMetrics) Blocked(domain.BlockKind)          {}
func (nopGateMetrics) Released(domain.BlockKind, string) {}

// gateAt is a Gate over a counting blocklist, on a clock the test moves.
func gateAt(t *testing.T) (*Gate, *countingBlocklist, *time.Time) {
	t.Helper()
	now := time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	bl := &countingBlocklist{now: clock}
	g := &Gate{Blocklist: bl, Metrics: nopGateMetrics{}, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Now: clock}
	return g, bl, &now
}

func TestGateTrustsReadsLongerWhileTheFeedListens(t *testing.T) {
	ctx := context.Background()
	g, bl, now := gateAt(t)
	const ip = "203.0.113.7"

	// No feed: a read is trusted for GateCacheTTL.
	g.BlockedFor(ctx, domain.BlockIP, ip)
	g.BlockedFor(ctx, domain.BlockIP, ip)
	bl.wantReads(t, 1, "reads within GateCacheTTL")
	*now = now.Add(GateCacheTTL)
	g.BlockedFor(ctx, domain.BlockIP, ip)
	bl.wantReads(t, 2, "reads after GateCacheTTL")

	// A read made before the feed listened may have missed a change: it
	// still counts for GateCacheTTL only.
	g.BlocksWatched(true)
	*now = now.Add(GateCacheTTL)
	g.BlockedFor(ctx, domain.BlockIP, ip)
	bl.wantReads(t, 3, "a read from before the feed listened was trusted past GateCacheTTL")
	// One made while it listens counts for GateWatchedTTL.
	*now = now.Add(GateWatchedTTL - time.Millisecond)
	g.BlockedFor(ctx, domain.BlockIP, ip)
	bl.wantReads(t, 3, "reads within GateWatchedTTL while the feed listens")
	*now = now.Add(time.Millisecond)
	g.BlockedFor(ctx, domain.BlockIP, ip)
	bl.wantReads(t, 4, "reads after GateWatchedTTL")

	// The feed stops: back to GateCacheTTL, and a restart does not bring
	// back the trust of what was read before it.
	g.BlocksWatched(false)
	*now = now.Add(GateCacheTTL)
	g.BlockedFor(ctx, domain.BlockIP, ip)
	bl.wantReads(t, 5, "reads after GateCacheTTL with the feed down")
	g.BlocksWatched(true)
	*now = now.Add(GateCacheTTL)
	g.BlockedFor(ctx, domain.BlockIP, ip)
	bl.wantReads(t, 6, "a read from before the feed's restart was trusted past GateCacheTTL")
}

func TestGateAnswersChangesHeardWithoutReading(t *testing.T) {
	ctx := context.Background()
	g, bl, now := gateAt(t)
	const user = "usr_01test"
	g.BlocksWatched(true)
	if d := g.BlockedFor(ctx, domain.BlockAccount, user); d != 0 {
		t.Fatalf("blocked for %v before any block", d)
	}
	// Blocked on another instance: the feed tells, no read.
	until := now.Add(30 * time.Second)
	bl.set(domain.BlockAccount, user, until)
	g.BlockChanged(domain.BlockAccount, user, until)
	if d := g.BlockedFor(ctx, domain.BlockAccount, user); d != 30*time.Second {
		t.Fatalf("after the feed told of a 30s block: blocked for %v", d)
	}
	// The block runs out by itself: one read confirms it (and counts the
	// release).
	*now = now.Add(30 * time.Second)
	if d := g.BlockedFor(ctx, domain.BlockAccount, user); d != 0 {
		t.Fatalf("blocked for %v once the block ran out", d)
	}
	bl.wantReads(t, 2, "reads once the block ran out")
	// Blocked again, then released by an ADMIN elsewhere.
	g.BlockChanged(domain.BlockAccount, user, now.Add(time.Hour))
	if d := g.BlockedFor(ctx, domain.BlockAccount, user); d != time.Hour {
		t.Fatalf("after a 1h block: blocked for %v", d)
	}
	g.BlockChanged(domain.BlockAccount, user, time.Time{})
	if d := g.BlockedFor(ctx, domain.BlockAccount, user); d != 0 {
		t.Fatalf("blocked for %v after the release was heard", d)
	}
	bl.wantReads(t, 2, "reads")
}

func TestGateChangeHeardDuringAReadWins(t *testing.T) {
	ctx := context.Background()
	g, bl, now := gateAt(t)
	const ip = "198.51.100.9"
	g.BlocksWatched(true)
	// The read finds no block; while it is on its way back, a block set
	// just after it is heard. The read must not overwrite the block.
	until := now.Add(time.Minute)
	bl.duringRead = func() {
		*now = now.Add(time.Millisecond)
		g.BlockChanged(domain.BlockIP, ip, until)
	}
	if d := g.BlockedFor(ctx, domain.BlockIP, ip); d != 0 {
		t.Fatalf("the read itself answered %v, want what it read (0)", d)
	}
	if d := g.BlockedFor(ctx, domain.BlockIP, ip); d <= 0 {
		t.Fatal("the older read overwrote the block heard after it: the client is let through for GateWatchedTTL")
	}
	bl.wantReads(t, 1, "reads")
}
