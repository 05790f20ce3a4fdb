package service

import (
	"context"
	"errors"
	"time"

	"flashlive/domain"
)

// Admissions is the waiting room as a purchase sees it (storage/redis.Queue).
type Admissions interface {
	// UseAdmission reports whether the buyer holds an ADMITTED ticket of
	// the event that has not expired, and marks it used: a used admission
	// no longer counts against the stock the queue may admit for.
	UseAdmission(ctx context.Context, eventID, buyerID string, now time.Time) (bool, error)
}

// checkAdmitted refuses, with INVALID, a purchase of a waiting-room event
// by a buyer the queue has not admitted: a token alone is not enough.
func (s *FlashSale) checkAdmitted(ctx context.Context, buyerID, eventID string) error {
	if s.Admissions == nil {
		return nil
	}
	ev, err := s.event(ctx, eventID)
	if err != nil || !ev.WaitingRoom {
		return err
	}
	ok, err := s.Admissions.UseAdmission(ctx, eventID, buyerID, s.Now())
	if err != nil {
		return err
	}
	if !ok {
		return domain.Errorf(domain.EINVALID, "you have not been admitted from this event's waiting room, or your admission has run out: join the queue")
	}
	return nil
}

// EventStatus returns what the hot path knows of the event (read at most
// once per eventCacheTTL) and its status now by the hot stock, loading the
// event into the hot stock first when it is not there. NOT_FOUND for
// unknown IDs.
func (s *FlashSale) EventStatus(ctx context.Context, eventID string) (*domain.HotEvent, domain.FlashEventStatus, error) {
	ev, err := s.event(ctx, eventID)
	if err != nil {
		return nil, "", err
	}
	snap, err := s.Hot.Snapshot(ctx, eventID)
	if errors.Is(err, domain.ErrNotLoaded) {
		if err := s.ensureLoaded(ctx, eventID); err != nil {
			return nil, "", err
		}
		snap, err = s.Hot.Snapshot(ctx, eventID)
	}
	if err != nil {
		return nil, "", err
	}
	hot := *ev
	hot.Closed = hot.Closed || snap.Closed
	return ev, hot.StatusAt(s.Now(), snap.Remaining), nil
}
