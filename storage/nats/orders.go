package nats

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"flashlive/domain"
)

// Stream and subject names of the order path.
const (
	OrdersStream       = "ORDERS"
	SubjectReserved    = "orders.reserved"
	SubjectExpire      = "orders.expire"
	ParkedStream       = "ORDERS_PARKED"
	SubjectParked      = "orders.parked"
	writerConsumer     = "order-writer"
	expiryConsumer     = "order-expiry"
	maxDeliverAsBatch  = 3 // deliveries after which a message is tried alone
	defaultFetchBatch  = 256
	defaultFetchWait   = 50 * time.Millisecond
	failedBatchBackoff = 500 * time.Millisecond
	// unavailableBackoff is how long the consumers wait, and their messages
	// with them, when a handler answers UNAVAILABLE (PostgreSQL's breaker
	// is open, or it timed out).
	unavailableBackoff = time.Second
	// ackWait is how long a message may stay unacknowledged before the
	// stream delivers it again: after a crash, a batch comes back this
	// soon. Handlers get a second less.
	ackWait = 5 * time.Second
)

// OrderStream is the JetStream side of the order path: reservations go in
// (message ID = order ID, so a second publish of one within the stream's
// 15-minute duplicate window is dropped, and one that comes later is
// harmless because the writer's insert is idempotent); the order writer takes them out in
// batches; expiry messages go through it too. Messages that can never be
// handled are parked in ORDERS_PARKED and counted, never dropped; while a
// handler answers UNAVAILABLE, the consumers back off and the messages wait.
type OrderStream struct {
	js     jetstream.JetStream
	logger *slog.Logger

	publishFailures atomic.Int64
	parked          atomic.Int64

	wg     sync.WaitGroup
	cancel context.CancelFunc
}

var _ domain.OrderPublisher = (*OrderStream)(nil)

// NewOrderStream declares the streams and consumers (idempotently, so any
// number of instances may start at once), each stream with c's replicas,
// and returns the stream.
func NewOrderStream(ctx context.Context, c *Conn, logger *slog.Logger) (*OrderStream, error) {
	s, err := newStreamRunner(c, logger, "order stream")
	if err != nil {
		return nil, err
	}
	js := s.js
	if _, err := js.CreateOrUpdateStream(ctx, jetstream.StreamConfig{
		Name:       OrdersStream,
		Subjects:   []string{SubjectReserved, SubjectExpire},
		Storage:    jetstream.FileStorage,
		Retention:  jetstream.LimitsPolicy,
		MaxAge:     7 * 24 * time.Hour,
		Duplicates: 15 * time.Minute,
		Replicas:   c.StreamReplicas(),
	}); err != nil {
		return nil, fmt.Errorf("declare stream %s: %w", OrdersStream, err)
	}
	if _, err := js.CreateOrUpdateStream(ctx, jetstream.StreamConfig{
		Name:     ParkedStream,
		Subjects: []string{SubjectParked},
		Storage:  jetstream.FileStorage,
		MaxAge:   30 * 24 * time.Hour,
		Replicas: c.StreamReplicas(),
	}); err != nil {
		return nil, fmt.Errorf("declare stream %s: %w", ParkedStream, err)
	}
	for name, subject := range map[string]string{writerConsumer: SubjectReserved, expiryConsumer: SubjectExpire} {
		if _, err := js.CreateOrUpdateConsumer(ctx, OrdersStream, jetstream.ConsumerConfig{
			Durable:       name,
			FilterSubject: subject,
			AckPolicy:     jetstream.AckExplicitPolicy,
			AckWait:       ackWait,
			MaxAckPending: 20_000,
		}); err != nil {
			return nil, fmt.Errorf("declare consumer %s: %w", name, err)
		}
	}
	return s, nil
}

