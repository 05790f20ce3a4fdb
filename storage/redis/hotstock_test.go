package redis

import (
	"context"
	"errors"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"flashlive/domain"
	"flashlive/internal/hotstocktest"
	"flashlive/internal/testenv"
)

// The events, requests and answers of the Redis tests are the contract
// suite's (internal/hotstocktest), whose tests these do not repeat: what
// is here is Redis's own (keys, TTLs, the ledger the scripts keep, data
// lost under the hot stock).
var (
	t0          = hotstocktest.T0
	hotEvent    = hotstocktest.Event
	request     = hotstocktest.Request
	mustLoad    = hotstocktest.MustLoad
	mustReserve = hotstocktest.MustReserve
	fmtResult   = hotstocktest.FormatResult
)

// openTestClient opens the Redis target under a fresh prefix whose keys
// are deleted when the test ends.
func openTestClient(t testing.TB, r testenv.RedisTarget) *Client {
	t.Helper()
	c, err := Open(context.Background(), r.URL, testenv.RedisPrefix(t, r.URL))
	if err != nil {
		t.Fatalf("open redis %s: %v", r.Name, err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// allKeys returns every key of c that matches pattern, on every master of
// a cluster.
func allKeys(t *testing.T, c *Client, pattern string) []string {
	t.Helper()
	var keys []string
	err := c.ScanKeys(context.Background(), pattern, func(k string) error {
		keys = append(keys, k)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(keys)
	return slices.Compact(keys)
}

func newTestHotStock(t *testing.T, target testenv.RedisTarget) (*HotStock, *Client) {
	t.Helper()
	c := openTestClient(t, target)
	s := NewHotStock(c, time.Hour)
	t.Cleanup(s.Stop)
	return s, c
}

// hotState is everything Redis holds about one event's stock.
type hotState struct {
	stock, remaining int
	held             map[string]int
	orders           map[string]string // order ID -> "<units>:<buyer>"
	ordered          map[string]int    // buyer -> units of its entries in orders
	outbox           map[string]domain.Reservation
}

func readState(t *testing.T, s *HotStock, eventID string) hotState {
	t.Helper()
	ctx := context.Background()
	rdb := s.c.RDB
	meta, err := rdb.HGetAll(ctx, s.metaKey(eventID)).Result()
	if err != nil {
		t.Fatalf("read meta: %v", err)
	}
	st := hotState{held: map[string]int{}, outbox: map[string]domain.Reservation{}}
	st.stock, _ = strconv.Atoi(meta["stock"])
	st.remaining, _ = strconv.Atoi(meta["remaining"])
	held, err := rdb.HGetAll(ctx, s.heldKey(eventID)).Result()
	if err != nil {
		t.Fatalf("read held: %v", err)
	}
	for b, v := range held {
		n, err := strconv.Atoi(v)
		if err != nil {
			t.Fatalf("held[%s] = %q: %v", b, v, err)
		}
		st.held[b] = n
	}
	if st.orders, err = rdb.HGetAll(ctx, s.ordersKey(eventID)).Result(); err != nil {
		t.Fatalf("read orders: %v", err)
	}
	st.ordered = map[string]int{}
	for id, v := range st.orders {
		units, buyer, ok := strings.Cut(v, ":")
		n, err := strconv.Atoi(units)
		if !ok || err != nil || n < 1 {
			t.Fatalf("orders[%s] = %q, want <units>:<buyer>", id, v)
		}
		st.ordered[buyer] += n
	}
	rs, err := s.Reservations(ctx, eventID, t0.Add(1000*time.Hour))
	if err != nil {
		t.Fatalf("read outbox: %v", err)
	}
	for _, r := range rs {
		st.outbox[r.OrderID] = r
	}
	return st
}

// checkConserved asserts the invariants of the hot stock of one event:
// stock = remaining + sum(held), remaining >= 0, no buyer above limit,
// and the orders recorded for a buyer within its held units. It returns
// the state.
func checkConserved(t *testing.T, s *HotStock, eventID string, limit int) hotState {
	t.Helper()
	st := readState(t, s, eventID)
	sum := 0
	for b, n := range st.held {
		if n <= 0 || n > limit {
			t.Errorf("held[%s] = %d, want 1..%d", b, n, limit)
		}
		sum += n
	}
	if got, want := st.remaining+sum, st.stock; got != want {
		t.Fatalf("remaining %d + held %d = %d, want stock %d", st.remaining, sum, got, want)
	}
	if st.remaining < 0 {
		t.Fatalf("remaining = %d, want >= 0", st.remaining)
	}
	// Orders reserved here are held; a Load may hold more (its orders are
	// not recorded one by one).
	for b, n := range st.ordered {
		if n > st.held[b] {
			t.Errorf("orders of %s hold %d units, more than held %d", b, n, st.held[b])
		}
	}
	return st
}

func TestHotStockKeys(t *testing.T) {
	testenv.EachRedis(t, func(t *testing.T, target testenv.RedisTarget) {
		s, c := newTestHotStock(t, target)
		ctx := context.Background()
		ev := hotEvent("evt_keys", 5, 2)
		ev.Remaining, ev.Held = 4, map[string]int{"usr_old": 1}
		mustLoad(t, s, ev)
		mustReserve(t, s, request(ev.ID, "usr_a", "ord_1", 1), "k:with:colons", t0)

		keys := allKeys(t, c, c.Prefix+"*")
		want := map[string]bool{
			c.Prefix + "{ev:evt_keys}:meta":                     true,
			c.Prefix + "{ev:evt_keys}:held":                     true,
			c.Prefix + "{ev:evt_keys}:orders":                   true,
			c.Prefix + "{ev:evt_keys}:outbox":                   true,
			c.Prefix + "{ev:evt_keys}:idem:usr_a:k:with:colons": true,
			c.Prefix + "{ev:evt_keys}:buyers":                   true,
		}
		if got, want := len(keys), len(want); got != want {
			t.Errorf("%d keys %v, want %d", got, keys, want)
		}
		for _, k := range keys {
			if !want[k] {
				t.Errorf("unexpected key %s", k)
			}
		}
		idemTTL, err := c.RDB.PTTL(ctx, c.Prefix+"{ev:evt_keys}:idem:usr_a:k:with:colons").Result()
		if err != nil {
			t.Fatal(err)
		}
		if idemTTL <= 59*time.Minute || idemTTL > time.Hour {
			t.Errorf("idempotency key TTL = %v, want about 1h", idemTTL)
		}
		h := NewHotStock(c, 0)
		defer h.Stop()
		if got, want := h.idemTTL, DefaultIdempotencyTTL; got != want {
			t.Errorf("NewHotStock(c, 0) TTL = %v, want %v", got, want)
		}
	})
}

// TestHotStockNotLoadedWritesNothing: a Reserve or a Release on an event
// not loaded leaves no key behind (a left-over could act on a later load).
func TestHotStockNotLoadedWritesNothing(t *testing.T) {
	testenv.EachRedis(t, func(t *testing.T, target testenv.RedisTarget) {
		s, c := newTestHotStock(t, target)
		ctx := context.Background()
		if _, err := s.Reserve(ctx, request("evt_absent", "usr_a", "ord_1", 1), "key", t0); !errors.Is(err, domain.ErrNotLoaded) {
			t.Fatalf("Reserve on an event not loaded: err = %v, want ErrNotLoaded", err)
		}
		o := &domain.Order{ID: "ord_1", BuyerID: "usr_a", FlashEventID: "evt_absent", Items: []domain.OrderItem{{Quantity: 2}}}
		if ok, err := s.Release(ctx, o); err != nil || ok {
			t.Fatalf("Release on an event not loaded = %v, %v; want false, nil", ok, err)
		}
		if keys := allKeys(t, c, c.Prefix+"*"); len(keys) != 0 {
			t.Fatalf("keys written for an event not loaded: %v", keys)
		}
	})
}

// TestHotStockReloadAfterLoss: Redis loses some or all of an event's keys
// and Load rebuilds it from the source (PostgreSQL, as each case
// describes it); a Release that comes late never counts units twice.
func TestHotStockReloadAfterLoss(t *testing.T) {
	testenv.EachRedis(t, func(t *testing.T, target testenv.RedisTarget) {
		ctx := context.Background()
		t.Run("hot stock lost, reloaded with the order cancelled, late release", func(t *testing.T) {
			s, c := newTestHotStock(t, target)
			ev := hotEvent("evt_rl", 5, 2)
			mustLoad(t, s, ev)
			mustReserve(t, s, request(ev.ID, "usr_a", "ord_1", 2), "k", t0)
			// Redis loses the event; PostgreSQL cancels the order; the event is
			// loaded from PostgreSQL; the Release of the cancel comes late.
			if err := c.RDB.Del(ctx, s.metaKey(ev.ID), s.heldKey(ev.ID), s.ordersKey(ev.ID), s.outboxKey(ev.ID)).Err(); err != nil {
				t.Fatal(err)
			}
			mustLoad(t, s, ev) // full stock: the order is not live
			if ok, err := s.Release(ctx, &domain.Order{ID: "ord_1", FlashEventID: ev.ID}); err != nil || ok {
				t.Fatalf("late Release = %v, %v; want false, nil", ok, err)
			}
			if got, want := checkConserved(t, s, ev.ID, 2).remaining, 5; got != want {
				t.Fatalf("remaining = %d, want %d (no double count)", got, want)
			}
		})
		t.Run("hot stock lost, reloaded with the order live, release", func(t *testing.T) {
			s, c := newTestHotStock(t, target)
			ev := hotEvent("evt_rl", 5, 2)
			mustLoad(t, s, ev)
			mustReserve(t, s, request(ev.ID, "usr_a", "ord_1", 2), "k", t0)
			if err := c.RDB.Del(ctx, s.metaKey(ev.ID), s.heldKey(ev.ID), s.ordersKey(ev.ID)).Err(); err != nil {
				t.Fatal(err)
			}
			live := ev
			live.Remaining, live.Held = 3, map[string]int{"usr_a": 2}
			live.Unpaid = []domain.HeldOrder{{OrderID: "ord_1", BuyerID: "usr_a", Units: 2}}
			mustLoad(t, s, live)
			// The source names the unpaid order, so the reloaded ledger can
			// give its units back: exactly once.
			for i, want := range []bool{true, false} {
				if ok, err := s.Release(ctx, &domain.Order{ID: "ord_1", FlashEventID: ev.ID}); err != nil || ok != want {
					t.Fatalf("Release #%d = %v, %v; want %v, nil", i+1, ok, err, want)
				}
			}
			st := checkConserved(t, s, ev.ID, 2)
			if got, want := st.remaining, 5; got != want {
				t.Fatalf("remaining = %d, want %d", got, want)
			}
			if got, want := st.held["usr_a"], 0; got != want {
				t.Fatalf("held[usr_a] = %d, want %d", got, want)
			}
		})
		t.Run("left-overs of a lost meta are replaced by Load", func(t *testing.T) {
			s, c := newTestHotStock(t, target)
			ev := hotEvent("evt_rl", 5, 2)
			mustLoad(t, s, ev)
			mustReserve(t, s, request(ev.ID, "usr_a", "ord_1", 2), "k", t0)
			if err := c.RDB.Del(ctx, s.metaKey(ev.ID)).Err(); err != nil {
				t.Fatal(err)
			}
			if ok, err := s.Release(ctx, &domain.Order{ID: "ord_1", FlashEventID: ev.ID}); err != nil || ok {
				t.Fatalf("Release without meta = %v, %v; want false, nil", ok, err)
			}
			mustLoad(t, s, ev) // the source: order cancelled, full stock
			st := checkConserved(t, s, ev.ID, 2)
			if got, want := st.remaining, 5; got != want {
				t.Fatalf("remaining = %d, want %d", got, want)
			}
			if got, want := len(st.held)+len(st.orders), 0; got != want {
				t.Fatalf("held %v and orders %v survived a fresh Load", st.held, st.orders)
			}
			if ok, err := s.Release(ctx, &domain.Order{ID: "ord_1", FlashEventID: ev.ID}); err != nil || ok {
				t.Fatalf("Release after Load = %v, %v; want false, nil", ok, err)
			}
		})
	})
}
