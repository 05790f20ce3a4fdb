package domain

import (
	"context"
	"errors"
	"slices"
	"strings"
	"time"
)

// PurchaseOutcome is the answer to a purchase attempt. Only RESERVED takes
// stock; the others are business outcomes, not errors.
type PurchaseOutcome string

// The purchase outcomes of the contract.
const (
	OutcomeReserved     PurchaseOutcome = "RESERVED"
	OutcomeSoldOut      PurchaseOutcome = "SOLD_OUT"
	OutcomeLimitReached PurchaseOutcome = "LIMIT_REACHED"
	OutcomeNotStarted   PurchaseOutcome = "NOT_STARTED"
	OutcomeEnded        PurchaseOutcome = "ENDED"
	OutcomeClosed       PurchaseOutcome = "CLOSED"
	OutcomeRateLimited  PurchaseOutcome = "RATE_LIMITED"
)

// PurchaseRequest is one press of "buy".
type PurchaseRequest struct {
	EventID        string
	Token          string
	Quantity       int
	IdempotencyKey string
}

// Validate returns an INVALID error naming the first bad field, or nil.
func (r *PurchaseRequest) Validate() error {
	if !strings.HasPrefix(r.EventID, PrefixFlashEvent) || len(r.EventID) > 64 {
		return Errorf(EINVALID, "eventId is not a flash event ID")
	}
	if r.Token == "" {
		return Errorf(EINVALID, "token is required: get one with flashPurchaseToken")
	}
	if r.Quantity < 1 || r.Quantity > MaxPerUserLimit {
		return Errorf(EINVALID, "quantity must be between 1 and %d", MaxPerUserLimit)
	}
	return ValidateIdempotencyKey(r.IdempotencyKey)
}

// PurchaseResult is the answer to a PurchaseRequest.
type PurchaseResult struct {
	Outcome PurchaseOutcome
	// Order is set when Outcome is RESERVED: PENDING until written.
	Order *Order
	// Remaining is the units left right after the attempt, when known.
	Remaining *int
	// RetryAfter is set when Outcome is RATE_LIMITED: how long the buyer
	// should wait before pressing again.
	RetryAfter time.Duration
}

// PurchaseToken is a short-lived permission to buy from one event.
type PurchaseToken struct {
	Token     string
	ExpiresAt time.Time
}

// FlashSaleService sells flash events.
type FlashSaleService interface {
	// PurchaseToken issues a token for the calling buyer and the event,
	// only while the event is LIVE. NOT_FOUND, CONFLICT (not LIVE).
	PurchaseToken(ctx context.Context, eventID string) (*PurchaseToken, error)

	// Purchase tries to reserve units for the calling buyer. It never
	// oversells, never gives a buyer more than the event's perUserLimit
	// (LIMIT_REACHED), nor more unpaid flash orders across events than the
	// service's cap, when it has one (LIMIT_REACHED too), and answers a repeated idempotency key with the first answer: even
	// after the event sold out or ended, and even when the token has
	// expired (ErrPurchaseTokenExpired: issued for this buyer and event),
	// though an expired token never reserves anything new.
	// INVALID (bad input or token, an expired token for a key not
	// answered), NOT_FOUND (unknown event), UNAVAILABLE (the event is
	// being rebuilt, or too many purchases are under way: retry, after the
	// error's RetryAfter when it has one).
	Purchase(ctx context.Context, r PurchaseRequest) (*PurchaseResult, error)
}

// PurchaseShedder is a FlashSaleService that can answer some presses from
// what it holds in memory, such as a sold-out mark: load shedding. A
// wrapper that puts work of its own in front of Purchase (a rate limit)
// asks it first, so that a press the service answers for next to nothing
// costs nothing more.
type PurchaseShedder interface {
	// ShedPurchase returns the answer Purchase would give r now, when it
	// can give it from memory and at most one read of the answer kept
	// under r's key in the hot stock, or nil: then only Purchase answers
	// r. It never reserves.
	ShedPurchase(ctx context.Context, r PurchaseRequest) *PurchaseResult
}

// Reservation is a purchase that the hot stock accepted: the outbox record
// written atomically with the stock it took, and the message of the order
// stream. Its OrderID is the ID of the order it becomes.
type Reservation struct {
	OrderID        string    `json:"orderId"`
	BuyerID        string    `json:"buyerId"`
	EventID        string    `json:"eventId"`
	ProductID      string    `json:"productId"`
	SellerID       string    `json:"sellerId"`
	Quantity       int       `json:"quantity"`
	UnitPriceCents int64     `json:"unitPriceCents"`
	CreatedAt      time.Time `json:"createdAt"`
	RequestID      string    `json:"requestId,omitempty"`
	// IdempotencyKey is the buyer's key the reservation answered, and
	// RemainingAfter the stock left that the answer reported: kept with
	// the order, so that a hot stock rebuilt after losing its data still
	// answers a retry of the key with this reservation (see
	// HotEvent.Answers).
	IdempotencyKey string `json:"idempotencyKey,omitempty"`
	RemainingAfter int    `json:"remainingAfter,omitempty"`
}

