package domain

import (
	"context"
	"crypto/sha256"
	"math/bits"
	"time"
)

// QueueStatus is where a buyer's ticket in an event's waiting room stands.
type QueueStatus string

// The queue statuses of the contract.
const (
	QueueWaiting  QueueStatus = "WAITING"
	QueueAdmitted QueueStatus = "ADMITTED"
	QueueClosed   QueueStatus = "CLOSED"
	QueueExpired  QueueStatus = "EXPIRED"
)

// Held reports whether a ticket in status s is the buyer's place: joining
// again returns it rather than making a new one.
func (s QueueStatus) Held() bool { return s == QueueWaiting || s == QueueAdmitted }

// QueueJoinLead is how long before an event's startsAt its waiting room
// opens. Everyone who joins before startsAt is shuffled at startsAt.
const QueueJoinLead = 10 * time.Minute

// Limits of the waiting room's proof of work.
const (
	MaxPowBits     = 32
	MaxNonceLength = 64
)

// QueueTicket is one buyer's place in one event's waiting room.
type QueueTicket struct {
	EventID string
	BuyerID string
	Status  QueueStatus
	// Seq is the ticket's place in join order (1 for the first join of
	// the event); it never changes.
	Seq int64
	// Rank is the ticket's place in admission order, 0 until it has one:
	// pre-start joiners get theirs at startsAt, at random; later joiners
	// at once, one more than the last.
	Rank int64
	// Position is set while WAITING with a rank: see QueuePosition.
	Position *int
	// Waiting is the buyers WAITING for the event.
	Waiting int
	// EstimatedWait is set with Position: see EstimatedWait.
	EstimatedWait *time.Duration
	// PurchaseToken is set while ADMITTED; its ExpiresAt is ExpiresAt.
	PurchaseToken *PurchaseToken
	JoinedAt      time.Time
	// ExpiresAt is when an ADMITTED ticket's token runs out.
	ExpiresAt time.Time
}

// QueueState is what one event's waiting room looks like at a moment: the
// figures from which every WAITING ticket's position follows, broadcast
// once a second per event (never per buyer).
type QueueState struct {
	EventID string
	// Head is the lowest rank still WAITING (the next rank to be given
	// when nobody waits).
	Head int64
	// Waiting is the buyers WAITING.
	Waiting int
	// Shuffled reports whether the pre-start joiners have their ranks.
	Shuffled bool
	// ClosedSeq: every ticket with Seq <= ClosedSeq that was WAITING is
	// CLOSED (0: none ever was).
	ClosedSeq int64
	// AdmitPerSecond is the admission rate of the estimates.
	AdmitPerSecond int
	At             time.Time
}

// QueuePosition is the one rule for a WAITING ticket's position: its rank
// less the head's, plus one. Ranks are handed out one by one and a ticket
// leaves the line only from it, so every rank below the head is gone and
// the head's ticket is first; a ticket that left between the head and
// rank is still counted until the head passes it. A position is therefore
// the exact place when nobody ahead left the line, an upper bound
// otherwise, and never grows (the head only moves up). ok is false before
// the ticket has a rank.
func QueuePosition(rank, head int64) (int, bool) {
	if rank <= 0 {
		return 0, false
	}
	return int(max(rank-head+1, 1)), true
}

// EstimatedWait is how long a buyer at position waits at perSecond
// admissions a second.
func EstimatedWait(position, perSecond int) time.Duration {
	if perSecond < 1 {
		perSecond = 1
	}
	return time.Duration(position) * time.Second / time.Duration(perSecond)
}

// WithState returns t with its position and estimate as s shows them: a
// WAITING ticket joined at or before s.ClosedSeq becomes CLOSED.
func (t QueueTicket) WithState(s QueueState) QueueTicket {
	t.Waiting = s.Waiting
	t.Position, t.EstimatedWait = nil, nil
	if t.Status != QueueWaiting {
		return t
	}
	if t.Seq <= s.ClosedSeq {
		t.Status = QueueClosed
		return t
	}
	if p, ok := QueuePosition(t.Rank, s.Head); ok && s.Shuffled {
		w := EstimatedWait(p, s.AdmitPerSecond)
		t.Position, t.EstimatedWait = &p, &w
	}
	return t
}

