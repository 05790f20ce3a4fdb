package redis

import (
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"flashlive/domain"
)

// Lua scripts of the hot stock; each file's header states its keys,
// arguments, answers and the invariant it keeps.
var (
	//go:embed reserve.lua
	reserveLua string
	//go:embed load.lua
	loadLua string
	//go:embed release.lua
	releaseLua string
	//go:embed close.lua
	closeLua string
	//go:embed answer.lua
	answerLua string

	reserveScript = goredis.NewScript(reserveLua)
	answerScript  = goredis.NewScript(answerLua)
	loadScript    = goredis.NewScript(loadLua)
	releaseScript = goredis.NewScript(releaseLua)
	closeScript   = goredis.NewScript(closeLua)
)

// DefaultIdempotencyTTL is how long HotStock remembers the first answer to
// an idempotency key when NewHotStock is given no TTL.
const DefaultIdempotencyTTL = 24 * time.Hour

// RefusalTTL bounds how long the answer to a purchase that took nothing
// (SOLD_OUT, LIMIT_REACHED, ...) is remembered under its idempotency key.
const RefusalTTL = 10 * time.Minute

// createdAtLayout is RFC 3339 with milliseconds, the precision a
// reservation's CreatedAt keeps.
const createdAtLayout = "2006-01-02T15:04:05.000Z07:00"

// HotStock is the hot stock of flash events in Redis. Each event's keys
// share the hash tag {ev:<eventID>}, so every script touches one Redis
// Cluster slot:
//
//	<prefix>{ev:ID}:meta                  hash: product, seller, price, stock, remaining,
//	                                      limit, starts_ms, ends_ms, closed
//	<prefix>{ev:ID}:held                  hash: buyer ID -> units in live orders
//	<prefix>{ev:ID}:orders                hash: order ID -> "<units>:<buyer ID>" for the
//	                                      orders reserved here and not released
//	<prefix>{ev:ID}:outbox                hash: order ID -> reservation JSON, until Forget
//	<prefix>{ev:ID}:idem:<buyer>:<key>    string: the first answer to the key (TTL)
//	<prefix>{ev:ID}:closed                string: "1" once closed, loaded or not
//	<prefix>{ev:ID}:buyers                set: the buyers ever answered RESERVED
//
// At every step stock = remaining + sum(held), remaining >= 0 and no
// buyer holds more than the limit. A HotStock is safe for concurrent use.
type HotStock struct {
	// Now is the clock that reservations' CreatedAt come from, by which
	// Load measures what is left of a kept answer's TTL (time.Now unless
	// set before use).
	Now func() time.Time

	c       *Client
	idemTTL time.Duration
	reserve *scriptBatcher
	answer  *scriptBatcher // answer.lua, for Answer
}

var _ domain.HotStock = (*HotStock)(nil)

// NewHotStock returns the hot stock kept in c. The first answer to an
// idempotency key is remembered for idemTTL (DefaultIdempotencyTTL when
// idemTTL <= 0). Reservations that arrive together go to Redis in one
// pipeline, sent by a goroutine that Stop stops.
func NewHotStock(c *Client, idemTTL time.Duration) *HotStock {
	if idemTTL <= 0 {
		idemTTL = DefaultIdempotencyTTL
	}
	b := newScriptBatcher(c.RDB, reserveScript)
	if c.replicated() {
		b.replicated, b.what = c, "purchase"
	}
	return &HotStock{Now: time.Now, c: c, idemTTL: idemTTL, reserve: b, answer: newScriptBatcher(c.RDB, answerScript)}
}

// ErrStopped is the error that Reserve wraps once its HotStock is stopped.
var ErrStopped = errors.New("hot stock is stopped")

// Stop stops sending reservations and reads of kept answers; Reserve and
// Answer fail afterwards with an error that wraps ErrStopped. It does not close the client.
func (s *HotStock) Stop() {
	s.reserve.close()
	s.answer.close()
}

func (s *HotStock) eventKey(eventID, name string) string {
	return s.c.Prefix + "{ev:" + eventID + "}:" + name
}

func (s *HotStock) metaKey(eventID string) string   { return s.eventKey(eventID, "meta") }
func (s *HotStock) heldKey(eventID string) string   { return s.eventKey(eventID, "held") }
func (s *HotStock) ordersKey(eventID string) string { return s.eventKey(eventID, "orders") }
func (s *HotStock) outboxKey(eventID string) string { return s.eventKey(eventID, "outbox") }
func (s *HotStock) closedKey(eventID string) string { return s.eventKey(eventID, "closed") }
func (s *HotStock) buyersKey(eventID string) string { return s.eventKey(eventID, "buyers") }