// Order returns the order r becomes, with status and expiry.
func (r *Reservation) Order(status OrderStatus, expiresAt *time.Time) *Order {
	return &Order{
		ID:           r.OrderID,
		BuyerID:      r.BuyerID,
		FlashEventID: r.EventID,
		Items:        []OrderItem{{ProductID: r.ProductID, Quantity: r.Quantity, UnitPriceCents: r.UnitPriceCents}},
		TotalCents:   int64(r.Quantity) * r.UnitPriceCents,
		Status:       status,
		CreatedAt:    r.CreatedAt,
		ExpiresAt:    expiresAt,
	}
}

// HotEvent is what the hot path knows of a flash event: everything the
// reservation checks, loaded into the hot stock ahead of the sale.
type HotEvent struct {
	ID           string
	ProductID    string
	SellerID     string
	PriceCents   int64
	Stock        int
	PerUserLimit int
	StartsAt     time.Time
	EndsAt       time.Time
	Closed       bool
	// WaitingRoom reports whether tokens come only through the queue.
	WaitingRoom bool
	// Remaining is Stock less the units in live orders.
	Remaining int
	// Held is the units in live orders of each buyer.
	Held map[string]int
	// Unpaid are the live orders whose units may still come back (by
	// cancel or expiry): the hot stock's ledger of what it can release.
	Unpaid []HeldOrder
	// LoadedBefore reports whether the event was loaded into the hot
	// stock before: loading it again is a rebuild.
	LoadedBefore bool
	// Answers are the RESERVED answers given so far, by idempotency key,
	// for a rebuild to answer retries of those keys as the first time.
	Answers []Reservation
}

// StatusAt is the event's status at now with remaining units left in the
// hot stock: the rule of FlashEvent.StatusAt, with Closed standing for a
// close at or before now.
func (e *HotEvent) StatusAt(now time.Time, remaining int) FlashEventStatus {
	var closedAt *time.Time
	if e.Closed {
		closedAt = &now
	}
	fe := FlashEvent{StartsAt: e.StartsAt, EndsAt: e.EndsAt, ClosedAt: closedAt}
	return fe.StatusAt(now, remaining)
}

// HeldOrder is an order's claim on an event's stock.
type HeldOrder struct {
	OrderID string
	BuyerID string
	Units   int
}

// HotTally is the hot stock's side of an event's stock conservation.
type HotTally struct {
	Remaining int
	// Outbox holds the units of each reservation whose order may not be
	// written yet, by order ID.
	Outbox map[string]int
}

// HotSnapshot is the state of a loaded event in the hot stock.
type HotSnapshot struct {
	Remaining int
	Closed    bool
}

// ReserveResult is what HotStock.Reserve answers.
type ReserveResult struct {
	Outcome   PurchaseOutcome
	Remaining int
	// Reservation is set for RESERVED, and is the first one when the
	// idempotency key was seen before.
	Reservation *Reservation
	// Replay reports whether the idempotency key was seen before: the
	// answer is then the first one, as it was (its Remaining too), and
	// says nothing of the stock now.
	Replay bool
}

// HotSaleView is what the hot stock says, in one atomic read, of whether
// an event can sell anything now, and of who may hold a kept RESERVED
// answer for it (see HotStock.SaleView).
type HotSaleView struct {
	Remaining int
	Closed    bool
	EndsAt    time.Time
	// Buyers are the buyers ever answered RESERVED for the event (a
	// reservation or a kept answer a load restored): every buyer with a
	// key whose first answer took stock is among them. Nil when there are
	// none, or more than the reader asked for. A list shorter than
	// BuyerCount (read from a lagging replica, or one that grew past the
	// bound) is incomplete: a reader must then take every buyer as listed.
	Buyers []string
	// BuyerCount is how many buyers were ever answered RESERVED.
	BuyerCount int
}

// ErrNotLoaded is returned by HotStock when an event is not in the hot
// stock: it must be loaded (service.FlashSale does) before it can sell.
var ErrNotLoaded = errors.New("flash event not loaded in the hot stock")

