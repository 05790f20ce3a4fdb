package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"time"

	"flashlive/domain"
	"flashlive/jobs"
	"flashlive/realtime"
	"flashlive/service"
	"flashlive/storage/nats"
	"flashlive/storage/postgres"
	"flashlive/storage/redis"
)

// RainTickBehind is how long after its window a rain is still told to the
// feed by the rain tick (its FINISHED frame comes within a second of the
// end; later runs only repeat it).
const RainTickBehind = 5 * time.Second

// rainParts are the red-packet rain's adapters and jobs, wired by
// openRainStores, buildRainService and startRainJobs.
type rainParts struct {
	store *postgres.RainStore
	hot   *redis.Rains
}

// openRainStores opens the rain stores and the grab stream.
func (m *Main) openRainStores(ctx context.Context) error {
	m.rain.store = postgres.NewRainStore(m.DB)
	m.rain.hot = redis.NewRains(m.Redis)
	var err error
	m.Grabs, err = nats.NewGrabStream(ctx, m.NATS, m.Logger)
	return err
}

// buildRainService builds the rain service (rate-limited when limits are
// on) and hands it to the resolver.
func (m *Main) buildRainService() {
	m.Rains = &service.RedPackets{
		Store: m.rain.store, Hot: m.rain.hot, Publisher: m.Grabs, Rooms: m.stores.rooms,
		Settled: m.Grabs.Settled, IntN: rand.Int64N, PreheatWindow: PreheatWindow,
		Live: m.Hub, Logger: m.Logger, Now: m.Now,
	}
	var svc domain.RedPacketService = m.Rains
	if p, lim := m.protect, m.Config.Limits; p != nil {
		svc = &service.LimitedRedPackets{
			RedPackets: m.Rains,
			Limits:     service.GrabLimits{GrabUser: lim.GrabUser, GrabIP: lim.GrabIP},
			Limiter:    p.limiter, Observer: p.gate, Logger: m.Logger,
		}
	}
	m.Resolver.RedPacketService = svc
}

// startRainJobs starts the grab writer and schedules the rain jobs:
// preheat, the status tick, reconciliation of lost publishes and the
// refund, each safe on any number of instances.
func (m *Main) startRainJobs() error {
	writer := &jobs.GrabWriter{Grabs: m.rain.store, Hot: m.rain.hot, Logger: m.Logger}
	if err := m.Grabs.Start(writer.Handle); err != nil {
		return err
	}
	m.GrabReconciler = &jobs.GrabReconciler{
		Rains: m.rain.store, Hot: m.rain.hot, Publisher: m.Grabs, Settled: m.Grabs.Settled,
		OrphanAge: OrphanAge, Behind: redis.RainKeep, Logger: m.Logger, Now: m.Now,
	}
	m.RainRefund = &jobs.RainRefund{Rains: m.rain.store, Hot: m.rain.hot, Settled: m.Grabs.Settled, Logger: m.Logger, Now: m.Now}
	for _, j := range []struct {
		name              string
		interval, timeout time.Duration
		run               func(context.Context) error
	}{
		{"rain-preheat", 5 * time.Second, 30 * time.Second, (&jobs.RainPreheat{
			Rains: m.rain.store, Hot: m.Rains, Window: PreheatWindow, Logger: m.Logger, Now: m.Now,
		}).Run},
		{"rain-tick", time.Second, 10 * time.Second, (&jobs.RainTick{
			Rains: m.rain.store, Hot: m.rain.hot, Live: m.Hub, Behind: RainTickBehind, Now: m.Now,
		}).Run},
		{"rain-reconcile", 5 * time.Second, time.Minute, m.GrabReconciler.Run},
		{"rain-refund", 5 * time.Second, time.Minute, m.RainRefund.Run},
	} {
		if err := m.jobs.Every(j.name, j.interval, j.timeout, j.run); err != nil {
			return err
		}
	}
	return nil
}

// closeRains flushes the grabs answered GRABBED to the stream and stops
// the writer after its batch in hand.
func (m *Main) closeRains() {
	if m.Grabs == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	if err := m.Grabs.Flush(ctx); err != nil {
		m.Logger.Error("grab stream: unacknowledged publishes at shutdown; reconciliation will publish them", "err", err)
	}
	cancel()
	m.Grabs.Stop()
}

// rainSnapshot is the hub's realtime.RainSource: a room's rains as a
// snapshot shows them, with Redis's packets left.
type rainSnapshot struct {
	store *postgres.RainStore
	hot   *redis.Rains
	now   func() time.Time
}

var _ realtime.RainSource = (*rainSnapshot)(nil)

// RoomRains implements realtime.RainSource.
func (s *rainSnapshot) RoomRains(ctx context.Context, roomID string) ([]domain.RainState, error) {
	rs, err := s.store.FindRainsByRoom(ctx, roomID)
	if err != nil {
		return nil, fmt.Errorf("rains of room %s: %w", roomID, err)
	}
	now := s.now()
	out := make([]domain.RainState, 0, len(rs))
	for _, r := range rs {
		if left, loaded, err := s.hot.Left(ctx, r.ID); err == nil && loaded {
			r.PacketsLeft = left
		}
		out = append(out, service.RainStateOf(r, now))
	}
	return out, nil
}
