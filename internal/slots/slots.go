// Package slots bounds concurrent work with a semaphore (a buffered
// channel, one element per slot taken) whose waiters give up after a
// deadline, so that work the server cannot start soon is refused rather
// than queued without end.
package slots

import (
	"context"
	"time"
)

// Acquire takes a slot of sem, waiting at most wait and no longer than ctx
// lasts. It reports whether it took one; the caller frees it with <-sem.
func Acquire(ctx context.Context, sem chan struct{}, wait time.Duration) bool {
	select {
	case sem <- struct{}{}:
		return true
	default:
	}
	timer := time.NewTimer(wait)
	defer timer.Stop()
	select {
	case sem <- struct{}{}:
		return true
	case <-ctx.Done():
	case <-timer.C:
	}
	return false
}
