package redis

import (
	"context"
	"fmt"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"flashlive/domain"
	"flashlive/internal/testenv"
)

// feedEvent is what a recordingWatcher heard: a listening state, or a
// change.
type feedEvent struct {
	listening *bool
	kind      domain.BlockKind
	value     string
	until     time.Time
}

// recordingWatcher is a domain.BlockWatcher that hands what it hears to
// the test, in order.
type recordingWatcher chan feedEvent

func (w recordingWatcher) BlocksWatched(listening bool) { w <- feedEvent{listening: &listening} }
func (w recordingWatcher) BlockChanged(kind domain.BlockKind, value string, until time.Time) {
	w <- feedEvent{kind: kind, value: value, until: until}
}

// next returns the next event, failing the test after 10s of silence.
func (w recordingWatcher) next(t *testing.T) feedEvent {
	t.Helper()
	select {
	case e := <-w:
		return e
	case <-time.After(10 * time.Second):
		t.Fatal("the watcher heard nothing for 10s")
		return feedEvent{}
	}
}

// waitListening skips what comes before the feed says it listens (or,
// with want false, that it stopped).
func (w recordingWatcher) waitListening(t *testing.T, want bool) {
	t.Helper()
	for {
		if e := w.next(t); e.listening != nil && *e.listening == want {
			return
		}
	}
}

// wantChange fails unless the next event is a change of kind:value
// blocked for about d (0: released).
func (w recordingWatcher) wantChange(t *testing.T, kind domain.BlockKind, value string, d time.Duration) {
	t.Helper()
	e := w.next(t)
	if e.listening != nil {
		t.Fatalf("heard listening=%v, want the change of %s %s", *e.listening, kind, value)
	}
	if e.kind != kind || e.value != value {
		t.Fatalf("heard a change of %s %s, want %s %s", e.kind, e.value, kind, value)
	}
	if d == 0 {
		if !e.until.IsZero() {
			t.Fatalf("heard %s %s blocked until %v, want released", kind, value, e.until)
		}
		return
	}
	if left := time.Until(e.until); left > d || left < d-5*time.Second {
		t.Fatalf("heard %s %s blocked for %v, want about %v", kind, value, left, d)
	}
}

// TestBlockFeedTellsEveryChange: what one instance blocks or releases,
// by strikes or by an ADMIN, reaches another instance's watcher; after
// the subscription is cut, the watcher hears that it stopped listening,
// then that it listens again, and changes made then still reach it.
func TestBlockFeedTellsEveryChange(t *testing.T) {
	testenv.EachRedis(t, func(t *testing.T, target testenv.RedisTarget) {
		prefix := testenv.RedisPrefix(t, target.URL)
		open := func() *Client {
			c, err := Open(context.Background(), target.URL, prefix)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = c.Close() })
			return c
		}
		here := NewBlocklist(open(), 2, time.Minute, time.Hour)
		there := NewBlocklist(open(), 2, time.Minute, time.Hour)
		ctx, cancel := context.WithCancel(context.Background())
		w := make(recordingWatcher, 64)
		done := make(chan error, 1)
		go func() { done <- there.Watch(ctx, w) }()
		t.Cleanup(func() {
			cancel()
			if err := <-done; err != context.Canceled {
				t.Errorf("Watch returned %v, want context.Canceled", err)
			}
		})
		w.waitListening(t, true)

		for i := range 2 {
			if _, err := here.Strike(ctx, domain.BlockIP, "192.0.2.1"); err != nil {
				t.Fatalf("strike %d: %v", i+1, err)
			}
		}
		w.wantChange(t, domain.BlockIP, "192.0.2.1", time.Hour)
		if err := here.Block(ctx, domain.BlockAccount, "usr_feed", 10*time.Minute); err != nil {
			t.Fatal(err)
		}
		w.wantChange(t, domain.BlockAccount, "usr_feed", 10*time.Minute)
		if _, err := here.Unblock(ctx, domain.BlockIP, "192.0.2.1"); err != nil {
			t.Fatal(err)
		}
		w.wantChange(t, domain.BlockIP, "192.0.2.1", 0)
		// An address with ':' in it (an IPv6 /64) comes through whole.
		if err := here.Block(ctx, domain.BlockIP, "2001:db8:1:2::/64", time.Minute); err != nil {
			t.Fatal(err)
		}
		w.wantChange(t, domain.BlockIP, "2001:db8:1:2::/64", time.Minute)

		// Cut every subscriber's connection (only block feeds subscribe).
		kill := func(ctx context.Context, c *goredis.Client) error {
			return c.ClientKillByFilter(ctx, "TYPE", "pubsub").Err()
		}
		var err error
		if cc, ok := there.c.RDB.(*goredis.ClusterClient); ok {
			err = cc.ForEachShard(ctx, kill)
		} else {
			err = kill(ctx, there.c.RDB.(*goredis.Client))
		}
		if err != nil {
			t.Fatalf("client kill: %v", err)
		}
		w.waitListening(t, false)
		w.waitListening(t, true)
		if err := here.Block(ctx, domain.BlockAccount, "usr_after", time.Minute); err != nil {
			t.Fatal(err)
		}
		w.wantChange(t, domain.BlockAccount, "usr_after", time.Minute)
	})
}

func TestParseFeed(t *testing.T) {
	now := time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		msg   string
		ok    bool
		kind  domain.BlockKind
		value string
		until time.Time
	}{
		{"IP|1500|192.0.2.1", true, domain.BlockIP, "192.0.2.1", now.Add(1500 * time.Millisecond)},
		{"ACCOUNT|0|usr_1", true, domain.BlockAccount, "usr_1", time.Time{}},
		{"IP|60000|2001:db8::/64", true, domain.BlockIP, "2001:db8::/64", now.Add(time.Minute)},
		{"IP|-1|192.0.2.1", false, "", "", time.Time{}},
		{"HOST|10|x", false, "", "", time.Time{}},
		{"IP|10|", false, "", "", time.Time{}},
		{"IP|ten|x", false, "", "", time.Time{}},
		{"garbage", false, "", "", time.Time{}},
	} {
		kind, value, until, ok := parseFeed(tc.msg, now)
		if got, want := fmt.Sprint(kind, value, until, ok), fmt.Sprint(tc.kind, tc.value, tc.until, tc.ok); got != want {
			t.Errorf("parseFeed(%q) = %s, want %s", tc.msg, got, want)
		}
	}
}
