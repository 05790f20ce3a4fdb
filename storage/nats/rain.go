package nats

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"flashlive/domain"
)

// Stream and subject names of the rain path.
const (
	RainsStream        = "RAINS"
	SubjectGrabbed     = "rains.grabbed"
	grabWriterConsumer = "grab-writer"
)

// GrabStream is the JetStream side of the red-packet path, built like the
// order path (OrderStream): grabs go in (message ID "grab:<rain>:<buyer>",
// so a second publish within the 15-minute duplicate window is dropped,
// and a later one is harmless because the writer's insert is idempotent);
// the grab writer takes them out in batches, with OrderStream's retries,
// parking (in ORDERS_PARKED, declared by NewOrderStream) and back-off.
type GrabStream struct {
	run *OrderStream

	mu      sync.Mutex
	started bool
}

// NewGrabStream declares the stream and its consumer (idempotently: any
// number of instances may start at once).
func NewGrabStream(ctx context.Context, c *Conn, logger *slog.Logger) (*GrabStream, error) {
	run, err := newStreamRunner(c, logger, "grab stream")
	if err != nil {
		return nil, err
	}
	if _, err := run.js.CreateOrUpdateStream(ctx, jetstream.StreamConfig{
		Name:       RainsStream,
		Subjects:   []string{SubjectGrabbed},
		Storage:    jetstream.FileStorage,
		Retention:  jetstream.LimitsPolicy,
		MaxAge:     7 * 24 * time.Hour,
		Duplicates: 15 * time.Minute,
	}); err != nil {
		return nil, fmt.Errorf("declare stream %s: %w", RainsStream, err)
	}
	if _, err := run.js.CreateOrUpdateConsumer(ctx, RainsStream, jetstream.ConsumerConfig{
		Durable:       grabWriterConsumer,
		FilterSubject: SubjectGrabbed,
		AckPolicy:     jetstream.AckExplicitPolicy,
		AckWait:       ackWait,
		MaxAckPending: 20_000,
	}); err != nil {
		return nil, fmt.Errorf("declare consumer %s: %w", grabWriterConsumer, err)
	}
	return &GrabStream{run: run}, nil
}

// PublishGrab sends a grab to the writer without waiting for the stream's
// acknowledgement; a failure is logged and counted, and the outbox record
// makes reconciliation publish it again.
func (s *GrabStream) PublishGrab(_ context.Context, g domain.RedPacketGrab) error {
	data, err := json.Marshal(g)
	if err != nil {
		return fmt.Errorf("encode grab: %w", err)
	}
	if _, err := s.run.js.PublishAsync(SubjectGrabbed, data, jetstream.WithMsgID("grab:"+g.RainID+":"+g.BuyerID)); err != nil {
		s.run.publishFailures.Add(1)
		return fmt.Errorf("publish grab %s: %w", g.ID, err)
	}
	return nil
}

// Flush waits until every grab published so far is acknowledged by the
// stream, or ctx ends.
func (s *GrabStream) Flush(ctx context.Context) error { return s.run.Flush(ctx) }

// Settled reports whether the grab writer has nothing in flight.
func (s *GrabStream) Settled(ctx context.Context) (bool, error) {
	if s.run.js.PublishAsyncPending() > 0 {
		return false, nil
	}
	c, err := s.run.js.Consumer(ctx, RainsStream, grabWriterConsumer)
	if err != nil {
		return false, fmt.Errorf("grab writer consumer: %w", err)
	}
	info, err := c.Info(ctx)
	if err != nil {
		return false, fmt.Errorf("grab writer consumer info: %w", err)
	}
	return info.NumPending == 0 && info.NumAckPending == 0, nil
}

// PublishFailures returns how many publishes the stream did not take.
func (s *GrabStream) PublishFailures() int64 { return s.run.PublishFailures() }

// GrabWriter writes a batch of grabs, all or none.
type GrabWriter func(ctx context.Context, gs []domain.RedPacketGrab) error

// Start runs the grab writer until Stop; a stopped stream may start again
// (with another writer: tests crash one that way).
func (s *GrabStream) Start(write GrabWriter) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.started {
		return fmt.Errorf("grab stream: already started")
	}
	ctx, cancel := context.WithCancel(context.Background())
	c, err := s.run.js.Consumer(ctx, RainsStream, grabWriterConsumer)
	if err != nil {
		cancel()
		return fmt.Errorf("grab writer consumer: %w", err)
	}
	s.run.cancel = cancel
	s.started = true
	s.run.wg.Add(1)
	go func() {
		defer s.run.wg.Done()
		s.run.loop(ctx, c, func(ctx context.Context, msgs []jetstream.Msg) error {
			gs := make([]domain.RedPacketGrab, 0, len(msgs))
			for _, m := range msgs {
				var g domain.RedPacketGrab
				if err := json.Unmarshal(m.Data(), &g); err != nil || g.ID == "" || g.RainID == "" || g.BuyerID == "" || g.AmountCents < 1 {
					return errPoison
				}
				gs = append(gs, g)
			}
			return write(ctx, gs)
		})
	}()
	return nil
}

// Stop ends the writer and waits for the batch in hand to finish.
func (s *GrabStream) Stop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.run.Stop()
	s.started = false
}
