package redis

import (
	"context"
	"errors"
	"net"
	"strconv"
	"strings"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"flashlive/domain"
)

// The block feed: every block set or lifted (strike.lua, blockset.lua)
// is published, in the step that makes it, on one channel:
//
//	<prefix>blocks   "<KIND>|<block ms>|<value>"; 0 ms: released
//
// On a Redis Cluster a PUBLISH reaches the subscribers of every node.

var _ domain.BlockFeed = (*Blocklist)(nil)

// Timing of Watch: with nothing heard for feedPing it pings; with nothing
// heard (not even the pong) for feedSilence, it takes the subscription
// for dead, says so and subscribes afresh, at most every feedRetry.
const (
	feedPing    = 2 * time.Second
	feedSilence = 3 * feedPing
	feedRetry   = 500 * time.Millisecond
)

func (b *Blocklist) channel() string { return b.c.Prefix + "blocks" }

// feedEnds are the two ends of a feed message about the client, to put
// around the block's milliseconds.
func feedEnds(kind domain.BlockKind, value string) (head, tail string) {
	return string(kind) + "|", "|" + value
}

// parseFeed reads a feed message, heard at now.
func parseFeed(msg string, now time.Time) (kind domain.BlockKind, value string, until time.Time, ok bool) {
	k, rest, ok1 := strings.Cut(msg, "|")
	ms, value, ok2 := strings.Cut(rest, "|")
	n, err := strconv.ParseInt(ms, 10, 64)
	kind = domain.BlockKind(k)
	if !ok1 || !ok2 || err != nil || n < 0 || value == "" || !kind.Valid() {
		return "", "", time.Time{}, false
	}
	if n > 0 {
		until = now.Add(time.Duration(n) * time.Millisecond)
	}
	return kind, value, until, true
}

// Watch implements domain.BlockFeed over Redis pub/sub: it subscribes to
// the feed and tells w of every change until ctx ends. w hears
// BlocksWatched(true) once each subscription is confirmed (changes
// published from then on reach it) and BlocksWatched(false) as soon as
// one fails or falls silent; it then subscribes again.
func (b *Blocklist) Watch(ctx context.Context, w domain.BlockWatcher) error {
	for {
		b.watchOnce(ctx, w)
		w.BlocksWatched(false)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(feedRetry):
		}
	}
}

// watchOnce listens on one subscription until it fails, falls silent or
// ctx ends.
func (b *Blocklist) watchOnce(ctx context.Context, w domain.BlockWatcher) {
	ps := b.c.RDB.Subscribe(ctx, b.channel())
	defer ps.Close()
	heard := time.Now()
	for ctx.Err() == nil {
		msg, err := ps.ReceiveTimeout(ctx, feedPing)
		var ne net.Error
		switch {
		case err == nil:
			heard = time.Now()
		case errors.As(err, &ne) && ne.Timeout():
			if time.Since(heard) >= feedSilence {
				return
			}
			if ps.Ping(ctx) != nil {
				return
			}
			continue
		default:
			return
		}
		switch m := msg.(type) {
		case *goredis.Subscription:
			if m.Kind == "subscribe" {
				w.BlocksWatched(true)
			}
		case *goredis.Message:
			if kind, value, until, ok := parseFeed(m.Payload, time.Now()); ok {
				w.BlockChanged(kind, value, until)
			}
		}
	}
}
