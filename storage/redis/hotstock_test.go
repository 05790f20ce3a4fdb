package redis

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"flashlive/domain"
	"flashlive/internal/testenv"
)

// t0 is when test events start; they end an hour later.
var t0 = time.Date(2030, 1, 2, 12, 0, 0, 0, time.UTC)

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

func hotEvent(id string, stock, limit int) domain.HotEvent {
	return domain.HotEvent{
		ID:           id,
		ProductID:    "prd_" + id,
		SellerID:     "usr_seller",
		PriceCents:   1999,
		Stock:        stock,
		PerUserLimit: limit,
		StartsAt:     t0,
		EndsAt:       t0.Add(time.Hour),
		Remaining:    stock,
	}
}

func mustLoad(t *testing.T, s *HotStock, ev domain.HotEvent) {
	t.Helper()
	loaded, err := s.Load(context.Background(), ev)
	if err != nil {
		t.Fatalf("load %s: %v", ev.ID, err)
	}
	if !loaded {
		t.Fatalf("load %s: loaded = false, want true", ev.ID)
	}
}

func request(eventID, buyerID, orderID string, qty int) domain.Reservation {
	return domain.Reservation{
		OrderID:   orderID,
		BuyerID:   buyerID,
		EventID:   eventID,
		Quantity:  qty,
		CreatedAt: t0.Add(time.Second),
		RequestID: "req-" + orderID,
	}
}

func mustReserve(t *testing.T, s *HotStock, r domain.Reservation, key string, now time.Time) domain.ReserveResult {
	t.Helper()
	res, err := s.Reserve(context.Background(), r, key, now)
	if err != nil {
		t.Fatalf("reserve %s: %v", r.OrderID, err)
	}
	return res
}

// sameResult reports whether two answers are identical (times by Equal).
func sameResult(a, b domain.ReserveResult) bool {
	if a.Outcome != b.Outcome || a.Remaining != b.Remaining || (a.Reservation == nil) != (b.Reservation == nil) {
		return false
	}
	if a.Reservation == nil {
		return true
	}
	ra, rb := *a.Reservation, *b.Reservation
	if !ra.CreatedAt.Equal(rb.CreatedAt) {
		return false
	}
	ra.CreatedAt, rb.CreatedAt = time.Time{}, time.Time{}
	return ra == rb
}

func fmtResult(r domain.ReserveResult) string {
	if r.Reservation == nil {
		return fmt.Sprintf("{%s remaining=%d}", r.Outcome, r.Remaining)
	}
	return fmt.Sprintf("{%s remaining=%d reservation=%+v}", r.Outcome, r.Remaining, *r.Reservation)
}

// hotState is everything Redis holds about one event's stock.
type hotState struct {
	stock, remaining int
	held             map[string]int
	orders           map[string]string // order ID -> "<units>:<buyer>"
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
	perBuyer := map[string]int{}
	for id, v := range st.orders {
		units, buyer, ok := strings.Cut(v, ":")
		n, err := strconv.Atoi(units)
		if !ok || err != nil {
			t.Fatalf("orders[%s] = %q, want <units>:<buyer>", id, v)
		}
		perBuyer[buyer] += n
	}
	// Orders reserved here are held; a Load may hold more (its orders are
	// not recorded one by one).
	for b, n := range perBuyer {
		if n > st.held[b] {
			t.Errorf("orders of %s hold %d units, more than held %d", b, n, st.held[b])
		}
	}
	return st
}

func TestHotStockReserveReserved(t *testing.T) {
	testenv.EachRedis(t, func(t *testing.T, target testenv.RedisTarget) {
		s, _ := newTestHotStock(t, target)
		ctx := context.Background()
		ev := hotEvent("evt_reserved", 10, 3)
		mustLoad(t, s, ev)

		r := request(ev.ID, "usr_a", "ord_1", 2)
		r.CreatedAt = time.Date(2030, 1, 2, 12, 0, 1, 123_456_789, time.FixedZone("X", 3600))
		res := mustReserve(t, s, r, "key-1", t0) // now == StartsAt: open
		want := domain.ReserveResult{
			Outcome:   domain.OutcomeReserved,
			Remaining: 8,
			Reservation: &domain.Reservation{
				OrderID:        "ord_1",
				BuyerID:        "usr_a",
				EventID:        ev.ID,
				ProductID:      ev.ProductID,
				SellerID:       ev.SellerID,
				Quantity:       2,
				UnitPriceCents: 1999,
				CreatedAt:      time.Date(2030, 1, 2, 11, 0, 1, 123_000_000, time.UTC),
				RequestID:      "req-ord_1",
				IdempotencyKey: "key-1",
				RemainingAfter: 8,
			},
		}
		if !sameResult(res, want) {
			t.Fatalf("Reserve = %s, want %s", fmtResult(res), fmtResult(want))
		}
		if got, want := res.Reservation.CreatedAt.Location(), time.UTC; got != want {
			t.Errorf("CreatedAt location = %v, want UTC", got)
		}

		st := checkConserved(t, s, ev.ID, ev.PerUserLimit)
		if got, want := st.held["usr_a"], 2; got != want {
			t.Errorf("held[usr_a] = %d, want %d", got, want)
		}
		if got, want := len(st.outbox), 1; got != want {
			t.Fatalf("outbox has %d records, want %d", got, want)
		}
		if got := st.outbox["ord_1"]; !sameResult(domain.ReserveResult{Reservation: &got}, domain.ReserveResult{Reservation: want.Reservation}) {
			t.Errorf("outbox[ord_1] = %+v, want %+v", got, *want.Reservation)
		}
		// "ord_1" carries no event: FindReservation cannot place it (see
		// TestHotStockOutbox for IDs made by domain.FlashOrderID).
		if _, err := s.FindReservation(ctx, "ord_1"); domain.ErrorCode(err) != domain.ENOTFOUND {
			t.Errorf("FindReservation of an ID without its event: %v, want NOT_FOUND", err)
		}

		// Just before the end is still open.
		res = mustReserve(t, s, request(ev.ID, "usr_b", "ord_2", 1), "key-2", ev.EndsAt.Add(-time.Millisecond))
		if got, want := res.Outcome, domain.OutcomeReserved; got != want {
			t.Fatalf("Reserve 1ms before end = %s, want %s", got, want)
		}
		if got, want := res.Remaining, 7; got != want {
			t.Fatalf("Remaining = %d, want %d", got, want)
		}
		checkConserved(t, s, ev.ID, ev.PerUserLimit)
	})
}

