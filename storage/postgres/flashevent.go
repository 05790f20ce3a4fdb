package postgres

import (
	"context"
	"strings"

	"github.com/jackc/pgx/v5"

	"flashlive/domain"
)

// FlashEventService implements domain.FlashEventService.
type FlashEventService struct {
	db *DB
}

var _ domain.FlashEventService = (*FlashEventService)(nil)

// NewFlashEventService returns a FlashEventService on db.
func NewFlashEventService(db *DB) *FlashEventService {
	return &FlashEventService{db: db}
}

const flashEventColumns = `id, product_id, coalesce(live_room_id, ''), seller_id, price_cents, stock, sold,
	per_user_limit, starts_at, ends_at, closed_at, created_at, waiting_room`

func scanFlashEvent(row pgx.Row) (*domain.FlashEvent, error) {
	var e domain.FlashEvent
	err := row.Scan(&e.ID, &e.ProductID, &e.LiveRoomID, &e.SellerID, &e.PriceCents, &e.Stock, &e.Sold,
		&e.PerUserLimit, &e.StartsAt, &e.EndsAt, &e.ClosedAt, &e.CreatedAt, &e.WaitingRoom)
	return &e, err
}

func collectFlashEvents(rows pgx.Rows, err error) ([]*domain.FlashEvent, error) {
	if err != nil {
		return nil, translate(err, "find flash events", "flash event")
	}
	es, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (*domain.FlashEvent, error) { return scanFlashEvent(r) })
	return es, translate(err, "find flash events", "flash event")
}

// FindFlashEventByID implements domain.FlashEventService.
func (s *FlashEventService) FindFlashEventByID(ctx context.Context, id string) (*domain.FlashEvent, error) {
	e, err := readWith(ctx, s.db, func(q querier) (*domain.FlashEvent, error) {
		return scanFlashEvent(q.QueryRow(ctx, `SELECT `+flashEventColumns+` FROM flash_events WHERE id = $1`, id))
	})
	return e, translate(err, "find flash event", "flash event")
}

// FindFlashEventsByIDs implements domain.FlashEventService.
func (s *FlashEventService) FindFlashEventsByIDs(ctx context.Context, ids []string) ([]*domain.FlashEvent, error) {
	return readWith(ctx, s.db, func(q querier) ([]*domain.FlashEvent, error) {
		return collectFlashEvents(q.Query(ctx, `SELECT `+flashEventColumns+` FROM flash_events WHERE id = ANY($1)`, ids))
	})
}

// FindFlashEventsByRoomIDs implements domain.FlashEventService.
func (s *FlashEventService) FindFlashEventsByRoomIDs(ctx context.Context, roomIDs []string) ([]*domain.FlashEvent, error) {
	return readWith(ctx, s.db, func(q querier) ([]*domain.FlashEvent, error) {
		return collectFlashEvents(q.Query(ctx, `
		SELECT `+flashEventColumns+` FROM flash_events
		WHERE live_room_id = ANY($1) ORDER BY starts_at, id`, roomIDs))
	})
}

// statusCondition is the SQL form of domain.FlashEvent.StatusAt, over the
// sold count PostgreSQL knows; $4 is now.
var statusCondition = map[domain.FlashEventStatus]string{
	domain.FlashEventClosed:    `closed_at IS NOT NULL`,
	domain.FlashEventEnded:     `closed_at IS NULL AND ends_at <= $4`,
	domain.FlashEventScheduled: `closed_at IS NULL AND ends_at > $4 AND starts_at > $4`,
	domain.FlashEventSoldOut:   `closed_at IS NULL AND ends_at > $4 AND starts_at <= $4 AND sold >= stock`,
	domain.FlashEventLive:      `closed_at IS NULL AND ends_at > $4 AND starts_at <= $4 AND sold < stock`,
}

// FindFlashEvents implements domain.FlashEventService.
func (s *FlashEventService) FindFlashEvents(ctx context.Context, f domain.FlashEventFilter) (domain.Page[*domain.FlashEvent], error) {
	if err := f.Normalize(); err != nil {
		return domain.Page[*domain.FlashEvent]{}, err
	}
	cond := "true"
	args := []any{f.After, f.LiveRoomID, f.First + 1}
	if f.Status != "" {
		var ok bool
		if cond, ok = statusCondition[f.Status]; !ok {
			return domain.Page[*domain.FlashEvent]{}, domain.Errorf(domain.EINVALID, "unknown flash event status %q", f.Status)
		}
		if strings.Contains(cond, "$4") {
			args = append(args, s.db.Now())
		}
	}
	es, err := readWith(ctx, s.db, func(q querier) ([]*domain.FlashEvent, error) {
		return collectFlashEvents(q.Query(ctx, `
		SELECT `+flashEventColumns+` FROM flash_events
		WHERE ($1 = '' OR id < $1) AND ($2 = '' OR live_room_id = $2) AND `+cond+`
		ORDER BY id DESC LIMIT $3`, args...))
	})
	if err != nil {
		return domain.Page[*domain.FlashEvent]{}, err
	}
	return page(es, f.PageRequest), nil
}

