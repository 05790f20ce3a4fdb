// Package jobs is flashlive's background work: the periodic jobs run on a
// gocron Scheduler (preheat, expiry scan, reconciliation, the clock's
// status transitions, pruning) and the order stream's handlers (the order
// writer and expiry). Every job is a struct whose fields are its
// dependencies, each a small interface owned here (the clock is a
// func() time.Time, as everywhere in flashlive); a periodic job's body is
// its Run method, a stream handler's its Handle method. A LiveNotifier is
// never nil: a server without a feed passes domain.NopNotifier.
//
// Each run gets a context with a deadline; a run still going when the next
// is due is skipped, never stacked; Shutdown waits for runs in progress.
package jobs

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/go-co-op/gocron/v2"
)

// Scheduler owns the jobs of one process.
type Scheduler struct {
	s      gocron.Scheduler
	logger *slog.Logger
}

// NewScheduler returns a stopped scheduler.
func NewScheduler(logger *slog.Logger) (*Scheduler, error) {
	s, err := gocron.NewScheduler(
		gocron.WithStopTimeout(10*time.Second),
		gocron.WithGlobalJobOptions(gocron.WithSingletonMode(gocron.LimitModeReschedule)),
	)
	if err != nil {
		return nil, fmt.Errorf("new scheduler: %w", err)
	}
	return &Scheduler{s: s, logger: logger}, nil
}

// Every adds a job that runs fn every interval, first at start, each run
// with a deadline of timeout. Errors are logged with the job's name; a
// job failing UNAVAILABLE (a dependency away) is logged when it starts
// failing and when it recovers, not at every run (runLog).
func (s *Scheduler) Every(name string, interval, timeout time.Duration, fn func(ctx context.Context) error) error {
	log := &runLog{name: name, logger: s.logger}
	_, err := s.s.NewJob(
		gocron.DurationJob(interval),
		gocron.NewTask(func() {
			ctx, cancel := context.WithTimeout(context.Background(), timeout)
			defer cancel()
			start := time.Now()
			err := fn(ctx)
			end := time.Now()
			log.report(err, end.Sub(start), end)
		}),
		gocron.WithName(name),
		gocron.WithStartAt(gocron.WithStartImmediately()),
	)
	if err != nil {
		return fmt.Errorf("add job %s: %w", name, err)
	}
	return nil
}

// Start starts the jobs.
func (s *Scheduler) Start() { s.s.Start() }

// Shutdown stops scheduling and waits for runs in progress.
func (s *Scheduler) Shutdown() error { return s.s.Shutdown() }

// RefreshTokenGrace is how long an expired refresh token is kept before it
// is pruned, so that a late reuse is still recognised as one.
const RefreshTokenGrace = 24 * time.Hour

// Pruner deletes what is older than a cutoff and says how many went.
type Pruner interface {
	DeleteBefore(ctx context.Context, cutoff time.Time) (int64, error)
}

// PrunerFunc lets a store's delete method be a Pruner.
type PrunerFunc func(ctx context.Context, cutoff time.Time) (int64, error)

// DeleteBefore implements Pruner.
func (f PrunerFunc) DeleteBefore(ctx context.Context, cutoff time.Time) (int64, error) {
	return f(ctx, cutoff)
}

// Prune deletes, each run, what Store holds that is older than Age (the
// cutoff is Now less Age) and logs how many went, when any.
type Prune struct {
	What   string // what is pruned, for the log
	Age    time.Duration
	Store  Pruner
	Logger *slog.Logger
	Now    func() time.Time
}

// Run is the job body; it passes a failure of Store on.
func (p *Prune) Run(ctx context.Context) error {
	n, err := p.Store.DeleteBefore(ctx, p.Now().Add(-p.Age))
	if err != nil {
		return fmt.Errorf("prune %s: %w", p.What, err)
	}
	if n > 0 {
		p.Logger.InfoContext(ctx, "pruned "+p.What, "count", n)
	}
	return nil
}
