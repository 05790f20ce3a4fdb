package service

import (
	"context"
	"log/slog"
	"net/netip"
	"strings"
	"sync"
	"time"

	"flashlive/domain"
)

// GateCacheTTL is how long a Gate trusts what the blocklist said of a
// client while it hears no block feed: a blocked flood costs one
// blocklist read per client per second per instance, and a block set on
// another instance (or lifted by an ADMIN there) takes effect here within
// that second.
const GateCacheTTL = time.Second

// GateWatchedTTL is how long a Gate trusts what the blocklist said of a
// client while the block feed is listening (Gate.BlocksWatched): every
// change reaches it at once, so the read only has to be renewed now and
// then.
const GateWatchedTTL = time.Minute

// gateCacheMax bounds the clients a Gate remembers; past it, what is
// older than GateCacheTTL is dropped.
const gateCacheMax = 100_000

// GateMetrics hears what a Gate does.
type GateMetrics interface {
	// Limited counts a request refused by the named limit.
	Limited(limit string)
	// Blocked counts a client blocked for its strikes or by an ADMIN.
	Blocked(kind domain.BlockKind)
	// Released counts a block seen to end: "expired" or "admin".
	Released(kind domain.BlockKind, how string)
}

// Gate is the door of the blocklist: it answers whether a client is
// blocked, from an in-process memory in front of the shared blocklist;
// it turns limit refusals into strikes against the client's address and
// account (implementing LimitObserver); and it is the ADMIN's
// BlockService. When the blocklist fails, clients are let through and the
// failure is logged.
//
// The memory trusts a read for GateCacheTTL; while a block feed tells the
// Gate of every change (it is a domain.BlockWatcher), for GateWatchedTTL,
// so that a request seldom waits on the blocklist at all. A change heard
// replaces what a read older than it said; each time the feed starts
// listening again, what was read before counts for GateCacheTTL only.
type Gate struct {
	Blocklist domain.Blocklist
	Metrics   GateMetrics
	Logger    *slog.Logger
	// Now is the clock of the memory; nil means time.Now.
	Now func() time.Time

	mu       sync.Mutex
	seen     map[gateKey]gateEntry
	swept    time.Time
	watching bool   // the feed is listening
	gen      uint64 // counts the feed's (re)starts
}

type gateKey struct {
	kind  domain.BlockKind
	value string
}

type gateEntry struct {
	checked time.Time // when the blocklist was asked, or the change heard
	until   time.Time // blocked until then; zero when not blocked
	gen     uint64    // the feed's start it was learnt under
}

var (
	_ domain.BlockService = (*Gate)(nil)
	_ LimitObserver       = (*Gate)(nil)
	_ domain.BlockWatcher = (*Gate)(nil)
)

// BlockedFor returns how long the client stays blocked, 0 when it is not.
func (g *Gate) BlockedFor(ctx context.Context, kind domain.BlockKind, value string) time.Duration {
	k := gateKey{kind, value}
	now := g.now()
	g.mu.Lock()
	e, ok := g.seen[k]
	// A block that ran out is read again: the release is counted, and a
	// block renewed meanwhile is seen.
	fresh := ok && now.Sub(e.checked) < g.trustLocked(e) && (e.until.IsZero() || now.Before(e.until))
	gen := g.gen
	g.mu.Unlock()
	if fresh {
		return max(e.until.Sub(now), 0)
	}
	d, err := g.Blocklist.BlockedFor(ctx, kind, value)
	if err != nil {
		g.Logger.WarnContext(ctx, "blocklist failed; letting the client through", "err", err)
		return 0
	}
	var until time.Time
	if d > 0 {
		until = now.Add(d)
	} else if ok && !e.until.IsZero() {
		g.Metrics.Released(kind, "expired")
	}
	g.remember(k, gateEntry{checked: now, until: until, gen: gen})
	return d
}

// trustLocked is how long e may be trusted; g.mu is held.
func (g *Gate) trustLocked(e gateEntry) time.Duration {
	if g.watching && e.gen == g.gen {
		return GateWatchedTTL
	}
	return GateCacheTTL
}

// BlocksWatched implements domain.BlockWatcher.
func (g *Gate) BlocksWatched(listening bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if listening && !g.watching {
		g.gen++ // what was read before this start may have missed a change
	}
	g.watching = listening
}

// BlockChanged implements domain.BlockWatcher.
func (g *Gate) BlockChanged(kind domain.BlockKind, value string, until time.Time) {
	g.remember(gateKey{kind, value}, gateEntry{checked: g.now(), until: until, gen: g.generation()})
}

func (g *Gate) now() time.Time {
	if g.Now != nil {
		return g.Now()
	}
	return time.Now()
}

func (g *Gate) generation() uint64 {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.gen
}

