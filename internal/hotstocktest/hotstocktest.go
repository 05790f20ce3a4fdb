// Package hotstocktest is the contract of domain.HotStock: one suite that
// every implementation passes, so that they answer alike. storage/redis
// runs it over Redis, internal/memhot over memory; the service tests rely
// on memhot only for what this suite pins down.
//
// The suite sees a hot stock only through domain.HotStock: it loads its
// events with Load and observes them with Snapshot, Tally, Reservations
// FindReservation and Answer. Where the reference is a Lua script of
// storage/redis (the order of reserve.lua's checks, say), the suite states
// the script's behaviour, not an implementation's.
package hotstocktest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"flashlive/domain"
)

// IdempotencyTTL is how long the hot stocks under test must keep the
// first answer to an idempotency key.
const IdempotencyTTL = time.Hour

// T0 is when the suite's events start; they end an hour later. The suite
// passes its own now to Reserve; Load's clock must be the wall clock.
// Adapter tests of their own use it, with Event and Request, to build the
// same events and requests.
var T0 = time.Date(2030, 1, 2, 12, 0, 0, 0, time.UTC)

// Run runs the suite. newHot returns an empty hot stock, of its own, that
// keeps answers for IdempotencyTTL and measures kept answers' TTLs by
// time.Now; each subtest calls it once or more.
func Run(t *testing.T, newHot func(t *testing.T) domain.HotStock) {
	for _, c := range []struct {
		name string
		run  func(t *testing.T, newHot func(t *testing.T) domain.HotStock)
	}{
		{"ReserveReserved", one(testReserveReserved)},
		{"ReserveRefusals", testReserveRefusals},
		{"ReserveChecksInReserveLuaOrder", testReserveChecksInOrder},
		{"ReserveNotLoaded", one(testReserveNotLoaded)},
		{"ReserveInvalid", one(testReserveInvalid)},
		{"ReserveReplaysTheFirstAnswer", one(testReserveReplays)},
		{"ReserveConcurrentSameKey", one(testReserveConcurrentSameKey)},
		{"ReserveConcurrentNeverOversells", one(testReserveConcurrent)},
		{"ReserveConcurrentRandomQuantities", one(testReserveConcurrentRandomQuantities)},
		{"Answer", one(testAnswer)},
		{"Load", one(testLoad)},
		{"LoadKeepsAnswers", one(testLoadKeepsAnswers)},
		{"LoadInconsistent", testLoadInconsistent},
		{"Close", one(testClose)},
		{"ReleaseOnce", one(testReleaseOnce)},
		{"ReleaseAndLoad", testReleaseAndLoad},
		{"Outbox", one(testOutbox)},
		{"Remaining", one(testRemaining)},
		{"SaleView", one(testSaleView)},
	} {
		t.Run(c.name, func(t *testing.T) { c.run(t, newHot) })
	}
}

// one adapts a test of one hot stock.
func one(f func(t *testing.T, s domain.HotStock)) func(*testing.T, func(*testing.T) domain.HotStock) {
	return func(t *testing.T, newHot func(*testing.T) domain.HotStock) { f(t, newHot(t)) }
}

// Event returns a LIVE event of T0's hour, product prd_<id>, seller
// usr_seller, price 1999 cents, with the full stock left.
func Event(id string, stock, limit int) domain.HotEvent {
	return domain.HotEvent{
		ID:           id,
		ProductID:    "prd_" + id,
		SellerID:     "usr_seller",
		PriceCents:   1999,
		Stock:        stock,
		PerUserLimit: limit,
		StartsAt:     T0,
		EndsAt:       T0.Add(time.Hour),
		Remaining:    stock,
	}
}

// Request returns the reservation request of buyerID for qty units of
// eventID under orderID, created a second after T0, with request ID
// req-<orderID>.
func Request(eventID, buyerID, orderID string, qty int) domain.Reservation {
	return domain.Reservation{
		OrderID:   orderID,
		BuyerID:   buyerID,
		EventID:   eventID,
		Quantity:  qty,
		CreatedAt: T0.Add(time.Second),
		RequestID: "req-" + orderID,
	}
}

