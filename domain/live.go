package domain

import "time"

// LiveNotifier tells the realtime feed that something viewers see has
// changed. Implementations never block and never fail the caller: a lost
// notice costs a viewer a frame, not a buyer an order.
type LiveNotifier interface {
	// StockChanged: the stock left of the event moved.
	StockChanged(eventID string)
	// EventChanged: the event's status may have moved (closed, say).
	EventChanged(eventID string)
	// OrderChanged: the order's status moved; its buyer is told.
	OrderChanged(o *Order)
}

// NopNotifier is the LiveNotifier and RevocationNotifier of a server
// without a realtime feed.
type NopNotifier struct{}

var (
	_ LiveNotifier       = NopNotifier{}
	_ RevocationNotifier = NopNotifier{}
)

// SessionRevoked implements RevocationNotifier.
func (NopNotifier) SessionRevoked(Revocation) {}

// StockChanged implements LiveNotifier.
func (NopNotifier) StockChanged(string) {}

// EventChanged implements LiveNotifier.
func (NopNotifier) EventChanged(string) {}

// OrderChanged implements LiveNotifier.
func (NopNotifier) OrderChanged(*Order) {}

// Crossing is an event reaching a boundary of its window: LIVE at its
// start, ENDED at its end.
type Crossing struct {
	EventID string
	Status  FlashEventStatus
}

// LiveUpdate is one change of the realtime feed, as a listener (a GraphQL
// subscription) is handed it: a LiveCountdown, LiveStock,
// LiveEventChanged, LiveViewers or LiveOrder. It is the same change a
// viewer of /ws gets as a frame, typed: times are times, statuses are
// statuses, and nothing is parsed on the way.
type LiveUpdate interface{ liveUpdate() }

// LiveCountdown: a SCHEDULED event of the room starts within the hour;
// one a second until it starts.
type LiveCountdown struct {
	RoomID      string
	EventID     string
	StartsAt    time.Time
	ServerTime  time.Time // when the countdown was taken
	SecondsLeft int       // StartsAt - ServerTime, rounded to the second, never below 0
}

// LiveStock: the stock left of an event of the room moved (coalesced: the
// last figure always comes).
type LiveStock struct {
	RoomID     string
	EventID    string
	Remaining  int
	Status     FlashEventStatus
	ServerTime time.Time // when the figure was read
}

// LiveEventChanged: the status of an event of the room moved. Event is the
// event as read for this change, the same value for every listener: read
// it, never write it.
type LiveEventChanged struct {
	RoomID string
	Status FlashEventStatus
	Event  *FlashEvent
}

// LiveViewers: the room's audience, summed over every instance, moved.
type LiveViewers struct {
	RoomID string
	Count  int
}

// LiveOrder: an order of the listener's buyer changed status. It names the
// order; what else of it a listener shows is read from the OrderService.
type LiveOrder struct {
	OrderID string
	EventID string // "" for cart orders
	Status  OrderStatus
}

func (LiveCountdown) liveUpdate()    {}
func (LiveStock) liveUpdate()        {}
func (LiveEventChanged) liveUpdate() {}
func (LiveViewers) liveUpdate()      {}
func (LiveOrder) liveUpdate()        {}
