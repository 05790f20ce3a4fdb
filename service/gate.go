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
// client: a blocked flood costs one blocklist read per client per second
// per instance, and a block set on another instance (or lifted by an
// ADMIN there) takes effect here within that second.
const GateCacheTTL = time.Second

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
// blocked, from a short in-process memory (GateCacheTTL) in front of the
// shared blocklist; it turns limit refusals into strikes against the
// client's address and account (implementing LimitObserver); and it is the
// ADMIN's BlockService. When the blocklist fails, clients are let through
// and the failure is logged.
type Gate struct {
	Blocklist domain.Blocklist
	Metrics   GateMetrics
	Logger    *slog.Logger

	mu    sync.Mutex
	seen  map[gateKey]gateEntry
	swept time.Time
}

type gateKey struct {
	kind  domain.BlockKind
	value string
}

type gateEntry struct {
	checked time.Time // when the blocklist was asked
	until   time.Time // blocked until then; zero when not blocked
}

var (
	_ domain.BlockService = (*Gate)(nil)
	_ LimitObserver       = (*Gate)(nil)
)

// BlockedFor returns how long the client stays blocked, 0 when it is not.
func (g *Gate) BlockedFor(ctx context.Context, kind domain.BlockKind, value string) time.Duration {
	k := gateKey{kind, value}
	now := time.Now()
	g.mu.Lock()
	e, ok := g.seen[k]
	g.mu.Unlock()
	if ok && now.Sub(e.checked) < GateCacheTTL {
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
	g.remember(k, gateEntry{checked: now, until: until})
	return d
}

func (g *Gate) remember(k gateKey, e gateEntry) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.seen == nil {
		g.seen = map[gateKey]gateEntry{}
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
