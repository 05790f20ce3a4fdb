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
		SELECT id, $3::text FROM flash_events WHERE closed_at IS NULL AND starts_at > $1 AND starts_at <= $2
		UNION ALL
		SELECT id, $4::text FROM flash_events WHERE closed_at IS NULL AND ends_at > $1 AND ends_at <= $2
		ORDER BY 1, 2`, from, to, string(domain.FlashEventLive), string(domain.FlashEventEnded))
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

// DeleteKeptAnswers deletes the kept idempotency keys (see keepAnswers) of
// orders created before cutoff, which a rebuilt hot stock no longer
// restores, and returns how many it deleted.
func (s *OrderStore) DeleteKeptAnswers(ctx context.Context, cutoff time.Time) (int64, error) {
	tag, err := s.db.Pool.Exec(ctx, `
		DELETE FROM flash_idempotency_keys k USING orders o
		WHERE o.id = k.order_id AND o.created_at < $1`, cutoff)
	if err != nil {
		return 0, translate(err, "delete kept idempotency keys", "order")
	}
	return tag.RowsAffected(), nil
}

// DueOrderIDs returns up to limit IDs of AWAITING_PAYMENT orders whose
// payment window closed at or before now, the earliest due first.
// INVALID when limit is not positive.
func (s *OrderStore) DueOrderIDs(ctx context.Context, now time.Time, limit int) ([]string, error) {
	if limit < 1 {
		return nil, domain.Errorf(domain.EINVALID, "limit must be at least 1")
	}
	rows, err := s.db.Pool.Query(ctx, `
		SELECT id FROM orders WHERE status = $1 AND expires_at <= $2
		ORDER BY expires_at, id LIMIT $3`, string(domain.OrderAwaitingPayment), now, limit)
	if err != nil {
		return nil, translate(err, "find due orders", "order")
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
	return ids, translate(err, "find due orders", "order")
}

// OrdersExist reports, for each of ids, whether its order is written,
// whatever its status: reconciliation tells orphan reservations from
// written ones with it. Every ID of ids is a key of the map.
func (s *OrderStore) OrdersExist(ctx context.Context, ids []string) (map[string]bool, error) {
	exist := make(map[string]bool, len(ids))
	for _, id := range ids {
		exist[id] = false
	}
	if len(ids) == 0 {
		return exist, nil
	}
	rows, err := s.db.Pool.Query(ctx, `SELECT id FROM orders WHERE id = ANY($1)`, ids)
	if err != nil {
		return nil, translate(err, "find orders", "order")
	}
	var id string
	_, err = pgx.ForEachRow(rows, []any{&id}, func() error { exist[id] = true; return nil })
	if err != nil {
		return nil, translate(err, "find orders", "order")
	}
	return exist, nil
}

// DeadOrdersSince returns the IDs of the event's orders that became
// CANCELLED or EXPIRED at or after since.
func (s *OrderStore) DeadOrdersSince(ctx context.Context, eventID string, since time.Time) ([]string, error) {
	rows, err := s.db.Pool.Query(ctx, `
		SELECT id FROM orders WHERE flash_event_id = $1 AND status = ANY($2) AND updated_at >= $3
		ORDER BY id`, eventID, deadStatuses, since)
	if err != nil {
		return nil, translate(err, "find dead orders", "order")
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
	return ids, translate(err, "find dead orders", "order")
}

// Conservation returns, from one snapshot, the units in the event's live
// orders and which of the given order IDs are written: PostgreSQL's side
// of stock conservation.
func (s *OrderStore) Conservation(ctx context.Context, eventID string, ids []string) (live int, written map[string]bool, err error) {
	written = make(map[string]bool, len(ids))
	err = s.db.Pool.inTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
		if err := tx.QueryRow(ctx, `
			SELECT coalesce(sum(i.quantity), 0) FROM orders o JOIN order_items i ON i.order_id = o.id
			WHERE o.flash_event_id = $1 AND o.status = ANY($2)`, eventID, liveStatuses).Scan(&live); err != nil {
			return translate(err, "count live units", "order")
		}
		if len(ids) == 0 {
			return nil
		}
		rows, err := tx.Query(ctx, `SELECT id FROM orders WHERE id = ANY($1)`, ids)
		if err != nil {
			return translate(err, "find orders", "order")
		}
		var id string
		_, err = pgx.ForEachRow(rows, []any{&id}, func() error { written[id] = true; return nil })
		return translate(err, "find orders", "order")
	})
	return live, written, err
}
