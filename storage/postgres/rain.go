package postgres

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"flashlive/domain"
)

// RainStore keeps red-packet rains, their grabs and refunds in PostgreSQL.
// The grabs' unique keys (rain and buyer, rain and packet index) and the
// refunds' primary key (the rain) keep, whatever the callers do, one
// packet per buyer per rain, one buyer per packet and one refund per rain.
type RainStore struct {
	db *DB
}

// NewRainStore returns a RainStore on db.
func NewRainStore(db *DB) *RainStore {
	return &RainStore{db: db}
}

// rainColumns read a rain with what PostgreSQL knows of its packets left
// (packets less the grabs written) and its refund.
const rainColumns = `r.id, r.room_id, r.seller_id, r.total_cents, r.amounts, r.starts_at, r.ends_at, r.created_at,
	cardinality(r.amounts) - (SELECT count(*) FROM red_packet_grabs g WHERE g.rain_id = r.id),
	COALESCE(f.cents, 0), f.rain_id IS NOT NULL`

const rainFrom = ` FROM red_packet_rains r LEFT JOIN red_packet_refunds f ON f.rain_id = r.id `

func scanRain(row pgx.Row) (*domain.RedPacketRain, error) {
	var r domain.RedPacketRain
	err := row.Scan(&r.ID, &r.RoomID, &r.SellerID, &r.TotalCents, &r.Amounts, &r.StartsAt, &r.EndsAt, &r.CreatedAt,
		&r.PacketsLeft, &r.RefundedCents, &r.Refunded)
	return &r, err
}

func collectRains(rows pgx.Rows, err error) ([]*domain.RedPacketRain, error) {
	if err != nil {
		return nil, translate(err, "find rains", "rain")
	}
	rs, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (*domain.RedPacketRain, error) { return scanRain(r) })
	return rs, translate(err, "find rains", "rain")
}

