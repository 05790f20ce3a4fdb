package service

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"time"

	"flashlive/domain"
)

// QueueStore is the waiting room's storage (storage/redis.Queue).
type QueueStore interface {
	Admissions
	Join(ctx context.Context, ev *domain.HotEvent, buyerID string, now time.Time) (domain.QueueTicket, domain.QueueState, bool, error)
	Leave(ctx context.Context, eventID, buyerID string) (bool, domain.QueueState, error)
	Tickets(ctx context.Context, eventID string, buyers []string) (domain.QueueState, map[string]domain.QueueTicket, error)
	UseChallenge(ctx context.Context, eventID, id string, ttl time.Duration) (bool, error)
	Step(ctx context.Context, eventID string, now time.Time, perSecond int, ttl time.Duration) (domain.QueueStep, error)
	Active(ctx context.Context, now time.Time) ([]string, error)
}

// Challenges issues and checks proof-of-work challenges (auth.QueueChallenges).
type Challenges interface {
	Bits() int
	Issue(buyerID, eventID string) (domain.QueueChallenge, error)
	Verify(challenge, nonce, buyerID, eventID string) (id string, expires time.Time, err error)
}

// AdmissionTokens issues the purchase token of an admission
// (auth.PurchaseTokens).
type AdmissionTokens interface {
	IssueUntil(buyerID, eventID string, exp time.Time) (domain.PurchaseToken, error)
}

// Defaults of the waiting room.
const (
	DefaultAdmitPerSecond = 50
	DefaultAdmissionTTL   = 2 * time.Minute
)

// WaitingRoom implements domain.WaitingRoomService, and steps every open
// queue once a second (Step, run by jobs.QueueAdmission on every
// instance; each second's step of an event runs once across them).
type WaitingRoom struct {
	Queue      QueueStore
	Sale       *FlashSale // what the hot path knows of events, and their loading
	Challenges Challenges
	Tokens     AdmissionTokens
	Live       domain.QueueNotifier
	// AdmitPerSecond is the ceiling of admissions per event a second
	// (DefaultAdmitPerSecond when zero); AdmissionTTL how long an
	// admission's purchase token lasts (DefaultAdmissionTTL when zero).
	AdmitPerSecond int
	AdmissionTTL   time.Duration
	Logger         *slog.Logger
	Now            func() time.Time
}

var _ domain.WaitingRoomService = (*WaitingRoom)(nil)

func (w *WaitingRoom) perSecond() int {
	if w.AdmitPerSecond > 0 {
		return w.AdmitPerSecond
	}
	return DefaultAdmitPerSecond
}

func (w *WaitingRoom) ttl() time.Duration {
	if w.AdmissionTTL > 0 {
		return w.AdmissionTTL
	}
	return DefaultAdmissionTTL
}

// openEvent returns the event when its queue may be joined now.
func (w *WaitingRoom) openEvent(ctx context.Context, eventID string) (*domain.HotEvent, error) {
	if !strings.HasPrefix(eventID, domain.PrefixFlashEvent) || len(eventID) > 64 {
		return nil, domain.Errorf(domain.ENOTFOUND, "flash event not found")
	}
	ev, st, err := w.Sale.EventStatus(ctx, eventID)
	if err != nil {
		return nil, err
	}
	return ev, domain.QueueOpen(ev, st, w.Now())
}

// QueueChallenge implements domain.WaitingRoomService.
func (w *WaitingRoom) QueueChallenge(ctx context.Context, eventID string) (*domain.QueueChallenge, error) {
	me, err := domain.RequireRole(ctx, domain.RoleBuyer)
	if err != nil {
		return nil, err
	}
	if _, err := w.openEvent(ctx, eventID); err != nil {
		return nil, err
	}
	c, err := w.Challenges.Issue(me.UserID, eventID)
	if err != nil {
		return nil, err
	}
	return &c, nil
}

// JoinQueue implements domain.WaitingRoomService. A challenge is checked
// and spent before anything else, even by a buyer who holds a ticket.
func (w *WaitingRoom) JoinQueue(ctx context.Context, j domain.JoinQueue) (*domain.QueueTicket, error) {
	me, err := domain.RequireRole(ctx, domain.RoleBuyer)
	if err != nil {
		return nil, err
	}
	ev, err := w.openEvent(ctx, j.EventID)
	if err != nil {
		return nil, err
	}
	if j.Challenge != "" || j.Nonce != "" || w.Challenges.Bits() > 0 {
		if j.Challenge == "" {
			return nil, domain.Errorf(domain.EINVALID, "challenge is required: get one with queueChallenge and solve it")
		}
		id, exp, err := w.Challenges.Verify(j.Challenge, j.Nonce, me.UserID, j.EventID)
		if err != nil {
			return nil, err
		}
		first, err := w.Queue.UseChallenge(ctx, j.EventID, id, exp.Sub(w.Now())+time.Minute)
		if err != nil {
			return nil, err
		}
		if !first {
			return nil, domain.Errorf(domain.EINVALID, "the challenge was used already; get a new one with queueChallenge")
		}
	}
	t, st, _, err := w.Queue.Join(ctx, ev, me.UserID, w.Now())
	if err != nil {
		return nil, err
	}
	out, err := w.present(t, st)
	if err != nil {
		return nil, err
	}
	// Told even when the ticket is not new: a buyer's new connection
	// resumes its frames by joining again.
	w.Live.TicketChanged(out)
	return &out, nil
}

