package main

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"flashlive/domain"
)

// Limits are the rate limits, the login back-off, the blocklist and the
// socket caps of a process (FLASHLIVE_LIMIT_*). The zero value turns every
// limit off; LoadConfig starts from DefaultLimits.
type Limits struct {
	PurchaseUser, PurchaseIP domain.Limit // purchaseFlash
	TokenUser, TokenIP       domain.Limit // flashPurchaseToken
	LoginIP, LoginEmail      domain.Limit // login attempts
	RegisterIP, RefreshIP    domain.Limit // register, refreshToken
	WSConnectIP              domain.Limit // /ws upgrades
	WSFrames                 domain.Limit // frames of one /ws connection (in process)
	GrabUser, GrabIP         domain.Limit // grabRedPacket

	// LoginFreeFailures wrong passwords of an e-mail from one address are
	// checked at once; the last of them makes the next attempt wait
	// LoginBackoff, and each failure after doubles the wait, up to
	// LoginBackoffMax. Zero LoginBackoff: no back-off.
	LoginFreeFailures int
	LoginBackoff      time.Duration
	LoginBackoffMax   time.Duration

	// SubscriptionsPerSocket caps the live subscriptions of one
	// graphql-transport-ws socket (0: no cap).
	SubscriptionsPerSocket int

	// BlockStrikes RATE_LIMITED answers within BlockWindow block a client
	// (its address, and its account when signed in) for BlockFor. Zero
	// BlockStrikes: nobody is blocked for hitting limits.
	BlockStrikes int
	BlockWindow  time.Duration
	BlockFor     time.Duration
}

// DefaultLimits are limits an honest person never meets: a person presses
// "buy" a few times a second at most, and an address may be a shop's or a
// carrier's NAT with many people behind it.
var DefaultLimits = Limits{
	PurchaseUser: domain.Limit{Rate: 5, Burst: 10, Period: time.Second},
	PurchaseIP:   domain.Limit{Rate: 50, Burst: 100, Period: time.Second},
	TokenUser:    domain.Limit{Rate: 5, Burst: 10, Period: time.Second},
	TokenIP:      domain.Limit{Rate: 50, Burst: 100, Period: time.Second},
	LoginIP:      domain.Limit{Rate: 60, Burst: 30, Period: time.Minute},
	LoginEmail:   domain.Limit{Rate: 20, Burst: 10, Period: time.Minute},
	RegisterIP:   domain.Limit{Rate: 30, Burst: 10, Period: time.Hour},
	RefreshIP:    domain.Limit{Rate: 120, Burst: 60, Period: time.Minute},
	WSConnectIP:  domain.Limit{Rate: 60, Burst: 30, Period: time.Minute},
	WSFrames:     domain.Limit{Rate: 10, Burst: 20, Period: time.Second},
	GrabUser:     domain.Limit{Rate: 5, Burst: 10, Period: time.Second},
	GrabIP:       domain.Limit{Rate: 200, Burst: 400, Period: time.Second},

	LoginFreeFailures: 5,
	LoginBackoff:      time.Second,
	LoginBackoffMax:   15 * time.Minute,

	SubscriptionsPerSocket: 10,

	BlockStrikes: 50,
	BlockWindow:  time.Minute,
	BlockFor:     10 * time.Minute,
}