// MustLoad loads ev into s and fails t unless s reports it loaded it.
func MustLoad(t *testing.T, s domain.HotStock, ev domain.HotEvent) {
	t.Helper()
	loaded, err := s.Load(context.Background(), ev)
	if err != nil {
		t.Fatalf("Load %s: %v", ev.ID, err)
	}
	if !loaded {
		t.Fatalf("Load %s: loaded = false, want true", ev.ID)
	}
}

// MustReserve returns s's answer to r under key at now and fails t on an
// error.
func MustReserve(t *testing.T, s domain.HotStock, r domain.Reservation, key string, now time.Time) domain.ReserveResult {
	t.Helper()
	res, err := s.Reserve(context.Background(), r, key, now)
	if err != nil {
		t.Fatalf("Reserve %s: %v", r.OrderID, err)
	}
	return res
}

func mustRelease(t *testing.T, s domain.HotStock, o *domain.Order, want bool) {
	t.Helper()
	ok, err := s.Release(context.Background(), o)
	if err != nil || ok != want {
		t.Fatalf("Release %+v = %v, %v; want %v, nil", o, ok, err, want)
	}
}

// sameReservation reports whether a and b are identical (times by Equal).
func sameReservation(a, b *domain.Reservation) bool {
	if a == nil || b == nil {
		return a == b
	}
	ra, rb := *a, *b
	if !ra.CreatedAt.Equal(rb.CreatedAt) {
		return false
	}
	ra.CreatedAt, rb.CreatedAt = time.Time{}, time.Time{}
	return ra == rb
}

func sameResult(a, b domain.ReserveResult) bool {
	return a.Outcome == b.Outcome && a.Remaining == b.Remaining && sameReservation(a.Reservation, b.Reservation)
}

// FormatResult formats r for a failure message, its reservation in full.
func FormatResult(r domain.ReserveResult) string {
	if r.Reservation == nil {
		return fmt.Sprintf("{%s remaining=%d}", r.Outcome, r.Remaining)
	}
	return fmt.Sprintf("{%s remaining=%d reservation=%+v}", r.Outcome, r.Remaining, *r.Reservation)
}

// wantTally fails t unless the event has remaining units left and its
// outbox holds exactly outbox (order ID -> units).
func wantTally(t *testing.T, s domain.HotStock, eventID string, remaining int, outbox map[string]int) {
	t.Helper()
	got, err := s.Tally(context.Background(), eventID)
	if err != nil {
		t.Fatalf("Tally %s: %v", eventID, err)
	}
	if got.Remaining != remaining {
		t.Fatalf("Tally %s: remaining = %d, want %d", eventID, got.Remaining, remaining)
	}
	if len(got.Outbox) != len(outbox) {
		t.Fatalf("Tally %s: outbox = %v, want %v", eventID, got.Outbox, outbox)
	}
	for id, n := range outbox {
		if m, ok := got.Outbox[id]; !ok || m != n {
			t.Fatalf("Tally %s: outbox = %v, want %v", eventID, got.Outbox, outbox)
		}
	}
}

