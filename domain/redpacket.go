package domain

import (
	"context"
	"time"
)

// PrefixRedPacketRain begins the ID of a red-packet rain; PrefixRedPacketGrab
// the ID of a grab (both then a ULID, so they sort by creation time).
const (
	PrefixRedPacketRain = "rain_"
	PrefixRedPacketGrab = "grab_"
)

// RedPacketRainStatus is where a rain stands; it follows from the clock and
// the packets left, never from a stored field.
type RedPacketRainStatus string

// Statuses of a rain.
const (
	RainScheduled RedPacketRainStatus = "SCHEDULED"
	RainLive      RedPacketRainStatus = "LIVE"
	// RainFinished: the window has ended or every packet is taken.
	RainFinished RedPacketRainStatus = "FINISHED"
)

// Rank orders the statuses as a rain goes through them (SCHEDULED 0, LIVE
// 1, FINISHED 2; -1 for an unknown one): a rain's status never goes back.
func (s RedPacketRainStatus) Rank() int {
	switch s {
	case RainScheduled:
		return 0
	case RainLive:
		return 1
	case RainFinished:
		return 2
	}
	return -1
}

// RainStatusAt is the status of a rain with that window and packetsLeft at
// now: SCHEDULED before StartsAt, FINISHED from EndsAt or once no packet is
// left, LIVE in between.
func RainStatusAt(startsAt, endsAt time.Time, packetsLeft int, now time.Time) RedPacketRainStatus {
	switch {
	case now.Before(startsAt):
		return RainScheduled
	case !now.Before(endsAt) || packetsLeft <= 0:
		return RainFinished
	}
	return RainLive
}

// RedPacketRain is a sum of money a room's seller puts into Packets packets
// for a window. Amounts are split at creation and never change: each at
// least 1 cent, together exactly TotalCents.
type RedPacketRain struct {
	ID         string
	RoomID     string
	SellerID   string
	TotalCents int64
	Amounts    []int64 // packet index -> cents; len(Amounts) is the packet count
	StartsAt   time.Time
	EndsAt     time.Time
	CreatedAt  time.Time
	// PacketsLeft is the packets nobody holds yet, as last read.
	PacketsLeft int
	// RefundedCents is what went back to the seller once FINISHED; 0 before.
	RefundedCents int64
	// Refunded reports whether the refund is done.
	Refunded bool
}

// Packets is the number of packets of the rain.
func (r *RedPacketRain) Packets() int { return len(r.Amounts) }

// StatusAt is the rain's status at now (see RainStatusAt).
func (r *RedPacketRain) StatusAt(now time.Time) RedPacketRainStatus {
	return RainStatusAt(r.StartsAt, r.EndsAt, r.PacketsLeft, now)
}

// Rain window bounds: a rain lasts from MinRainWindow to MaxRainWindow and
// starts at most MaxRainLead from its creation (and not in the past, save
// for RainStartSlack of clock difference).
const (
	MinRainWindow  = time.Second
	MaxRainWindow  = time.Hour
	MaxRainLead    = 7 * 24 * time.Hour
	RainStartSlack = time.Minute
	// MaxRainPackets caps the packets of one rain; MaxRainCents its sum.
	MaxRainPackets = 100_000
	MaxRainCents   = 100_000_000
)

// RedPacketRainCreate is the input of RedPacketService.CreateRedPacketRain.
type RedPacketRainCreate struct {
	RoomID     string
	TotalCents int64
	Packets    int
	StartsAt   time.Time
	EndsAt     time.Time
}

// Validate returns an INVALID error naming the first bad field, or nil.
// packets must be between 1 and totalCents (and MaxRainPackets), the
// window between MinRainWindow and MaxRainWindow long, starting no earlier
// than now less RainStartSlack and no later than now plus MaxRainLead.
func (c RedPacketRainCreate) Validate(now time.Time) error {
	switch {
	case c.RoomID == "":
		return Errorf(EINVALID, "liveRoomId is required")
	case c.TotalCents < 1 || c.TotalCents > MaxRainCents:
		return Errorf(EINVALID, "totalCents must be between 1 and %d", MaxRainCents)
	case c.Packets < 1 || int64(c.Packets) > c.TotalCents:
		return Errorf(EINVALID, "packets must be between 1 and totalCents")
	case c.Packets > MaxRainPackets:
		return Errorf(EINVALID, "packets must be at most %d", MaxRainPackets)
	case !c.StartsAt.Before(c.EndsAt):
		return Errorf(EINVALID, "startsAt must be before endsAt")
	case c.EndsAt.Sub(c.StartsAt) < MinRainWindow || c.EndsAt.Sub(c.StartsAt) > MaxRainWindow:
		return Errorf(EINVALID, "the window must last between %s and %s", MinRainWindow, MaxRainWindow)
	case c.StartsAt.Before(now.Add(-RainStartSlack)):
		return Errorf(EINVALID, "startsAt must not be in the past")
	case c.StartsAt.After(now.Add(MaxRainLead)):
		return Errorf(EINVALID, "startsAt must be within %s", MaxRainLead)
	}
	return nil
}

