package graph

import (
	"context"

	"flashlive/domain"
)

// LiveFeed is the realtime feed as subscriptions consume it: typed
// updates, never frames to parse. cmd/flashlive satisfies it with the hub.
type LiveFeed interface {
	// Listen hands, until ctx ends, the updates of roomID (none when "")
	// and the order updates of userID (none when ""), in the order they
	// happened. The channel closes when ctx ends, when the feed closes, or
	// when the listener falls too far behind. NOT_FOUND for an unknown room.
	Listen(ctx context.Context, roomID, userID string) (<-chan domain.LiveUpdate, error)
}

// SessionWatcher ends what a sign-in opened when it ends. cmd/flashlive
// satisfies it with the hub.
type SessionWatcher interface {
	// WatchSession calls end, once, when p's access token expires or its
	// session is revoked, unless stop is called first; reason says which
	// in a few words. end must not block.
	WatchSession(p domain.Principal, end func(reason string)) (stop func())
}

// listen subscribes to the realtime feed.
func (r *Resolver) listen(ctx context.Context, roomID, userID string) (<-chan domain.LiveUpdate, error) {
	if r.Live == nil {
		return nil, errNotYet("subscriptions")
	}
	updates, err := r.Live.Listen(ctx, roomID, userID)
	if domain.ErrorCode(err) == domain.ENOTFOUND {
		return nil, domain.Errorf(domain.ENOTFOUND, "live room not found")
	}
	return updates, err
}

// roomUpdate turns a room's update into its LiveRoomUpdate, or nil for an
// update the room subscription does not carry (an order's).
func (r *Resolver) roomUpdate(_ context.Context, u domain.LiveUpdate) LiveRoomUpdate {
	switch u := u.(type) {
	case domain.LiveCountdown:
		return &CountdownTick{EventID: u.EventID, StartsAt: u.StartsAt, ServerTime: u.ServerTime, SecondsLeft: u.SecondsLeft}
	case domain.LiveStock:
		return &StockLevel{EventID: u.EventID, Remaining: u.Remaining, Status: u.Status}
	case domain.LiveViewers:
		return &ViewerCount{RoomID: u.RoomID, Count: u.Count}
	case domain.LiveEventChanged:
		return &FlashEventChanged{Event: u.Event}
	}
	return nil
}

// orderUpdate turns an order's update into the order as its buyer sees
// it, or nil for anything else or an order that cannot be read.
func (r *Resolver) orderUpdate(ctx context.Context, u domain.LiveUpdate) *domain.Order {
	ou, ok := u.(domain.LiveOrder)
	if !ok {
		return nil
	}
	o, err := r.OrderService.FindOrderByID(ctx, ou.OrderID)
	if err != nil {
		return nil
	}
	// The update is the news: the order may be read a moment before the
	// write it announces is visible.
	o.Status = ou.Status
	return o
}
