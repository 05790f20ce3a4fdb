package jobs

import (
	"log/slog"
	"sync"
	"time"

	"flashlive/domain"
)

// runLog logs the outcome of one periodic job's runs. A run that fails for
// any reason but an unavailable dependency is logged each time ("job
// failed"). A run that fails UNAVAILABLE (PostgreSQL's breaker open, a
// store gone) is logged once, when the job starts failing so ("job
// failing: a dependency is unavailable"); the runs after it that fail the
// same way are only counted, and the first run that succeeds logs "job
// recovered" with how many failed and for how long. So a job that runs
// every second does not log every second while PostgreSQL is away.
type runLog struct {
	name   string
	logger *slog.Logger

	mu      sync.Mutex
	failing bool      // the last runs failed UNAVAILABLE
	since   time.Time // when the first of them ended
	failed  int       // how many did
}

// report logs a run that ended at end after took with err (nil: success).
func (l *runLog) report(err error, took time.Duration, end time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	switch {
	case err == nil:
		if l.failing {
			l.logger.Info("job recovered", "job", l.name, "failed_runs", l.failed, "unavailable_for", end.Sub(l.since))
			l.failing, l.failed = false, 0
		}
	case domain.ErrorCode(err) == domain.EUNAVAILABLE:
		if !l.failing {
			l.logger.Error("job failing: a dependency is unavailable; logged again when the job recovers",
				"job", l.name, "err", err, "took", took)
			l.failing, l.since = true, end
		}
		l.failed++
	default:
		l.logger.Error("job failed", "job", l.name, "err", err, "took", took)
	}
}
