package postgres

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

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

// EventsCrossing returns the events (not closed) that start or end in
// (from, to], each with the status the crossing gives it: LIVE at the
// start, ENDED at the end.
func (s *FlashEventService) EventsCrossing(ctx context.Context, from, to time.Time) ([]domain.Crossing, error) {
	rows, err := s.db.Pool.Query(ctx, `
		SELECT id, 'LIVE' FROM flash_events WHERE closed_at IS NULL AND starts_at > $1 AND starts_at <= $2
		UNION ALL
		SELECT id, 'ENDED' FROM flash_events WHERE closed_at IS NULL AND ends_at > $1 AND ends_at <= $2
		ORDER BY 1, 2`, from, to)
	if err != nil {
		return nil, translate(err, "find events crossing", "flash event")
	}
	cs, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (domain.Crossing, error) {
		var c domain.Crossing
		err := r.Scan(&c.EventID, &c.Status)
		return c, err
	})
	return cs, translate(err, "find events crossing", "flash event")
}
