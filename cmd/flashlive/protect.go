package main

import (
	"context"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"flashlive/domain"
	"flashlive/service"
	"flashlive/storage/redis"
)

// on reports whether any limit is on: with none (FLASHLIVE_LIMITS=off,
// or a Config built without LoadConfig), Main wires no limiter, no
// blocklist door and no Redis call for either.
func (l Limits) on() bool { return l != Limits{} }

// protection is what Main holds to protect itself: the shared limiter and
// the blocklist's door.
type protection struct {
	limiter *redis.Limiter
	gate    *service.Gate
	// stopWatch stops the block feed's watch and waits for it.
	stopWatch func()
}

// openProtection builds the limiter and the blocklist over Redis, with
// their metrics, and starts the watch of the block feed that lets the
// blocklist's door answer from memory (stopped by Close); nil when every
// limit is off.
func (m *Main) openProtection() *protection {
	lim := m.Config.Limits
	if !lim.on() {
		return nil
	}
	blocks := redis.NewBlocklist(m.Redis, lim.BlockStrikes, lim.BlockWindow, lim.BlockFor)
	gate := &service.Gate{Blocklist: blocks, Metrics: newLimitMetrics(m.Registry), Logger: m.Logger}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = blocks.Watch(ctx, gate)
	}()
	return &protection{limiter: m.rateLimiter(), gate: gate, stopWatch: func() { cancel(); <-done }}
}

// close stops what openProtection started.
func (p *protection) close() {
	if p != nil {
		p.stopWatch()
	}
}

// rateLimiter is the process's one rate limiter, made on first use and
// stopped by Close: every limit's checks share its pipeline to Redis.
func (m *Main) rateLimiter() *redis.Limiter {
	if m.limiter == nil {
		m.limiter = redis.NewLimiter(m.Redis)
	}
	return m.limiter
}

// limitSale wraps the sale in its rate limits (or returns it as it is).
func (m *Main) limitSale(sale domain.FlashSaleService) domain.FlashSaleService {
	p, lim := m.protect, m.Config.Limits
	if p == nil {
		return sale
	}
	return &service.LimitedSale{
		FlashSaleService: sale,
		Limits: service.SaleLimits{
			PurchaseUser: lim.PurchaseUser, PurchaseIP: lim.PurchaseIP, TokenUser: lim.TokenUser, TokenIP: lim.TokenIP,
		},
		Limiter: p.limiter, Observer: p.gate, Logger: m.Logger,
	}
}

// limitAuth wraps the accounts in their rate limits and the login
// back-off (or returns them as they are).
func (m *Main) limitAuth(accounts domain.AuthService) domain.AuthService {
	p, lim := m.protect, m.Config.Limits
	if p == nil {
		return accounts
	}
	a := &service.LimitedAuth{
		AuthService: accounts,
		Limits: service.AuthLimits{
			LoginIP: lim.LoginIP, LoginEmail: lim.LoginEmail, RegisterIP: lim.RegisterIP, RefreshIP: lim.RefreshIP,
		},
		Limiter: p.limiter, Observer: p.gate, Logger: m.Logger,
	}
	if lim.LoginBackoff > 0 {
		a.Backoff = redis.NewBackoff(m.Redis, lim.LoginFreeFailures, lim.LoginBackoff, lim.LoginBackoffMax, time.Hour)
	}
	return a
}

// blockService is the ADMIN's blocklist, or nil when limits are off.
func (m *Main) blockService() domain.BlockService {
	if m.protect == nil {
		return nil
	}
	return m.protect.gate
}

// refuseBlocked answers a blocked client with 429 and RATE_LIMITED before
// anything else is done for it (no body read, no GraphQL parse): by its
// address, and by its account once authenticate has run before it.
func (m *Main) refuseBlocked(kind domain.BlockKind, next http.Handler) http.Handler {
	if m.protect == nil {
		return next
	}
	gate := m.protect.gate
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		var value string
		switch kind {
		case domain.BlockIP:
			if ip, ok := domain.ClientIPFromContext(ctx); ok {
				value = domain.ClientKey(ip)
			}
		case domain.BlockAccount:
			if p, ok := domain.PrincipalFromContext(ctx); ok {
				value = p.UserID
			}
		}
		if value != "" {
			if d := gate.BlockedFor(ctx, kind, value); d > 0 {
				writeGraphQLError(w, http.StatusTooManyRequests, domain.RateLimited(d, "this client is blocked for hitting rate limits; retry later"))
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}

// limitUpgrades holds /ws upgrades to FLASHLIVE_LIMIT_WS_CONNECT_IP per
// client address: 429 with RATE_LIMITED past it.
func (m *Main) limitUpgrades(next http.Handler) http.Handler {
	p, lim := m.protect, m.Config.Limits.WSConnectIP
	if p == nil || lim.Off() {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		if ip, ok := domain.ClientIPFromContext(ctx); ok {
			v, err := p.limiter.Allow(ctx, domain.LimitCheck{Name: "ws-connect-ip", Key: domain.ClientKey(ip), Limit: lim})
			if err != nil {
				m.Logger.WarnContext(ctx, "rate limiter failed; letting the upgrade through", "err", err)
			} else if !v.Allowed {
				p.gate.Limited(ctx, v.Refused)
				writeGraphQLError(w, http.StatusTooManyRequests, domain.RateLimited(v.RetryAfter, "too many live-feed connections from this address; retry later"))
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}

// limitMetrics are the Prometheus counters of the limits and the
// blocklist.
type limitMetrics struct {
	limited  *prometheus.CounterVec
	blocked  *prometheus.CounterVec
	released *prometheus.CounterVec
}

var _ service.GateMetrics = (*limitMetrics)(nil)

func newLimitMetrics(reg prometheus.Registerer) *limitMetrics {
	lm := &limitMetrics{
		limited: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "flashlive_rate_limited_total",
			Help: "Requests refused with RATE_LIMITED, by the limit that refused them.",
		}, []string{"limit"}),
		blocked: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "flashlive_blocklist_blocked_total",
			Help: "Clients blocked (for hitting limits, or by an ADMIN) by this instance, by kind.",
		}, []string{"kind"}),
		released: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "flashlive_blocklist_released_total",
			Help: "Blocks this instance saw end, by kind and how (expired, admin).",
		}, []string{"kind", "how"}),
	}
	reg.MustRegister(lm.limited, lm.blocked, lm.released)
	return lm
}

// Limited implements service.GateMetrics.
func (lm *limitMetrics) Limited(limit string) { lm.limited.WithLabelValues(limit).Inc() }

// Blocked implements service.GateMetrics.
func (lm *limitMetrics) Blocked(kind domain.BlockKind) {
	lm.blocked.WithLabelValues(string(kind)).Inc()
}

// Released implements service.GateMetrics.
func (lm *limitMetrics) Released(kind domain.BlockKind, how string) {
	lm.released.WithLabelValues(string(kind), how).Inc()
}

// retryAfterHeader is a wait as the Retry-After header says it: whole
// seconds, rounded up.
func retryAfterHeader(d time.Duration) string {
	return strconv.Itoa(int((d + time.Second - 1) / time.Second))
}
