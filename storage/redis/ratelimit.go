package redis

import (
	"context"
	_ "embed"
	"fmt"
	"strings"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"flashlive/domain"
)

// Limiter implements domain.RateLimiter with GCRA (gcra.lua), counted in
// Redis by the server's clock, so that every instance shares one budget
// per key. Each key has its own hash tag:
//
//	<prefix>lim:{<name>:<key>}   string: the key's theoretical arrival time (µs)
//
// The checks of every request made at once go to Redis together, in one
// pipeline (a scriptBatcher): a purchase's buyer and address checks, and
// other requests' checks beside them, cost one write and one read.
//
// It owns the batcher's goroutine: Stop ends it.
type Limiter struct {
	c     *Client
	batch *scriptBatcher
}

var _ domain.RateLimiter = (*Limiter)(nil)

// NewLimiter returns a Limiter over c; Stop stops it.
func NewLimiter(c *Client) *Limiter {
	return &Limiter{c: c, batch: newScriptBatcher(c.RDB, gcraScript)}
}

// Stop stops sending checks; Allow fails afterwards with an error that
// wraps ErrStopped. It does not close the client.
func (l *Limiter) Stop() { l.batch.close() }

func (l *Limiter) key(ch domain.LimitCheck) string {
	return l.c.Prefix + "lim:{" + ch.Name + ":" + ch.Key + "}"
}

// Allow implements domain.RateLimiter. Every check is queued before any
// answer is awaited, so that the checks of one request share a pipeline
// (keys of different hash tags cannot share a script on a Redis Cluster,
// but they can share a pipeline).
func (l *Limiter) Allow(ctx context.Context, checks ...domain.LimitCheck) (domain.Verdict, error) {
	var calls [4]*scriptCall
	on, names := calls[:0], make([]string, 0, len(checks))
	for _, ch := range checks {
		if ch.Limit.Off() {
			continue
		}
		interval := max(ch.Limit.Period.Microseconds()/int64(max(ch.Limit.Rate, 1)), 1)
		c := &scriptCall{keys: []string{l.key(ch)}, args: []any{interval, max(ch.Limit.Burst, 1)}, reply: make(chan scriptReply, 1)}
		if err := l.batch.enqueue(ctx, c); err != nil {
			return domain.Verdict{}, fmt.Errorf("rate limit %s: %w", ch.Name, err)
		}
		on, names = append(on, c), append(names, ch.Name)
	}
	v := domain.Verdict{Allowed: true}
	for i, c := range on {
		var r scriptReply
		select {
		case r = <-c.reply:
		case <-ctx.Done():
			return domain.Verdict{}, fmt.Errorf("rate limit %s: %w", names[i], ctx.Err())
		}
		if r.err != nil {
			return domain.Verdict{}, fmt.Errorf("rate limit %s: %w", names[i], r.err)
		}
		us, ok := r.val.(int64)
		if !ok {
			return domain.Verdict{}, fmt.Errorf("rate limit %s: unexpected answer %v", names[i], r.val)
		}
		if us == 0 {
			continue
		}
		if v.Allowed {
			v.Refused = names[i]
		}
		v.Allowed = false
		v.RetryAfter = max(v.RetryAfter, time.Duration(us)*time.Microsecond)
	}
	return v, nil
}

// Lua scripts of the limits; each file's header states its keys,
// arguments and answers.
var (
	//go:embed gcra.lua
	gcraLua    string
	gcraScript = goredis.NewScript(gcraLua)
	//go:embed backoff.lua
	backoffLua    string
	backoffScript = goredis.NewScript(backoffLua)
	//go:embed strike.lua
	strikeLua    string
	strikeScript = goredis.NewScript(strikeLua)
	//go:embed blockset.lua
	blockSetLua    string
	blockSetScript = goredis.NewScript(blockSetLua)
)

// Backoff implements domain.FailureBackoff: a key may fail Free times
// before it waits; the Free-th failure makes it wait Base, and each one
// after that doubles the wait, up to Max. A key's failures are forgotten
// Window after its last one. Free 0 counts as 1.
//
//	<prefix>fail:{<key>}   hash: n (failures), until_ms (no attempt before)
type Backoff struct {
	c      *Client
	Free   int
	Base   time.Duration
	Max    time.Duration
	Window time.Duration
}

var _ domain.FailureBackoff = (*Backoff)(nil)

// NewBackoff returns a Backoff over c with the given free failures, first
// wait, longest wait and memory.
func NewBackoff(c *Client, free int, base, maxWait, window time.Duration) *Backoff {
	return &Backoff{c: c, Free: free, Base: base, Max: maxWait, Window: window}
}

func (b *Backoff) key(k string) string { return b.c.Prefix + "fail:{" + k + "}" }

// Wait implements domain.FailureBackoff.
func (b *Backoff) Wait(ctx context.Context, key string) (time.Duration, error) {
	ms, err := backoffScript.Run(ctx, b.c.RDB, []string{b.key(key)}, "wait").Int64()
	if err != nil {
		return 0, fmt.Errorf("backoff wait: %w", err)
	}
	return time.Duration(ms) * time.Millisecond, nil
}