func TestHotStockReserveRefusals(t *testing.T) {
	testenv.EachRedis(t, func(t *testing.T, target testenv.RedisTarget) {
		for _, tt := range []struct {
			name string
			// setup prepares the loaded event (stock 5, limit 2) and returns the
			// time of the attempt.
			setup     func(t *testing.T, s *HotStock, ev domain.HotEvent) time.Time
			qty       int
			closed    bool
			want      domain.PurchaseOutcome
			remaining int
			// later makes the first answer wrong if it were computed again.
			later func(t *testing.T, s *HotStock, ev domain.HotEvent) time.Time
		}{
			{
				name:      "not started 1ms before start",
				setup:     func(*testing.T, *HotStock, domain.HotEvent) time.Time { return t0.Add(-time.Millisecond) },
				qty:       1,
				want:      domain.OutcomeNotStarted,
				remaining: 5,
				later:     func(*testing.T, *HotStock, domain.HotEvent) time.Time { return t0 },
			},
			{
				name:      "ended at end",
				setup:     func(_ *testing.T, _ *HotStock, ev domain.HotEvent) time.Time { return ev.EndsAt },
				qty:       1,
				want:      domain.OutcomeEnded,
				remaining: 5,
				later:     func(*testing.T, *HotStock, domain.HotEvent) time.Time { return t0 },
			},
			{
				name:      "ended after end",
				setup:     func(_ *testing.T, _ *HotStock, ev domain.HotEvent) time.Time { return ev.EndsAt.Add(time.Hour) },
				qty:       1,
				want:      domain.OutcomeEnded,
				remaining: 5,
				later:     func(*testing.T, *HotStock, domain.HotEvent) time.Time { return t0 },
			},
			{
				name:      "closed by Load",
				setup:     func(*testing.T, *HotStock, domain.HotEvent) time.Time { return t0 },
				qty:       1,
				closed:    true,
				want:      domain.OutcomeClosed,
				remaining: 5,
				later:     func(*testing.T, *HotStock, domain.HotEvent) time.Time { return t0 },
			},
			{
				name: "closed by Close",
				setup: func(t *testing.T, s *HotStock, ev domain.HotEvent) time.Time {
					if err := s.Close(context.Background(), ev.ID); err != nil {
						t.Fatalf("Close: %v", err)
					}
					return t0
				},
				qty:       1,
				want:      domain.OutcomeClosed,
				remaining: 5,
				later:     func(*testing.T, *HotStock, domain.HotEvent) time.Time { return t0 },
			},
			{
				name: "sold out",
				setup: func(t *testing.T, s *HotStock, ev domain.HotEvent) time.Time {
					mustReserve(t, s, request(ev.ID, "usr_x", "ord_x1", 2), "kx1", t0)
					mustReserve(t, s, request(ev.ID, "usr_y", "ord_y1", 2), "ky1", t0)
					return t0
				},
				qty:       2, // 1 left
				want:      domain.OutcomeSoldOut,
				remaining: 1,
				later: func(t *testing.T, s *HotStock, ev domain.HotEvent) time.Time {
					if ok, err := s.Release(context.Background(), &domain.Order{ID: "ord_x1", FlashEventID: ev.ID}); err != nil || !ok {
						t.Fatalf("Release = %v, %v; want true, nil", ok, err)
					}
					return t0
				},
			},
			{
				name: "limit reached with units held",
				setup: func(t *testing.T, s *HotStock, ev domain.HotEvent) time.Time {
					mustReserve(t, s, request(ev.ID, "usr_a", "ord_a1", 1), "ka1", t0)
					return t0
				},
				qty:       2, // holds 1, limit 2
				want:      domain.OutcomeLimitReached,
				remaining: 4,
				later: func(t *testing.T, s *HotStock, ev domain.HotEvent) time.Time {
					if ok, err := s.Release(context.Background(), &domain.Order{ID: "ord_a1", FlashEventID: ev.ID}); err != nil || !ok {
						t.Fatalf("Release = %v, %v; want true, nil", ok, err)
					}
					return t0
				},
			},
			{
				name:      "limit reached by one request",
				setup:     func(*testing.T, *HotStock, domain.HotEvent) time.Time { return t0 },
				qty:       3,
				want:      domain.OutcomeLimitReached,
				remaining: 5,
			},
		} {
			t.Run(tt.name, func(t *testing.T) {
				s, _ := newTestHotStock(t, target)
				ev := hotEvent("evt_refusal", 5, 2)
				ev.Closed = tt.closed
				mustLoad(t, s, ev)
				now := tt.setup(t, s, ev)
				before := checkConserved(t, s, ev.ID, ev.PerUserLimit)

				first := mustReserve(t, s, request(ev.ID, "usr_a", "ord_1", tt.qty), "key", now)
				want := domain.ReserveResult{Outcome: tt.want, Remaining: tt.remaining}
				if !sameResult(first, want) {
					t.Fatalf("Reserve = %s, want %s", fmtResult(first), fmtResult(want))
				}
				after := checkConserved(t, s, ev.ID, ev.PerUserLimit)
				if got, want := after.remaining, before.remaining; got != want {
					t.Errorf("remaining = %d after a refusal, want %d", got, want)
				}
				if got, want := len(after.outbox), len(before.outbox); got != want {
					t.Errorf("outbox has %d records after a refusal, want %d", got, want)
				}
				if _, ok := after.orders["ord_1"]; ok {
					t.Errorf("orders has ord_1 after a refusal")
				}

				// The same key keeps its first answer once the refusal no longer
				// holds, and a new key gets a fresh one.
				if tt.later == nil {
					return
				}
				now = tt.later(t, s, ev)
				again := mustReserve(t, s, request(ev.ID, "usr_a", "ord_2", tt.qty), "key", now)
				if !sameResult(again, first) {
					t.Fatalf("Reserve with the same key = %s, want the first answer %s", fmtResult(again), fmtResult(first))
				}
				if tt.want == domain.OutcomeClosed {
					return // closing is for good
				}
				fresh := mustReserve(t, s, request(ev.ID, "usr_a", "ord_3", tt.qty), "key-new", now)
				if got, want := fresh.Outcome, domain.OutcomeReserved; got != want {
					t.Fatalf("Reserve with a new key = %s, want %s", fmtResult(fresh), want)
				}
				checkConserved(t, s, ev.ID, ev.PerUserLimit)
			})
		}
	})
}