func (s *HotStock) idemKey(eventID, buyerID, key string) string {
	return s.eventKey(eventID, "idem:"+buyerID+":"+key)
}

// reserveAnswer is the JSON answer of reserve.lua, also stored under the
// idempotency key.
type reserveAnswer struct {
	Outcome     domain.PurchaseOutcome `json:"outcome"`
	Remaining   int                    `json:"remaining"`
	Reservation *domain.Reservation    `json:"reservation"`
}

// outcomeNotLoaded is reserve.lua's answer when the event is not loaded.
const outcomeNotLoaded domain.PurchaseOutcome = "NOT_LOADED"

// Reserve implements domain.HotStock. In one atomic step it answers a key
// seen before (for this buyer and event) with its first answer, else
// checks closed, window (StartsAt <= now < EndsAt), stock and the buyer's
// limit, in that order, and on RESERVED takes the units and writes the
// outbox record. Every answer is remembered under the key for the TTL, so
// a retry gets the first answer even after the stock or the clock moved.
// The Reservation of a RESERVED answer is the stored one: ProductID,
// SellerID and UnitPriceCents from the event, CreatedAt in UTC to the
// millisecond, and, for a repeated key, the first call's OrderID.
// ErrNotLoaded when the event is not loaded (that answer is not
// remembered); INVALID for a missing ID, a quantity below 1 or a bad key;
// CONFLICT when r.OrderID is already reserved. With Client.MinReplicas
// above 0, a RESERVED answer (first or replayed) is given only once that
// many replicas of the event's master hold it; else UNAVAILABLE, wrapping
// ErrNotReplicated: the reservation stands on the master, and a retry
// with the same key gets it once the replicas do.
func (s *HotStock) Reserve(ctx context.Context, r domain.Reservation, idempotencyKey string, now time.Time) (domain.ReserveResult, error) {
	switch {
	case r.EventID == "":
		return domain.ReserveResult{}, domain.Errorf(domain.EINVALID, "reserve: eventId is required")
	case r.BuyerID == "":
		return domain.ReserveResult{}, domain.Errorf(domain.EINVALID, "reserve: buyerId is required")
	case r.OrderID == "":
		return domain.ReserveResult{}, domain.Errorf(domain.EINVALID, "reserve: orderId is required")
	case r.Quantity < 1:
		return domain.ReserveResult{}, domain.Errorf(domain.EINVALID, "reserve: quantity must be at least 1")
	}
	if err := domain.ValidateIdempotencyKey(idempotencyKey); err != nil {
		return domain.ReserveResult{}, err
	}
	keys := []string{
		s.metaKey(r.EventID),
		s.heldKey(r.EventID),
		s.outboxKey(r.EventID),
		s.ordersKey(r.EventID),
		s.idemKey(r.EventID, r.BuyerID, idempotencyKey),
		s.buyersKey(r.EventID),
	}
	sent := s.reserve.call(ctx, keys,
		r.BuyerID,
		r.Quantity,
		now.UnixMilli(),
		r.OrderID,
		r.EventID,
		r.CreatedAt.UTC().Format(createdAtLayout),
		r.RequestID,
		s.idemTTL.Milliseconds(),
		min(s.idemTTL, RefusalTTL).Milliseconds(),
		idempotencyKey,
	)
	reply, err := sent.val, sent.err
	vals, _ := reply.([]any)
	if err == nil && vals == nil {
		err = fmt.Errorf("unexpected reply %T", reply)
	}
	if err != nil {
		if goredis.HasErrorPrefix(err, "DUPORDER") {
			return domain.ReserveResult{}, domain.Errorf(domain.ECONFLICT, "order %s is already reserved", r.OrderID)
		}
		return domain.ReserveResult{}, fmt.Errorf("reserve stock: %w", err)
	}
	a, err := decodeReserveAnswer(vals)
	if err != nil {
		return domain.ReserveResult{}, fmt.Errorf("reserve stock: %w", err)
	}
	if a.Outcome == outcomeNotLoaded {
		return domain.ReserveResult{}, domain.ErrNotLoaded
	}
	dup, _ := vals[0].(int64)
	res := domain.ReserveResult{Outcome: a.Outcome, Remaining: a.Remaining, Reservation: a.Reservation, Replay: dup == 1}
	if a.Outcome == domain.OutcomeReserved && a.Reservation == nil {
		return domain.ReserveResult{}, fmt.Errorf("reserve stock: RESERVED without a reservation")
	}
	if a.Outcome == domain.OutcomeReserved && sent.unsynced != nil {
		// Reserved on the master but not yet on its replicas: not an
		// answer to give (a failover now would lose it).
		return domain.ReserveResult{}, fmt.Errorf("reserve order %s: %w", a.Reservation.OrderID, sent.unsynced)
	}
	return res, nil
}