// CreateFlashEvent implements domain.FlashEventService.
func (s *FlashEventService) CreateFlashEvent(ctx context.Context, c domain.FlashEventCreate) (*domain.FlashEvent, error) {
	me, err := domain.RequireRole(ctx, domain.RoleSeller)
	if err != nil {
		return nil, err
	}
	now := s.db.Now()
	if err := c.Validate(now); err != nil {
		return nil, err
	}
	var e *domain.FlashEvent
	err = s.db.inTx(ctx, func(tx pgx.Tx) error {
		var sellerID string
		var stock int
		err := tx.QueryRow(ctx, `SELECT seller_id, stock FROM products WHERE id = $1 FOR UPDATE`, c.ProductID).Scan(&sellerID, &stock)
		if err != nil {
			return translate(err, "find product", "product")
		}
		if !me.CanManage(sellerID) {
			return domain.Errorf(domain.EFORBIDDEN, "this product belongs to another seller")
		}
		if stock < c.Stock {
			return domain.Errorf(domain.ECONFLICT, "the product has %d units in stock; the event needs %d", stock, c.Stock)
		}
		var roomID *string
		if c.LiveRoomID != "" {
			var roomSeller string
			var status domain.LiveRoomStatus
			err := tx.QueryRow(ctx, `SELECT seller_id, status FROM live_rooms WHERE id = $1 FOR SHARE`, c.LiveRoomID).Scan(&roomSeller, &status)
			if err != nil {
				return translate(err, "find live room", "live room")
			}
			if roomSeller != sellerID {
				return domain.Errorf(domain.EFORBIDDEN, "the live room belongs to another seller")
			}
			if status == domain.LiveRoomEnded {
				return domain.Errorf(domain.ECONFLICT, "the live room has ended")
			}
			roomID = &c.LiveRoomID
		}
		if _, err := tx.Exec(ctx, `UPDATE products SET stock = stock - $2 WHERE id = $1`, c.ProductID, c.Stock); err != nil {
			return translate(err, "take product stock", "product")
		}
		e, err = scanFlashEvent(tx.QueryRow(ctx, `
			INSERT INTO flash_events (id, product_id, live_room_id, seller_id, price_cents, stock, per_user_limit, starts_at, ends_at, created_at, waiting_room)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
			RETURNING `+flashEventColumns,
			newID(domain.PrefixFlashEvent), c.ProductID, roomID, sellerID, c.PriceCents, c.Stock, c.PerUserLimit,
			c.StartsAt, c.EndsAt, now, c.WaitingRoom))
		return translate(err, "insert flash event", "flash event")
	})
	if err != nil {
		return nil, err
	}
	return e, nil
}

// CloseFlashEvent implements domain.FlashEventService.
func (s *FlashEventService) CloseFlashEvent(ctx context.Context, id string) (*domain.FlashEvent, error) {
	me, err := domain.RequireRole(ctx, domain.RoleSeller)
	if err != nil {
		return nil, err
	}
	var e *domain.FlashEvent
	err = s.db.inTx(ctx, func(tx pgx.Tx) error {
		var err error
		e, err = scanFlashEvent(tx.QueryRow(ctx, `SELECT `+flashEventColumns+` FROM flash_events WHERE id = $1 FOR UPDATE`, id))
		if err != nil {
			return translate(err, "find flash event", "flash event")
		}
		if !me.CanManage(e.SellerID) {
			return domain.Errorf(domain.EFORBIDDEN, "this flash event belongs to another seller")
		}
		if e.ClosedAt != nil {
			return domain.Errorf(domain.ECONFLICT, "the flash event is already closed")
		}
		now := s.db.Now()
		e.ClosedAt = &now
		_, err = tx.Exec(ctx, `UPDATE flash_events SET closed_at = $2 WHERE id = $1`, id, now)
		return translate(err, "close flash event", "flash event")
	})
	if err != nil {
		return nil, err
	}
	return e, nil
}