func testReserveReserved(t *testing.T, s domain.HotStock) {
	ctx := context.Background()
	ev := Event("evt_reserved", 10, 3)
	MustLoad(t, s, ev)

	id := domain.FlashOrderID("1", ev.ID)
	r := Request(ev.ID, "usr_a", id, 2)
	r.CreatedAt = time.Date(2030, 1, 2, 12, 0, 1, 123_456_789, time.FixedZone("X", 3600))
	res := MustReserve(t, s, r, "key-1", T0) // now == StartsAt: open
	want := domain.ReserveResult{
		Outcome:   domain.OutcomeReserved,
		Remaining: 8,
		Reservation: &domain.Reservation{
			OrderID:        id,
			BuyerID:        "usr_a",
			EventID:        ev.ID,
			ProductID:      ev.ProductID,
			SellerID:       ev.SellerID,
			Quantity:       2,
			UnitPriceCents: 1999,
			CreatedAt:      time.Date(2030, 1, 2, 11, 0, 1, 123_000_000, time.UTC),
			RequestID:      "req-" + id,
			IdempotencyKey: "key-1",
			RemainingAfter: 8,
		},
	}
	if !sameResult(res, want) {
		t.Fatalf("Reserve = %s, want %s", FormatResult(res), FormatResult(want))
	}
	if got, want := res.Reservation.CreatedAt.Location(), time.UTC; got != want {
		t.Errorf("CreatedAt location = %v, want UTC", got)
	}
	wantTally(t, s, ev.ID, 8, map[string]int{id: 2})
	found, err := s.FindReservation(ctx, id)
	if err != nil || !sameReservation(found, want.Reservation) {
		t.Fatalf("FindReservation = %+v, %v; want %+v", found, err, *want.Reservation)
	}
	if snap, err := s.Snapshot(ctx, ev.ID); err != nil || snap != (domain.HotSnapshot{Remaining: 8}) {
		t.Fatalf("Snapshot = %+v, %v; want remaining 8, open", snap, err)
	}

	// Just before the end is still open.
	res = MustReserve(t, s, Request(ev.ID, "usr_b", "ord_2", 1), "key-2", ev.EndsAt.Add(-time.Millisecond))
	if got, want := res.Outcome, domain.OutcomeReserved; got != want {
		t.Fatalf("Reserve 1ms before end = %s, want %s", got, want)
	}
	if got, want := res.Remaining, 7; got != want {
		t.Fatalf("Remaining = %d, want %d", got, want)
	}
	wantTally(t, s, ev.ID, 7, map[string]int{id: 2, "ord_2": 1})
	// "ord_2" carries no event (it is not made by domain.FlashOrderID):
	// FindReservation cannot place it, reserved or not.
	if _, err := s.FindReservation(ctx, "ord_2"); domain.ErrorCode(err) != domain.ENOTFOUND {
		t.Fatalf("FindReservation of an ID without its event: %v, want NOT_FOUND", err)
	}
}

// refusal is one case of the refusal table: setup prepares the loaded
// event and returns the time of the attempt; later undoes what made it a
// refusal (nil: nothing can) and returns the time of the retry.
type refusal struct {
	name      string
	closed    bool
	setup     func(t *testing.T, s domain.HotStock, ev domain.HotEvent) time.Time
	qty       int
	want      domain.PurchaseOutcome
	remaining int
	later     func(t *testing.T, s domain.HotStock, ev domain.HotEvent) time.Time
}

func at(tm time.Time) func(*testing.T, domain.HotStock, domain.HotEvent) time.Time {
	return func(*testing.T, domain.HotStock, domain.HotEvent) time.Time { return tm }
}

var refusals = []refusal{
	{name: "not started 1ms before start", setup: at(T0.Add(-time.Millisecond)), qty: 1, want: domain.OutcomeNotStarted, remaining: 5, later: at(T0)},
	{name: "ended at end", setup: at(T0.Add(time.Hour)), qty: 1, want: domain.OutcomeEnded, remaining: 5, later: at(T0)},
	{name: "ended after end", setup: at(T0.Add(2 * time.Hour)), qty: 1, want: domain.OutcomeEnded, remaining: 5, later: at(T0)},
	{name: "closed by Load", closed: true, setup: at(T0), qty: 1, want: domain.OutcomeClosed, remaining: 5, later: at(T0)},
	{
		name: "closed by Close",
		setup: func(t *testing.T, s domain.HotStock, ev domain.HotEvent) time.Time {
			if err := s.Close(context.Background(), ev.ID); err != nil {
				t.Fatalf("Close: %v", err)
			}
			return T0
		},
		qty: 1, want: domain.OutcomeClosed, remaining: 5, later: at(T0),
	},
	{
		name: "sold out",
		setup: func(t *testing.T, s domain.HotStock, ev domain.HotEvent) time.Time {
			MustReserve(t, s, Request(ev.ID, "usr_x", "ord_x1", 2), "kx1", T0)
			MustReserve(t, s, Request(ev.ID, "usr_y", "ord_y1", 2), "ky1", T0)
			return T0
		},
		qty: 2, want: domain.OutcomeSoldOut, remaining: 1, // 1 left
		later: func(t *testing.T, s domain.HotStock, ev domain.HotEvent) time.Time {
			mustRelease(t, s, &domain.Order{ID: "ord_x1", FlashEventID: ev.ID}, true)
			return T0
		},
	},
	{
		name: "limit reached with units held",
		setup: func(t *testing.T, s domain.HotStock, ev domain.HotEvent) time.Time {
			MustReserve(t, s, Request(ev.ID, "usr_a", "ord_a1", 1), "ka1", T0)
			return T0
		},
		qty: 2, want: domain.OutcomeLimitReached, remaining: 4, // holds 1, limit 2
		later: func(t *testing.T, s domain.HotStock, ev domain.HotEvent) time.Time {
			mustRelease(t, s, &domain.Order{ID: "ord_a1", FlashEventID: ev.ID}, true)
			return T0
		},
	},
	{name: "limit reached by one request", setup: at(T0), qty: 3, want: domain.OutcomeLimitReached, remaining: 5},
}

