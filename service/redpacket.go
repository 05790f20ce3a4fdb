package service

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/oklog/ulid/v2"

	"flashlive/domain"
)

// rainStore is where rains, grabs and refunds are kept for good
// (postgres.RainStore).
type rainStore interface {
	CreateRain(ctx context.Context, r *domain.RedPacketRain) error
	FindRainByID(ctx context.Context, id string) (*domain.RedPacketRain, error)
	FindRainsByRoom(ctx context.Context, roomID string) ([]*domain.RedPacketRain, error)
	RainGrabs(ctx context.Context, rainID string) ([]*domain.RedPacketGrab, error)
	FindGrabsByBuyer(ctx context.Context, buyerID string, p domain.PageRequest) (domain.Page[*domain.RedPacketGrab], error)
}

// rainHot is the rains' hot state (redis.Rains).
type rainHot interface {
	Load(ctx context.Context, r *domain.RedPacketRain, grabs []*domain.RedPacketGrab) (bool, error)
	Grab(ctx context.Context, rainID, buyerID, idempotencyKey, grabID string, now time.Time) (domain.GrabResult, *domain.RedPacketGrab, error)
	Left(ctx context.Context, rainID string) (int, bool, error)
	Held(ctx context.Context, rainID, buyerID string) (*domain.RedPacketGrab, error)
}

// grabPublisher sends a grab to the grab writer (nats.GrabStream).
type grabPublisher interface {
	PublishGrab(ctx context.Context, g domain.RedPacketGrab) error
}

// roomFinder finds the room a rain falls in.
type roomFinder interface {
	FindLiveRoomByID(ctx context.Context, id string) (*domain.LiveRoom, error)
}

// RedPackets is the red-packet rain service: rains are split and stored in
// PostgreSQL at creation, loaded into Redis ahead of their window
// (Preheat, or at once when they start within PreheatWindow), grabbed in
// Redis in one script each (which writes the outbox), and the grabs
// published to the grab writer. Every field but Live and Logger is
// required.
type RedPackets struct {
	Store     rainStore
	Hot       rainHot
	Publisher grabPublisher
	Rooms     roomFinder
	// Settled reports whether the grab writer has written every grab sent
	// to it: a rain that Redis lost is rebuilt from PostgreSQL only then.
	Settled func(ctx context.Context) (bool, error)
	// IntN returns a uniform integer in [0, n): the split's randomness.
	IntN          func(n int64) int64
	PreheatWindow time.Duration
	Live          domain.RainNotifier // nil: nobody is told
	Logger        *slog.Logger
	Now           func() time.Time

	fixedMu    sync.Mutex
	fixedRains map[string]*domain.RedPacketRain // see fixed
}

var _ domain.RedPacketService = (*RedPackets)(nil)

// CreateRedPacketRain implements domain.RedPacketService.
func (s *RedPackets) CreateRedPacketRain(ctx context.Context, c domain.RedPacketRainCreate) (*domain.RedPacketRain, error) {
	me, err := domain.RequireRole(ctx, domain.RoleSeller)
	if err != nil {
		return nil, err
	}
	now := s.Now()
	if err := c.Validate(now); err != nil {
		return nil, err
	}
	room, err := s.Rooms.FindLiveRoomByID(ctx, c.RoomID)
	if err != nil {
		return nil, err
	}
	if !me.CanManage(room.SellerID) {
		return nil, domain.Errorf(domain.EFORBIDDEN, "the room is another seller's")
	}
	r := &domain.RedPacketRain{
		ID: domain.PrefixRedPacketRain + strings.ToLower(ulid.Make().String()), RoomID: room.ID, SellerID: room.SellerID,
		TotalCents: c.TotalCents, Amounts: domain.SplitRedPackets(c.TotalCents, c.Packets, s.IntN),
		StartsAt: c.StartsAt.UTC().Truncate(time.Millisecond), EndsAt: c.EndsAt.UTC().Truncate(time.Millisecond),
		CreatedAt: now.UTC().Truncate(time.Microsecond), PacketsLeft: c.Packets,
	}
	if err := s.Store.CreateRain(ctx, r); err != nil {
		return nil, err
	}
	if r.StartsAt.Sub(now) <= s.PreheatWindow {
		if _, err := s.Hot.Load(ctx, r, nil); err != nil {
			// The preheat job loads it; a grab before then loads it too.
			s.Logger.WarnContext(ctx, "load a new rain into Redis; the preheat will", "rain_id", r.ID, "err", err)
		}
	}
	s.notify(r, now)
	return r, nil
}

