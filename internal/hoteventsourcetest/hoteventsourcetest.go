// Package hoteventsourcetest is the contract of domain.HotEventSource: one
// suite that every implementation passes, so that they answer alike.
// storage/postgres runs it over PostgreSQL, internal/memsource over
// memory; the service tests rely on memsource only for what this suite
// pins down.
//
// The suite sees a source through domain.HotEventSource and one hook,
// Seed, that stores a freshly created event the way the system of record
// holds one: nothing sold, never loaded. It pins what FlashSale relies on:
// what HotEvent and BriefHotEvent return for such an event (open or
// closed), NOT_FOUND for an unknown ID, that MarkLoaded makes every
// later read report LoadedBefore, for that event only and for good, and
// that KeptAnswer finds nothing (NOT_FOUND) for an event that sold nothing
// or an unknown one.
// Holdings (Held, Unpaid, Answers) of events with orders are PostgreSQL's
// own tests' business: memsource returns what it was given.
package hoteventsourcetest

import (
	"context"
	"testing"
	"time"

	"flashlive/domain"
)

// Seed stores a new event in the source under test, as the system of
// record holds one just created: ev's price, stock, per-user limit and
// window, nothing sold, never loaded, closed when ev.Closed. The store may
// choose the event's ID, product and seller; Seed returns the event as
// stored, with every other field as given.
type Seed func(t *testing.T, ev domain.HotEvent) domain.HotEvent

// t0 is when the suite's events start; they end an hour later.
var t0 = time.Date(2030, 1, 2, 12, 0, 0, 0, time.UTC)

// unknownID is an event ID no source holds.
const unknownID = "evt_01hzznosucheventnosuchevt"

// Run runs the suite. newSource returns an empty source of its own and
// the hook that seeds it; each subtest calls it once.
func Run(t *testing.T, newSource func(t *testing.T) (domain.HotEventSource, Seed)) {
	for _, c := range []struct {
		name string
		run  func(t *testing.T, s domain.HotEventSource, seed Seed)
	}{
		{"Reads", testReads},
		{"ReadsClosed", testReadsClosed},
		{"NotFound", testNotFound},
		{"MarkLoaded", testMarkLoaded},
		{"KeptAnswerNone", testKeptAnswerNone},
	} {
		t.Run(c.name, func(t *testing.T) {
			s, seed := newSource(t)
			c.run(t, s, seed)
		})
	}
}