// testReserveRefusals: each refusal takes nothing (no unit, no outbox
// record, no order to release), and its key keeps the
// refusal once it no longer holds, while a new key gets a fresh answer.
func testReserveRefusals(t *testing.T, newHot func(t *testing.T) domain.HotStock) {
	for _, tt := range refusals {
		t.Run(tt.name, func(t *testing.T) {
			s := newHot(t)
			ev := Event("evt_refusal", 5, 2)
			ev.Closed = tt.closed
			MustLoad(t, s, ev)
			now := tt.setup(t, s, ev)
			before, err := s.Tally(context.Background(), ev.ID)
			if err != nil {
				t.Fatalf("Tally: %v", err)
			}

			first := MustReserve(t, s, Request(ev.ID, "usr_a", "ord_1", tt.qty), "key", now)
			want := domain.ReserveResult{Outcome: tt.want, Remaining: tt.remaining}
			if !sameResult(first, want) {
				t.Fatalf("Reserve = %s, want %s", FormatResult(first), FormatResult(want))
			}
			wantTally(t, s, ev.ID, before.Remaining, before.Outbox)
			// Nor is there an order to give back.
			mustRelease(t, s, &domain.Order{ID: "ord_1", FlashEventID: ev.ID}, false)

			if tt.later == nil {
				return
			}
			now = tt.later(t, s, ev)
			again := MustReserve(t, s, Request(ev.ID, "usr_a", "ord_2", tt.qty), "key", now)
			if !sameResult(again, first) {
				t.Fatalf("Reserve with the same key = %s, want the first answer %s", FormatResult(again), FormatResult(first))
			}
			if tt.want == domain.OutcomeClosed {
				return // closing is for good
			}
			fresh := MustReserve(t, s, Request(ev.ID, "usr_a", "ord_3", tt.qty), "key-new", now)
			if got, want := fresh.Outcome, domain.OutcomeReserved; got != want {
				t.Fatalf("Reserve with a new key = %s, want %s", FormatResult(fresh), want)
			}
		})
	}
}

// testReserveChecksInOrder: when several refusals hold at once, the answer
// is the first in reserve.lua's order: CLOSED, NOT_STARTED, ENDED,
// SOLD_OUT, LIMIT_REACHED.
func testReserveChecksInOrder(t *testing.T, newHot func(t *testing.T) domain.HotStock) {
	soldOut := map[string]int{"usr_x": 2, "usr_y": 2, "usr_z": 1}
	for _, tt := range []struct {
		name      string
		closed    bool
		remaining int
		held      map[string]int
		now       time.Time
		qty       int
		want      domain.PurchaseOutcome
	}{
		{"closed before start: CLOSED", true, 5, nil, T0.Add(-time.Millisecond), 1, domain.OutcomeClosed},
		{"closed at end: CLOSED", true, 5, nil, T0.Add(time.Hour), 1, domain.OutcomeClosed},
		{"closed and sold out: CLOSED", true, 0, soldOut, T0, 1, domain.OutcomeClosed},
		{"closed and over the limit: CLOSED", true, 3, map[string]int{"usr_a": 2}, T0, 1, domain.OutcomeClosed},
		{"not started and sold out: NOT_STARTED", false, 0, soldOut, T0.Add(-time.Millisecond), 1, domain.OutcomeNotStarted},
		{"not started and over the limit: NOT_STARTED", false, 3, map[string]int{"usr_a": 2}, T0.Add(-time.Millisecond), 1, domain.OutcomeNotStarted},
		{"ended and sold out: ENDED", false, 0, soldOut, T0.Add(time.Hour), 1, domain.OutcomeEnded},
		{"ended and over the limit: ENDED", false, 3, map[string]int{"usr_a": 2}, T0.Add(time.Hour), 1, domain.OutcomeEnded},
		{"sold out and over the limit: SOLD_OUT", false, 1, map[string]int{"usr_a": 2, "usr_x": 2}, T0, 2, domain.OutcomeSoldOut},
		{"one request above both the stock left and the limit: SOLD_OUT", false, 1, map[string]int{"usr_x": 4}, T0, 3, domain.OutcomeSoldOut},
		{"over the limit with stock left: LIMIT_REACHED", false, 3, map[string]int{"usr_a": 2}, T0, 1, domain.OutcomeLimitReached},
		{"exactly the stock left and the limit: RESERVED", false, 2, map[string]int{"usr_x": 3}, T0, 2, domain.OutcomeReserved},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s := newHot(t)
			ev := Event("evt_order", 5, 2)
			ev.Closed, ev.Remaining, ev.Held = tt.closed, tt.remaining, tt.held
			MustLoad(t, s, ev)
			res := MustReserve(t, s, Request(ev.ID, "usr_a", "ord_1", tt.qty), "key", tt.now)
			wantLeft := tt.remaining
			if tt.want == domain.OutcomeReserved {
				wantLeft -= tt.qty
			}
			if res.Outcome != tt.want || res.Remaining != wantLeft {
				t.Fatalf("Reserve = %s, want {%s remaining=%d}", FormatResult(res), tt.want, wantLeft)
			}
		})
	}
}