// QueueOpen returns nil when a buyer may join the queue of ev at now with
// the event in status st; CONFLICT otherwise (not a waiting-room event,
// too early, no longer LIVE).
func QueueOpen(ev *HotEvent, st FlashEventStatus, now time.Time) error {
	switch {
	case !ev.WaitingRoom:
		return Errorf(ECONFLICT, "this flash event has no waiting room; get a purchase token with flashPurchaseToken")
	case st == FlashEventScheduled && now.Before(ev.StartsAt.Add(-QueueJoinLead)):
		return Errorf(ECONFLICT, "the waiting room opens %d minutes before the sale starts", int(QueueJoinLead/time.Minute))
	case st != FlashEventScheduled && st != FlashEventLive:
		return Errorf(ECONFLICT, "the flash event is %s; its waiting room is closed", st)
	}
	return nil
}

// AdmitBudget is how many buyers may be admitted now: at most perSecond,
// and no more than the units left less the admissions outstanding (ADMITTED
// and not yet buying), so that admitted buyers never outnumber the stock.
func AdmitBudget(perSecond, remaining, outstanding int) int {
	return max(0, min(perSecond, remaining-outstanding))
}

// PowSolved reports whether SHA-256(challenge + nonce) begins with bits
// zero bits.
func PowSolved(challenge, nonce string, bitsWanted int) bool {
	sum := sha256.Sum256([]byte(challenge + nonce))
	n := 0
	for _, b := range sum {
		if b == 0 {
			n += 8
		} else {
			n += bits.LeadingZeros8(b)
			break
		}
		if n >= bitsWanted {
			break
		}
	}
	return n >= bitsWanted
}

// ValidateNonce returns INVALID unless nonce is 1 to MaxNonceLength
// printable ASCII characters.
func ValidateNonce(nonce string) error {
	if len(nonce) < 1 || len(nonce) > MaxNonceLength {
		return Errorf(EINVALID, "nonce must be 1 to %d printable ASCII characters", MaxNonceLength)
	}
	for i := 0; i < len(nonce); i++ {
		if nonce[i] < 0x20 || nonce[i] > 0x7e {
			return Errorf(EINVALID, "nonce must be 1 to %d printable ASCII characters", MaxNonceLength)
		}
	}
	return nil
}

// QueueChallenge is a proof of work asked of a buyer before joining.
type QueueChallenge struct {
	Challenge      string
	DifficultyBits int
	ExpiresAt      time.Time
}

// JoinQueue is the input of WaitingRoomService.JoinQueue.
type JoinQueue struct {
	EventID   string
	Challenge string
	Nonce     string
}

// WaitingRoomService is the waiting room of flash events created with
// WaitingRoom (contract: waiting-room.graphql).
type WaitingRoomService interface {
	// QueueChallenge returns a proof-of-work challenge for the calling
	// buyer and the event. NOT_FOUND, CONFLICT (no waiting room, or not
	// open).
	QueueChallenge(ctx context.Context, eventID string) (*QueueChallenge, error)

	// JoinQueue joins the calling buyer to the event's queue, or returns
	// the ticket held (WAITING or ADMITTED). INVALID (a bad, reused,
	// expired or foreign challenge, or a wrong nonce), NOT_FOUND,
	// CONFLICT (no waiting room, not open).
	JoinQueue(ctx context.Context, j JoinQueue) (*QueueTicket, error)

	// LeaveQueue drops the calling buyer's ticket and reports whether
	// there was one.
	LeaveQueue(ctx context.Context, eventID string) (bool, error)

	// MyQueueTicket returns the calling buyer's latest ticket, or nil.
	MyQueueTicket(ctx context.Context, eventID string) (*QueueTicket, error)

	// QueueLength returns the buyers WAITING for the event.
	QueueLength(ctx context.Context, eventID string) (int, error)
}

// QueueNotifier tells the realtime feed of the waiting rooms' changes.
// Implementations never block and never fail the caller.
type QueueNotifier interface {
	// TicketChanged: t's buyer joined, was admitted, expired or left (a
	// left ticket has no status).
	TicketChanged(t QueueTicket)
	// QueueMoved: the event's queue is now as s says (once a second per
	// event at most).
	QueueMoved(s QueueState)
}

// LiveQueue: the listener's ticket changed (a GraphQL subscription).
type LiveQueue struct{ Ticket QueueTicket }

func (LiveQueue) liveUpdate() {}

// QueueStep is what one second's step of an event's queue did.
type QueueStep struct {
	// Done reports whether this caller ran the step (false: another
	// instance did this second's).
	Done bool
	// Closed is the WAITING tickets it closed.
	Closed int
	// Admitted and Expired are the tickets it admitted and expired.
	Admitted []QueueTicket
	Expired  []QueueTicket
	State    QueueState
}