// LeaveQueue implements domain.WaitingRoomService.
func (w *WaitingRoom) LeaveQueue(ctx context.Context, eventID string) (bool, error) {
	me, err := domain.RequireRole(ctx, domain.RoleBuyer)
	if err != nil {
		return false, err
	}
	if !strings.HasPrefix(eventID, domain.PrefixFlashEvent) || len(eventID) > 64 {
		return false, nil
	}
	held, _, err := w.Queue.Leave(ctx, eventID, me.UserID)
	if err != nil {
		return false, err
	}
	w.Live.TicketChanged(domain.QueueTicket{EventID: eventID, BuyerID: me.UserID})
	return held, nil
}

// MyQueueTicket implements domain.WaitingRoomService.
func (w *WaitingRoom) MyQueueTicket(ctx context.Context, eventID string) (*domain.QueueTicket, error) {
	me, err := domain.RequireRole(ctx, domain.RoleBuyer)
	if err != nil {
		return nil, err
	}
	if !strings.HasPrefix(eventID, domain.PrefixFlashEvent) || len(eventID) > 64 {
		return nil, nil
	}
	st, tks, err := w.Queue.Tickets(ctx, eventID, []string{me.UserID})
	if err != nil {
		return nil, err
	}
	t, ok := tks[me.UserID]
	if !ok {
		return nil, nil
	}
	out, err := w.present(t, st)
	return &out, err
}

// QueueLength implements domain.WaitingRoomService.
func (w *WaitingRoom) QueueLength(ctx context.Context, eventID string) (int, error) {
	st, _, err := w.Queue.Tickets(ctx, eventID, nil)
	return st.Waiting, err
}

// Present returns t as its buyer is shown it with the queue as st says:
// position and estimate while WAITING, the purchase token while
// ADMITTED, EXPIRED once the admission ran out (whether or not a step has
// said so yet).
func (w *WaitingRoom) Present(t domain.QueueTicket, st domain.QueueState) (domain.QueueTicket, error) {
	return w.present(t, st)
}

func (w *WaitingRoom) present(t domain.QueueTicket, st domain.QueueState) (domain.QueueTicket, error) {
	st.AdmitPerSecond = w.perSecond()
	t = t.WithState(st)
	if t.Status == domain.QueueAdmitted {
		if !w.Now().Before(t.ExpiresAt) {
			t.Status = domain.QueueExpired
			return t, nil
		}
		tok, err := w.Tokens.IssueUntil(t.BuyerID, t.EventID, t.ExpiresAt)
		if err != nil {
			return t, err
		}
		t.PurchaseToken = &tok
	}
	return t, nil
}

// Step runs this second's step of every open queue (those another
// instance has run already are skipped by the store), tells the buyers
// admitted and expired, and broadcasts each queue's state once.
func (w *WaitingRoom) Step(ctx context.Context) error {
	now := w.Now()
	ids, err := w.Queue.Active(ctx, now)
	if err != nil {
		return err
	}
	var errs []error
	for _, id := range ids {
		if err := w.stepOne(ctx, id, now); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func (w *WaitingRoom) stepOne(ctx context.Context, id string, now time.Time) error {
	step, err := w.Queue.Step(ctx, id, now, w.perSecond(), w.ttl())
	if errors.Is(err, domain.ErrNotLoaded) {
		// Lost from the hot stock: load it, and step it next second.
		_, err = w.Sale.Preheat(ctx, []string{id})
		return err
	}
	if err != nil || !step.Done {
		return err
	}
	st := step.State
	st.AdmitPerSecond, st.At = w.perSecond(), now
	for _, t := range append(step.Expired, step.Admitted...) {
		out, err := w.present(t, st)
		if err != nil {
			return err
		}
		w.Live.TicketChanged(out)
	}
	w.Live.QueueMoved(st)
	if step.Closed > 0 {
		w.Logger.InfoContext(ctx, "queue closed", "event_id", id, "closed", step.Closed)
	}
	return nil
}