// newStreamRunner returns an OrderStream with no streams declared: its
// JetStream context (async publishes, failures counted and logged as
// what's) and its consumer loop, for the order path and the rain path.
func newStreamRunner(c *Conn, logger *slog.Logger, what string) (*OrderStream, error) {
	s := &OrderStream{logger: logger}
	js, err := jetstream.New(c.NC,
		jetstream.WithPublishAsyncMaxPending(4096),
		jetstream.WithPublishAsyncTimeout(5*time.Second),
		jetstream.WithPublishAsyncErrHandler(func(_ jetstream.JetStream, m *nats.Msg, err error) {
			s.publishFailures.Add(1)
			logger.Error(what+": publish failed; reconciliation will publish it again",
				"subject", m.Subject, "msg_id", m.Header.Get(jetstream.MsgIDHeader), "err", err)
		}))
	if err != nil {
		return nil, fmt.Errorf("jetstream: %w", err)
	}
	s.js = js
	return s, nil
}

// PublishReservation implements domain.OrderPublisher. It does not wait
// for the stream's acknowledgement; a failure is logged and counted, and
// the outbox record makes reconciliation publish it again.
func (s *OrderStream) PublishReservation(_ context.Context, r domain.Reservation) error {
	data, err := json.Marshal(r)
	if err != nil {
		return fmt.Errorf("encode reservation: %w", err)
	}
	msg := &nats.Msg{Subject: SubjectReserved, Data: data, Header: nats.Header{}}
	if r.RequestID != "" {
		msg.Header.Set("Request-Id", r.RequestID)
	}
	if _, err := s.js.PublishMsgAsync(msg, jetstream.WithMsgID(r.OrderID)); err != nil {
		s.publishFailures.Add(1)
		return fmt.Errorf("publish reservation %s: %w", r.OrderID, err)
	}
	return nil
}

// PublishExpiry asks the expiry consumer to expire an order. Publishing the
// same order twice within the duplicate window (15 minutes) stores it once;
// later, the consumer's conditional update makes it harmless.
func (s *OrderStream) PublishExpiry(ctx context.Context, orderID string) error {
	_, err := s.js.Publish(ctx, SubjectExpire, []byte(orderID), jetstream.WithMsgID("expire:"+orderID))
	if err != nil {
		return fmt.Errorf("publish expiry of %s: %w", orderID, err)
	}
	return nil
}