// SplitRedPackets splits total cents into n packets with the double-mean
// method: each packet but the last takes a uniform random amount between 1
// and twice the mean of what is left (leaving at least a cent for each
// packet after it); the last takes the rest. Every packet is >= 1 cent,
// the packets sum to exactly total, and each packet's expected amount is
// total/n whatever its place, so nobody gains by grabbing early or late.
// intn(k) must return a uniform integer in [0, k) (math/rand/v2's IntN).
// It requires 1 <= n <= total.
func SplitRedPackets(total int64, n int, intn func(int64) int64) []int64 {
	out := make([]int64, n)
	left := total
	for i := 0; i < n-1; i++ {
		rest := int64(n - i) // packets still to fill, this one included
		// Upper bound: twice the mean of what is left, never so much that a
		// later packet could not get its cent.
		hi := min(2*left/rest, left-(rest-1))
		amount := 1 + intn(hi)
		out[i] = amount
		left -= amount
	}
	out[n-1] = left
	return out
}

// GrabOutcome is the answer to one grab.
type GrabOutcome string

// Outcomes of a grab. ALREADY_GRABBED comes before any other outcome for a
// buyer who holds a packet of the rain.
const (
	GrabGrabbed        GrabOutcome = "GRABBED"
	GrabAlreadyGrabbed GrabOutcome = "ALREADY_GRABBED"
	GrabEmpty          GrabOutcome = "EMPTY"
	GrabNotStarted     GrabOutcome = "NOT_STARTED"
	GrabEnded          GrabOutcome = "ENDED"
	GrabRateLimited    GrabOutcome = "RATE_LIMITED"
)

// GrabResult is the answer to GrabRedPacket. AmountCents is set for
// GRABBED and ALREADY_GRABBED, RetryAfter for RATE_LIMITED.
type GrabResult struct {
	Outcome     GrabOutcome
	AmountCents int64
	PacketsLeft int
	RetryAfter  time.Duration
	// Replay reports whether the answer is a repeated key's first one.
	Replay bool
}

// RedPacketGrab is one packet taken by one buyer: the record that the
// grab script writes to the outbox and the grab writer to PostgreSQL.
type RedPacketGrab struct {
	ID             string    `json:"id"`
	RainID         string    `json:"rainId"`
	BuyerID        string    `json:"buyerId"`
	PacketIndex    int       `json:"index"`
	AmountCents    int64     `json:"amountCents"`
	IdempotencyKey string    `json:"idempotencyKey"`
	GrabbedAt      time.Time `json:"grabbedAt"`
	// PacketsLeftAfter is the packets left just after this grab: what its
	// first answer said, and what a retry with its key says again.
	PacketsLeftAfter int `json:"leftAfter"`
}

// RedPacketService is what buyers and sellers do with rains.
type RedPacketService interface {
	// CreateRedPacketRain splits the amounts and stores the rain in a room
	// of the calling SELLER (ADMIN: any room). UNAUTHENTICATED, FORBIDDEN
	// (not a seller, or another seller's room), NOT_FOUND (no such room),
	// INVALID (see RedPacketRainCreate.Validate).
	CreateRedPacketRain(ctx context.Context, c RedPacketRainCreate) (*RedPacketRain, error)
	// GrabRedPacket takes a packet of the rain for the calling BUYER. A
	// repeated idempotency key gets its first answer. UNAUTHENTICATED,
	// FORBIDDEN, NOT_FOUND (no such rain), INVALID (bad key), UNAVAILABLE.
	GrabRedPacket(ctx context.Context, rainID, idempotencyKey string) (GrabResult, error)
	// FindRedPacketRainByID returns the rain with its packets left;
	// NOT_FOUND when there is none.
	FindRedPacketRainByID(ctx context.Context, id string) (*RedPacketRain, error)
	// FindRedPacketRainsByRoom returns the room's rains, newest first.
	FindRedPacketRainsByRoom(ctx context.Context, roomID string) ([]*RedPacketRain, error)
	// MyRedPacketGrabs returns a page of the calling buyer's grabs, newest
	// first (paged by grab ID). UNAUTHENTICATED, INVALID.
	MyRedPacketGrabs(ctx context.Context, p PageRequest) (Page[*RedPacketGrab], error)
}

// RainState is what viewers are shown of a rain: the `rain` frame.
type RainState struct {
	RoomID      string
	RainID      string
	Status      RedPacketRainStatus
	PacketsLeft int
	StartsAt    time.Time
	EndsAt      time.Time
}

// Merge returns the later of two states of one rain: statuses never go
// back and packets left never grow, so of two notices that cross on the
// way, the one further along wins, field by field.
func (s RainState) Merge(o RainState) RainState {
	if o.Status.Rank() > s.Status.Rank() {
		s.Status = o.Status
	}
	s.PacketsLeft = min(s.PacketsLeft, o.PacketsLeft)
	return s
}

// LiveRain: a rain of the room changed status, or while LIVE its packets
// left moved (coalesced to at most 10 a second per rain, the last figure
// always sent). The liveRoomExtras subscription maps it to RedPacketRain.
type LiveRain struct {
	RainState
}

func (LiveRain) liveUpdate() {}

// RainNotifier tells the realtime feed a rain changed. It never blocks
// and never fails the caller.
type RainNotifier interface {
	RainChanged(s RainState)
}