// Answer implements domain.HotStock: the answer kept under the key and
// whether the event is loaded, read together by answer.lua (one slot),
// so that a Load restoring the key cannot fall between them; reads that
// arrive together share one pipeline. With
// Client.MinReplicas above 0 a kept RESERVED answer is given only once the
// replicas hold it, as Reserve gives it (UNAVAILABLE otherwise).
func (s *HotStock) Answer(ctx context.Context, eventID, buyerID, idempotencyKey string) (*domain.ReserveResult, error) {
	if eventID == "" || buyerID == "" {
		return nil, domain.Errorf(domain.EINVALID, "answer: eventId and buyerId are required")
	}
	if err := domain.ValidateIdempotencyKey(idempotencyKey); err != nil {
		return nil, err
	}
	reply, err := s.answer.do(ctx, []string{s.idemKey(eventID, buyerID, idempotencyKey), s.metaKey(eventID)})
	if err != nil {
		return nil, fmt.Errorf("read kept answer: %w", err)
	}
	vals, ok := reply.([]any)
	if !ok || len(vals) != 2 {
		return nil, fmt.Errorf("read kept answer: answer.lua answered %v", reply)
	}
	if kept, _ := vals[0].(int64); kept == 0 {
		if loaded, _ := vals[1].(int64); loaded == 1 {
			return nil, nil
		}
		return nil, domain.ErrNotLoaded
	}
	raw, ok := vals[1].(string)
	if !ok {
		return nil, fmt.Errorf("read kept answer: answer.lua answered %T, want a JSON string", vals[1])
	}
	a, err := decodeReserveAnswer([]any{int64(1), raw})
	if err != nil {
		return nil, fmt.Errorf("read kept answer: %w", err)
	}
	if a.Outcome == domain.OutcomeReserved && a.Reservation == nil {
		return nil, fmt.Errorf("read kept answer: RESERVED without a reservation")
	}
	if a.Outcome == domain.OutcomeReserved && s.c.replicated() {
		// The first call may have been answered UNAVAILABLE for want of
		// replicas: the kept answer is shown once they hold it.
		key := s.idemKey(eventID, buyerID, idempotencyKey)
		err := s.c.confirm(ctx, key, "purchase", func(p goredis.Pipeliner) func() (bool, error) {
			n := p.Exists(ctx, key)
			return func() (bool, error) { v, err := n.Result(); return v == 1, err }
		})
		if err != nil {
			return nil, fmt.Errorf("read kept answer of order %s: %w", a.Reservation.OrderID, err)
		}
	}
	return &domain.ReserveResult{Outcome: a.Outcome, Remaining: a.Remaining, Reservation: a.Reservation}, nil
}

func decodeReserveAnswer(vals []any) (reserveAnswer, error) {
	var a reserveAnswer
	if len(vals) != 2 {
		return a, fmt.Errorf("reserve.lua answered %d values, want 2", len(vals))
	}
	raw, ok := vals[1].(string)
	if !ok {
		return a, fmt.Errorf("reserve.lua answered %T, want a JSON string", vals[1])
	}
	if err := json.Unmarshal([]byte(raw), &a); err != nil {
		return a, fmt.Errorf("decode reserve answer %q: %w", raw, err)
	}
	return a, nil
}

