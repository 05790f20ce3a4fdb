package nats

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"flashlive/domain"
	"flashlive/internal/testenv"
)

// openStream starts an embedded NATS for the test and the order stream on it.
func openStream(t *testing.T) (*Conn, *OrderStream) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := Open(ctx, "", "test", EmbeddedOptions{StoreDir: t.TempDir()})
	if err != nil {
		t.Fatalf("open nats: %v", err)
	}
	t.Cleanup(c.Close)
	s, err := NewOrderStream(ctx, c, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatalf("order stream: %v", err)
	}
	t.Cleanup(s.Stop)
	return c, s
}

// streamMsgs returns how many messages the stream name holds.
func streamMsgs(t *testing.T, s *OrderStream, name string) uint64 {
	t.Helper()
	ctx := context.Background()
	st, err := s.js.Stream(ctx, name)
	if err != nil {
		t.Fatal(err)
	}
	info, err := st.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return info.State.Msgs
}

func reservation(id string) domain.Reservation {
	return domain.Reservation{OrderID: id, BuyerID: "usr_b", EventID: "evt_e", Quantity: 1, UnitPriceCents: 100, CreatedAt: time.Now().UTC()}
}

// TestWriterParksPoisonAndRetriesWeather: an undecodable message and one
// the writer calls INVALID are parked; one that fails for a while (the
// database away) is retried until it is written; none of them holds the
// others back, and nothing is written twice.
func TestWriterParksPoisonAndRetriesWeather(t *testing.T) {
	c, s := openStream(t)
	var mu sync.Mutex
	written := map[string]int{}
	var flaky atomic.Int64
	write := func(_ context.Context, rs []domain.Reservation) error {
		for _, r := range rs {
			switch r.OrderID {
			case "ord_invalid":
				return domain.Errorf(domain.EINVALID, "this reservation can never be written")
			case "ord_flaky":
				if flaky.Add(1) <= 2 {
					return errors.New("connection refused")
				}
			}
		}
		mu.Lock()
		defer mu.Unlock()
		for _, r := range rs {
			written[r.OrderID]++
		}
		return nil
	}
	if err := s.Start(write, func(context.Context, string) error { return nil }); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for _, id := range []string{"ord_1", "ord_invalid", "ord_flaky", "ord_2"} {
		if err := s.PublishReservation(ctx, reservation(id)); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.NC.Publish(SubjectReserved, []byte("{not json")); err != nil {
		t.Fatal(err)
	}
	// The same order again: the stream's duplicate window drops it.
	if err := s.PublishReservation(ctx, reservation("ord_1")); err != nil {
		t.Fatal(err)
	}
	testenv.WaitFor(t, 20*time.Second, "the good and the flaky reservations to be written", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return written["ord_1"] > 0 && written["ord_2"] > 0 && written["ord_flaky"] > 0
	})
	testenv.WaitFor(t, 20*time.Second, "two messages parked", func() bool { return s.Parked() == 2 })
	testenv.WaitFor(t, 20*time.Second, "the stream to settle", func() bool { ok, err := s.Settled(ctx); return err == nil && ok })

	mu.Lock()
	defer mu.Unlock()
	for id, n := range written {
		if n != 1 && id != "ord_flaky" {
			t.Errorf("%s written %d times, want 1", id, n)
		}
	}
	if written["ord_invalid"] != 0 {
		t.Errorf("the invalid reservation was written")
	}
	if got, want := streamMsgs(t, s, ParkedStream), uint64(2); got != want {
		t.Fatalf("%d messages in %s, want %d", got, ParkedStream, want)
	}
}

// TestWriterBacksOffWhileUnavailable: while the writer answers UNAVAILABLE
// (PostgreSQL's breaker open), its batch comes back whole after
// unavailableBackoff, no sooner and never split or parked; once the writer
// works again, every reservation is written exactly once.
func TestWriterBacksOffWhileUnavailable(t *testing.T) {
	_, s := openStream(t)
	ctx := context.Background()
	const n, refusals = 5, 3
	for i := range n {
		if err := s.PublishReservation(ctx, reservation(fmt.Sprintf("ord_%d", i))); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	type call struct {
		size       int
		start, end time.Time
	}
	var mu sync.Mutex
	var calls []call
	written := map[string]int{}
	write := func(_ context.Context, rs []domain.Reservation) error {
		mu.Lock()
		defer mu.Unlock()
		c := call{size: len(rs), start: time.Now()}
		defer func() { c.end = time.Now(); calls = append(calls, c) }()
		if len(calls) < refusals {
			return domain.Errorf(domain.EUNAVAILABLE, "the order database is unavailable; retry shortly")
		}
		for _, r := range rs {
			written[r.OrderID]++
		}
		return nil
	}
	if err := s.Start(write, func(context.Context, string) error { return nil }); err != nil {
		t.Fatal(err)
	}
	testenv.WaitFor(t, 30*time.Second, "every reservation written", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(written) == n
	})
	testenv.WaitFor(t, 30*time.Second, "the stream to settle", func() bool { ok, err := s.Settled(ctx); return err == nil && ok })

	mu.Lock()
	defer mu.Unlock()
	for id, k := range written {
		if k != 1 {
			t.Errorf("%s written %d times, want 1", id, k)
		}
	}
	if got := s.Parked(); got != 0 {
		t.Errorf("%d messages parked, want 0", got)
	}
	if calls[0].size != n {
		t.Errorf("first call had %d reservations, want the whole batch of %d", calls[0].size, n)
	}
	for i := 1; i <= refusals && i < len(calls); i++ {
		if gap := calls[i].start.Sub(calls[i-1].end); gap < unavailableBackoff {
			t.Errorf("call %d came %s after an UNAVAILABLE answer, want at least %s", i, gap, unavailableBackoff)
		}
	}
}

// TestExpiryMessagesAreDeduplicated: the scan publishes an order's expiry
// every second until it is expired; the consumer sees it once per window.
func TestExpiryMessagesAreDeduplicated(t *testing.T) {
	_, s := openStream(t)
	var mu sync.Mutex
	seen := map[string]int{}
	if err := s.Start(func(context.Context, []domain.Reservation) error { return nil }, func(_ context.Context, id string) error {
		mu.Lock()
		defer mu.Unlock()
		seen[id]++
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for i := 0; i < 5; i++ {
		for _, id := range []string{"ord_a", "ord_b"} {
			if err := s.PublishExpiry(ctx, id); err != nil {
				t.Fatal(err)
			}
		}
	}
	// The consumer handles expiries in the stream's order: once it has seen
	// one published after the duplicates, it has seen every copy the
	// stream kept of them.
	if err := s.PublishExpiry(ctx, "ord_last"); err != nil {
		t.Fatal(err)
	}
	testenv.WaitFor(t, 20*time.Second, "the last expiry", func() bool { mu.Lock(); defer mu.Unlock(); return seen["ord_last"] > 0 })
	mu.Lock()
	defer mu.Unlock()
	if seen["ord_a"] != 1 || seen["ord_b"] != 1 || seen["ord_last"] != 1 {
		t.Fatalf("expiries seen %v, want each once", seen)
	}
	if got, want := streamMsgs(t, s, OrdersStream), uint64(3); got != want {
		t.Fatalf("%d messages in %s, want %d (one per order)", got, OrdersStream, want)
	}
}
