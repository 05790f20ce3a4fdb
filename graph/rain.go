package graph

import (
	"context"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"

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
// coalesced figures); nil when the rain cannot be read (skip it). The
// rain itself comes from r's rain cache: one read per rain for every
// subscriber, not one per subscriber per notice.
func (r *Resolver) RainExtra(ctx context.Context, u domain.LiveRain) LiveRoomExtra {
	if r.RedPacketService == nil {
		return nil
	}
	d, err := r.rainsShown.get(ctx, u.RainID, u.Status == domain.RainFinished, r.RedPacketService.FindRedPacketRainByID)
	if err != nil {
		return nil
	}
	d.PacketsLeft = u.PacketsLeft
	return &RedPacketRain{RedPacketRain: d, status: u.Status}
}

// rainCacheSize bounds the rains a rainCache keeps.
const rainCacheSize = 1024

// rainReadTimeout bounds one shared read of a rainCache.
const rainReadTimeout = 5 * time.Second

// rainCache keeps the rains the liveRoomExtras subscriptions have shown.
// A rain's room, amounts and window never change; only its refund does,
// once FINISHED. So a kept rain is served as is, except that a finished
// one not yet refunded is read again, and concurrent reads of one rain
// are one read (singleflight). The zero value is ready to use.
type rainCache struct {
	mu    sync.Mutex
	rains map[string]*domain.RedPacketRain // guarded by mu; at most rainCacheSize
	reads singleflight.Group
}

// get returns a copy of rain id, read with read when not kept (or when
// finished and the kept one is not refunded yet). The copy's
// PacketsLeft may be set by the caller; its Amounts are shared and must
// not be written.
func (c *rainCache) get(ctx context.Context, id string, finished bool, read func(context.Context, string) (*domain.RedPacketRain, error)) (*domain.RedPacketRain, error) {
	c.mu.Lock()
	d, ok := c.rains[id]
	c.mu.Unlock()
	if !ok || (finished && !d.Refunded) {
		v, err, _ := c.reads.Do(id, func() (any, error) {
			ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), rainReadTimeout)
			defer cancel()
			d, err := read(ctx, id)
			if err == nil {
				c.keep(d)
			}
			return d, err
		})
		if err != nil {
			return nil, err
		}
		d = v.(*domain.RedPacketRain)
	}
	cp := *d
	return &cp, nil
}

// keep remembers d, making room by forgetting any one rain when full.
func (c *rainCache) keep(d *domain.RedPacketRain) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.rains == nil {
		c.rains = make(map[string]*domain.RedPacketRain)
	}
	if _, ok := c.rains[d.ID]; !ok && len(c.rains) >= rainCacheSize {
		for k := range c.rains {
			delete(c.rains, k)
			break
		}
	}
	c.rains[d.ID] = d
}

// rains returns the rain service, or UNAVAILABLE when the server has none.
func (r *Resolver) rains() (domain.RedPacketService, error) {
	if r.RedPacketService == nil {
		return nil, domain.Errorf(domain.EUNAVAILABLE, "this server has no red-packet rains")
	}
	return r.RedPacketService, nil
}