// Flush waits until every reservation published so far is acknowledged by
// the stream, or ctx ends.
func (s *OrderStream) Flush(ctx context.Context) error {
	select {
	case <-s.js.PublishAsyncComplete():
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Settled reports whether the order writer has nothing in flight: every
// reservation in the stream is written (acknowledged). The hot stock of an
// event is rebuilt from PostgreSQL only once it is.
func (s *OrderStream) Settled(ctx context.Context) (bool, error) {
	if s.js.PublishAsyncPending() > 0 {
		return false, nil
	}
	lag, err := s.Lag(ctx)
	return lag == 0 && err == nil, err
}

// Lag returns how many reservations wait for the order writer: not yet
// delivered, or delivered and not yet acknowledged.
func (s *OrderStream) Lag(ctx context.Context) (int, error) {
	c, err := s.js.Consumer(ctx, OrdersStream, writerConsumer)
	if err != nil {
		return 0, fmt.Errorf("order writer consumer: %w", err)
	}
	info, err := c.Info(ctx)
	if err != nil {
		return 0, fmt.Errorf("order writer consumer info: %w", err)
	}
	return int(info.NumPending) + info.NumAckPending, nil
}

// PublishFailures returns how many publishes the stream did not take.
func (s *OrderStream) PublishFailures() int64 { return s.publishFailures.Load() }

// Parked returns how many messages this process parked.
func (s *OrderStream) Parked() int64 { return s.parked.Load() }

// ReservationWriter writes a batch of reservations as orders, all or none.
type ReservationWriter func(ctx context.Context, rs []domain.Reservation) error

// ExpiryHandler expires one order; an error makes the message come back.
type ExpiryHandler func(ctx context.Context, orderID string) error

// Start runs the order writer and the expiry consumer until Stop. Each
// batch is handled with a deadline; a batch that fails is tried again
// message by message, so that one bad message cannot hold the others back;
// a message that fails for good (see permanent) is parked, any other
// failure comes back after a pause, for as long as it lasts. A handler
// that answers UNAVAILABLE has its batch back whole, after
// unavailableBackoff, and its consumer fetches nothing new until then.
func (s *OrderStream) Start(write ReservationWriter, expire ExpiryHandler) error {
	ctx, cancel := context.WithCancel(context.Background())
	s.cancel = cancel
	writer, err := s.js.Consumer(ctx, OrdersStream, writerConsumer)
	if err != nil {
		cancel()
		return fmt.Errorf("order writer consumer: %w", err)
	}
	expiry, err := s.js.Consumer(ctx, OrdersStream, expiryConsumer)
	if err != nil {
		cancel()
		return fmt.Errorf("expiry consumer: %w", err)
	}
	s.wg.Add(2)
	go func() {
		defer s.wg.Done()
		s.loop(ctx, writer, func(ctx context.Context, msgs []jetstream.Msg) error {
			rs := make([]domain.Reservation, 0, len(msgs))
			for _, m := range msgs {
				var r domain.Reservation
				if err := json.Unmarshal(m.Data(), &r); err != nil || r.OrderID == "" || r.EventID == "" || r.Quantity < 1 {
					return errPoison
				}
				rs = append(rs, r)
			}
			return write(ctx, rs)
		})
	}()
	go func() {
		defer s.wg.Done()
		s.loop(ctx, expiry, func(ctx context.Context, msgs []jetstream.Msg) error {
			for _, m := range msgs {
				if err := expire(ctx, string(m.Data())); err != nil {
					return err
				}
			}
			return nil
		})
	}()
	return nil
}

// errPoison marks a message that can never be handled.
var errPoison = errors.New("undecodable message")

// permanent reports whether a handler's error says the message can never
// succeed: it cannot be decoded, or what it names is invalid or does not
// exist. Any other failure (PostgreSQL down, a timeout) is retried for as
// long as it lasts: parking is for bad messages, not bad weather.
func permanent(err error) bool {
	if errors.Is(err, errPoison) {
		return true
	}
	switch domain.ErrorCode(err) {
	case domain.EINVALID, domain.ENOTFOUND:
		return true
	}
	return false
}

// unavailable reports whether err says what the handler needs is away for
// now: the message is fine, and so are the others.
func unavailable(err error) bool {
	return domain.ErrorCode(err) == domain.EUNAVAILABLE
}

// loop fetches batches from c and hands them to handle until ctx ends.
func (s *OrderStream) loop(ctx context.Context, c jetstream.Consumer, handle func(context.Context, []jetstream.Msg) error) {
	for ctx.Err() == nil {
		batch, err := c.Fetch(defaultFetchBatch, jetstream.FetchMaxWait(defaultFetchWait))
		if err != nil {
			if ctx.Err() == nil {
				s.logger.Warn("order stream: fetch failed", "err", err)
				sleep(ctx, failedBatchBackoff)
			}
			continue
		}
		var msgs, retried []jetstream.Msg
		for m := range batch.Messages() {
			if md, err := m.Metadata(); err == nil && md.NumDelivered > maxDeliverAsBatch {
				retried = append(retried, m)
			} else {
				msgs = append(msgs, m)
			}
		}
		paused := len(msgs) > 0 && s.handle(ctx, msgs, handle)
		for _, m := range retried {
			if paused {
				_ = m.NakWithDelay(unavailableBackoff)
				continue
			}
			paused = s.handleAlone(ctx, m, handle)
		}
		if paused {
			sleep(ctx, unavailableBackoff)
		}
	}
}

// handle runs one batch and acknowledges it, or asks for it again. It
// reports whether the handler was unavailable: then the consumer pauses.
func (s *OrderStream) handle(ctx context.Context, msgs []jetstream.Msg, handle func(context.Context, []jetstream.Msg) error) bool {
	hctx, cancel := context.WithTimeout(ctx, ackWait-time.Second)
	err := handle(hctx, msgs)
	cancel()
	if err == nil {
		for _, m := range msgs {
			if err := m.Ack(); err != nil {
				s.logger.Warn("order stream: ack failed; the message will come back and be skipped as written", "err", err)
			}
		}
		return false
	}
	if ctx.Err() != nil {
		// Shutting down: the messages come back to whoever consumes next.
		for _, m := range msgs {
			_ = m.Nak()
		}
		return false
	}
	if unavailable(err) {
		// Bad weather for all of them: no culprit to look for.
		s.backOff(msgs, err)
		return true
	}
	if errors.Is(err, errPoison) || len(msgs) > 1 {
		// Find the culprit: each message on its own.
		for i, m := range msgs {
			if s.handleAlone(ctx, m, handle) {
				s.backOff(msgs[i+1:], err)
				return true
			}
		}
		return false
	}
	s.logger.Error("order stream: batch failed; it will be retried", "size", len(msgs), "err", err)
	for _, m := range msgs {
		_ = m.NakWithDelay(failedBatchBackoff)
	}
	return false
}

// backOff gives msgs back to the stream for unavailableBackoff.
func (s *OrderStream) backOff(msgs []jetstream.Msg, err error) {
	if len(msgs) > 0 {
		s.logger.Warn("order stream: the handler is unavailable; messages wait", "size", len(msgs), "wait", unavailableBackoff, "err", err)
	}
	for _, m := range msgs {
		_ = m.NakWithDelay(unavailableBackoff)
	}
}

// handleAlone runs one message; one that keeps failing is parked. It
// reports whether the handler was unavailable: then the consumer pauses.
func (s *OrderStream) handleAlone(ctx context.Context, m jetstream.Msg, handle func(context.Context, []jetstream.Msg) error) bool {
	hctx, cancel := context.WithTimeout(ctx, ackWait-time.Second)
	err := handle(hctx, []jetstream.Msg{m})
	cancel()
	if err == nil {
		_ = m.Ack()
		return false
	}
	if ctx.Err() != nil {
		_ = m.Nak() // shutting down: not a failure of the message
		return false
	}
	if unavailable(err) {
		s.backOff([]jetstream.Msg{m}, err)
		return true
	}
	if permanent(err) {
		s.park(ctx, m, err)
		return false
	}
	s.logger.Error("order stream: message failed; it will be retried", "subject", m.Subject(), "err", err)
	_ = m.NakWithDelay(failedBatchBackoff)
	return false
}

// park copies a message to ORDERS_PARKED with the reason, then removes it
// from the order path. If the copy fails, the message stays.
func (s *OrderStream) park(ctx context.Context, m jetstream.Msg, reason error) {
	pm := &nats.Msg{Subject: SubjectParked, Data: m.Data(), Header: nats.Header{}}
	pm.Header.Set("Parked-From", m.Subject())
	pm.Header.Set("Parked-Reason", reason.Error())
	pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if _, err := s.js.PublishMsg(pctx, pm); err != nil {
		s.logger.Error("order stream: cannot park a failing message; it stays", "err", err)
		_ = m.NakWithDelay(failedBatchBackoff)
		return
	}
	s.parked.Add(1)
	s.logger.Error("order stream: message parked", "subject", m.Subject(), "reason", reason, "data", string(m.Data()))
	_ = m.Term()
}

// Stop ends the consumers and waits for the batch in hand to finish.
func (s *OrderStream) Stop() {
	if s.cancel != nil {
		s.cancel()
	}
	s.wg.Wait()
}

func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}
