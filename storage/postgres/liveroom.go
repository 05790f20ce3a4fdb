package postgres

import (
	"context"

	"github.com/jackc/pgx/v5"

	"flashlive/domain"
)

// LiveRoomService implements domain.LiveRoomService.
type LiveRoomService struct {
	db *DB
}

var _ domain.LiveRoomService = (*LiveRoomService)(nil)

// NewLiveRoomService returns a LiveRoomService on db.
func NewLiveRoomService(db *DB) *LiveRoomService {
	return &LiveRoomService{db: db}
}

const liveRoomColumns = `id, seller_id, title, status, created_at, started_at, ended_at`

func scanLiveRoom(row pgx.Row) (*domain.LiveRoom, error) {
	var r domain.LiveRoom
	err := row.Scan(&r.ID, &r.SellerID, &r.Title, &r.Status, &r.CreatedAt, &r.StartedAt, &r.EndedAt)
	return &r, err
}

func collectLiveRooms(rows pgx.Rows, err error) ([]*domain.LiveRoom, error) {
	if err != nil {
		return nil, translate(err, "find live rooms", "live room")
	}
	rs, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (*domain.LiveRoom, error) { return scanLiveRoom(r) })
	return rs, translate(err, "find live rooms", "live room")
}

// FindLiveRoomByID implements domain.LiveRoomService.
func (s *LiveRoomService) FindLiveRoomByID(ctx context.Context, id string) (*domain.LiveRoom, error) {
	r, err := readWith(ctx, s.db, func(q querier) (*domain.LiveRoom, error) {
		return scanLiveRoom(q.QueryRow(ctx, `SELECT `+liveRoomColumns+` FROM live_rooms WHERE id = $1`, id))
	})
	return r, translate(err, "find live room", "live room")
}

// FindLiveRoomsByIDs implements domain.LiveRoomService.
func (s *LiveRoomService) FindLiveRoomsByIDs(ctx context.Context, ids []string) ([]*domain.LiveRoom, error) {
	return readWith(ctx, s.db, func(q querier) ([]*domain.LiveRoom, error) {
		return collectLiveRooms(q.Query(ctx, `SELECT `+liveRoomColumns+` FROM live_rooms WHERE id = ANY($1)`, ids))
	})
}

// FindLiveRooms implements domain.LiveRoomService.
func (s *LiveRoomService) FindLiveRooms(ctx context.Context, f domain.LiveRoomFilter) (domain.Page[*domain.LiveRoom], error) {
	if err := f.Normalize(); err != nil {
		return domain.Page[*domain.LiveRoom]{}, err
	}
	if f.Status != "" && !f.Status.Valid() {
		return domain.Page[*domain.LiveRoom]{}, domain.Errorf(domain.EINVALID, "unknown live room status %q", f.Status)
	}
	rs, err := readWith(ctx, s.db, func(q querier) ([]*domain.LiveRoom, error) {
		return collectLiveRooms(q.Query(ctx, `
		SELECT `+liveRoomColumns+` FROM live_rooms
		WHERE ($1 = '' OR id < $1) AND ($2 = '' OR status = $2)
		ORDER BY id DESC LIMIT $3`, f.After, string(f.Status), f.First+1))
	})
	if err != nil {
		return domain.Page[*domain.LiveRoom]{}, err
	}
	return page(rs, f.PageRequest), nil
}

// CreateLiveRoom implements domain.LiveRoomService.
func (s *LiveRoomService) CreateLiveRoom(ctx context.Context, c domain.LiveRoomCreate) (*domain.LiveRoom, error) {
	me, err := domain.RequireRole(ctx, domain.RoleSeller)
	if err != nil {
		return nil, err
	}
	if err := c.Validate(); err != nil {
		return nil, err
	}
	r, err := scanLiveRoom(s.db.Pool.QueryRow(ctx, `
		INSERT INTO live_rooms (id, seller_id, title, status, created_at)
		VALUES ($1, $2, $3, 'SCHEDULED', $4)
		RETURNING `+liveRoomColumns, newID(domain.PrefixLiveRoom), me.UserID, c.Title, s.db.Now()))
	if err != nil {
		return nil, translate(err, "insert live room", "live room")
	}
	s.db.wrote(ctx)
	return r, nil
}

// SetLiveRoomStatus implements domain.LiveRoomService.
func (s *LiveRoomService) SetLiveRoomStatus(ctx context.Context, id string, to domain.LiveRoomStatus) (*domain.LiveRoom, error) {
	me, err := domain.RequireRole(ctx, domain.RoleSeller)
	if err != nil {
		return nil, err
	}
	var r *domain.LiveRoom
	err = s.db.inTx(ctx, func(tx pgx.Tx) error {
		var err error
		r, err = scanLiveRoom(tx.QueryRow(ctx, `SELECT `+liveRoomColumns+` FROM live_rooms WHERE id = $1 FOR UPDATE`, id))
		if err != nil {
			return translate(err, "find live room", "live room")
		}
		if !me.CanManage(r.SellerID) {
			return domain.Errorf(domain.EFORBIDDEN, "this live room belongs to another seller")
		}
		if r.Status, err = r.Status.NextStatus(to); err != nil {
			return err
		}
		now := s.db.Now()
		if to == domain.LiveRoomLive {
			r.StartedAt = &now
		} else {
			r.EndedAt = &now
		}
		_, err = tx.Exec(ctx, `UPDATE live_rooms SET status = $2, started_at = $3, ended_at = $4 WHERE id = $1`,
			r.ID, r.Status, r.StartedAt, r.EndedAt)
		return translate(err, "update live room", "live room")
	})
	if err != nil {
		return nil, err
	}
	return r, nil
}