func TestHotStockReserveNotLoaded(t *testing.T) {
	testenv.EachRedis(t, func(t *testing.T, target testenv.RedisTarget) {
		s, c := newTestHotStock(t, target)
		ctx := context.Background()
		r := request("evt_absent", "usr_a", "ord_1", 1)
		_, err := s.Reserve(ctx, r, "key", t0)
		if !errors.Is(err, domain.ErrNotLoaded) {
			t.Fatalf("Reserve on an event not loaded: err = %v, want ErrNotLoaded", err)
		}
		// NOT_LOADED is not remembered, and nothing was written.
		n, err := c.RDB.Exists(ctx, s.idemKey("evt_absent", "usr_a", "key"), s.metaKey("evt_absent"), s.outboxKey("evt_absent")).Result()
		if err != nil {
			t.Fatal(err)
		}
		if got, want := n, int64(0); got != want {
			t.Fatalf("%d keys written for an event not loaded, want %d", got, want)
		}
		mustLoad(t, s, hotEvent("evt_absent", 3, 1))
		res := mustReserve(t, s, r, "key", t0)
		if got, want := res.Outcome, domain.OutcomeReserved; got != want {
			t.Fatalf("Reserve after Load with the same key = %s, want %s", got, want)
		}
	})
}

func TestHotStockReserveInvalid(t *testing.T) {
	testenv.EachRedis(t, func(t *testing.T, target testenv.RedisTarget) {
		s, _ := newTestHotStock(t, target)
		mustLoad(t, s, hotEvent("evt_inv", 3, 3))
		for _, tt := range []struct {
			name string
			r    domain.Reservation
			key  string
			code string
		}{
			{"zero quantity", request("evt_inv", "usr_a", "ord_1", 0), "k", domain.EINVALID},
			{"negative quantity", request("evt_inv", "usr_a", "ord_1", -2), "k", domain.EINVALID},
			{"no buyer", request("evt_inv", "", "ord_1", 1), "k", domain.EINVALID},
			{"no order", request("evt_inv", "usr_a", "", 1), "k", domain.EINVALID},
			{"no event", request("", "usr_a", "ord_1", 1), "k", domain.EINVALID},
			{"no key", request("evt_inv", "usr_a", "ord_1", 1), "", domain.EINVALID},
			{"key with a space", request("evt_inv", "usr_a", "ord_1", 1), "a b", domain.EINVALID},
		} {
			t.Run(tt.name, func(t *testing.T) {
				_, err := s.Reserve(context.Background(), tt.r, tt.key, t0)
				if got, want := domain.ErrorCode(err), tt.code; got != want {
					t.Fatalf("Reserve: code %q (%v), want %q", got, err, want)
				}
			})
		}
		// An order ID reserved already is refused, and takes nothing.
		mustReserve(t, s, request("evt_inv", "usr_a", "ord_dup", 1), "k1", t0)
		_, err := s.Reserve(context.Background(), request("evt_inv", "usr_b", "ord_dup", 1), "k2", t0)
		if got, want := domain.ErrorCode(err), domain.ECONFLICT; got != want {
			t.Fatalf("Reserve with a used order ID: code %q (%v), want %q", got, err, want)
		}
		st := checkConserved(t, s, "evt_inv", 3)
		if got, want := st.remaining, 2; got != want {
			t.Fatalf("remaining = %d, want %d", got, want)
		}
	})
}

func TestHotStockReserveConcurrentLimitOne(t *testing.T) {
	testenv.EachRedis(t, func(t *testing.T, target testenv.RedisTarget) {
		s, _ := newTestHotStock(t, target)
		const (
			stock    = 100
			buyers   = 500
			attempts = 2000
		)
		ev := hotEvent("evt_rush1", stock, 1)
		mustLoad(t, s, ev)

		results := make([]domain.ReserveResult, attempts)
		errs := make([]error, attempts)
		var wg sync.WaitGroup
		for i := range attempts {
			wg.Add(1)
			go func() {
				defer wg.Done()
				r := request(ev.ID, fmt.Sprintf("usr_%03d", i%buyers), fmt.Sprintf("ord_%04d", i), 1)
				results[i], errs[i] = s.Reserve(context.Background(), r, fmt.Sprintf("key-%d", i), t0.Add(time.Minute))
			}()
		}
		wg.Wait()

		reserved := 0
		orderIDs := map[string]bool{}
		for i, res := range results {
			if errs[i] != nil {
				t.Fatalf("attempt %d: %v", i, errs[i])
			}
			switch res.Outcome {
			case domain.OutcomeReserved:
				reserved++
				orderIDs[res.Reservation.OrderID] = true
				if got, want := res.Reservation.OrderID, fmt.Sprintf("ord_%04d", i); got != want {
					t.Errorf("attempt %d reserved order %s, want %s", i, got, want)
				}
			case domain.OutcomeSoldOut:
				if res.Remaining != 0 {
					t.Errorf("attempt %d: SOLD_OUT with remaining %d", i, res.Remaining)
				}
			case domain.OutcomeLimitReached:
			default:
				t.Errorf("attempt %d: outcome %s", i, res.Outcome)
			}
		}
		if got, want := reserved, stock; got != want {
			t.Fatalf("RESERVED %d times, want %d", got, want)
		}
		st := checkConserved(t, s, ev.ID, 1)
		if got, want := st.remaining, 0; got != want {
			t.Fatalf("remaining = %d, want %d", got, want)
		}
		sum := 0
		for _, n := range st.held {
			sum += n
		}
		if got, want := sum, stock; got != want {
			t.Fatalf("held sums to %d, want %d", got, want)
		}
		if got, want := len(st.outbox), stock; got != want {
			t.Fatalf("outbox has %d records, want %d", got, want)
		}
		if got, want := len(st.orders), stock; got != want {
			t.Fatalf("orders has %d entries, want %d", got, want)
		}
		for id, r := range st.outbox {
			if !orderIDs[id] {
				t.Errorf("outbox has %s, which no RESERVED answer named", id)
			}
			if got, want := r.Quantity, 1; got != want {
				t.Errorf("outbox[%s].Quantity = %d, want %d", id, got, want)
			}
		}
	})
}

