package domain

import (
	"context"
	"fmt"
	"time"
)

// Limit is a rate, enforced with the generic cell rate algorithm: Burst
// events at once, then one more every Period/Rate. A Limit whose Rate is
// zero is off: it allows everything.
type Limit struct {
	Rate   int
	Burst  int
	Period time.Duration
}

// Off reports whether the limit allows everything.
func (l Limit) Off() bool { return l.Rate <= 0 || l.Period <= 0 }

// String is the limit as configured: "<rate>/<period>" with ",burst=<n>".
func (l Limit) String() string {
	if l.Off() {
		return "off"
	}
	return fmt.Sprintf("%d/%s,burst=%d", l.Rate, l.Period, l.Burst)
}

// LimitCheck is one limit applied to one client: Name names the limit
// (purchase-user, login-ip, ...: the label of its metrics), Key the client
// it counts (a user ID, a ClientKey, an e-mail).
type LimitCheck struct {
	Name  string
	Key   string
	Limit Limit
}

// Verdict is a RateLimiter's answer.
type Verdict struct {
	// Allowed reports whether every check allowed the event.
	Allowed bool
	// RetryAfter is, when refused, how long until the refusing checks
	// would allow it.
	RetryAfter time.Duration
	// Refused names the limit that refused (the first one), or "".
	Refused string
}

// RateLimiter counts events against limits shared by every instance.
type RateLimiter interface {
	// Allow charges one event to each check that is on and reports
	// whether all of them allowed it. A check that refuses is not
	// charged; one that allows is, even when another refuses.
	Allow(ctx context.Context, checks ...LimitCheck) (Verdict, error)
}

// FailureBackoff makes a client wait longer after each failure of a kind
// (a wrong password): a few failures are free, then each one doubles the
// wait, up to a cap. State is shared by every instance and forgotten a
// while after the last failure.
type FailureBackoff interface {
	// Wait returns how long key must still wait before its next attempt,
	// 0 when it may try now.
	Wait(ctx context.Context, key string) (time.Duration, error)
	// Failed counts a failure of key.
	Failed(ctx context.Context, key string) error
	// Reset forgets key's failures (after a success).
	Reset(ctx context.Context, key string) error
}

// BlockKind is what a block applies to.
type BlockKind string

// Kinds of blocked clients.
const (
	BlockIP      BlockKind = "IP"
	BlockAccount BlockKind = "ACCOUNT"
)

// Valid reports whether k is a known kind.
func (k BlockKind) Valid() bool { return k == BlockIP || k == BlockAccount }

// BlockedClient is a client the blocklist refuses until Until.
type BlockedClient struct {
	Kind  BlockKind
	Value string
	Until time.Time
}

// Blocklist holds the clients refused for a while, on every instance, and
// releases them by itself when their time is up.
type Blocklist interface {
	// BlockedFor returns how long the client stays blocked, 0 when it is
	// not.
	BlockedFor(ctx context.Context, kind BlockKind, value string) (time.Duration, error)
	// Strike records that the client was answered RATE_LIMITED. It reports
	// whether this strike blocked it (too many strikes within the window).
	Strike(ctx context.Context, kind BlockKind, value string) (bool, error)
	// Block blocks the client for d, replacing any block it has.
	Block(ctx context.Context, kind BlockKind, value string, d time.Duration) error
	// Unblock releases the client and forgets its strikes; it reports
	// whether it was blocked.
	Unblock(ctx context.Context, kind BlockKind, value string) (bool, error)
	// Blocked lists the clients blocked now.
	Blocked(ctx context.Context) ([]BlockedClient, error)
}

// BlockWatcher hears of the blocks set and lifted on any instance (a
// BlockFeed tells it), so that it may answer from memory whether a client
// is blocked instead of asking the Blocklist on every request.
type BlockWatcher interface {
	// BlocksWatched says whether the feed is listening: after true, every
	// change made from then on reaches BlockChanged; after false, changes
	// may be missed until the next true (what was learnt before may be
	// stale).
	BlocksWatched(listening bool)
	// BlockChanged is one change: the client is blocked until until, or
	// released when until is zero.
	BlockChanged(kind BlockKind, value string, until time.Time)
}

// BlockFeed tells a BlockWatcher of every block set and lifted, by
// strikes or by an ADMIN, on any instance.
type BlockFeed interface {
	// Watch tells w until ctx ends, listening again after a failure, and
	// returns ctx's error.
	Watch(ctx context.Context, w BlockWatcher) error
}

// BlockService is what an ADMIN does with the blocklist. Every method
// answers UNAUTHENTICATED or FORBIDDEN unless the caller is ADMIN, and
// INVALID for an unknown kind, an empty value or a bad duration.
type BlockService interface {
	// BlockedClients lists the clients blocked now.
	BlockedClients(ctx context.Context) ([]BlockedClient, error)
	// BlockClient blocks the client for d (1s to 30 days).
	BlockClient(ctx context.Context, kind BlockKind, value string, d time.Duration) (*BlockedClient, error)
	// UnblockClient releases the client and reports whether it was blocked.
	UnblockClient(ctx context.Context, kind BlockKind, value string) (bool, error)
}

// MaxBlock is the longest block an ADMIN may set.
const MaxBlock = 30 * 24 * time.Hour

// RateLimited returns a RATE_LIMITED error that tells the client to retry
// after wait.
func RateLimited(wait time.Duration, format string, args ...any) *Error {
	e := Errorf(ERATELIMITED, format, args...)
	e.RetryAfter = wait
	return e
}
