package jobs

import (
	"context"
	"io"
	"log/slog"
	"maps"
	"sync"
	"testing"
	"time"

	"flashlive/domain"
	"flashlive/internal/memhot"
	"flashlive/internal/testenv"
	"flashlive/storage/redis"
)

// reconcileT0 is the clock of the drift tests: their event is on sale
// from a minute before it for an hour.
var reconcileT0 = time.Date(2030, 1, 2, 12, 0, 0, 0, time.UTC)

// driftHot returns memhot loaded with an event of 10 units, 3 of them
// held by a buyer whose order is written and its outbox record forgotten,
// and reservations ord_a (2 units) and ord_b (1) in the outbox: 4 left.
func driftHot(t *testing.T) *memhot.HotStock {
	t.Helper()
	ctx := context.Background()
	h := memhot.New(0)
	h.Now = func() time.Time { return reconcileT0 }
	ev := domain.HotEvent{
		ID: "evt_1", ProductID: "prd_1", SellerID: "usr_seller", PriceCents: 1999,
		Stock: 10, PerUserLimit: 5, StartsAt: reconcileT0.Add(-time.Minute), EndsAt: reconcileT0.Add(time.Hour),
		Remaining: 7, Held: map[string]int{"usr_earlier": 3},
	}
	if loaded, err := h.Load(ctx, ev); err != nil || !loaded {
		t.Fatalf("Load = %v, %v; want true, nil", loaded, err)
	}
	for _, r := range []struct {
		order, buyer string
		units        int
	}{{"ord_a", "usr_a", 2}, {"ord_b", "usr_b", 1}} {
		reserve(t, h, r.order, r.buyer, r.units)
	}
	return h
}

// reserve takes units of evt_1 for buyer under order through the hot
// stock, as a purchase does.
func reserve(t *testing.T, h domain.HotStock, order, buyer string, units int) {
	t.Helper()
	rsv := domain.Reservation{OrderID: order, BuyerID: buyer, EventID: "evt_1", Quantity: units, CreatedAt: reconcileT0}
	res, err := h.Reserve(context.Background(), rsv, "key-"+order, reconcileT0)
	if err != nil || res.Outcome != domain.OutcomeReserved {
		t.Fatalf("Reserve %s = %+v, %v; want RESERVED", order, res, err)
	}
}

// sellingHot is a hot stock on which a buyer reserves one more unit
// (ord_c) right after the first Tally: a sale lands while the
// reconciler reads PostgreSQL.
type sellingHot struct {
	*memhot.HotStock
	t       *testing.T
	tallies int
}

func (h *sellingHot) Tally(ctx context.Context, eventID string) (domain.HotTally, error) {
	tally, err := h.HotStock.Tally(ctx, eventID)
	if h.tallies++; h.tallies == 1 {
		reserve(h.t, h.HotStock, "ord_c", "usr_c", 1)
	}
	return tally, err
}

type fixedOrders struct {
	live    int
	written map[string]bool
}

func (o fixedOrders) OrdersExist(context.Context, []string) (map[string]bool, error) {
	return o.written, nil
}
func (o fixedOrders) DeadOrdersSince(context.Context, string, time.Time) ([]string, error) {
	return nil, nil
}
func (o fixedOrders) Conservation(context.Context, string, []string) (int, map[string]bool, error) {
	return o.live, o.written, nil
}

// settled is an order stream that has always written everything.
type settled struct{}

func (settled) Settled(context.Context) (bool, error) { return true, nil }

// driftFunc lets a test function receive drift reports.
type driftFunc func(eventID string, drift int)

func (f driftFunc) ReportDrift(eventID string, drift int) { f(eventID, drift) }

type oneEvent struct{ ev *domain.FlashEvent }

func (e oneEvent) EventsToReconcile(context.Context, time.Time) ([]*domain.FlashEvent, error) {
	return []*domain.FlashEvent{e.ev}, nil
}

