package domain

import (
	"context"
	"time"
)

// FlashEventStatus is where a flash event stands at a moment. Only CLOSED is
// stored; the others follow from the clock and the stock left (see
// FlashEvent.StatusAt).
type FlashEventStatus string

// The flash event statuses.
const (
	FlashEventScheduled FlashEventStatus = "SCHEDULED"
	FlashEventLive      FlashEventStatus = "LIVE"
	FlashEventSoldOut   FlashEventStatus = "SOLD_OUT"
	FlashEventEnded     FlashEventStatus = "ENDED"
	FlashEventClosed    FlashEventStatus = "CLOSED"
)

// Valid reports whether s is a known status.
func (s FlashEventStatus) Valid() bool {
	switch s {
	case FlashEventScheduled, FlashEventLive, FlashEventSoldOut, FlashEventEnded, FlashEventClosed:
		return true
	}
	return false
}

// Limits on flash events.
const (
	MaxPerUserLimit = 1000
	MaxEventLength  = 30 * 24 * time.Hour
	// StartGrace is how far in the past a new event may start, so that
	// "start now" survives clock skew between a client and the server.
	StartGrace = time.Minute
)

// FlashEvent is a limited stock of one product sold at a flash price inside
// a time window, usually pinned to a live room.
type FlashEvent struct {
	ID         string
	ProductID  string
	LiveRoomID string // "" when the event is not pinned to a room
	SellerID   string
	PriceCents int64
	// Stock is the number of units put on sale; it never changes.
	Stock int
	// Sold is the number of units in live orders as PostgreSQL knows them.
	Sold         int
	PerUserLimit int
	StartsAt     time.Time
	EndsAt       time.Time
	ClosedAt     *time.Time
	CreatedAt    time.Time
	// WaitingRoom reports whether purchase tokens come only through the
	// event's queue (see WaitingRoomService).
	WaitingRoom bool
}

// StatusAt is the one rule for an event's status at now with remaining
// units left: CLOSED once closed, ENDED from EndsAt, SCHEDULED before
// StartsAt, then SOLD_OUT or LIVE by the stock left.
func (e *FlashEvent) StatusAt(now time.Time, remaining int) FlashEventStatus {
	switch {
	case e.ClosedAt != nil:
		return FlashEventClosed
	case !now.Before(e.EndsAt):
		return FlashEventEnded
	case now.Before(e.StartsAt):
		return FlashEventScheduled
	case remaining <= 0:
		return FlashEventSoldOut
	default:
		return FlashEventLive
	}
}

// FlashEventCreate is the input of FlashEventService.CreateFlashEvent.
type FlashEventCreate struct {
	ProductID    string
	LiveRoomID   string // optional
	PriceCents   int64
	Stock        int
	PerUserLimit int
	StartsAt     time.Time
	EndsAt       time.Time
	WaitingRoom  bool
}

// Validate returns an INVALID error naming the first bad field, or nil. now
// is the server's clock: events may not end in the past.
func (c *FlashEventCreate) Validate(now time.Time) error {
	if c.ProductID == "" {
		return Errorf(EINVALID, "productId is required")
	}
	if err := validatePrice(c.PriceCents); err != nil {
		return err
	}
	if err := validateStock("stock", c.Stock, 1); err != nil {
		return err
	}
	if c.PerUserLimit < 1 {
		return Errorf(EINVALID, "perUserLimit must be at least 1")
	} else if c.PerUserLimit > MaxPerUserLimit {
		return Errorf(EINVALID, "perUserLimit must be at most %d", MaxPerUserLimit)
	}
	switch {
	case !c.StartsAt.Before(c.EndsAt):
		return Errorf(EINVALID, "startsAt must be before endsAt")
	case c.StartsAt.Before(now.Add(-StartGrace)):
		return Errorf(EINVALID, "startsAt must not be in the past")
	case !c.EndsAt.After(now):
		return Errorf(EINVALID, "endsAt must be in the future")
	case c.EndsAt.Sub(c.StartsAt) > MaxEventLength:
		return Errorf(EINVALID, "a flash event may last at most %d days", int(MaxEventLength/(24*time.Hour)))
	}
	return nil
}

// FlashEventFilter selects flash events.
type FlashEventFilter struct {
	// Status, when set, keeps events in that status only (as PostgreSQL
	// knows their stock).
	Status FlashEventStatus
	// LiveRoomID, when set, keeps the events pinned to that room.
	LiveRoomID string
	PageRequest
}

// FlashEventService manages flash events. Events are public.
type FlashEventService interface {
	// FindFlashEventByID returns the event; NOT_FOUND when there is none.
	FindFlashEventByID(ctx context.Context, id string) (*FlashEvent, error)

	// FindFlashEventsByIDs returns the events among ids that exist, in no
	// order.
	FindFlashEventsByIDs(ctx context.Context, ids []string) ([]*FlashEvent, error)

	// FindFlashEventsByRoomIDs returns every event pinned to any of the
	// rooms, oldest start first.
	FindFlashEventsByRoomIDs(ctx context.Context, roomIDs []string) ([]*FlashEvent, error)

	// FindFlashEvents returns a page of events, newest first.
	FindFlashEvents(ctx context.Context, f FlashEventFilter) (Page[*FlashEvent], error)

	// CreateFlashEvent creates an event for a product of the calling seller
	// and takes its stock from the product's. INVALID, NOT_FOUND (product or
	// room), FORBIDDEN (another seller's product or room), CONFLICT (the
	// product has too little stock, or the room has ended).
	CreateFlashEvent(ctx context.Context, c FlashEventCreate) (*FlashEvent, error)

	// CloseFlashEvent closes an event of the calling seller for good.
	// NOT_FOUND, FORBIDDEN, CONFLICT when it is closed already.
	CloseFlashEvent(ctx context.Context, id string) (*FlashEvent, error)
}

// StockReader reports how many units of flash events are left for sale. It
// is the one source of FlashEvent.remaining and of the status shown to
// clients.
type StockReader interface {
	// RemainingStock returns the units left of each event, keyed by ID.
	RemainingStock(ctx context.Context, events []*FlashEvent) (map[string]int, error)
}

// SoldCountStock is the StockReader that knows only what PostgreSQL knows:
// Stock - Sold. The hot stock in Redis takes its place once events are
// preheated.
type SoldCountStock struct{}

var _ StockReader = SoldCountStock{}

// RemainingStock implements StockReader.
func (SoldCountStock) RemainingStock(_ context.Context, events []*FlashEvent) (map[string]int, error) {
	m := make(map[string]int, len(events))
	for _, e := range events {
		m[e.ID] = max(e.Stock-e.Sold, 0)
	}
	return m, nil
}