func TestHotStockReserveConcurrentRandomQuantities(t *testing.T) {
	testenv.EachRedis(t, func(t *testing.T, target testenv.RedisTarget) {
		s, _ := newTestHotStock(t, target)
		const (
			stock    = 100
			limit    = 3
			buyers   = 500
			attempts = 2000
		)
		ev := hotEvent("evt_rush3", stock, limit)
		mustLoad(t, s, ev)

		rng := rand.New(rand.NewPCG(1, 2))
		qtys := make([]int, attempts)
		for i := range qtys {
			qtys[i] = 1 + rng.IntN(3)
		}
		results := make([]domain.ReserveResult, attempts)
		errs := make([]error, attempts)
		var wg sync.WaitGroup
		for i := range attempts {
			wg.Add(1)
			go func() {
				defer wg.Done()
				r := request(ev.ID, fmt.Sprintf("usr_%03d", i%buyers), fmt.Sprintf("ord_%04d", i), qtys[i])
				results[i], errs[i] = s.Reserve(context.Background(), r, fmt.Sprintf("key-%d", i), t0.Add(time.Minute))
			}()
		}
		wg.Wait()

		reservedUnits := 0
		perBuyer := map[string]int{}
		for i, res := range results {
			if errs[i] != nil {
				t.Fatalf("attempt %d: %v", i, errs[i])
			}
			switch res.Outcome {
			case domain.OutcomeReserved:
				reservedUnits += qtys[i]
				perBuyer[res.Reservation.BuyerID] += qtys[i]
				if got, want := res.Reservation.Quantity, qtys[i]; got != want {
					t.Errorf("attempt %d reserved %d units, want %d", i, got, want)
				}
			case domain.OutcomeSoldOut:
				if res.Remaining >= qtys[i] {
					t.Errorf("attempt %d: SOLD_OUT for %d units with %d remaining", i, qtys[i], res.Remaining)
				}
			case domain.OutcomeLimitReached:
			default:
				t.Errorf("attempt %d: outcome %s", i, res.Outcome)
			}
		}
		if reservedUnits > stock {
			t.Fatalf("reserved %d units of a stock of %d", reservedUnits, stock)
		}
		st := checkConserved(t, s, ev.ID, limit)
		if got, want := st.remaining, stock-reservedUnits; got != want {
			t.Fatalf("remaining = %d, want %d", got, want)
		}
		for b, n := range perBuyer {
			if n > limit {
				t.Errorf("buyer %s got %d units, limit %d", b, n, limit)
			}
			if got, want := st.held[b], n; got != want {
				t.Errorf("held[%s] = %d, want %d", b, got, want)
			}
		}
		outboxUnits := 0
		for _, r := range st.outbox {
			outboxUnits += r.Quantity
		}
		if got, want := outboxUnits, reservedUnits; got != want {
			t.Fatalf("outbox holds %d units, want %d", got, want)
		}
		t.Logf("reserved %d units, %d remaining", reservedUnits, st.remaining)
	})
}