// Failed implements domain.FailureBackoff.
func (b *Backoff) Failed(ctx context.Context, key string) error {
	err := backoffScript.Run(ctx, b.c.RDB, []string{b.key(key)}, "fail",
		b.Free, b.Base.Milliseconds(), b.Max.Milliseconds(), b.Window.Milliseconds()).Err()
	if err != nil {
		return fmt.Errorf("backoff fail: %w", err)
	}
	return nil
}

// Reset implements domain.FailureBackoff.
func (b *Backoff) Reset(ctx context.Context, key string) error {
	if err := b.c.RDB.Del(ctx, b.key(key)).Err(); err != nil {
		return fmt.Errorf("backoff reset: %w", err)
	}
	return nil
}

// Blocklist implements domain.Blocklist: a client is blocked for Block
// after Strikes RATE_LIMITED answers within Window, and released by the
// key's TTL. A client's keys share its hash tag:
//
//	<prefix>strike:{<kind>:<value>}   string: strikes in the window (TTL Window)
//	<prefix>block:{<kind>:<value>}    string: "1" while blocked (TTL the block)
type Blocklist struct {
	c        *Client
	Strikes  int
	Window   time.Duration
	BlockFor time.Duration
}

var _ domain.Blocklist = (*Blocklist)(nil)

// NewBlocklist returns a Blocklist over c that blocks for block after
// strikes strikes within window.
func NewBlocklist(c *Client, strikes int, window, block time.Duration) *Blocklist {
	return &Blocklist{c: c, Strikes: strikes, Window: window, BlockFor: block}
}

func (b *Blocklist) tag(kind domain.BlockKind, value string) string {
	return "{" + strings.ToLower(string(kind)) + ":" + value + "}"
}

func (b *Blocklist) blockKey(kind domain.BlockKind, value string) string {
	return b.c.Prefix + "block:" + b.tag(kind, value)
}

func (b *Blocklist) strikeKey(kind domain.BlockKind, value string) string {
	return b.c.Prefix + "strike:" + b.tag(kind, value)
}

// BlockedFor implements domain.Blocklist.
func (b *Blocklist) BlockedFor(ctx context.Context, kind domain.BlockKind, value string) (time.Duration, error) {
	d, err := b.c.RDB.PTTL(ctx, b.blockKey(kind, value)).Result()
	if err != nil {
		return 0, fmt.Errorf("blocklist: %w", err)
	}
	return max(d, 0), nil // -2: no key; -1 cannot happen (every block has a TTL)
}

// Strike implements domain.Blocklist.
func (b *Blocklist) Strike(ctx context.Context, kind domain.BlockKind, value string) (bool, error) {
	if b.Strikes <= 0 {
		return false, nil
	}
	head, tail := feedEnds(kind, value)
	n, err := strikeScript.Run(ctx, b.c.RDB,
		[]string{b.strikeKey(kind, value), b.blockKey(kind, value)},
		b.Strikes, b.Window.Milliseconds(), b.BlockFor.Milliseconds(), b.channel(), head, tail).Int()
	if err != nil {
		return false, fmt.Errorf("blocklist strike: %w", err)
	}
	return n == 1, nil
}

// Block implements domain.Blocklist; the block is published to the block
// feed in the same step.
func (b *Blocklist) Block(ctx context.Context, kind domain.BlockKind, value string, d time.Duration) error {
	if _, err := b.set(ctx, kind, value, max(d.Milliseconds(), 1)); err != nil {
		return fmt.Errorf("block: %w", err)
	}
	return nil
}

// Unblock implements domain.Blocklist; the release is published to the
// block feed in the same step.
func (b *Blocklist) Unblock(ctx context.Context, kind domain.BlockKind, value string) (bool, error) {
	was, err := b.set(ctx, kind, value, 0)
	if err != nil {
		return false, fmt.Errorf("unblock: %w", err)
	}
	return was, nil
}

// set runs blockset.lua: a block of ms milliseconds, or a release for 0.
func (b *Blocklist) set(ctx context.Context, kind domain.BlockKind, value string, ms int64) (bool, error) {
	head, tail := feedEnds(kind, value)
	n, err := blockSetScript.Run(ctx, b.c.RDB,
		[]string{b.blockKey(kind, value), b.strikeKey(kind, value)},
		ms, b.channel(), head, tail).Int()
	return n == 1, err
}

// Blocked implements domain.Blocklist. It scans the block keys: an ADMIN's
// list, not a hot path.
func (b *Blocklist) Blocked(ctx context.Context) ([]domain.BlockedClient, error) {
	prefix := b.c.Prefix + "block:{"
	var out []domain.BlockedClient
	now := time.Now()
	// On a cluster the block keys are spread over every master.
	err := b.c.ScanKeys(ctx, prefix+"*", func(k string) error {
		inner := strings.TrimSuffix(strings.TrimPrefix(k, prefix), "}")
		kind, value, ok := strings.Cut(inner, ":")
		if !ok {
			return nil
		}
		d, err := b.c.RDB.PTTL(ctx, k).Result()
		if err != nil {
			return err
		}
		if d <= 0 {
			return nil // released while we looked
		}
		out = append(out, domain.BlockedClient{
			Kind: domain.BlockKind(strings.ToUpper(kind)), Value: value, Until: now.Add(d).Truncate(time.Millisecond),
		})
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("blocked clients: %w", err)
	}
	return out, nil
}