// event is an open event of t0's hour with nothing sold.
func event(id string, stock, limit int) domain.HotEvent {
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

// seed stores ev and checks that the hook kept what it was given.
func seed(t *testing.T, s Seed, ev domain.HotEvent) domain.HotEvent {
	t.Helper()
	got := s(t, ev)
	if got.ID == "" || got.ProductID == "" || got.SellerID == "" {
		t.Fatalf("Seed returned %+v, want its ID, product and seller", got)
	}
	kept := got
	kept.ID, kept.ProductID, kept.SellerID = ev.ID, ev.ProductID, ev.SellerID
	if !same(kept, ev) {
		t.Fatalf("Seed returned\n %+v\nfor\n %+v", got, ev)
	}
	return got
}

// same reports whether a and b are the same event description (times by
// Equal, holdings by length: the suite's events hold nothing).
func same(a, b domain.HotEvent) bool {
	return a.ID == b.ID && a.ProductID == b.ProductID && a.SellerID == b.SellerID && a.PriceCents == b.PriceCents &&
		a.Stock == b.Stock && a.PerUserLimit == b.PerUserLimit && a.StartsAt.Equal(b.StartsAt) &&
		a.EndsAt.Equal(b.EndsAt) && a.Closed == b.Closed && a.Remaining == b.Remaining &&
		a.LoadedBefore == b.LoadedBefore && len(a.Held) == len(b.Held) && len(a.Unpaid) == len(b.Unpaid) &&
		len(a.Answers) == len(b.Answers)
}

// wantReads fails t unless HotEvent and BriefHotEvent both return want
// for its ID, HotEvent with a Held map (empty, not nil).
func wantReads(t *testing.T, s domain.HotEventSource, what string, want domain.HotEvent) {
	t.Helper()
	ctx := context.Background()
	full, err := s.HotEvent(ctx, want.ID)
	if err != nil {
		t.Fatalf("%s: HotEvent(%s): %v", what, want.ID, err)
	}
	if full.Held == nil {
		t.Fatalf("%s: HotEvent(%s).Held is nil, want a map", what, want.ID)
	}
	if !same(*full, want) {
		t.Fatalf("%s: HotEvent(%s) =\n %+v\nwant\n %+v", what, want.ID, *full, want)
	}
	brief, err := s.BriefHotEvent(ctx, want.ID)
	if err != nil {
		t.Fatalf("%s: BriefHotEvent(%s): %v", what, want.ID, err)
	}
	if !same(*brief, want) {
		t.Fatalf("%s: BriefHotEvent(%s) =\n %+v\nwant\n %+v", what, want.ID, *brief, want)
	}
}

func wantNotFound(t *testing.T, s domain.HotEventSource, what, id string) {
	t.Helper()
	ctx := context.Background()
	if ev, err := s.HotEvent(ctx, id); domain.ErrorCode(err) != domain.ENOTFOUND || ev != nil {
		t.Fatalf("%s: HotEvent(%s) = %+v, %v; want nil, NOT_FOUND", what, id, ev, err)
	}
	if ev, err := s.BriefHotEvent(ctx, id); domain.ErrorCode(err) != domain.ENOTFOUND || ev != nil {
		t.Fatalf("%s: BriefHotEvent(%s) = %+v, %v; want nil, NOT_FOUND", what, id, ev, err)
	}
}

// testReads: a new event reads as created, all of its stock left, never
// loaded, holding nothing.
func testReads(t *testing.T, s domain.HotEventSource, sd Seed) {
	ev := seed(t, sd, event("evt_new", 10, 3))
	wantReads(t, s, "new event", ev)
}

// testReadsClosed: a closed event reads Closed.
func testReadsClosed(t *testing.T, s domain.HotEventSource, sd Seed) {
	in := event("evt_closed", 7, 2)
	in.Closed = true
	ev := seed(t, sd, in)
	wantReads(t, s, "closed event", ev)
}

// testNotFound: both reads of an unknown ID are NOT_FOUND, beside an event
// that exists.
func testNotFound(t *testing.T, s domain.HotEventSource, sd Seed) {
	wantNotFound(t, s, "empty source", unknownID)
	seed(t, sd, event("evt_known", 10, 3))
	wantNotFound(t, s, "with an event", unknownID)
}

// testMarkLoaded: MarkLoaded makes every later read of that event, and of
// no other, report LoadedBefore and changes nothing else; marking again
// keeps it so; marking an unknown ID creates nothing.
func testMarkLoaded(t *testing.T, s domain.HotEventSource, sd Seed) {
	ctx := context.Background()
	a, b := seed(t, sd, event("evt_a", 10, 3)), seed(t, sd, event("evt_b", 5, 1))
	wantReads(t, s, "before MarkLoaded", a)
	if err := s.MarkLoaded(ctx, a.ID); err != nil {
		t.Fatalf("MarkLoaded(%s): %v", a.ID, err)
	}
	marked := a
	marked.LoadedBefore = true
	wantReads(t, s, "after MarkLoaded", marked)
	wantReads(t, s, "the other event", b)
	if err := s.MarkLoaded(ctx, a.ID); err != nil {
		t.Fatalf("MarkLoaded(%s) again: %v", a.ID, err)
	}
	wantReads(t, s, "after a second MarkLoaded", marked)
	_ = s.MarkLoaded(ctx, unknownID) // an error or none: either way, no event
	wantNotFound(t, s, "after MarkLoaded of an unknown ID", unknownID)
}

// testKeptAnswerNone: an event that sold nothing keeps no answer, and an
// unknown event none either: NOT_FOUND, never an empty reservation.
func testKeptAnswerNone(t *testing.T, s domain.HotEventSource, sd Seed) {
	ev := seed(t, sd, event("evt_01hzzkeptanswernone0000000", 5, 1))
	for _, id := range []string{ev.ID, unknownID} {
		r, err := s.KeptAnswer(context.Background(), id, "usr_buyer", "key-1")
		if domain.ErrorCode(err) != domain.ENOTFOUND {
			t.Fatalf("KeptAnswer(%s) = %+v, %v; want NOT_FOUND", id, r, err)
		}
	}
}