func TestHotStockReserveConcurrentSameKey(t *testing.T) {
	testenv.EachRedis(t, func(t *testing.T, target testenv.RedisTarget) {
		s, _ := newTestHotStock(t, target)
		ctx := context.Background()
		ev := hotEvent("evt_idem", 10, 5)
		mustLoad(t, s, ev)

		const calls = 20
		results := make([]domain.ReserveResult, calls)
		errs := make([]error, calls)
		var wg sync.WaitGroup
		for i := range calls {
			wg.Add(1)
			go func() {
				defer wg.Done()
				r := request(ev.ID, "usr_a", fmt.Sprintf("ord_%02d", i), 2)
				results[i], errs[i] = s.Reserve(ctx, r, "same-key", t0)
			}()
		}
		wg.Wait()
		for i := range calls {
			if errs[i] != nil {
				t.Fatalf("call %d: %v", i, errs[i])
			}
			if !sameResult(results[i], results[0]) {
				t.Fatalf("call %d answered %s, call 0 %s", i, fmtResult(results[i]), fmtResult(results[0]))
			}
		}
		first := results[0]
		if got, want := first.Outcome, domain.OutcomeReserved; got != want {
			t.Fatalf("outcome = %s, want %s", got, want)
		}
		if got, want := first.Remaining, 8; got != want {
			t.Fatalf("remaining = %d, want %d", got, want)
		}
		st := checkConserved(t, s, ev.ID, ev.PerUserLimit)
		if got, want := st.remaining, 8; got != want {
			t.Fatalf("remaining in Redis = %d, want %d", got, want)
		}
		if got, want := len(st.outbox), 1; got != want {
			t.Fatalf("outbox has %d records, want %d", got, want)
		}
		if _, ok := st.outbox[first.Reservation.OrderID]; !ok {
			t.Fatalf("outbox lacks %s", first.Reservation.OrderID)
		}
		if got, want := st.held["usr_a"], 2; got != want {
			t.Fatalf("held[usr_a] = %d, want %d", got, want)
		}

		// The same key of another buyer is another key.
		other := mustReserve(t, s, request(ev.ID, "usr_b", "ord_b", 2), "same-key", t0)
		if got, want := other.Outcome, domain.OutcomeReserved; got != want {
			t.Fatalf("another buyer's key: outcome %s, want %s", got, want)
		}
		if got, want := other.Reservation.OrderID, "ord_b"; got != want {
			t.Fatalf("another buyer's key: order %s, want %s", got, want)
		}
		// And so is the same key on another event.
		mustLoad(t, s, hotEvent("evt_idem2", 10, 5))
		on2 := mustReserve(t, s, request("evt_idem2", "usr_a", "ord_e2", 1), "same-key", t0)
		if got, want := on2.Reservation.OrderID, "ord_e2"; got != want {
			t.Fatalf("same key on another event: order %s, want %s", got, want)
		}
		checkConserved(t, s, ev.ID, ev.PerUserLimit)
	})
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

func TestHotStockLoad(t *testing.T) {
	testenv.EachRedis(t, func(t *testing.T, target testenv.RedisTarget) {
		s, _ := newTestHotStock(t, target)
		ctx := context.Background()
		ev := hotEvent("evt_load", 10, 3)
		ev.Remaining, ev.Held = 7, map[string]int{"usr_a": 2, "usr_b": 1, "usr_zero": 0}
		mustLoad(t, s, ev)
		st := checkConserved(t, s, ev.ID, ev.PerUserLimit)
		if got, want := st.remaining, 7; got != want {
			t.Fatalf("remaining = %d, want %d", got, want)
		}
		if got, want := len(st.held), 2; got != want {
			t.Fatalf("held has %d buyers (%v), want %d", got, st.held, want)
		}
		if loaded, err := s.IsLoaded(ctx, ev.ID); err != nil || !loaded {
			t.Fatalf("IsLoaded = %v, %v; want true, nil", loaded, err)
		}
		// usr_a holds 2 of 3.
		if res := mustReserve(t, s, request(ev.ID, "usr_a", "ord_1", 2), "k1", t0); res.Outcome != domain.OutcomeLimitReached {
			t.Fatalf("Reserve over the loaded limit = %s, want LIMIT_REACHED", res.Outcome)
		}
		mustReserve(t, s, request(ev.ID, "usr_c", "ord_2", 3), "k2", t0)

		// Loading again, even with the full stock, changes nothing...
		full := hotEvent("evt_load", 10, 3)
		loaded, err := s.Load(ctx, full)
		if err != nil {
			t.Fatalf("Load again: %v", err)
		}
		if loaded {
			t.Fatalf("Load again: loaded = true, want false")
		}
		st = checkConserved(t, s, ev.ID, ev.PerUserLimit)
		if got, want := st.remaining, 4; got != want {
			t.Fatalf("remaining after a second Load = %d, want %d", got, want)
		}
		if got, want := st.held["usr_c"], 3; got != want {
			t.Fatalf("held[usr_c] after a second Load = %d, want %d", got, want)
		}
		// ...but closing goes through, and never back.
		full.Closed = true
		if loaded, err := s.Load(ctx, full); err != nil || loaded {
			t.Fatalf("Load closed = %v, %v; want false, nil", loaded, err)
		}
		if res := mustReserve(t, s, request(ev.ID, "usr_d", "ord_3", 1), "k3", t0); res.Outcome != domain.OutcomeClosed {
			t.Fatalf("Reserve after a closed Load = %s, want CLOSED", res.Outcome)
		}
		full.Closed = false
		if _, err := s.Load(ctx, full); err != nil {
			t.Fatalf("Load open: %v", err)
		}
		if res := mustReserve(t, s, request(ev.ID, "usr_d", "ord_4", 1), "k4", t0); res.Outcome != domain.OutcomeClosed {
			t.Fatalf("Reserve after reopening by Load = %s, want CLOSED", res.Outcome)
		}
		if got, want := checkConserved(t, s, ev.ID, ev.PerUserLimit).remaining, 4; got != want {
			t.Fatalf("remaining = %d, want %d", got, want)
		}
	})
}

// TestHotStockLoadKeepsAnswers: a hot stock rebuilt from the source
// answers a retry of a key answered RESERVED before the loss with that
// answer (same order, same remaining) and takes nothing; a kept answer past
// the key's TTL is not restored; a load of an event already there leaves
// its keys alone.
func TestHotStockLoadKeepsAnswers(t *testing.T) {
	testenv.EachRedis(t, func(t *testing.T, target testenv.RedisTarget) {
		s, _ := newTestHotStock(t, target) // idemTTL: 1h
		ctx := context.Background()
		ev := hotEvent("evt_kept", 10, 3)
		ev.Remaining, ev.Held = 7, map[string]int{"usr_a": 2, "usr_b": 1}
		kept := domain.Reservation{
			OrderID: "ord_old", BuyerID: "usr_a", EventID: ev.ID, ProductID: ev.ProductID, SellerID: ev.SellerID,
			Quantity: 2, UnitPriceCents: ev.PriceCents, CreatedAt: time.Now().Add(-time.Minute).UTC().Truncate(time.Millisecond),
			IdempotencyKey: "k-old", RemainingAfter: 5,
		}
		stale := kept
		stale.OrderID, stale.BuyerID, stale.Quantity, stale.IdempotencyKey = "ord_stale", "usr_b", 1, "k-stale"
		stale.CreatedAt = time.Now().Add(-2 * time.Hour)
		ev.Answers = []domain.Reservation{kept, stale}
		mustLoad(t, s, ev)

		res := mustReserve(t, s, request(ev.ID, "usr_a", "ord_new", 1), "k-old", t0)
		if res.Outcome != domain.OutcomeReserved || res.Remaining != 5 || res.Reservation == nil ||
			!sameResult(domain.ReserveResult{Reservation: res.Reservation}, domain.ReserveResult{Reservation: &kept}) {
			t.Fatalf("retry of a kept key = %s, want RESERVED remaining=5 with %+v", fmtResult(res), kept)
		}
		st := checkConserved(t, s, ev.ID, ev.PerUserLimit)
		if st.remaining != 7 || st.held["usr_a"] != 2 {
			t.Fatalf("after the retry: remaining %d, held[usr_a] %d; want 7 and 2 (nothing taken)", st.remaining, st.held["usr_a"])
		}
		// The stale key is a new press: it reserves (usr_b holds 1 of 3).
		if res := mustReserve(t, s, request(ev.ID, "usr_b", "ord_b2", 1), "k-stale", t0); res.Outcome != domain.OutcomeReserved || res.Reservation.OrderID != "ord_b2" {
			t.Fatalf("key past its TTL = %s, want a new reservation ord_b2", fmtResult(res))
		}
		// Loading again, with another answer for the key, changes nothing.
		other := kept
		other.OrderID, other.RemainingAfter = "ord_other", 1
		again := hotEvent("evt_kept", 10, 3)
		again.Answers = []domain.Reservation{other}
		if loaded, err := s.Load(ctx, again); err != nil || loaded {
			t.Fatalf("Load again = %v, %v; want false, nil", loaded, err)
		}
		if res := mustReserve(t, s, request(ev.ID, "usr_a", "ord_new2", 1), "k-old", t0); res.Reservation == nil || res.Reservation.OrderID != "ord_old" {
			t.Fatalf("after a second Load the key answers %s, want ord_old", fmtResult(res))
		}
		// An answer that names another event, or no key, is refused.
		bad := hotEvent("evt_kept_bad", 10, 3)
		noKey := kept
		noKey.EventID, noKey.IdempotencyKey = bad.ID, ""
		bad.Answers = []domain.Reservation{noKey}
		if loaded, err := s.Load(ctx, bad); err == nil || loaded {
			t.Fatalf("Load with a kept answer without its key = %v, %v; want an error", loaded, err)
		}
	})
}

func TestHotStockLoadInconsistent(t *testing.T) {
	testenv.EachRedis(t, func(t *testing.T, target testenv.RedisTarget) {
		s, _ := newTestHotStock(t, target)
		ctx := context.Background()
		for _, tt := range []struct {
			name string
			edit func(*domain.HotEvent)
		}{
			{"remaining above stock", func(ev *domain.HotEvent) { ev.Remaining = 11 }},
			{"held missing", func(ev *domain.HotEvent) { ev.Remaining = 9 }},
			{"held too much", func(ev *domain.HotEvent) { ev.Held = map[string]int{"usr_a": 1} }},
			{"negative held", func(ev *domain.HotEvent) { ev.Remaining, ev.Held = 11, map[string]int{"usr_a": -1} }},
			{"negative remaining", func(ev *domain.HotEvent) { ev.Remaining, ev.Held = -1, map[string]int{"usr_a": 11} }},
			{"no ID", func(ev *domain.HotEvent) { ev.ID = "" }},
		} {
			t.Run(tt.name, func(t *testing.T) {
				ev := hotEvent("evt_bad", 10, 3)
				tt.edit(&ev)
				if loaded, err := s.Load(ctx, ev); err == nil || loaded {
					t.Fatalf("Load = %v, %v; want false and an error", loaded, err)
				}
				if loaded, err := s.IsLoaded(ctx, "evt_bad"); err != nil || loaded {
					t.Fatalf("IsLoaded = %v, %v; want false, nil", loaded, err)
				}
			})
		}
	})
}

func TestHotStockCloseNotLoaded(t *testing.T) {
	testenv.EachRedis(t, func(t *testing.T, target testenv.RedisTarget) {
		s, _ := newTestHotStock(t, target)
		ctx := context.Background()
		if err := s.Close(ctx, "evt_none"); err != nil {
			t.Fatalf("Close: %v", err)
		}
		if loaded, err := s.IsLoaded(ctx, "evt_none"); err != nil || loaded {
			t.Fatalf("IsLoaded after Close = %v, %v; want false, nil", loaded, err)
		}
		// The close of an event not loaded comes from the source on Load.
		ev := hotEvent("evt_none", 3, 1)
		ev.Closed = true
		mustLoad(t, s, ev)
		if res := mustReserve(t, s, request(ev.ID, "usr_a", "ord_1", 1), "k", t0); res.Outcome != domain.OutcomeClosed {
			t.Fatalf("Reserve = %s, want CLOSED", res.Outcome)
		}
	})
}

// TestHotStockCloseRacesLoad: the source was read before the close and
// says open; the close ran before the load. The event loads closed.
func TestHotStockCloseRacesLoad(t *testing.T) {
	testenv.EachRedis(t, func(t *testing.T, target testenv.RedisTarget) {
		s, _ := newTestHotStock(t, target)
		ctx := context.Background()
		ev := hotEvent("evt_race", 3, 1) // read while open
		if err := s.Close(ctx, ev.ID); err != nil {
			t.Fatalf("Close: %v", err)
		}
		mustLoad(t, s, ev)
		snap, err := s.Snapshot(ctx, ev.ID)
		if err != nil || !snap.Closed {
			t.Fatalf("Snapshot = %+v, %v; want closed", snap, err)
		}
		if res := mustReserve(t, s, request(ev.ID, "usr_a", "ord_1", 1), "k", t0); res.Outcome != domain.OutcomeClosed {
			t.Fatalf("Reserve = %s, want CLOSED", res.Outcome)
		}
	})
}

func TestHotStockReleaseOnce(t *testing.T) {
	testenv.EachRedis(t, func(t *testing.T, target testenv.RedisTarget) {
		s, _ := newTestHotStock(t, target)
		ctx := context.Background()
		ev := hotEvent("evt_rel", 5, 3)
		mustLoad(t, s, ev)
		res := mustReserve(t, s, request(ev.ID, "usr_a", "ord_1", 2), "k1", t0)
		mustReserve(t, s, request(ev.ID, "usr_a", "ord_2", 1), "k2", t0)
		order := res.Reservation.Order(domain.OrderCancelled, nil)

		const calls = 10
		released := make([]bool, calls)
		errs := make([]error, calls)
		var wg sync.WaitGroup
		for i := range calls {
			wg.Add(1)
			go func() {
				defer wg.Done()
				released[i], errs[i] = s.Release(ctx, order)
			}()
		}
		wg.Wait()
		n := 0
		for i := range calls {
			if errs[i] != nil {
				t.Fatalf("Release %d: %v", i, errs[i])
			}
			if released[i] {
				n++
			}
		}
		if got, want := n, 1; got != want {
			t.Fatalf("Release returned true %d times, want %d", got, want)
		}
		st := checkConserved(t, s, ev.ID, ev.PerUserLimit)
		if got, want := st.remaining, 4; got != want {
			t.Fatalf("remaining = %d, want %d", got, want)
		}
		if got, want := st.held["usr_a"], 1; got != want {
			t.Fatalf("held[usr_a] = %d, want %d", got, want)
		}
		// The buyer may buy again up to the limit.
		if res := mustReserve(t, s, request(ev.ID, "usr_a", "ord_3", 2), "k3", t0); res.Outcome != domain.OutcomeReserved {
			t.Fatalf("Reserve after Release = %s, want RESERVED", res.Outcome)
		}

		// The last order of a buyer deletes its field.
		for _, id := range []string{"ord_2", "ord_3"} {
			if ok, err := s.Release(ctx, &domain.Order{ID: id, FlashEventID: ev.ID}); err != nil || !ok {
				t.Fatalf("Release %s = %v, %v; want true, nil", id, ok, err)
			}
		}
		st = checkConserved(t, s, ev.ID, ev.PerUserLimit)
		if got, want := st.remaining, 5; got != want {
			t.Fatalf("remaining = %d, want %d", got, want)
		}
		if _, ok := st.held["usr_a"]; ok {
			t.Fatalf("held still has usr_a: %v", st.held)
		}

		// Orders not reserved here, and orders of no flash event, give nothing.
		for _, o := range []*domain.Order{
			{ID: "ord_unknown", FlashEventID: ev.ID, BuyerID: "usr_a", Items: []domain.OrderItem{{Quantity: 1}}},
			{ID: "ord_cart", BuyerID: "usr_a"},
			nil,
		} {
			if ok, err := s.Release(ctx, o); err != nil || ok {
				t.Fatalf("Release %+v = %v, %v; want false, nil", o, ok, err)
			}
		}
		if got, want := checkConserved(t, s, ev.ID, ev.PerUserLimit).remaining, 5; got != want {
			t.Fatalf("remaining = %d, want %d", got, want)
		}
	})
}

// TestHotStockReleaseAndLoad plays Release and Load in the orders they can
// meet, with the source (PostgreSQL) as the test describes it.
func TestHotStockReleaseAndLoad(t *testing.T) {
	testenv.EachRedis(t, func(t *testing.T, target testenv.RedisTarget) {
		ctx := context.Background()
		t.Run("release while not loaded, then load", func(t *testing.T) {
			s, c := newTestHotStock(t, target)
			o := &domain.Order{ID: "ord_1", BuyerID: "usr_a", FlashEventID: "evt_rl", Items: []domain.OrderItem{{Quantity: 2}}}
			if ok, err := s.Release(ctx, o); err != nil || ok {
				t.Fatalf("Release on an event not loaded = %v, %v; want false, nil", ok, err)
			}
			n, err := c.RDB.Exists(ctx, s.metaKey("evt_rl"), s.heldKey("evt_rl"), s.ordersKey("evt_rl")).Result()
			if err != nil {
				t.Fatal(err)
			}
			if got, want := n, int64(0); got != want {
				t.Fatalf("Release on an event not loaded wrote %d keys, want %d", got, want)
			}
			// The source has the order cancelled: the full stock is left.
			mustLoad(t, s, hotEvent("evt_rl", 5, 2))
			if ok, err := s.Release(ctx, o); err != nil || ok {
				t.Fatalf("Release after Load = %v, %v; want false, nil", ok, err)
			}
			if got, want := checkConserved(t, s, "evt_rl", 2).remaining, 5; got != want {
				t.Fatalf("remaining = %d, want %d", got, want)
			}
		})
		t.Run("reserve, release, load again", func(t *testing.T) {
			s, _ := newTestHotStock(t, target)
			ev := hotEvent("evt_rl", 5, 2)
			mustLoad(t, s, ev)
			mustReserve(t, s, request(ev.ID, "usr_a", "ord_1", 2), "k", t0)
			if ok, err := s.Release(ctx, &domain.Order{ID: "ord_1", FlashEventID: ev.ID}); err != nil || !ok {
				t.Fatalf("Release = %v, %v; want true, nil", ok, err)
			}
			if loaded, err := s.Load(ctx, ev); err != nil || loaded {
				t.Fatalf("Load = %v, %v; want false, nil", loaded, err)
			}
			if ok, err := s.Release(ctx, &domain.Order{ID: "ord_1", FlashEventID: ev.ID}); err != nil || ok {
				t.Fatalf("Release again = %v, %v; want false, nil", ok, err)
			}
			if got, want := checkConserved(t, s, ev.ID, 2).remaining, 5; got != want {
				t.Fatalf("remaining = %d, want %d", got, want)
			}
		})
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
		t.Run("an unpaid order the buyer does not hold is refused", func(t *testing.T) {
			s, _ := newTestHotStock(t, target)
			ev := hotEvent("evt_rx", 5, 2)
			ev.Remaining, ev.Held = 4, map[string]int{"usr_a": 1}
			ev.Unpaid = []domain.HeldOrder{{OrderID: "ord_9", BuyerID: "usr_a", Units: 2}}
			if loaded, err := s.Load(ctx, ev); err == nil || loaded {
				t.Fatalf("Load = %v, %v; want an error", loaded, err)
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

func TestHotStockOutbox(t *testing.T) {
	testenv.EachRedis(t, func(t *testing.T, target testenv.RedisTarget) {
		s, _ := newTestHotStock(t, target)
		ctx := context.Background()
		ev := hotEvent("evt_out", 10, 5)
		mustLoad(t, s, ev)
		var rs []domain.Reservation
		for i := range 3 {
			r := request(ev.ID, "usr_a", domain.FlashOrderID(fmt.Sprint(i), ev.ID), 1)
			r.CreatedAt = t0.Add(time.Duration(i) * time.Minute)
			rs = append(rs, *mustReserve(t, s, r, fmt.Sprintf("k%d", i), t0).Reservation)
		}
		mustLoad(t, s, hotEvent("evt_out2", 10, 5))
		r := request("evt_out2", "usr_b", domain.FlashOrderID("other", "evt_out2"), 1)
		other := *mustReserve(t, s, r, "k", t0).Reservation

		got, err := s.Reservations(ctx, ev.ID, t0.Add(2*time.Minute))
		if err != nil {
			t.Fatalf("Reservations: %v", err)
		}
		if got, want := len(got), 2; got != want {
			t.Fatalf("Reservations before +2m: %d, want %d", got, want)
		}
		for i := range got {
			if !sameResult(domain.ReserveResult{Reservation: &got[i]}, domain.ReserveResult{Reservation: &rs[i]}) {
				t.Fatalf("Reservations[%d] = %+v, want %+v", i, got[i], rs[i])
			}
		}
		if got, err := s.Reservations(ctx, ev.ID, t0); err != nil || len(got) != 0 {
			t.Fatalf("Reservations before t0 = %v, %v; want none", got, err)
		}
		if got, err := s.Reservations(ctx, "evt_nothing", t0.Add(time.Hour)); err != nil || len(got) != 0 {
			t.Fatalf("Reservations of an unknown event = %v, %v; want none", got, err)
		}
		for _, want := range append(rs, other) {
			found, err := s.FindReservation(ctx, want.OrderID)
			if err != nil {
				t.Fatalf("FindReservation %s: %v", want.OrderID, err)
			}
			if !sameResult(domain.ReserveResult{Reservation: found}, domain.ReserveResult{Reservation: &want}) {
				t.Fatalf("FindReservation = %+v, want %+v", *found, want)
			}
		}

		// Forget two orders of two events.
		if err := s.Forget(ctx, []domain.Reservation{rs[0], other}); err != nil {
			t.Fatalf("Forget: %v", err)
		}
		if err := s.Forget(ctx, nil); err != nil {
			t.Fatalf("Forget nothing: %v", err)
		}
		for _, id := range []string{rs[0].OrderID, other.OrderID, "ord_never", domain.FlashOrderID("never", ev.ID)} {
			_, err := s.FindReservation(ctx, id)
			if got, want := domain.ErrorCode(err), domain.ENOTFOUND; got != want {
				t.Fatalf("FindReservation %s: code %q (%v), want %q", id, got, err, want)
			}
		}
		got, err = s.Reservations(ctx, ev.ID, t0.Add(time.Hour))
		if err != nil {
			t.Fatalf("Reservations: %v", err)
		}
		if got, want := len(got), 2; got != want {
			t.Fatalf("Reservations after Forget: %d, want %d", got, want)
		}
		if got, want := got[0].OrderID, rs[1].OrderID; got != want {
			t.Fatalf("Reservations[0] = %s, want %s", got, want)
		}
		// Forget changes no stock.
		st := checkConserved(t, s, ev.ID, ev.PerUserLimit)
		if got, want := st.remaining, 7; got != want {
			t.Fatalf("remaining = %d, want %d", got, want)
		}
		// A lookup whose outbox record is gone is NOT_FOUND too.
		if err := s.c.RDB.HDel(ctx, s.outboxKey(ev.ID), rs[1].OrderID).Err(); err != nil {
			t.Fatal(err)
		}
		_, err = s.FindReservation(ctx, rs[1].OrderID)
		if got, want := domain.ErrorCode(err), domain.ENOTFOUND; got != want {
			t.Fatalf("FindReservation without a record: code %q (%v), want %q", got, err, want)
		}
		if got, want := domain.ErrorMessage(err), "order not found"; got != want {
			t.Fatalf("FindReservation message = %q, want %q", got, want)
		}
	})
}

func TestHotStockRemaining(t *testing.T) {
	testenv.EachRedis(t, func(t *testing.T, target testenv.RedisTarget) {
		s, _ := newTestHotStock(t, target)
		ctx := context.Background()
		mustLoad(t, s, hotEvent("evt_r1", 10, 5))
		mustLoad(t, s, hotEvent("evt_r2", 3, 5))
		mustReserve(t, s, request("evt_r1", "usr_a", "ord_1", 4), "k", t0)
		mustReserve(t, s, request("evt_r2", "usr_a", "ord_2", 3), "k", t0)

		got, err := s.Remaining(ctx, []string{"evt_r1", "evt_absent", "evt_r2"})
		if err != nil {
			t.Fatalf("Remaining: %v", err)
		}
		want := map[string]int{"evt_r1": 6, "evt_r2": 0}
		if len(got) != len(want) {
			t.Fatalf("Remaining = %v, want %v", got, want)
		}
		for id, n := range want {
			if m, ok := got[id]; !ok || m != n {
				t.Fatalf("Remaining = %v, want %v", got, want)
			}
		}
		for _, ids := range [][]string{nil, {"evt_absent"}} {
			got, err := s.Remaining(ctx, ids)
			if err != nil {
				t.Fatalf("Remaining(%v): %v", ids, err)
			}
			if got == nil || len(got) != 0 {
				t.Fatalf("Remaining(%v) = %v, want an empty map", ids, got)
			}
		}
	})
}
