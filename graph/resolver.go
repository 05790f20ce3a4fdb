// Package graph is flashlive's GraphQL API (gqlgen): the schema in
// *.graphqls, resolvers that call domain services, per-request loaders that
// batch reads, the @hasRole directive, and an HTTP handler with the limits
// that keep hostile queries cheap (see NewHandler). Clients see errors as a
// message and a code in extensions.code, never internals.
package graph

//go:generate go run github.com/99designs/gqlgen generate

import (
	"time"

	"flashlive/domain"
)

// Resolver holds the services the resolvers call. Every field is required.
type Resolver struct {
	AuthService       domain.AuthService
	UserService       domain.UserService
	ProductService    domain.ProductService
	LiveRoomService   domain.LiveRoomService
	FlashEventService domain.FlashEventService
	FlashSaleService  domain.FlashSaleService
	OrderService      domain.OrderService
	// BlockService is the ADMIN's blocklist (nil: blockedClients and
	// blockClient answer UNAVAILABLE).
	BlockService domain.BlockService
	// ChatService is the room chat (nil: its fields answer UNAVAILABLE).
	ChatService domain.ChatService
	// RedPacketService is the red-packet rains (nil: their fields answer
	// UNAVAILABLE).
	RedPacketService domain.RedPacketService
	// StockReader is the one source of FlashEvent.remaining and status.
	StockReader domain.StockReader
	// ViewerCounter counts a room's viewers on every instance (nil: none).
	ViewerCounter interface{ ViewerCount(roomID string) int }
	// Live streams the realtime feed's updates to subscriptions (nil:
	// subscriptions are unavailable).
	Live LiveFeed
	// WaitingRoom is the waiting room (nil: its fields answer
	// UNAVAILABLE, and queueLength 0).
	WaitingRoom domain.WaitingRoomService
	// QueueWatch, when set, is told of the ticket a myQueueTicket
	// subscription starts from, so that the feed follows it.
	QueueWatch interface{ WatchQueue(t domain.QueueTicket) }
	// Now is the server's clock.
	Now func() time.Time

	rainsShown rainCache // the rains RainExtra shows (rain.go)
}

// blocks returns the blocklist, or UNAVAILABLE when the server has none.
func (r *Resolver) blocks() (domain.BlockService, error) {
	if r.BlockService == nil {
		return nil, domain.Errorf(domain.EUNAVAILABLE, "this server has no blocklist")
	}
	return r.BlockService, nil
}

// waitingRoom returns the waiting room, or UNAVAILABLE when the server has
// none.
func (r *Resolver) waitingRoom() (domain.WaitingRoomService, error) {
	if r.WaitingRoom == nil {
		return nil, domain.Errorf(domain.EUNAVAILABLE, "this server has no waiting room")
	}
	return r.WaitingRoom, nil
}