// Load implements domain.HotStock. It puts ev in the hot stock unless the
// event is there already, and reports whether it did. A fresh load also
// remembers ev.Answers under their idempotency keys (where a key is not
// remembered already), each until idemTTL after its reservation. A loaded event keeps
// its own remaining stock and held units whatever ev says, except that
// ev.Closed closes it (closing is irreversible). ev must be consistent:
// Remaining + sum(Held) == Stock, with no negative numbers, or Load
// returns an error and writes nothing.
func (s *HotStock) Load(ctx context.Context, ev domain.HotEvent) (bool, error) {
	if ev.ID == "" {
		return false, domain.Errorf(domain.EINVALID, "load: event ID is required")
	}
	held := 0
	args := []any{
		ev.ProductID, ev.SellerID, ev.PriceCents, ev.Stock, ev.Remaining,
		ev.PerUserLimit, ev.StartsAt.UnixMilli(), ev.EndsAt.UnixMilli(), boolArg(ev.Closed),
	}
	buyers := make([]string, 0, len(ev.Held))
	for b, n := range ev.Held {
		if n != 0 {
			buyers = append(buyers, b)
		}
	}
	sort.Strings(buyers)
	args = append(args, len(buyers))
	for _, b := range buyers {
		n := ev.Held[b]
		if n < 0 {
			return false, fmt.Errorf("load event %s: buyer %s holds %d units", ev.ID, b, n)
		}
		if n == 0 {
			continue
		}
		held += n
		args = append(args, b, n)
	}
	if ev.Stock < 0 || ev.Remaining < 0 || ev.Remaining+held != ev.Stock {
		return false, fmt.Errorf("load event %s: remaining %d + held %d != stock %d", ev.ID, ev.Remaining, held, ev.Stock)
	}
	args = append(args, len(ev.Unpaid))
	for _, o := range ev.Unpaid {
		if o.Units < 1 || o.Units > ev.Held[o.BuyerID] {
			return false, fmt.Errorf("load event %s: unpaid order %s of %d units is not held by %s", ev.ID, o.OrderID, o.Units, o.BuyerID)
		}
		args = append(args, o.OrderID, fmt.Sprintf("%d:%s", o.Units, o.BuyerID))
	}
	keys := []string{s.metaKey(ev.ID), s.heldKey(ev.ID), s.ordersKey(ev.ID), s.closedKey(ev.ID), s.buyersKey(ev.ID)}
	// The RESERVED answers given before, for the keys still remembered
	// (idemTTL from the reservation): a rebuild answers their retries as
	// the first time.
	now := s.Now()
	for _, r := range ev.Answers {
		ttl := r.CreatedAt.Add(s.idemTTL).Sub(now)
		if ttl < time.Millisecond {
			continue
		}
		if r.IdempotencyKey == "" || r.BuyerID == "" || r.OrderID == "" || r.EventID != ev.ID {
			return false, fmt.Errorf("load event %s: kept answer for order %q lacks its key, buyer or event", ev.ID, r.OrderID)
		}
		a, err := json.Marshal(reserveAnswer{Outcome: domain.OutcomeReserved, Remaining: r.RemainingAfter, Reservation: &r})
		if err != nil {
			return false, fmt.Errorf("load event %s: encode kept answer: %w", ev.ID, err)
		}
		keys = append(keys, s.idemKey(ev.ID, r.BuyerID, r.IdempotencyKey))
		args = append(args, string(a), ttl.Milliseconds(), r.BuyerID)
	}
	n, err := loadScript.Run(ctx, s.c.RDB, keys, args...).Int()
	if err != nil {
		return false, fmt.Errorf("load event %s: %w", ev.ID, err)
	}
	return n == 1, nil
}

func boolArg(b bool) string {
	if b {
		return "1"
	}
	return "0"
}

// IsLoaded implements domain.HotStock: it reports whether the event is in
// the hot stock.
func (s *HotStock) IsLoaded(ctx context.Context, eventID string) (bool, error) {
	n, err := s.c.RDB.Exists(ctx, s.metaKey(eventID)).Result()
	if err != nil {
		return false, fmt.Errorf("is event %s loaded: %w", eventID, err)
	}
	return n == 1, nil
}

// Close implements domain.HotStock: a loaded event is closed for good and
// every later Reserve answers CLOSED; an event not loaded is left alone
// (Load carries Closed from the source).
func (s *HotStock) Close(ctx context.Context, eventID string) error {
	if err := closeScript.Run(ctx, s.c.RDB, []string{s.metaKey(eventID), s.closedKey(eventID)}).Err(); err != nil {
		return fmt.Errorf("close event %s: %w", eventID, err)
	}
	return nil
}

// Release implements domain.HotStock. It gives back the units of order o
// that Reserve took in this hot stock, exactly once whatever the number of
// calls, and reports whether this call did. The units and buyer are those
// Reserve recorded for o.ID. It gives back nothing (false) for an order of
// no flash event, an event not loaded (the next Load counts from the
// source, where the order is no longer live), or an order this hot stock
// did not reserve, such as one counted by a Load from the source after the
// hot stock was lost: that snapshot may already exclude the order, and
// giving its units back twice could oversell, so they stay held until
// reconciliation repairs the drift.
func (s *HotStock) Release(ctx context.Context, o *domain.Order) (bool, error) {
	if o == nil || o.FlashEventID == "" || o.ID == "" {
		return false, nil
	}
	keys := []string{s.metaKey(o.FlashEventID), s.heldKey(o.FlashEventID), s.ordersKey(o.FlashEventID)}
	n, err := releaseScript.Run(ctx, s.c.RDB, keys, o.ID).Int()
	if err != nil {
		return false, fmt.Errorf("release order %s: %w", o.ID, err)
	}
	return n == 1, nil
}

