package nats

import (
	"fmt"

	"github.com/nats-io/nats.go"
)

// Broker publishes and subscribes bytes on core NATS subjects: the
// at-most-once fan-out of the realtime feed between instances. (Orders,
// which must not be lost, go through JetStream; see OrderStream.)
type Broker struct {
	nc *nats.Conn
}

// NewBroker returns a Broker on c's connection.
func NewBroker(c *Conn) *Broker { return &Broker{nc: c.NC} }

// Publish sends data on subject; it does not wait for anyone.
func (b *Broker) Publish(subject string, data []byte) error {
	if err := b.nc.Publish(subject, data); err != nil {
		return fmt.Errorf("publish %s: %w", subject, err)
	}
	return nil
}

// Subscribe calls handle, one message at a time, for every message on
// subject (which may end in a "*" wildcard) until unsubscribe.
func (b *Broker) Subscribe(subject string, handle func(subject string, data []byte)) (func(), error) {
	sub, err := b.nc.Subscribe(subject, func(m *nats.Msg) { handle(m.Subject, m.Data) })
	if err != nil {
		return nil, fmt.Errorf("subscribe %s: %w", subject, err)
	}
	return func() { _ = sub.Unsubscribe() }, nil
}
