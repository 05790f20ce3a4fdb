package main

import (
	"errors"
	"strconv"
	"time"

	"flashlive/auth"
	"flashlive/domain"
	"flashlive/realtime"
	"flashlive/service"
	"flashlive/storage/redis"
)

// QueueConfig configures the waiting room (F15).
type QueueConfig struct {
	// AdmitPerSecond is the ceiling of admissions per event a second
	// (FLASHLIVE_QUEUE_ADMIT_PER_SECOND; 0: DefaultQueueAdmitPerSecond).
	AdmitPerSecond int
	// AdmissionTTL is how long an admission's purchase token lasts
	// (FLASHLIVE_QUEUE_ADMISSION_TTL; 0: DefaultQueueAdmissionTTL).
	AdmissionTTL time.Duration
	// PowBits is the proof of work asked before joining, in leading zero
	// bits (FLASHLIVE_QUEUE_POW_BITS; LoadConfig defaults it to
	// DefaultQueuePowBits, a Config built in code asks none).
	PowBits int
}

// Defaults of the waiting room's configuration.
const (
	DefaultQueueAdmitPerSecond = 50
	DefaultQueueAdmissionTTL   = 2 * time.Minute
	// DefaultQueuePowBits is tuned so that headless Chromium solves a
	// challenge in about 0.25 s on this project's build machine: about a
	// second on a phone, three to five times slower (README, Waiting room).
	DefaultQueuePowBits = 16
)

// DefaultQueue is the waiting room's configuration when no variable is set.
var DefaultQueue = QueueConfig{AdmitPerSecond: DefaultQueueAdmitPerSecond, AdmissionTTL: DefaultQueueAdmissionTTL, PowBits: DefaultQueuePowBits}

// loadQueue reads the waiting room's variables, reporting each bad one.
func loadQueue(get func(string) string, bad func(string, ...any)) QueueConfig {
	q := DefaultQueue
	intVar := func(name string, lo, hi int, into *int) {
		v := get(name)
		if v == "" {
			return
		}
		n, err := strconv.Atoi(v)
		switch {
		case err != nil:
			bad("%s %q is not a whole number", name, v)
		case n < lo || n > hi:
			bad("%s must be between %d and %d, not %d", name, lo, hi, n)
		default:
			*into = n
		}
	}
	intVar("FLASHLIVE_QUEUE_ADMIT_PER_SECOND", 1, 100_000, &q.AdmitPerSecond)
	intVar("FLASHLIVE_QUEUE_POW_BITS", 0, domain.MaxPowBits, &q.PowBits)
	if v := get("FLASHLIVE_QUEUE_ADMISSION_TTL"); v != "" {
		d, err := time.ParseDuration(v)
		switch {
		case err != nil:
			bad("FLASHLIVE_QUEUE_ADMISSION_TTL %q is not a duration (such as 2m or 90s)", v)
		case d < time.Second || d > time.Hour:
			bad("FLASHLIVE_QUEUE_ADMISSION_TTL must be between 1s and 1h0m0s, not %s", d)
		default:
			q.AdmissionTTL = d
		}
	}
	return q
}

// presentedQueue is the hub's view of the waiting room: the queue's
// tickets, presented as the waiting room shows them to their buyers, so
// that a new /ws connection resumes an ADMITTED ticket with its token.
// room is set by buildWaitingRoom, before the server serves.
type presentedQueue struct {
	*redis.Queue
	room *service.WaitingRoom
}

var _ realtime.QueuePresenter = (*presentedQueue)(nil)

// Present implements realtime.QueuePresenter.
func (q *presentedQueue) Present(t domain.QueueTicket, st domain.QueueState) (domain.QueueTicket, error) {
	if q.room == nil {
		return t, errors.New("the waiting room is not built yet")
	}
	return q.room.Present(t, st)
}

// buildWaitingRoom builds the waiting room over the queue in Redis, and
// makes purchases of waiting-room events ask it for the buyer's admission.
func (m *Main) buildWaitingRoom(tokens *auth.PurchaseTokens) error {
	challenges, err := auth.NewQueueChallenges(m.Config.JWTSecret, m.Config.Queue.PowBits, auth.DefaultChallengeTTL, m.Now)
	if err != nil {
		return err
	}
	m.Sale.Admissions = m.stores.queue
	m.WaitingRoom = &service.WaitingRoom{
		Queue: m.stores.queue, Sale: m.Sale, Challenges: challenges, Tokens: tokens, Live: m.Hub,
		AdmitPerSecond: m.Config.Queue.AdmitPerSecond, AdmissionTTL: m.Config.Queue.AdmissionTTL,
		Logger: m.Logger, Now: m.Now,
	}
	m.hubQueue.room = m.WaitingRoom
	return nil
}

// limitWaitingRoom wraps the waiting room's mutations in the rates of
// flashPurchaseToken, which they stand in for on waiting-room events (or
// returns it as it is when limits are off).
func (m *Main) limitWaitingRoom(w domain.WaitingRoomService) domain.WaitingRoomService {
	p, lim := m.protect, m.Config.Limits
	if p == nil {
		return w
	}
	return &service.LimitedWaitingRoom{
		WaitingRoomService: w, User: lim.TokenUser, IP: lim.TokenIP,
		Limiter: p.limiter, Observer: p.gate, Logger: m.Logger,
	}
}