// remember keeps e for k, unless what is there was learnt after e was
// asked: a change heard while a read was under way is newer than the read.
func (g *Gate) remember(k gateKey, e gateEntry) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.seen == nil {
		g.seen = map[gateKey]gateEntry{}
	}
	if old, ok := g.seen[k]; ok && old.checked.After(e.checked) {
		return
	}
	if len(g.seen) >= gateCacheMax && e.checked.Sub(g.swept) > GateCacheTTL {
		for k, old := range g.seen {
			if e.checked.Sub(old.checked) >= GateCacheTTL {
				delete(g.seen, k)
			}
		}
		g.swept = e.checked
	}
	g.seen[k] = e
}

func (g *Gate) forget(k gateKey) {
	g.mu.Lock()
	delete(g.seen, k)
	g.mu.Unlock()
}

// Limited implements LimitObserver: the refusal counts, and is a strike
// against the client's address and, when signed in, its account.
func (g *Gate) Limited(ctx context.Context, limit string) {
	g.Metrics.Limited(limit)
	if ip, ok := domain.ClientIPFromContext(ctx); ok {
		g.strike(ctx, domain.BlockIP, domain.ClientKey(ip))
	}
	if p, ok := domain.PrincipalFromContext(ctx); ok {
		g.strike(ctx, domain.BlockAccount, p.UserID)
	}
}

func (g *Gate) strike(ctx context.Context, kind domain.BlockKind, value string) {
	blocked, err := g.Blocklist.Strike(ctx, kind, value)
	if err != nil {
		g.Logger.WarnContext(ctx, "blocklist strike not recorded", "err", err)
		return
	}
	if blocked {
		g.forget(gateKey{kind, value})
		g.Metrics.Blocked(kind)
		g.Logger.WarnContext(ctx, "client blocked for hitting rate limits", "kind", kind, "value", value)
	}
}

// BlockedClients implements domain.BlockService.
func (g *Gate) BlockedClients(ctx context.Context) ([]domain.BlockedClient, error) {
	if _, err := domain.RequireRole(ctx, domain.RoleAdmin); err != nil {
		return nil, err
	}
	return g.Blocklist.Blocked(ctx)
}

// BlockClient implements domain.BlockService.
func (g *Gate) BlockClient(ctx context.Context, kind domain.BlockKind, value string, d time.Duration) (*domain.BlockedClient, error) {
	if _, err := domain.RequireRole(ctx, domain.RoleAdmin); err != nil {
		return nil, err
	}
	value, err := blockValue(kind, value)
	if err != nil {
		return nil, err
	}
	if d < time.Second || d > domain.MaxBlock {
		return nil, domain.Errorf(domain.EINVALID, "seconds must be from 1 to %d", int(domain.MaxBlock/time.Second))
	}
	if err := g.Blocklist.Block(ctx, kind, value, d); err != nil {
		return nil, err
	}
	g.forget(gateKey{kind, value})
	g.Metrics.Blocked(kind)
	g.Logger.WarnContext(ctx, "client blocked by an admin", "kind", kind, "value", value, "for", d)
	return &domain.BlockedClient{Kind: kind, Value: value, Until: time.Now().Add(d).Truncate(time.Millisecond)}, nil
}

// UnblockClient implements domain.BlockService.
func (g *Gate) UnblockClient(ctx context.Context, kind domain.BlockKind, value string) (bool, error) {
	if _, err := domain.RequireRole(ctx, domain.RoleAdmin); err != nil {
		return false, err
	}
	value, err := blockValue(kind, value)
	if err != nil {
		return false, err
	}
	was, err := g.Blocklist.Unblock(ctx, kind, value)
	if err != nil {
		return false, err
	}
	g.forget(gateKey{kind, value})
	if was {
		g.Metrics.Released(kind, "admin")
		g.Logger.WarnContext(ctx, "client unblocked by an admin", "kind", kind, "value", value)
	}
	return was, nil
}

// blockValue checks what an ADMIN names and returns it as the blocklist
// counts it: an address as its ClientKey (an IPv6 address, or a /64, as
// its /64), a user ID as given.
func blockValue(kind domain.BlockKind, value string) (string, error) {
	value = strings.TrimSpace(value)
	switch kind {
	case domain.BlockIP:
		if ip, err := netip.ParseAddr(value); err == nil {
			return domain.ClientKey(ip), nil
		}
		if p, err := netip.ParsePrefix(value); err == nil && p.Addr().Is6() && p.Bits() == 64 {
			return domain.ClientKey(p.Addr()), nil
		}
		return "", domain.Errorf(domain.EINVALID, "value must be an IP address (or an IPv6 /64)")
	case domain.BlockAccount:
		if !strings.HasPrefix(value, domain.PrefixUser) || len(value) > 64 {
			return "", domain.Errorf(domain.EINVALID, "value must be a user ID")
		}
		return value, nil
	}
	return "", domain.Errorf(domain.EINVALID, "kind must be IP or ACCOUNT")
}