// CreateRain stores a new rain as given (ID, amounts and all). NOT_FOUND
// when its room or seller does not exist; CONFLICT for a taken ID.
func (s *RainStore) CreateRain(ctx context.Context, r *domain.RedPacketRain) error {
	_, err := s.db.Pool.Exec(ctx, `
		INSERT INTO red_packet_rains (id, room_id, seller_id, total_cents, amounts, starts_at, ends_at, created_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
		r.ID, r.RoomID, r.SellerID, r.TotalCents, r.Amounts, r.StartsAt, r.EndsAt, r.CreatedAt)
	return translate(err, "create rain", "rain")
}

// FindRainByID returns the rain; NOT_FOUND when there is none.
func (s *RainStore) FindRainByID(ctx context.Context, id string) (*domain.RedPacketRain, error) {
	r, err := scanRain(s.db.Pool.QueryRow(ctx, `SELECT `+rainColumns+rainFrom+`WHERE r.id = $1`, id))
	return r, translate(err, "find rain", "rain")
}

// FindRainsByRoom returns the room's rains, newest first.
func (s *RainStore) FindRainsByRoom(ctx context.Context, roomID string) ([]*domain.RedPacketRain, error) {
	return collectRains(s.db.Pool.Query(ctx, `SELECT `+rainColumns+rainFrom+`WHERE r.room_id = $1 ORDER BY r.id DESC LIMIT 200`, roomID))
}

// RainsAround returns the rains whose window meets [now-behind,
// now+ahead]: those to preheat, and those whose status may cross soon.
func (s *RainStore) RainsAround(ctx context.Context, now time.Time, ahead, behind time.Duration) ([]*domain.RedPacketRain, error) {
	return collectRains(s.db.Pool.Query(ctx, `SELECT `+rainColumns+rainFrom+`
		WHERE r.starts_at <= $1 AND r.ends_at > $2 ORDER BY r.id LIMIT 1000`, now.Add(ahead), now.Add(-behind)))
}

// RainsToRefund returns rains whose window ended by now and that have no
// refund yet.
func (s *RainStore) RainsToRefund(ctx context.Context, now time.Time) ([]*domain.RedPacketRain, error) {
	return collectRains(s.db.Pool.Query(ctx, `SELECT `+rainColumns+rainFrom+`
		WHERE r.ends_at <= $1 AND f.rain_id IS NULL ORDER BY r.ends_at LIMIT 1000`, now))
}

// Refund gives the seller what nobody grabbed of an ended rain, once:
// total less the grabs written. It reports the cents refunded and whether
// this call refunded (false: an earlier one did, and cents is its figure).
// Any number of callers may race: the refund's primary key lets one win.
func (s *RainStore) Refund(ctx context.Context, rainID string, now time.Time) (int64, bool, error) {
	var cents int64
	err := s.db.Pool.QueryRow(ctx, `
		INSERT INTO red_packet_refunds (rain_id, seller_id, cents, refunded_at)
		SELECT r.id, r.seller_id,
			r.total_cents - COALESCE((SELECT sum(g.amount_cents) FROM red_packet_grabs g WHERE g.rain_id = r.id), 0), $2
		FROM red_packet_rains r WHERE r.id = $1
		ON CONFLICT (rain_id) DO NOTHING
		RETURNING cents`, rainID, now).Scan(&cents)
	if err == pgx.ErrNoRows {
		err = s.db.Pool.QueryRow(ctx, `SELECT cents FROM red_packet_refunds WHERE rain_id = $1`, rainID).Scan(&cents)
		return cents, false, translate(err, "read refund", "refund")
	}
	return cents, err == nil, translate(err, "refund rain", "rain")
}

// WriteGrabs writes a batch of grabs in one statement; a grab already
// written (same buyer, or same packet, of the rain) is skipped, so a
// batch delivered twice writes nothing twice.
func (s *RainStore) WriteGrabs(ctx context.Context, gs []domain.RedPacketGrab) error {
	if len(gs) == 0 {
		return nil
	}
	ids := make([]string, len(gs))
	rains := make([]string, len(gs))
	buyers := make([]string, len(gs))
	idx := make([]int32, len(gs))
	amounts := make([]int64, len(gs))
	keys := make([]string, len(gs))
	at := make([]time.Time, len(gs))
	for i, g := range gs {
		ids[i], rains[i], buyers[i], idx[i], amounts[i], keys[i], at[i] =
			g.ID, g.RainID, g.BuyerID, int32(g.PacketIndex), g.AmountCents, g.IdempotencyKey, g.GrabbedAt
	}
	_, err := s.db.Pool.Exec(ctx, `
		INSERT INTO red_packet_grabs (id, rain_id, buyer_id, packet_index, amount_cents, idempotency_key, grabbed_at)
		SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::int[], $5::bigint[], $6::text[], $7::timestamptz[])
		ON CONFLICT DO NOTHING`, ids, rains, buyers, idx, amounts, keys, at)
	return translate(err, "write grabs", "grab")
}

const grabColumns = `id, rain_id, buyer_id, packet_index, amount_cents, idempotency_key, grabbed_at`

func collectGrabs(rows pgx.Rows, err error) ([]*domain.RedPacketGrab, error) {
	if err != nil {
		return nil, translate(err, "find grabs", "grab")
	}
	gs, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (*domain.RedPacketGrab, error) {
		var g domain.RedPacketGrab
		err := r.Scan(&g.ID, &g.RainID, &g.BuyerID, &g.PacketIndex, &g.AmountCents, &g.IdempotencyKey, &g.GrabbedAt)
		return &g, err
	})
	return gs, translate(err, "find grabs", "grab")
}

// RainGrabs returns every grab written of the rain, by packet index.
func (s *RainStore) RainGrabs(ctx context.Context, rainID string) ([]*domain.RedPacketGrab, error) {
	return collectGrabs(s.db.Pool.Query(ctx, `SELECT `+grabColumns+` FROM red_packet_grabs WHERE rain_id = $1 ORDER BY packet_index`, rainID))
}

// FindGrabsByBuyer returns a page of the buyer's grabs, newest first.
func (s *RainStore) FindGrabsByBuyer(ctx context.Context, buyerID string, p domain.PageRequest) (domain.Page[*domain.RedPacketGrab], error) {
	if err := p.Normalize(); err != nil {
		return domain.Page[*domain.RedPacketGrab]{}, err
	}
	gs, err := collectGrabs(s.db.Pool.Query(ctx, `SELECT `+grabColumns+` FROM red_packet_grabs
		WHERE buyer_id = $1 AND ($2 = '' OR id < $2) ORDER BY id DESC LIMIT $3`, buyerID, p.After, p.First+1))
	if err != nil {
		return domain.Page[*domain.RedPacketGrab]{}, err
	}
	return page(gs, p), nil
}
