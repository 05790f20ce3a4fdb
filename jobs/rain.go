package jobs

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"flashlive/domain"
)

// rainsAround lists the rains whose window meets [now-behind, now+ahead].
type rainsAround interface {
	RainsAround(ctx context.Context, now time.Time, ahead, behind time.Duration) ([]*domain.RedPacketRain, error)
}

// rainPreheater loads rains into Redis, never over one loaded.
type rainPreheater interface {
	Preheat(ctx context.Context, rains []*domain.RedPacketRain) (int, error)
}

// RainPreheat loads into Redis every rain that starts within Window (and
// those live), so that a grab never reads PostgreSQL. Any number of
// instances may run it: loading never overwrites a loaded rain.
type RainPreheat struct {
	Rains  rainsAround
	Hot    rainPreheater
	Window time.Duration
	Logger *slog.Logger
	Now    func() time.Time
}

// Run is the job body.
func (p *RainPreheat) Run(ctx context.Context) error {
	rs, err := p.Rains.RainsAround(ctx, p.Now(), p.Window, 0)
	if err != nil {
		return fmt.Errorf("rains to preheat: %w", err)
	}
	n, err := p.Hot.Preheat(ctx, rs)
	if n > 0 {
		p.Logger.InfoContext(ctx, "preheated red-packet rains", "count", n)
	}
	return err
}

// rainLeft reads a rain's packets left in Redis.
type rainLeft interface {
	Left(ctx context.Context, rainID string) (int, bool, error)
}

// RainTick tells the feed, every run, where each rain that starts within
// a minute, is live, or ended within Behind stands: the feed sends a frame
// for what moved (SCHEDULED to LIVE at the start, LIVE to FINISHED at the
// end) and nothing for what did not, so every instance may run it.
type RainTick struct {
	Rains  rainsAround
	Hot    rainLeft
	Live   domain.RainNotifier
	Behind time.Duration
	Now    func() time.Time
}

// Run is the job body.
func (t *RainTick) Run(ctx context.Context) error {
	now := t.Now()
	rs, err := t.Rains.RainsAround(ctx, now, time.Minute, t.Behind)
	if err != nil {
		return fmt.Errorf("rains to tick: %w", err)
	}
	for _, r := range rs {
		if left, loaded, err := t.Hot.Left(ctx, r.ID); err == nil && loaded {
			r.PacketsLeft = left
		}
		t.Live.RainChanged(domain.RainState{
			RoomID: r.RoomID, RainID: r.ID, Status: r.StatusAt(now), PacketsLeft: r.PacketsLeft,
			StartsAt: r.StartsAt, EndsAt: r.EndsAt,
		})
	}
	return nil
}
