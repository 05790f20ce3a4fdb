package service

import (
	"context"
	"log/slog"

	"flashlive/domain"
)

// LimitedWaitingRoom is a domain.WaitingRoomService that holds each buyer
// and each client address to User and IP before queueChallenge, joinQueue
// and leaveQueue run (one limiter round trip); reads are not limited. A
// refused call is a RATE_LIMITED error with RetryAfter.
type LimitedWaitingRoom struct {
	domain.WaitingRoomService
	User, IP domain.Limit
	Limiter  domain.RateLimiter
	Observer LimitObserver // nil: nobody
	Logger   *slog.Logger
}

var _ domain.WaitingRoomService = (*LimitedWaitingRoom)(nil)

func (w *LimitedWaitingRoom) allow(ctx context.Context) error {
	me, ok := domain.PrincipalFromContext(ctx)
	if !ok {
		return nil
	}
	l := &limiter{Limiter: w.Limiter, Observer: w.Observer, Logger: w.Logger}
	if wait := l.allow(ctx, domain.LimitCheck{Name: "queue-user", Key: me.UserID, Limit: w.User}, byIP(ctx, "queue-ip", w.IP)); wait > 0 {
		return domain.RateLimited(wait, "too many waiting-room requests; retry in %s", roundUp(wait))
	}
	return nil
}

// QueueChallenge implements domain.WaitingRoomService.
func (w *LimitedWaitingRoom) QueueChallenge(ctx context.Context, eventID string) (*domain.QueueChallenge, error) {
	if err := w.allow(ctx); err != nil {
		return nil, err
	}
	return w.WaitingRoomService.QueueChallenge(ctx, eventID)
}

// JoinQueue implements domain.WaitingRoomService.
func (w *LimitedWaitingRoom) JoinQueue(ctx context.Context, j domain.JoinQueue) (*domain.QueueTicket, error) {
	if err := w.allow(ctx); err != nil {
		return nil, err
	}
	return w.WaitingRoomService.JoinQueue(ctx, j)
}

// LeaveQueue implements domain.WaitingRoomService.
func (w *LimitedWaitingRoom) LeaveQueue(ctx context.Context, eventID string) (bool, error) {
	if err := w.allow(ctx); err != nil {
		return false, err
	}
	return w.WaitingRoomService.LeaveQueue(ctx, eventID)
}
