package redis

import (
	"context"
	"errors"
	"testing"
	"time"
)

// TestUnpaidOrdersKey pins what RunUnpaid cannot see: each buyer's list
// is one sorted set in a slot of its own, that expires with the last
// window it holds and is gone once emptied.
func TestUnpaidOrdersKey(t *testing.T) {
	ctx := context.Background()
	c := openTestClient(t)
	u := NewUnpaidOrders(c)
	t.Cleanup(u.Stop)
	now := time.Now().Truncate(time.Millisecond)
	key := c.Prefix + "{buyer:usr_a}:unpaid"
	for _, o := range []struct {
		id  string
		end time.Time
	}{{"ord_late", now.Add(20 * time.Minute)}, {"ord_early", now.Add(10 * time.Minute)}} {
		if ok, err := u.Admit(ctx, "usr_a", o.id, o.end, now, 5); err != nil || !ok {
			t.Fatalf("Admit %s = %v, %v; want true, nil", o.id, ok, err)
		}
	}
	got, err := c.RDB.ZRangeWithScores(ctx, key, 0, -1).Result()
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].Member != "ord_early" || int64(got[0].Score) != now.Add(10*time.Minute).UnixMilli() ||
		got[1].Member != "ord_late" || int64(got[1].Score) != now.Add(20*time.Minute).UnixMilli() {
		t.Fatalf("%s = %+v, want ord_early and ord_late scored by their window ends", key, got)
	}
	// The set lives as long as its last window, not the last one added.
	at, err := c.RDB.PExpireTime(ctx, key).Result()
	if err != nil {
		t.Fatal(err)
	}
	if got, want := at.Milliseconds(), now.Add(20*time.Minute).UnixMilli(); got != want {
		t.Fatalf("PEXPIRETIME %s = %d, want %d (the last window's end)", key, got, want)
	}
	for _, id := range []string{"ord_early", "ord_late"} {
		if err := u.Drop(ctx, "usr_a", id); err != nil {
			t.Fatal(err)
		}
	}
	if n, err := c.RDB.Exists(ctx, key).Result(); err != nil || n != 0 {
		t.Fatalf("EXISTS %s after dropping every order = %d, %v; want 0", key, n, err)
	}
}

// TestUnpaidOrdersStopped: once stopped, Admit fails with ErrStopped
// wrapped, and lists nothing.
func TestUnpaidOrdersStopped(t *testing.T) {
	c := openTestClient(t)
	u := NewUnpaidOrders(c)
	u.Stop()
	now := time.Now()
	ok, err := u.Admit(context.Background(), "usr_a", "ord_0", now.Add(time.Minute), now, 1)
	if ok || !errors.Is(err, ErrStopped) {
		t.Fatalf("Admit after Stop = %v, %v; want false and ErrStopped", ok, err)
	}
}
