package graph

import (
	"context"

	"flashlive/domain"
)

// RedPacketRain is a rain as GraphQL shows it: the domain rain with its
// status as of when it was read (so that every field of one answer agrees),
// and the marks of the Node interface and the LiveRoomExtra union.
type RedPacketRain struct {
	*domain.RedPacketRain
	status domain.RedPacketRainStatus
}

// Status is the rain's status when it was read.
func (r RedPacketRain) Status() domain.RedPacketRainStatus { return r.status }

// IsNode marks RedPacketRain as a Node.
func (RedPacketRain) IsNode() {}

// IsLiveRoomExtra marks RedPacketRain as a LiveRoomExtra.
func (RedPacketRain) IsLiveRoomExtra() {}

// rainModel wraps r with its status now.
func (r *Resolver) rainModel(d *domain.RedPacketRain) *RedPacketRain {
	return &RedPacketRain{RedPacketRain: d, status: d.StatusAt(r.Now())}
}

// RainExtra is the hook of the liveRoomExtras subscription for rains: it
// turns a domain.LiveRain from the hub's Listen into the RedPacketRain the
// subscription sends, with the notice's status and packetsLeft (the
// coalesced figures); nil when the rain cannot be read (skip it).
func (r *Resolver) RainExtra(ctx context.Context, u domain.LiveRain) LiveRoomExtra {
	if r.RedPacketService == nil {
		return nil
	}
	d, err := r.RedPacketService.FindRedPacketRainByID(ctx, u.RainID)
	if err != nil {
		return nil
	}
	d.PacketsLeft = u.PacketsLeft
	return &RedPacketRain{RedPacketRain: d, status: u.Status}
}

// rains returns the rain service, or UNAVAILABLE when the server has none.
func (r *Resolver) rains() (domain.RedPacketService, error) {
	if r.RedPacketService == nil {
		return nil, domain.Errorf(domain.EUNAVAILABLE, "this server has no red-packet rains")
	}
	return r.RedPacketService, nil
}