func testReserveNotLoaded(t *testing.T, s domain.HotStock) {
	ctx := context.Background()
	r := Request("evt_absent", "usr_a", "ord_1", 1)
	if _, err := s.Reserve(ctx, r, "key", T0); !errors.Is(err, domain.ErrNotLoaded) {
		t.Fatalf("Reserve on an event not loaded: err = %v, want ErrNotLoaded", err)
	}
	if loaded, err := s.IsLoaded(ctx, "evt_absent"); err != nil || loaded {
		t.Fatalf("IsLoaded = %v, %v; want false, nil", loaded, err)
	}
	if _, err := s.Snapshot(ctx, "evt_absent"); !errors.Is(err, domain.ErrNotLoaded) {
		t.Fatalf("Snapshot: err = %v, want ErrNotLoaded", err)
	}
	if _, err := s.Tally(ctx, "evt_absent"); !errors.Is(err, domain.ErrNotLoaded) {
		t.Fatalf("Tally: err = %v, want ErrNotLoaded", err)
	}
	// NOT_LOADED is not remembered under the key.
	MustLoad(t, s, Event("evt_absent", 3, 1))
	res := MustReserve(t, s, r, "key", T0)
	if got, want := res.Outcome, domain.OutcomeReserved; got != want {
		t.Fatalf("Reserve after Load with the same key = %s, want %s", got, want)
	}
}

func testReserveInvalid(t *testing.T, s domain.HotStock) {
	MustLoad(t, s, Event("evt_inv", 3, 3))
	for _, tt := range []struct {
		name string
		r    domain.Reservation
		key  string
	}{
		{"zero quantity", Request("evt_inv", "usr_a", "ord_1", 0), "k"},
		{"negative quantity", Request("evt_inv", "usr_a", "ord_1", -2), "k"},
		{"no buyer", Request("evt_inv", "", "ord_1", 1), "k"},
		{"no order", Request("evt_inv", "usr_a", "", 1), "k"},
		{"no event", Request("", "usr_a", "ord_1", 1), "k"},
		{"no key", Request("evt_inv", "usr_a", "ord_1", 1), ""},
		{"key with a space", Request("evt_inv", "usr_a", "ord_1", 1), "a b"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := s.Reserve(context.Background(), tt.r, tt.key, T0)
			if got, want := domain.ErrorCode(err), domain.EINVALID; got != want {
				t.Fatalf("Reserve: code %q (%v), want %q", got, err, want)
			}
		})
	}
	wantTally(t, s, "evt_inv", 3, map[string]int{})
	// An order ID reserved already is refused, and takes nothing.
	MustReserve(t, s, Request("evt_inv", "usr_a", "ord_dup", 1), "k1", T0)
	_, err := s.Reserve(context.Background(), Request("evt_inv", "usr_b", "ord_dup", 1), "k2", T0)
	if got, want := domain.ErrorCode(err), domain.ECONFLICT; got != want {
		t.Fatalf("Reserve with a used order ID: code %q (%v), want %q", got, err, want)
	}
	wantTally(t, s, "evt_inv", 2, map[string]int{"ord_dup": 1})
	// Nor was the refusal remembered under k2.
	res := MustReserve(t, s, Request("evt_inv", "usr_b", "ord_b", 1), "k2", T0)
	if got, want := res.Outcome, domain.OutcomeReserved; got != want {
		t.Fatalf("Reserve with k2 after the CONFLICT = %s, want %s", got, want)
	}
}

