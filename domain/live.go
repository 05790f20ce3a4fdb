package domain

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

// NopNotifier is the LiveNotifier of a server without a realtime feed.
type NopNotifier struct{}

var _ LiveNotifier = NopNotifier{}

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
