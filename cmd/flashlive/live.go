package main

import (
	"context"
	"time"

	"flashlive/domain"
	"flashlive/graph"
	"flashlive/realtime"
	"flashlive/storage/postgres"
)

// liveSource shows the hub the events of rooms as the catalog and the hot
// stock know them.
type liveSource struct {
	rooms  domain.LiveRoomService
	events domain.FlashEventService
	stock  domain.StockReader
	now    func() time.Time
}

var _ realtime.Source = (*liveSource)(nil)

// The hub feeds the GraphQL subscriptions typed updates, and ends their
// sockets when their sign-in ends.
var (
	_ graph.LiveFeed       = (*realtime.Hub)(nil)
	_ graph.SessionWatcher = (*realtime.Hub)(nil)
)

// RoomEvents implements realtime.Source; NOT_FOUND for unknown rooms.
// The feed reads on the primary: it is told that an event changed and
// must show the change, whoever wrote it.
func (s *liveSource) RoomEvents(ctx context.Context, roomID string) ([]realtime.EventState, error) {
	ctx = postgres.OnPrimary(ctx)
	if _, err := s.rooms.FindLiveRoomByID(ctx, roomID); err != nil {
		return nil, err
	}
	events, err := s.events.FindFlashEventsByRoomIDs(ctx, []string{roomID})
	if err != nil {
		return nil, err
	}
	return s.states(ctx, events)
}

// EventState implements realtime.Source.
func (s *liveSource) EventState(ctx context.Context, eventID string) (realtime.EventState, error) {
	ctx = postgres.OnPrimary(ctx)
	e, err := s.events.FindFlashEventByID(ctx, eventID)
	if err != nil {
		return realtime.EventState{}, err
	}
	st, err := s.states(ctx, []*domain.FlashEvent{e})
	if err != nil {
		return realtime.EventState{}, err
	}
	return st[0], nil
}

func (s *liveSource) states(ctx context.Context, events []*domain.FlashEvent) ([]realtime.EventState, error) {
	left, err := s.stock.RemainingStock(ctx, events)
	if err != nil {
		return nil, err
	}
	now := s.now()
	out := make([]realtime.EventState, len(events))
	for i, e := range events {
		out[i] = realtime.EventState{
			EventID: e.ID, RoomID: e.LiveRoomID, Status: string(e.StatusAt(now, left[e.ID])),
			Remaining: left[e.ID], StartsAt: e.StartsAt, EndsAt: e.EndsAt, Event: e,
		}
	}
	return out, nil
}