// Tally implements domain.HotStock: remaining and the outbox read in one
// MULTI/EXEC (one slot), so that they agree.
func (s *HotStock) Tally(ctx context.Context, eventID string) (domain.HotTally, error) {
	var rem *goredis.StringCmd
	var out *goredis.MapStringStringCmd
	_, err := s.c.RDB.TxPipelined(ctx, func(p goredis.Pipeliner) error {
		rem = p.HGet(ctx, s.metaKey(eventID), "remaining")
		out = p.HGetAll(ctx, s.outboxKey(eventID))
		return nil
	})
	if errors.Is(err, goredis.Nil) {
		return domain.HotTally{}, domain.ErrNotLoaded
	} else if err != nil {
		return domain.HotTally{}, fmt.Errorf("tally %s: %w", eventID, err)
	}
	n, err := strconv.Atoi(rem.Val())
	if err != nil {
		return domain.HotTally{}, fmt.Errorf("tally %s: remaining %q: %w", eventID, rem.Val(), err)
	}
	t := domain.HotTally{Remaining: n, Outbox: make(map[string]int, len(out.Val()))}
	for id, raw := range out.Val() {
		var r domain.Reservation
		if err := json.Unmarshal([]byte(raw), &r); err != nil {
			return domain.HotTally{}, fmt.Errorf("tally %s: decode %s: %w", eventID, id, err)
		}
		t.Outbox[id] = r.Quantity
	}
	return t, nil
}

// SaleView implements domain.HotStock: the meta's remaining, closed and
// end, and the size of the buyers set, in one MULTI/EXEC (one slot); then,
// when it is small enough, the set itself. The set only grows, so read
// after the meta it holds every buyer the meta's stock counts.
func (s *HotStock) SaleView(ctx context.Context, eventID string, maxBuyers int) (domain.HotSaleView, error) {
	var meta *goredis.SliceCmd
	var count *goredis.IntCmd
	_, err := s.c.RDB.TxPipelined(ctx, func(p goredis.Pipeliner) error {
		meta = p.HMGet(ctx, s.metaKey(eventID), "remaining", "closed", "ends_ms")
		count = p.SCard(ctx, s.buyersKey(eventID))
		return nil
	})
	if err != nil {
		return domain.HotSaleView{}, fmt.Errorf("read sale view of %s: %w", eventID, err)
	}
	vals := meta.Val()
	rem, ok := vals[0].(string)
	if !ok {
		return domain.HotSaleView{}, domain.ErrNotLoaded
	}
	n, err := strconv.Atoi(rem)
	if err != nil {
		return domain.HotSaleView{}, fmt.Errorf("read sale view of %s: remaining %q: %w", eventID, rem, err)
	}
	closed, _ := vals[1].(string)
	endsRaw, _ := vals[2].(string)
	ends, err := strconv.ParseInt(endsRaw, 10, 64)
	if err != nil {
		return domain.HotSaleView{}, fmt.Errorf("read sale view of %s: ends_ms %q: %w", eventID, endsRaw, err)
	}
	v := domain.HotSaleView{Remaining: n, Closed: closed == "1", EndsAt: time.UnixMilli(ends).UTC(), BuyerCount: int(count.Val())}
	if v.BuyerCount > 0 && v.BuyerCount <= maxBuyers {
		if v.Buyers, err = s.c.RDB.SMembers(ctx, s.buyersKey(eventID)).Result(); err != nil {
			return domain.HotSaleView{}, fmt.Errorf("read sale view of %s: buyers: %w", eventID, err)
		}
		v.BuyerCount = max(v.BuyerCount, len(v.Buyers))
		if len(v.Buyers) > maxBuyers {
			v.Buyers = nil // grew past the bound meanwhile
		}
	}
	return v, nil
}

