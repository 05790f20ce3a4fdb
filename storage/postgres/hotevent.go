package postgres

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"flashlive/domain"
)

// HotEventSource reads from PostgreSQL what the hot stock needs to load
// or rebuild a flash event.
type HotEventSource struct {
	db         *DB
	answersFor time.Duration
}

var _ domain.HotEventSource = (*HotEventSource)(nil)

// NewHotEventSource returns a HotEventSource on db. HotEvent returns the
// kept answers of reservations made within answersFor (the hot stock's
// idempotency TTL: older keys would not be restored anyway).
func NewHotEventSource(db *DB, answersFor time.Duration) *HotEventSource {
	return &HotEventSource{db: db, answersFor: answersFor}
}

// BriefHotEvent implements domain.HotEventSource: one row, no holdings.
func (s *HotEventSource) BriefHotEvent(ctx context.Context, eventID string) (*domain.HotEvent, error) {
	return scanBriefHotEvent(s.db.Pool.QueryRow(ctx, briefHotEventQuery, eventID))
}

// briefHotEventQuery reads an event as BriefHotEvent returns it; $1 is
// its ID.
const briefHotEventQuery = `
	SELECT e.id, e.product_id, p.seller_id, e.price_cents, e.stock, e.sold, e.per_user_limit,
		e.starts_at, e.ends_at, e.closed_at IS NOT NULL, e.hot_loaded_at IS NOT NULL, e.waiting_room
	FROM flash_events e JOIN products p ON p.id = e.product_id
	WHERE e.id = $1`

func scanBriefHotEvent(row pgx.Row) (*domain.HotEvent, error) {
	var ev domain.HotEvent
	var sold int
	err := row.Scan(&ev.ID, &ev.ProductID, &ev.SellerID, &ev.PriceCents, &ev.Stock, &sold,
		&ev.PerUserLimit, &ev.StartsAt, &ev.EndsAt, &ev.Closed, &ev.LoadedBefore, &ev.WaitingRoom)
	if err != nil {
		return nil, translate(err, "find flash event", "flash event")
	}
	ev.Remaining = ev.Stock - sold
	return &ev, nil
}

// HotEvent implements domain.HotEventSource. Remaining is the event's
// stock less its sold count, Held the units in live orders of each buyer
// (never nil), Unpaid the live orders not paid yet and Answers the
// reservations written with an idempotency key within answersFor
// (whatever became of their order since: the first answer stays the
// answer), all read from one snapshot so that they agree.
// NOT_FOUND for unknown IDs.
func (s *HotEventSource) HotEvent(ctx context.Context, eventID string) (*domain.HotEvent, error) {
	var ev domain.HotEvent
	err := s.db.Pool.inTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
		brief, err := scanBriefHotEvent(tx.QueryRow(ctx, briefHotEventQuery, eventID))
		if err != nil {
			return err
		}
		ev = *brief
		rows, err := tx.Query(ctx, `
			SELECT o.buyer_id, sum(i.quantity) FROM orders o JOIN order_items i ON i.order_id = o.id
			WHERE o.flash_event_id = $1 AND o.status = ANY($2)
			GROUP BY o.buyer_id`, eventID, liveStatuses)
		if err != nil {
			return translate(err, "find held units", "flash event")
		}
		ev.Held = make(map[string]int)
		var buyer string
		var units int
		_, err = pgx.ForEachRow(rows, []any{&buyer, &units}, func() error { ev.Held[buyer] = units; return nil })
		if err != nil {
			return translate(err, "find held units", "flash event")
		}
		rows, err = tx.Query(ctx, `
			SELECT o.id, o.buyer_id, i.quantity FROM orders o JOIN order_items i ON i.order_id = o.id
			WHERE o.flash_event_id = $1 AND o.status = ANY($2)
			ORDER BY o.id`, eventID, unpaidStatuses)
		if err != nil {
			return translate(err, "find unpaid orders", "flash event")
		}
		ev.Unpaid, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (domain.HeldOrder, error) {
			var o domain.HeldOrder
			err := r.Scan(&o.OrderID, &o.BuyerID, &o.Units)
			return o, err
		})
		if err != nil {
			return translate(err, "find unpaid orders", "flash event")
		}
		rows, err = tx.Query(ctx, keptAnswersQuery+`
			WHERE k.flash_event_id = $1 AND o.created_at > $2
			ORDER BY o.id`, eventID, s.db.Now().Add(-s.answersFor))
		if err != nil {
			return translate(err, "find kept answers", "flash event")
		}
		ev.Answers, err = pgx.CollectRows(rows, scanKeptAnswer)
		return translate(err, "find kept answers", "flash event")
	})
	if err != nil {
		return nil, err
	}
	return &ev, nil
}

// keptAnswersQuery selects kept answers as scanKeptAnswer reads them;
// callers add the WHERE clause.
const keptAnswersQuery = `
	SELECT k.flash_event_id, o.id, o.buyer_id, i.product_id, i.seller_id, i.quantity, i.unit_price_cents, o.created_at,
		k.idempotency_key, k.remaining_after
	FROM flash_idempotency_keys k JOIN orders o ON o.id = k.order_id JOIN order_items i ON i.order_id = o.id`

func scanKeptAnswer(row pgx.CollectableRow) (domain.Reservation, error) {
	var r domain.Reservation
	err := row.Scan(&r.EventID, &r.OrderID, &r.BuyerID, &r.ProductID, &r.SellerID, &r.Quantity, &r.UnitPriceCents, &r.CreatedAt,
		&r.IdempotencyKey, &r.RemainingAfter)
	r.CreatedAt = r.CreatedAt.UTC()
	return r, err
}

// KeptAnswer implements domain.HotEventSource: one read by the kept
// key's primary key, of an answer made within answersFor (what HotEvent
// would restore). NOT_FOUND when none is kept.
func (s *HotEventSource) KeptAnswer(ctx context.Context, eventID, buyerID, idempotencyKey string) (*domain.Reservation, error) {
	rows, err := s.db.Pool.Query(ctx, keptAnswersQuery+`
		WHERE k.flash_event_id = $1 AND k.buyer_id = $2 AND k.idempotency_key = $3 AND o.created_at > $4`,
		eventID, buyerID, idempotencyKey, s.db.Now().Add(-s.answersFor))
	if err != nil {
		return nil, translate(err, "find kept answer", "kept answer")
	}
	r, err := pgx.CollectExactlyOneRow(rows, scanKeptAnswer)
	if err != nil {
		return nil, translate(err, "find kept answer", "kept answer")
	}
	return &r, nil
}

// EventsToPreheat returns the IDs of the events worth loading into the hot
// stock at now: not closed, not ended, starting before now+window (those
// on sale already included), the earliest start first.
func (s *HotEventSource) EventsToPreheat(ctx context.Context, now time.Time, window time.Duration) ([]string, error) {
	rows, err := s.db.Pool.Query(ctx, `
		SELECT id FROM flash_events
		WHERE closed_at IS NULL AND ends_at > $1 AND starts_at < $2
		ORDER BY starts_at, id`, now, now.Add(window))
	if err != nil {
		return nil, translate(err, "find events to preheat", "flash event")
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
	return ids, translate(err, "find events to preheat", "flash event")
}

// MarkLoaded implements domain.HotEventSource.
func (s *HotEventSource) MarkLoaded(ctx context.Context, eventID string) error {
	_, err := s.db.Pool.Exec(ctx, `UPDATE flash_events SET hot_loaded_at = coalesce(hot_loaded_at, $2) WHERE id = $1`, eventID, s.db.Now())
	return translate(err, "mark flash event loaded", "flash event")
}