// loadLimits reads FLASHLIVE_LIMITS (off: every limit off, for benchmarks)
// and each FLASHLIVE_LIMIT_*, reporting bad values through bad.
func loadLimits(get func(string) string, bad func(string, ...any)) Limits {
	switch v := strings.ToLower(get("FLASHLIVE_LIMITS")); v {
	case "", "on":
	case "off":
		return Limits{}
	default:
		bad("FLASHLIVE_LIMITS %q must be on or off", v)
	}
	l := DefaultLimits
	for _, r := range []struct {
		name string
		to   *domain.Limit
	}{
		{"PURCHASE_USER", &l.PurchaseUser}, {"PURCHASE_IP", &l.PurchaseIP},
		{"TOKEN_USER", &l.TokenUser}, {"TOKEN_IP", &l.TokenIP},
		{"LOGIN_IP", &l.LoginIP}, {"LOGIN_EMAIL", &l.LoginEmail},
		{"REGISTER_IP", &l.RegisterIP}, {"REFRESH_IP", &l.RefreshIP},
		{"WS_CONNECT_IP", &l.WSConnectIP}, {"WS_FRAMES", &l.WSFrames},
		{"GRAB_USER", &l.GrabUser}, {"GRAB_IP", &l.GrabIP},
	} {
		k := "FLASHLIVE_LIMIT_" + r.name
		if v := get(k); v != "" {
			lim, err := parseLimit(v)
			if err != nil {
				bad("%s %q: %v", k, v, err)
				continue
			}
			*r.to = lim
		}
	}
	for _, r := range []struct {
		name string
		to   *int
	}{
		{"LOGIN_FREE_FAILURES", &l.LoginFreeFailures}, {"SUBSCRIPTIONS", &l.SubscriptionsPerSocket},
		{"BLOCK_STRIKES", &l.BlockStrikes},
	} {
		k := "FLASHLIVE_LIMIT_" + r.name
		if v := get(k); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n < 0 || n > 1_000_000 {
				bad("%s %q is not a whole number from 0 to 1000000 (0: off)", k, v)
				continue
			}
			*r.to = n
		}
	}
	for _, r := range []struct {
		name string
		to   *time.Duration
	}{
		{"LOGIN_BACKOFF", &l.LoginBackoff}, {"LOGIN_BACKOFF_MAX", &l.LoginBackoffMax},
		{"BLOCK_WINDOW", &l.BlockWindow}, {"BLOCK_FOR", &l.BlockFor},
	} {
		k := "FLASHLIVE_LIMIT_" + r.name
		if v := get(k); v != "" {
			d, err := time.ParseDuration(v)
			if err != nil || d < 0 || d > domain.MaxBlock {
				bad("%s %q is not a duration from 0 to %s (such as 1s or 10m)", k, v, domain.MaxBlock)
				continue
			}
			*r.to = d
		}
	}
	if l.LoginBackoffMax < l.LoginBackoff {
		bad("FLASHLIVE_LIMIT_LOGIN_BACKOFF_MAX (%s) is shorter than FLASHLIVE_LIMIT_LOGIN_BACKOFF (%s)", l.LoginBackoffMax, l.LoginBackoff)
	}
	if l.BlockStrikes > 0 && (l.BlockWindow <= 0 || l.BlockFor <= 0) {
		bad("FLASHLIVE_LIMIT_BLOCK_WINDOW and FLASHLIVE_LIMIT_BLOCK_FOR must be positive while FLASHLIVE_LIMIT_BLOCK_STRIKES is not 0")
	}
	return l
}

// parseLimit reads "off", or "<rate>/<period>" with an optional
// ",burst=<n>" (default: the rate), where period is s, m, h or a duration
// such as 10s: "5/s,burst=10", "20/m", "100/10m".
func parseLimit(v string) (domain.Limit, error) {
	v = strings.ToLower(strings.ReplaceAll(v, " ", ""))
	if v == "off" || v == "0" {
		return domain.Limit{}, nil
	}
	spec, burst, hasBurst := strings.Cut(v, ",")
	rate, per, ok := strings.Cut(spec, "/")
	if !ok {
		return domain.Limit{}, fmt.Errorf("want <rate>/<period>[,burst=<n>] such as 5/s,burst=10, or off")
	}
	n, err := strconv.Atoi(rate)
	if err != nil || n < 1 || n > 1_000_000 {
		return domain.Limit{}, fmt.Errorf("the rate must be a whole number from 1 to 1000000")
	}
	var period time.Duration
	switch per {
	case "s":
		period = time.Second
	case "m":
		period = time.Minute
	case "h":
		period = time.Hour
	default:
		period, err = time.ParseDuration(per)
		if err != nil || period < time.Millisecond || period > 24*time.Hour {
			return domain.Limit{}, fmt.Errorf("the period must be s, m, h or a duration from 1ms to 24h")
		}
	}
	lim := domain.Limit{Rate: n, Burst: n, Period: period}
	if hasBurst {
		b, ok := strings.CutPrefix(burst, "burst=")
		if !ok {
			return domain.Limit{}, fmt.Errorf("after the comma, want burst=<n>")
		}
		if lim.Burst, err = strconv.Atoi(b); err != nil || lim.Burst < 1 || lim.Burst > 1_000_000 {
			return domain.Limit{}, fmt.Errorf("the burst must be a whole number from 1 to 1000000")
		}
	}
	return lim, nil
}