// GrabRedPacket implements domain.RedPacketService.
func (s *RedPackets) GrabRedPacket(ctx context.Context, rainID, idempotencyKey string) (domain.GrabResult, error) {
	me, err := domain.RequireRole(ctx, domain.RoleBuyer)
	if err != nil {
		return domain.GrabResult{}, err
	}
	if err := domain.ValidateIdempotencyKey(idempotencyKey); err != nil {
		return domain.GrabResult{}, err
	}
	if !strings.HasPrefix(rainID, domain.PrefixRedPacketRain) || len(rainID) > 64 {
		return domain.GrabResult{}, domain.Errorf(domain.ENOTFOUND, "rain not found")
	}
	now := s.Now()
	grabID := domain.PrefixRedPacketGrab + strings.ToLower(ulid.Make().String())
	res, g, err := s.Hot.Grab(ctx, rainID, me.UserID, idempotencyKey, grabID, now)
	if errors.Is(err, domain.ErrNotLoaded) {
		if err = s.load(ctx, rainID); err == nil {
			res, g, err = s.Hot.Grab(ctx, rainID, me.UserID, idempotencyKey, grabID, now)
		}
	}
	if err != nil {
		if s.Logger != nil && domain.ErrorCode(err) == domain.EUNAVAILABLE {
			// Such as a grab its Redis replicas do not hold yet.
			s.Logger.WarnContext(ctx, "grab not answered", "rain_id", rainID, "err", err)
		}
		return domain.GrabResult{}, err
	}
	if res.Outcome == domain.GrabGrabbed && !res.Replay {
		if err := s.Publisher.PublishGrab(ctx, *g); err != nil {
			// The outbox keeps it: reconciliation publishes it again.
			s.Logger.WarnContext(ctx, "publish grab; reconciliation will", "grab_id", g.ID, "err", err)
		}
		if s.Live != nil {
			if r, err := s.fixed(ctx, rainID); err == nil {
				c := *r
				c.PacketsLeft = res.PacketsLeft
				s.notify(&c, now)
			}
		}
	}
	return res, nil
}

// HeldGrab returns the ALREADY_GRABBED answer of the calling buyer when
// they hold a packet of the rain, else nil: what comes before any other
// outcome, a rate limit's included.
func (s *RedPackets) HeldGrab(ctx context.Context, rainID string) (*domain.GrabResult, error) {
	me, err := domain.RequireRole(ctx, domain.RoleBuyer)
	if err != nil {
		return nil, err
	}
	g, err := s.Hot.Held(ctx, rainID, me.UserID)
	if err != nil || g == nil {
		return nil, err
	}
	left, _, err := s.Hot.Left(ctx, rainID)
	if err != nil {
		return nil, err
	}
	return &domain.GrabResult{Outcome: domain.GrabAlreadyGrabbed, AmountCents: g.AmountCents, PacketsLeft: left}, nil
}

// maxFixed bounds the rains whose fixed fields the service remembers.
const maxFixed = 10_000

// fixed returns the rain's fields that never change (room, amounts,
// window), read from PostgreSQL once: the hot path tells the feed of each
// grab without a query.
func (s *RedPackets) fixed(ctx context.Context, rainID string) (*domain.RedPacketRain, error) {
	s.fixedMu.Lock()
	r, ok := s.fixedRains[rainID]
	s.fixedMu.Unlock()
	if ok {
		return r, nil
	}
	r, err := s.Store.FindRainByID(ctx, rainID)
	if err != nil {
		return nil, err
	}
	s.fixedMu.Lock()
	if s.fixedRains == nil || len(s.fixedRains) >= maxFixed {
		s.fixedRains = map[string]*domain.RedPacketRain{}
	}
	s.fixedRains[rainID] = r
	s.fixedMu.Unlock()
	return r, nil
}

// load puts a rain that Redis does not hold into it, with the grabs
// PostgreSQL has; only once the grab writer has settled (else a grab on
// its way would be given again). NOT_FOUND for no such rain, UNAVAILABLE
// while the writer has work in flight.
func (s *RedPackets) load(ctx context.Context, rainID string) error {
	r, err := s.Store.FindRainByID(ctx, rainID)
	if err != nil {
		return err
	}
	return s.rebuild(ctx, r)
}

func (s *RedPackets) rebuild(ctx context.Context, r *domain.RedPacketRain) error {
	settled, err := s.Settled(ctx)
	if err != nil {
		return fmt.Errorf("grab stream settled: %w", err)
	}
	if !settled {
		return domain.Errorf(domain.EUNAVAILABLE, "the rain is being loaded; try again in a moment")
	}
	grabs, err := s.Store.RainGrabs(ctx, r.ID)
	if err != nil {
		return err
	}
	if _, err := s.Hot.Load(ctx, r, grabs); err != nil {
		return fmt.Errorf("load rain: %w", err)
	}
	return nil
}

