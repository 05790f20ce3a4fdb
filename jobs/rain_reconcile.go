package jobs

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"flashlive/domain"
)

// grabRepublisher sends a grab to the grab writer again.
type grabRepublisher interface {
	PublishGrab(ctx context.Context, g domain.RedPacketGrab) error
}

// GrabReconciler republishes the grabs whose publish was lost (a crash
// between the grab script and the publish): once the grab stream has
// settled (the writer has written all it was given), an outbox record
// older than OrphanAge can only be such a grab. The writer's insert is
// idempotent and it forgets what it writes, so a republished grab is
// written once and leaves the outbox.
type GrabReconciler struct {
	Rains     rainsAround
	Hot       rainTaken
	Publisher grabRepublisher
	Settled   func(ctx context.Context) (bool, error)
	OrphanAge time.Duration
	// Behind is how long after its window a rain is still looked at.
	Behind time.Duration
	Logger *slog.Logger
	Now    func() time.Time
}

// Run is the job body; it returns how many grabs it republished through
// Republished.
func (g *GrabReconciler) Run(ctx context.Context) error {
	_, err := g.Republish(ctx)
	return err
}

// Republish is one pass; it returns how many grabs it published again.
func (g *GrabReconciler) Republish(ctx context.Context) (int, error) {
	if ok, err := g.Settled(ctx); err != nil || !ok {
		return 0, err
	}
	now := g.Now()
	rs, err := g.Rains.RainsAround(ctx, now, 0, g.Behind)
	if err != nil {
		return 0, fmt.Errorf("rains to reconcile: %w", err)
	}
	n := 0
	for _, r := range rs {
		_, outbox, _, err := g.Hot.Taken(ctx, r.ID)
		if err != nil {
			return n, err
		}
		for _, gr := range outbox {
			if now.Sub(gr.GrabbedAt) < g.OrphanAge {
				continue
			}
			if err := g.Publisher.PublishGrab(ctx, gr); err != nil {
				return n, err
			}
			n++
		}
	}
	if n > 0 {
		g.Logger.WarnContext(ctx, "grabs whose publish was lost published again", "count", n)
	}
	return n, nil
}
