package jobs

import (
	"context"
	"fmt"
	"sync"
	"time"

	"flashlive/domain"
)

// crossingSource lists the events that crossed a boundary of their window
// in (from, to].
type crossingSource interface {
	EventsCrossing(ctx context.Context, from, to time.Time) ([]domain.Crossing, error)
}

// claimer reports whether this instance is the first, across every
// instance, to claim key within ttl.
type claimer interface {
	Claim(ctx context.Context, key string, ttl time.Duration) (bool, error)
}

// Transitions announces the status changes the clock makes (an event goes
// LIVE at startsAt and ENDED at endsAt), once per event and moment across
// every instance: each instance scans, one claims.
type Transitions struct {
	Events crossingSource
	Claims claimer
	Live   domain.LiveNotifier
	Now    func() time.Time

	mu   sync.Mutex
	last time.Time
}

// Run is the job body: the events crossing a boundary since the last pass
// (the first pass looks back a minute) are announced.
func (t *Transitions) Run(ctx context.Context) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.Now()
	from := t.last
	if from.IsZero() {
		from = now.Add(-time.Minute)
	}
	crossings, err := t.Events.EventsCrossing(ctx, from, now)
	if err != nil {
		return fmt.Errorf("events crossing: %w", err)
	}
	for _, c := range crossings {
		ok, err := t.Claims.Claim(ctx, "transition:"+c.EventID+":"+string(c.Status), 24*time.Hour)
		if err != nil {
			return err
		}
		if ok {
			t.Live.EventChanged(c.EventID)
		}
	}
	t.last = now
	return nil
}