// Preheat loads into Redis every rain of rains it does not hold (those
// that start within the preheat window, or are live), and tells the feed
// where each stands. It returns how many it loaded.
func (s *RedPackets) Preheat(ctx context.Context, rains []*domain.RedPacketRain) (int, error) {
	n := 0
	var errs []error
	for _, r := range rains {
		if _, loaded, err := s.Hot.Left(ctx, r.ID); err != nil || loaded {
			errs = append(errs, err)
			continue
		}
		if err := s.rebuild(ctx, r); err != nil {
			errs = append(errs, fmt.Errorf("preheat rain %s: %w", r.ID, err))
			continue
		}
		n++
	}
	return n, errors.Join(errs...)
}

// FindRedPacketRainByID implements domain.RedPacketService.
func (s *RedPackets) FindRedPacketRainByID(ctx context.Context, id string) (*domain.RedPacketRain, error) {
	r, err := s.Store.FindRainByID(ctx, id)
	if err != nil {
		return nil, err
	}
	s.withLeft(ctx, r)
	return r, nil
}

// FindRedPacketRainsByRoom implements domain.RedPacketService.
func (s *RedPackets) FindRedPacketRainsByRoom(ctx context.Context, roomID string) ([]*domain.RedPacketRain, error) {
	rs, err := s.Store.FindRainsByRoom(ctx, roomID)
	if err != nil {
		return nil, err
	}
	for _, r := range rs {
		s.withLeft(ctx, r)
	}
	return rs, nil
}

// withLeft takes r's packets left from Redis when it holds the rain: the
// grabs PostgreSQL has not written yet are taken too.
func (s *RedPackets) withLeft(ctx context.Context, r *domain.RedPacketRain) {
	left, loaded, err := s.Hot.Left(ctx, r.ID)
	if err == nil && loaded {
		r.PacketsLeft = left
	}
}

// MyRedPacketGrabs implements domain.RedPacketService.
func (s *RedPackets) MyRedPacketGrabs(ctx context.Context, p domain.PageRequest) (domain.Page[*domain.RedPacketGrab], error) {
	me, err := domain.RequirePrincipal(ctx)
	if err != nil {
		return domain.Page[*domain.RedPacketGrab]{}, err
	}
	return s.Store.FindGrabsByBuyer(ctx, me.UserID, p)
}

// notify tells the feed where r stands at now.
func (s *RedPackets) notify(r *domain.RedPacketRain, now time.Time) {
	if s.Live != nil {
		s.Live.RainChanged(RainStateOf(r, now))
	}
}

// RainStateOf is what viewers are shown of r at now.
func RainStateOf(r *domain.RedPacketRain, now time.Time) domain.RainState {
	return domain.RainState{
		RoomID: r.RoomID, RainID: r.ID, Status: r.StatusAt(now), PacketsLeft: r.PacketsLeft,
		StartsAt: r.StartsAt, EndsAt: r.EndsAt,
	}
}

// GrabLimits are the rates of grabRedPacket, per buyer and per client
// address.
type GrabLimits struct {
	GrabUser, GrabIP domain.Limit
}

// LimitedRedPackets is a domain.RedPacketService that holds each buyer
// and each client address to Limits before a grab runs: a refused grab is
// the outcome RATE_LIMITED with RetryAfter, unless the buyer holds a
// packet of the rain (ALREADY_GRABBED comes before any other outcome).
type LimitedRedPackets struct {
	*RedPackets
	Limits   GrabLimits
	Limiter  domain.RateLimiter
	Observer LimitObserver // nil: nobody
	Logger   *slog.Logger
}

var _ domain.RedPacketService = (*LimitedRedPackets)(nil)

// GrabRedPacket implements domain.RedPacketService.
func (s *LimitedRedPackets) GrabRedPacket(ctx context.Context, rainID, idempotencyKey string) (domain.GrabResult, error) {
	if me, ok := domain.PrincipalFromContext(ctx); ok {
		l := &limiter{Limiter: s.Limiter, Observer: s.Observer, Logger: s.Logger}
		wait := l.allow(ctx,
			domain.LimitCheck{Name: "grab-user", Key: me.UserID, Limit: s.Limits.GrabUser},
			byIP(ctx, "grab-ip", s.Limits.GrabIP))
		if wait > 0 {
			if held, err := s.HeldGrab(ctx, rainID); err == nil && held != nil {
				return *held, nil
			}
			return domain.GrabResult{Outcome: domain.GrabRateLimited, RetryAfter: wait}, nil
		}
	}
	return s.RedPackets.GrabRedPacket(ctx, rainID, idempotencyKey)
}