// HotStock holds the live state of flash events (Redis).
type HotStock interface {
	// Reserve atomically checks the event's status and window, answers an
	// idempotency key (of this buyer and event) seen before with its first
	// answer, checks the buyer's units against the limit, takes the stock,
	// records the buyer's units and writes r as an outbox record. r's
	// OrderID, BuyerID, EventID, Quantity and CreatedAt are set by the
	// caller; the rest comes from the loaded event. ErrNotLoaded when the
	// event is not loaded.
	Reserve(ctx context.Context, r Reservation, idempotencyKey string, now time.Time) (ReserveResult, error)

	// Answer returns the first answer Reserve gave (or a Load restored)
	// for the buyer's idempotency key of the event, in one read that
	// changes nothing. nil when no answer is remembered and the event is
	// loaded: a loaded hot stock remembers every answer still within its
	// TTL. ErrNotLoaded when none is remembered and the event is not
	// loaded (the system of record may keep it: HotEventSource.KeptAnswer).
	// INVALID for a missing ID or a bad key.
	Answer(ctx context.Context, eventID, buyerID, idempotencyKey string) (*ReserveResult, error)

	// Load puts ev in the hot stock unless it is there already; it never
	// overwrites the stock of a loaded event. It reports whether it loaded.
	Load(ctx context.Context, ev HotEvent) (bool, error)

	// IsLoaded reports whether the event is in the hot stock.
	IsLoaded(ctx context.Context, eventID string) (bool, error)

	// Snapshot returns what the hot stock holds of an event, in one read:
	// its stock left and whether it is closed. ErrNotLoaded when the
	// event is not loaded.
	Snapshot(ctx context.Context, eventID string) (HotSnapshot, error)

	// Close marks a loaded event closed; a no-op for others.
	Close(ctx context.Context, eventID string) error

	// Release gives back the units of a cancelled or expired order:
	// exactly once per order ID, whatever the number of calls. It
	// reports whether this call released them.
	Release(ctx context.Context, o *Order) (bool, error)

	// Remaining returns the units left of the loaded events among ids.
	Remaining(ctx context.Context, eventIDs []string) (map[string]int, error)

	// Reservations returns the outbox records of the event created before
	// the given time: reservations whose orders are not written yet,
	// oldest first (SortOldestFirst).
	Reservations(ctx context.Context, eventID string, before time.Time) ([]Reservation, error)

	// FindReservation returns the reservation of an order not written yet,
	// or NOT_FOUND.
	FindReservation(ctx context.Context, orderID string) (*Reservation, error)

	// Forget deletes the outbox records of orders that are written.
	Forget(ctx context.Context, rs []Reservation) error

	// SaleView returns the event's stock left, whether it is closed and
	// its end, read atomically, and the buyers ever answered RESERVED for
	// it (listed only when there are at most maxBuyers). The list may be
	// read after the rest, never before: it holds at least every buyer
	// answered RESERVED up to the moment the stock was read. ErrNotLoaded
	// when the event is not loaded.
	SaleView(ctx context.Context, eventID string, maxBuyers int) (HotSaleView, error)

	// Tally returns, in one atomic read, the event's stock left and the
	// units of each outbox record: what the hot stock says of stock
	// conservation. ErrNotLoaded when the event is not loaded.
	Tally(ctx context.Context, eventID string) (HotTally, error)
}

// OrderPublisher sends reservations to the order stream, where the order
// writer turns them into orders. The message ID is the order ID, so that
// publishing one twice is harmless.
type OrderPublisher interface {
	// PublishReservation sends r without waiting for PostgreSQL. An error
	// means the stream did not take it; the outbox still has it.
	PublishReservation(ctx context.Context, r Reservation) error
}

