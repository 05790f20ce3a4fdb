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

// TestGrabStreamRetriesCrashedBatches: every grab published (some twice)
// reaches the writer; a writer that fails after its work (a crash before
// the ack) gets its batch back, and the stream settles.
func TestGrabStreamRetriesCrashedBatches(t *testing.T) {
	c, _ := openStream(t)
	gs, err := NewGrabStream(context.Background(), c, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(gs.Stop)
	var mu sync.Mutex
	written := map[string]bool{}
	var crashes atomic.Int64
	if err := gs.Start(func(_ context.Context, batch []domain.RedPacketGrab) error {
		mu.Lock()
		for _, g := range batch {
			written[g.ID] = true
		}
		mu.Unlock()
		if crashes.Add(1) <= 2 {
			return errors.New("simulated crash after the write")
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	for i := range 50 {
		g := domain.RedPacketGrab{ID: fmt.Sprintf("grab_%d", i), RainID: "rain_r", BuyerID: fmt.Sprintf("usr_%d", i), AmountCents: 1, GrabbedAt: time.Now()}
		for range 2 {
			if err := gs.PublishGrab(context.Background(), g); err != nil {
				t.Fatal(err)
			}
		}
	}
	testenv.WaitFor(t, 30*time.Second, "the grab stream to settle with 50 grabs written", func() bool {
		ok, err := gs.Settled(context.Background())
		mu.Lock()
		defer mu.Unlock()
		return err == nil && ok && len(written) == 50
	})
	if crashes.Load() <= 2 {
		t.Fatalf("the writer ran %d times: the crashes were never retried", crashes.Load())
	}
	if n := streamMsgs(t, gs.run, RainsStream); n != 50 {
		t.Fatalf("stream holds %d messages, want 50 (duplicates dropped)", n)
	}
}
