package jobs

import (
	"context"
	"fmt"
	"sync"
	"time"

	"flashlive/domain"
)

// Transitions announces the status changes the clock makes (an event goes
// LIVE at startsAt and ENDED at endsAt), once per event and moment across
// every instance: each instance scans, one claims.
type Transitions struct {
	Events interface {
		EventsCrossing(ctx context.Context, from, to time.Time) ([]domain.Crossing, error)
	}
	// Claim reports whether this instance is the first to claim a key.
	Claim func(ctx context.Context, key string, ttl time.Duration) (bool, error)
	Live  domain.LiveNotifier
	Now   func() time.Time

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
		ok, err := t.Claim(ctx, "transition:"+c.EventID+":"+string(c.Status), 24*time.Hour)
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
