package jobs

import (
	"context"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"flashlive/domain"
	"flashlive/internal/testenv"
	"flashlive/storage/redis"
)

// tallyHot is a hot stock whose tallies come from a list, one per call.
type tallyHot struct {
	domain.HotStock
	tallies []domain.HotTally
	calls   int
}

func (h *tallyHot) Tally(context.Context, string) (domain.HotTally, error) {
	t := h.tallies[min(h.calls, len(h.tallies)-1)]
	h.calls++
	return t, nil
}

func (h *tallyHot) Reservations(context.Context, string, time.Time) ([]domain.Reservation, error) {
	return nil, nil
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
	moved := domain.HotTally{Remaining: 3, Outbox: map[string]int{"ord_a": 2, "ord_b": 1, "ord_c": 1}}
	for _, tc := range []struct {
		name      string
		tallies   []domain.HotTally
		orders    fixedOrders
		wantDrift int
		reported  bool
	}{
		// 4 left + 4 live in PostgreSQL (ord_a written among them) + ord_b
		// (1) still in the outbox = 9 of 10: one unit lost.
		{"drift", []domain.HotTally{steady, steady}, fixedOrders{live: 4, written: map[string]bool{"ord_a": true}}, 1, true},
		{"conserved", []domain.HotTally{steady, steady}, fixedOrders{live: 5, written: map[string]bool{"ord_a": true}}, 0, true},
		// A reservation landed while PostgreSQL was read: nothing proven.
		{"still selling", []domain.HotTally{steady, moved}, fixedOrders{live: 4}, 0, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got *int
			r := &Reconciler{
				Events: oneEvent{ev},
				Orders: tc.orders,
				Hot:    &tallyHot{tallies: tc.tallies},
				Live:   domain.NopNotifier{},
				Stream: settled{},
				Drift:  driftFunc(func(_ string, d int) { got = &d }),
				Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
				Now:    time.Now,
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