// testReserveReplays: a repeated key gets its first answer whatever the
// request, the clock and the stock say now, and takes nothing.
func testReserveReplays(t *testing.T, s domain.HotStock) {
	ctx := context.Background()
	ev := Event("evt_replay", 10, 5)
	MustLoad(t, s, ev)
	first := MustReserve(t, s, Request(ev.ID, "usr_a", "ord_1", 2), "key", T0)

	for i, tm := range []time.Time{T0, T0.Add(time.Minute), ev.EndsAt.Add(time.Hour)} {
		again := MustReserve(t, s, Request(ev.ID, "usr_a", fmt.Sprintf("ord_again%d", i), 1+i), "key", tm)
		if !sameResult(again, first) {
			t.Fatalf("replay %d = %s, want the first answer %s", i, FormatResult(again), FormatResult(first))
		}
	}
	wantTally(t, s, ev.ID, 8, map[string]int{"ord_1": 2})

	// Written and forgotten, or released: the key still has its answer.
	if err := s.Forget(ctx, []domain.Reservation{*first.Reservation}); err != nil {
		t.Fatalf("Forget: %v", err)
	}
	mustRelease(t, s, first.Reservation.Order(domain.OrderCancelled, nil), true)
	again := MustReserve(t, s, Request(ev.ID, "usr_a", "ord_late", 2), "key", T0)
	if !sameResult(again, first) {
		t.Fatalf("replay after Forget and Release = %s, want %s", FormatResult(again), FormatResult(first))
	}
	wantTally(t, s, ev.ID, 10, map[string]int{})
}

func testReserveConcurrentSameKey(t *testing.T, s domain.HotStock) {
	ev := Event("evt_idem", 10, 5)
	MustLoad(t, s, ev)

	const calls = 20
	results := make([]domain.ReserveResult, calls)
	errs := make([]error, calls)
	var wg sync.WaitGroup
	for i := range calls {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := Request(ev.ID, "usr_a", fmt.Sprintf("ord_%02d", i), 2)
			results[i], errs[i] = s.Reserve(context.Background(), r, "same-key", T0)
		}()
	}
	wg.Wait()
	for i := range calls {
		if errs[i] != nil {
			t.Fatalf("call %d: %v", i, errs[i])
		}
		if !sameResult(results[i], results[0]) {
			t.Fatalf("call %d answered %s, call 0 %s", i, FormatResult(results[i]), FormatResult(results[0]))
		}
	}
	first := results[0]
	if first.Outcome != domain.OutcomeReserved || first.Remaining != 8 {
		t.Fatalf("answer = %s, want RESERVED remaining=8", FormatResult(first))
	}
	wantTally(t, s, ev.ID, 8, map[string]int{first.Reservation.OrderID: 2})

	// The same key of another buyer is another key.
	other := MustReserve(t, s, Request(ev.ID, "usr_b", "ord_b", 2), "same-key", T0)
	if other.Outcome != domain.OutcomeReserved || other.Reservation.OrderID != "ord_b" {
		t.Fatalf("another buyer's key = %s, want RESERVED ord_b", FormatResult(other))
	}
	// And so is the same key on another event.
	MustLoad(t, s, Event("evt_idem2", 10, 5))
	on2 := MustReserve(t, s, Request("evt_idem2", "usr_a", "ord_e2", 1), "same-key", T0)
	if on2.Outcome != domain.OutcomeReserved || on2.Reservation.OrderID != "ord_e2" {
		t.Fatalf("same key on another event = %s, want RESERVED ord_e2", FormatResult(on2))
	}
}