// UnpaidOrders is every buyer's list of their flash purchases that may
// still be unpaid, across events (Redis): what caps the stock one account
// can hold unpaid (FlashSaleService.Purchase answers LIMIT_REACHED past
// the cap). A purchase is listed by its PurchaseID (the event and the
// idempotency key: every press of one key is one purchase, however many
// are in flight) from just before it reaches the hot stock; from just
// before its order is written, by its order ID instead (Written), until the
// order is paid, cancelled, expired or refused (Drop), or until the end of
// the window it was listed for, whichever comes first.
//
// The list never misses a purchase Admit let through while it may hold
// stock within its window, so the cap holds. It may list one that no
// longer does (a Drop that failed, a crash in between): that over-count
// heals by itself when the window ends.
type UnpaidOrders interface {
	// Admit lists id among buyerID's unpaid purchases until windowEnd,
	// unless the buyer already has max listed whose window ends after
	// now; it reports whether id is listed (true for an id listed
	// already, whose window it leaves as it was). Entries whose window
	// ended at or before now are dropped first. INVALID for a missing ID,
	// max below 1, or windowEnd not after now.
	Admit(ctx context.Context, buyerID, id string, windowEnd, now time.Time, max int) (bool, error)

	// Written lists the order of each reservation about to be written in
	// place of its purchase (PurchaseID of its event and IdempotencyKey, of its
	// buyer), with the purchase's window, each in one step (the count
	// does not change); a no-op for a purchase not listed (taken off
	// already, or past its window), so that writing an order again lists
	// nothing. Reservations without a key are skipped.
	Written(ctx context.Context, rs []Reservation) error

	// Replayed takes the purchase id off the list when orderID, the order
	// its first answer reserved, is listed: id then stands for nothing
	// (a retry of a key whose order is written). Otherwise id stays: it
	// may stand for that order, not written yet. INVALID for a missing ID.
	Replayed(ctx context.Context, buyerID, id, orderID string) error

	// Drop takes id (a purchase or an order) off buyerID's list; a no-op
	// for an id not listed. INVALID for a missing ID.
	Drop(ctx context.Context, buyerID, id string) error
}

// PurchaseID is how UnpaidOrders lists a purchase before its order is
// written: by its event and its idempotency key, which every press of the
// purchase shares.
func PurchaseID(eventID, idempotencyKey string) string {
	return "key:" + eventID + ":" + idempotencyKey
}

// PurchaseTokens issues and checks purchase tokens.
type PurchaseTokens interface {
	// Issue returns a token binding buyerID to eventID until expiry.
	Issue(buyerID, eventID string) (PurchaseToken, error)

	// Verify returns an INVALID error unless token was issued for buyerID
	// and eventID and has not expired: ErrPurchaseTokenExpired for a
	// token issued for them that has expired.
	Verify(token, buyerID, eventID string) error
}

// ErrPurchaseTokenExpired is what PurchaseTokens.Verify returns for an
// authentic token (issued for the buyer and the event) past its expiry.
// It buys nothing; it may still ask again an idempotency key already
// answered (FlashSaleService.Purchase).
var ErrPurchaseTokenExpired = &Error{Code: EINVALID, Message: "the purchase token has expired; get a new one with flashPurchaseToken"}

// HotEventSource reads, from the system of record, what the hot stock
// needs to (re)load an event.
type HotEventSource interface {
	// HotEvent returns the event with its remaining stock and the units
	// each buyer holds in live orders. NOT_FOUND for unknown IDs.
	HotEvent(ctx context.Context, eventID string) (*HotEvent, error)

	// BriefHotEvent is HotEvent without Held and Unpaid (which may list
	// every buyer): a cheap read for checks that need the window, the
	// price and whether the event is closed. NOT_FOUND for unknown IDs.
	BriefHotEvent(ctx context.Context, eventID string) (*HotEvent, error)

	// MarkLoaded records that the event is in the hot stock, so that any
	// later load is known to be a rebuild.
	MarkLoaded(ctx context.Context, eventID string) error

	// KeptAnswer returns the reservation that answered the buyer's
	// idempotency key of the event RESERVED, as HotEvent.Answers keeps it
	// (written, and within the TTL of kept answers), in one read by key.
	// NOT_FOUND when none is kept.
	KeptAnswer(ctx context.Context, eventID, buyerID, idempotencyKey string) (*Reservation, error)
}

// SortOldestFirst sorts reservations by CreatedAt, oldest first, ties by
// order ID: the order in which HotStock.Reservations lists them.
func SortOldestFirst(rs []Reservation) {
	slices.SortFunc(rs, func(a, b Reservation) int {
		if c := a.CreatedAt.Compare(b.CreatedAt); c != 0 {
			return c
		}
		return strings.Compare(a.OrderID, b.OrderID)
	})
}

// ValidateUnpaidAdmission is the rule every UnpaidOrders.Admit checks
// first: INVALID for a missing buyer or ID, a cap below 1, or a payment
// window that does not end after now (compared in milliseconds, the
// precision the lists keep).
func ValidateUnpaidAdmission(buyerID, id string, windowEnd, now time.Time, max int) error {
	switch {
	case buyerID == "" || id == "":
		return Errorf(EINVALID, "admit an unpaid order: buyerId and id are required")
	case max < 1:
		return Errorf(EINVALID, "admit an unpaid order: the cap must be at least 1, not %d", max)
	case windowEnd.UnixMilli() <= now.UnixMilli():
		return Errorf(EINVALID, "admit an unpaid order: its payment window must end after now")
	}
	return nil
}
