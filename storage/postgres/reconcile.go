package postgres

import (
	"context"
	"time"

	"flashlive/domain"
)

// EventsToReconcile returns the events whose stock may still move: those
// that end after an hour ago and start before an hour from now.
func (s *FlashEventService) EventsToReconcile(ctx context.Context, now time.Time) ([]*domain.FlashEvent, error) {
	return collectFlashEvents(s.db.Pool.Query(ctx, `
		SELECT `+flashEventColumns+` FROM flash_events
		WHERE ends_at > $1::timestamptz - interval '1 hour' AND starts_at < $1::timestamptz + interval '1 hour'
		ORDER BY id`, now))
}
