package graph

import (
	"context"

	"flashlive/domain"
)

// chat returns the chat service, or UNAVAILABLE when the server has none.
func (r *Resolver) chat() (domain.ChatService, error) {
	if r.ChatService == nil {
		return nil, domain.Errorf(domain.EUNAVAILABLE, "this server has no chat")
	}
	return r.ChatService, nil
}

// chatMessage is a message as GraphQL shows it.
func chatMessage(m *domain.ChatMessage) *ChatMessage {
	return &ChatMessage{
		ID: m.ID, RoomID: m.RoomID, Author: &ChatAuthor{ID: m.Author.ID, DisplayName: m.Author.DisplayName},
		Text: m.Text, SentAt: m.SentAt,
	}
}

// roomExtra turns a room's update into its LiveRoomExtra, or nil for an
// update that is no extra (stock, countdowns: the liveRoom
// subscription's). Each feature with extras adds its case here: the
// red-packet rain its domain.RoomExtra type, as a *RedPacketRain.
func (r *Resolver) roomExtra(ctx context.Context, u domain.LiveUpdate) LiveRoomExtra {
	switch u := u.(type) {
	case domain.ChatPosted:
		return chatMessage(u.Message)
	case domain.ChatDeleted:
		return &ChatMessageDeleted{RoomID: u.RoomID, MessageID: u.MessageID}
	case domain.LiveRain:
		return r.RainExtra(ctx, u)
	}
	return nil
}

// roomExtras forwards the room's extras from updates to a channel of
// their own, until updates closes or ctx ends.
func (r *Resolver) roomExtras(ctx context.Context, updates <-chan domain.LiveUpdate) <-chan LiveRoomExtra {
	out := make(chan LiveRoomExtra, 1)
	go func() {
		defer close(out)
		for u := range updates {
			if x := r.roomExtra(ctx, u); x != nil {
				select {
				case out <- x:
				case <-ctx.Done():
					return
				}
			}
		}
	}()
	return out
}