// Snapshot implements domain.HotStock with one HMGET of the event's meta.
func (s *HotStock) Snapshot(ctx context.Context, eventID string) (domain.HotSnapshot, error) {
	vals, err := s.c.RDB.HMGet(ctx, s.metaKey(eventID), "remaining", "closed").Result()
	if err != nil {
		return domain.HotSnapshot{}, fmt.Errorf("read hot event %s: %w", eventID, err)
	}
	rem, ok := vals[0].(string)
	if !ok {
		return domain.HotSnapshot{}, domain.ErrNotLoaded
	}
	n, err := strconv.Atoi(rem)
	if err != nil {
		return domain.HotSnapshot{}, fmt.Errorf("read hot event %s: remaining %q: %w", eventID, rem, err)
	}
	closed, _ := vals[1].(string)
	return domain.HotSnapshot{Remaining: n, Closed: closed == "1"}, nil
}

// Remaining implements domain.HotStock: the units left of each loaded
// event among eventIDs; events not loaded are absent from the map.
func (s *HotStock) Remaining(ctx context.Context, eventIDs []string) (map[string]int, error) {
	out := make(map[string]int, len(eventIDs))
	if len(eventIDs) == 0 {
		return out, nil
	}
	pipe := s.c.RDB.Pipeline()
	cmds := make([]*goredis.StringCmd, len(eventIDs))
	for i, id := range eventIDs {
		cmds[i] = pipe.HGet(ctx, s.metaKey(id), "remaining")
	}
	if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, goredis.Nil) {
		return nil, fmt.Errorf("read remaining stock: %w", err)
	}
	for i, cmd := range cmds {
		v, err := cmd.Result()
		if errors.Is(err, goredis.Nil) {
			continue
		} else if err != nil {
			return nil, fmt.Errorf("read remaining stock of %s: %w", eventIDs[i], err)
		}
		n, err := strconv.Atoi(v)
		if err != nil {
			return nil, fmt.Errorf("read remaining stock of %s: %q: %w", eventIDs[i], v, err)
		}
		out[eventIDs[i]] = n
	}
	return out, nil
}

// Reservations implements domain.HotStock: the event's outbox records with
// CreatedAt strictly before before, oldest first (ties by order ID).
func (s *HotStock) Reservations(ctx context.Context, eventID string, before time.Time) ([]domain.Reservation, error) {
	all, err := s.c.RDB.HGetAll(ctx, s.outboxKey(eventID)).Result()
	if err != nil {
		return nil, fmt.Errorf("read outbox of %s: %w", eventID, err)
	}
	var out []domain.Reservation
	for orderID, raw := range all {
		var r domain.Reservation
		if err := json.Unmarshal([]byte(raw), &r); err != nil {
			return nil, fmt.Errorf("decode outbox record %s of %s: %w", orderID, eventID, err)
		}
		if r.CreatedAt.Before(before) {
			out = append(out, r)
		}
	}
	domain.SortOldestFirst(out)
	return out, nil
}

// FindReservation implements domain.HotStock: the outbox record of the
// order, in the slot of the event its ID carries (domain.FlashOrderID).
// NOT_FOUND for IDs of no flash order, and once the record is forgotten
// (the order is written).
func (s *HotStock) FindReservation(ctx context.Context, orderID string) (*domain.Reservation, error) {
	eventID, ok := domain.EventOfFlashOrder(orderID)
	if !ok {
		return nil, domain.Errorf(domain.ENOTFOUND, "order not found")
	}
	raw, err := s.c.RDB.HGet(ctx, s.outboxKey(eventID), orderID).Result()
	if errors.Is(err, goredis.Nil) {
		return nil, domain.Errorf(domain.ENOTFOUND, "order not found")
	} else if err != nil {
		return nil, fmt.Errorf("find reservation %s: %w", orderID, err)
	}
	var r domain.Reservation
	if err := json.Unmarshal([]byte(raw), &r); err != nil {
		return nil, fmt.Errorf("decode reservation %s: %w", orderID, err)
	}
	return &r, nil
}

// Forget implements domain.HotStock: it deletes the outbox records and
// lookups of rs, whose orders are written. It changes no stock: the units
// stay held until Release.
func (s *HotStock) Forget(ctx context.Context, rs []domain.Reservation) error {
	if len(rs) == 0 {
		return nil
	}
	byEvent := make(map[string][]string)
	for _, r := range rs {
		byEvent[r.EventID] = append(byEvent[r.EventID], r.OrderID)
	}
	pipe := s.c.RDB.Pipeline()
	for eventID, ids := range byEvent {
		pipe.HDel(ctx, s.outboxKey(eventID), ids...)
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return fmt.Errorf("forget reservations: %w", err)
	}
	return nil
}
