package graph

import (
	"context"
	"encoding/json"
	"time"

	"flashlive/domain"
)

// liveFrame is a frame of the realtime feed (../shared/contract/realtime.md).
type liveFrame struct {
	Type        string `json:"type"`
	Room        string `json:"room"`
	EventID     string `json:"eventId"`
	OrderID     string `json:"orderId"`
	Status      string `json:"status"`
	Remaining   int    `json:"remaining"`
	Count       int    `json:"count"`
	SecondsLeft int    `json:"secondsLeft"`
	StartsAt    string `json:"startsAt"`
	ServerTime  string `json:"serverTime"`
}

// listen subscribes to the realtime feed.
func (r *Resolver) listen(ctx context.Context, roomID, userID string) (<-chan []byte, error) {
	if r.Live == nil {
		return nil, errNotYet("subscriptions")
	}
	frames, err := r.Live.Listen(ctx, roomID, userID)
	if domain.ErrorCode(err) == domain.ENOTFOUND {
		return nil, domain.Errorf(domain.ENOTFOUND, "live room not found")
	}
	return frames, err
}

// roomUpdate turns a room frame into its LiveRoomUpdate, or nil for frames
// the subscription does not carry (the snapshot: query the room instead).
func (r *Resolver) roomUpdate(ctx context.Context, data []byte) LiveRoomUpdate {
	var f liveFrame
	if json.Unmarshal(data, &f) != nil {
		return nil
	}
	switch f.Type {
	case "countdown":
		starts, _ := time.Parse(time.RFC3339Nano, f.StartsAt)
		now, _ := time.Parse(time.RFC3339Nano, f.ServerTime)
		return &CountdownTick{EventID: f.EventID, StartsAt: starts, ServerTime: now, SecondsLeft: f.SecondsLeft}
	case "stock":
		return &StockLevel{EventID: f.EventID, Remaining: f.Remaining, Status: domain.FlashEventStatus(f.Status)}
	case "viewers":
		return &ViewerCount{RoomID: f.Room, Count: f.Count}
	case "event":
		e, err := r.FlashEventService.FindFlashEventByID(ctx, f.EventID)
		if err != nil {
			return nil
		}
		return &FlashEventChanged{Event: e}
	}
	return nil
}

// orderUpdate turns an order frame into the order as its buyer sees it.
func (r *Resolver) orderUpdate(ctx context.Context, data []byte) *domain.Order {
	var f liveFrame
	if json.Unmarshal(data, &f) != nil || f.Type != "order" {
		return nil
	}
	o, err := r.OrderService.FindOrderByID(ctx, f.OrderID)
	if err != nil {
		return nil
	}
	// The frame is the news: the order may be read a moment before the
	// write it announces is visible.
	o.Status = domain.OrderStatus(f.Status)
	return o
}