func TestReconcilerDrift(t *testing.T) {
	ev := &domain.FlashEvent{ID: "evt_1", Stock: 10}
	steady := domain.HotTally{Remaining: 4, Outbox: map[string]int{"ord_a": 2, "ord_b": 1}}
	for _, tc := range []struct {
		name      string
		selling   bool // a unit is reserved between the two tallies
		orders    fixedOrders
		wantDrift int
		reported  bool
	}{
		// 4 left + 4 live in PostgreSQL (ord_a written among them) + ord_b
		// (1) still in the outbox = 9 of 10: one unit lost.
		{"drift", false, fixedOrders{live: 4, written: map[string]bool{"ord_a": true}}, 1, true},
		{"conserved", false, fixedOrders{live: 5, written: map[string]bool{"ord_a": true}}, 0, true},
		// A reservation landed while PostgreSQL was read: nothing proven.
		{"still selling", true, fixedOrders{live: 4}, 0, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			mem := driftHot(t)
			if got, err := mem.Tally(context.Background(), ev.ID); err != nil || got.Remaining != steady.Remaining || !maps.Equal(got.Outbox, steady.Outbox) {
				t.Fatalf("hot stock before the pass: Tally = %+v, %v; want %+v", got, err, steady)
			}
			var hot domain.HotStock = mem
			if tc.selling {
				hot = &sellingHot{HotStock: mem, t: t}
			}
			var got *int
			r := &Reconciler{
				Events: oneEvent{ev},
				Orders: tc.orders,
				Hot:    hot,
				Live:   domain.NopNotifier{},
				Stream: settled{},
				// No outbox record is old enough to be an orphan: the
				// pass only tallies.
				OrphanAge: time.Hour,
				Drift:     driftFunc(func(_ string, d int) { got = &d }),
				Logger:    slog.New(slog.NewTextHandler(io.Discard, nil)),
				Now:       func() time.Time { return reconcileT0 },
			}
			if err := r.Run(context.Background()); err != nil {
				t.Fatal(err)
			}
			if (got != nil) != tc.reported {
				t.Fatalf("drift reported = %v, want %v", got != nil, tc.reported)
			}
			if got != nil && *got != tc.wantDrift {
				t.Fatalf("drift = %d, want %d", *got, tc.wantDrift)
			}
			if tc.selling {
				moved := domain.HotTally{Remaining: 3, Outbox: map[string]int{"ord_a": 2, "ord_b": 1, "ord_c": 1}}
				if after, err := mem.Tally(context.Background(), ev.ID); err != nil || after.Remaining != moved.Remaining || !maps.Equal(after.Outbox, moved.Outbox) {
					t.Fatalf("hot stock after the pass: Tally = %+v, %v; want %+v (the sale landed)", after, err, moved)
				}
			}
		})
	}
}

type crossingEvents []domain.Crossing

func (c crossingEvents) EventsCrossing(context.Context, time.Time, time.Time) ([]domain.Crossing, error) {
	return c, nil
}

type countingLive struct {
	domain.NopNotifier
	mu     sync.Mutex
	events []string
}

func (l *countingLive) EventChanged(id string) {
	l.mu.Lock()
	l.events = append(l.events, id)
	l.mu.Unlock()
}

// TestTransitionsAnnounceOncePerCluster: three instances, each with its
// own Redis client, scan the same crossings at once; each crossing is
// announced by exactly one of them.
func TestTransitionsAnnounceOncePerCluster(t *testing.T) {
	url, prefix := testenv.Redis(t)
	events := crossingEvents{{EventID: "evt_a", Status: domain.FlashEventLive}, {EventID: "evt_b", Status: domain.FlashEventEnded}}
	live := &countingLive{}
	var wg sync.WaitGroup
	errs := make(chan error, 3)
	for i := 0; i < 3; i++ {
		c, err := redis.Open(context.Background(), url, prefix)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		tr := &Transitions{Events: events, Claims: c, Live: live, Now: time.Now}
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- tr.Run(context.Background())
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if got, want := len(live.events), 2; got != want {
		t.Fatalf("%d announcements %v, want %d (one per crossing)", got, live.events, want)
	}
}
