// Package jobs runs flashlive's background work on a gocron scheduler:
// periodic jobs now (pruning expired refresh tokens), and the preheat,
// expiry and reconciliation jobs and stream workers of the order path as
// they land. Each run gets a context with a deadline; a run still going
// when the next is due is skipped, never stacked; Shutdown waits for runs
// in progress.
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
// with a deadline of timeout. Errors are logged with the job's name.
func (s *Scheduler) Every(name string, interval, timeout time.Duration, fn func(ctx context.Context) error) error {
	_, err := s.s.NewJob(
		gocron.DurationJob(interval),
		gocron.NewTask(func() {
			ctx, cancel := context.WithTimeout(context.Background(), timeout)
			defer cancel()
			start := time.Now()
			if err := fn(ctx); err != nil {
				s.logger.Error("job failed", "job", name, "err", err, "took", time.Since(start))
			}
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

// refreshTokenPruner deletes refresh tokens that expired before cutoff.
type refreshTokenPruner interface {
	DeleteExpiredRefreshTokens(ctx context.Context, cutoff time.Time) (int64, error)
}

// PruneRefreshTokens returns the job body that deletes refresh tokens
// expired for more than a day (kept that long so that a late reuse is
// still recognised as one).
func PruneRefreshTokens(p refreshTokenPruner, logger *slog.Logger, now func() time.Time) func(context.Context) error {
	return Prune("expired refresh tokens", 24*time.Hour, p.DeleteExpiredRefreshTokens, logger, now)
}

// Prune returns a job body that deletes, with del, what is older than age
// (del gets the cutoff, now less age) and logs how many went, when any.
func Prune(what string, age time.Duration, del func(ctx context.Context, cutoff time.Time) (int64, error), logger *slog.Logger, now func() time.Time) func(context.Context) error {
	return func(ctx context.Context) error {
		n, err := del(ctx, now().Add(-age))
		if err != nil {
			return err
		}
		if n > 0 {
			logger.Info("pruned "+what, "count", n)
		}
		return nil
	}
}
