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

var (
	//go:embed grab.lua
	grabLua string
	//go:embed rain_load.lua
	rainLoadLua string

	grabScript     = goredis.NewScript(grabLua)
	rainLoadScript = goredis.NewScript(rainLoadLua)
)

// RainKeep is how long a rain's keys stay in Redis after its window: long
// enough for the grab writer, reconciliation and the refund to finish.
const RainKeep = 24 * time.Hour

// Rains are the red-packet rains in Redis. Each rain's keys share the hash
// tag {rain:<rainID>}, so every script touches one Redis Cluster slot:
//
//	<prefix>{rain:ID}:meta               hash: starts_ms, ends_ms, total, packets, room, seller, expire_ms
//	<prefix>{rain:ID}:packets            list: "<index>:<cents>" of the packets nobody holds
//	<prefix>{rain:ID}:grabbed            hash: buyer ID -> grab JSON
//	<prefix>{rain:ID}:outbox             hash: buyer ID -> grab JSON, until Forget
//	<prefix>{rain:ID}:idem:<buyer>:<key> string: the first answer to a key that took nothing (TTL)
//
// At every step the packets left and the packets grabbed are the rain's
// packets, each once, and no buyer holds two. Safe for concurrent use.
type Rains struct {
	c *Client
}

// NewRains returns the rains kept in c.
func NewRains(c *Client) *Rains { return &Rains{c: c} }

func (s *Rains) key(rainID, name string) string {
	return s.c.Prefix + "{rain:" + rainID + "}:" + name
}

// Load puts the rain in Redis with the grabs already written (a rebuild
// after Redis lost it; none for a preheat), unless it is loaded already.
// It reports whether it loaded it.
func (s *Rains) Load(ctx context.Context, r *domain.RedPacketRain, grabs []*domain.RedPacketGrab) (bool, error) {
	taken := make(map[int]bool, len(grabs))
	args := []any{
		r.StartsAt.UnixMilli(), r.EndsAt.UnixMilli(), r.TotalCents, r.Packets(), r.RoomID, r.SellerID,
		r.EndsAt.Add(RainKeep).UnixMilli(), len(grabs),
	}
	for _, g := range grabs {
		if g.PacketIndex < 0 || g.PacketIndex >= r.Packets() || taken[g.PacketIndex] || r.Amounts[g.PacketIndex] != g.AmountCents {
			return false, fmt.Errorf("load rain %s: grab %s does not match a packet", r.ID, g.ID)
		}
		taken[g.PacketIndex] = true
		rec, err := json.Marshal(g)
		if err != nil {
			return false, fmt.Errorf("load rain %s: %w", r.ID, err)
		}
		args = append(args, g.BuyerID, string(rec))
	}
	for i, a := range r.Amounts {
		if !taken[i] {
			args = append(args, strconv.Itoa(i)+":"+strconv.FormatInt(a, 10))
		}
	}
	n, err := rainLoadScript.Run(ctx, s.c.RDB, []string{s.key(r.ID, "meta"), s.key(r.ID, "packets"), s.key(r.ID, "grabbed")}, args...).Int()
	if err != nil {
		return false, fmt.Errorf("load rain %s: %w", r.ID, err)
	}
	return n == 1, nil
}

// grabAnswer is grab.lua's answer.
type grabAnswer struct {
	Outcome     domain.GrabOutcome    `json:"outcome"`
	PacketsLeft int                   `json:"packetsLeft"`
	Grab        *domain.RedPacketGrab `json:"grab"`
}

// outcomeRainNotLoaded is grab.lua's answer for a rain not in Redis.
const outcomeRainNotLoaded domain.GrabOutcome = "NOT_LOADED"

// Grab takes a packet of the rain for the buyer in one atomic step (see
// grab.lua): the buyer's packet first (GRABBED again, with the first
// answer's figures, for the key that took it; ALREADY_GRABBED for
// another), then a refusal remembered for the key (for RefusalTTL), then
// the window (StartsAt <= now < EndsAt), then the packets. A packet taken
// is written to the outbox in the same step. It returns the answer and,
// for GRABBED and ALREADY_GRABBED, the buyer's grab. domain.ErrNotLoaded
// when the rain is not in Redis; INVALID for a bad key. With
// Client.MinReplicas above 0 an answer that shows the buyer's packet
// (GRABBED, ALREADY_GRABBED) is given only once that many replicas of the
// rain's master hold it; else UNAVAILABLE, wrapping ErrNotReplicated (the
// packet stays the buyer's: a retry with the same key gets it).
func (s *Rains) Grab(ctx context.Context, rainID, buyerID, idempotencyKey, grabID string, now time.Time) (domain.GrabResult, *domain.RedPacketGrab, error) {
	if err := domain.ValidateIdempotencyKey(idempotencyKey); err != nil {
		return domain.GrabResult{}, nil, err
	}
	keys := []string{
		s.key(rainID, "meta"), s.key(rainID, "packets"), s.key(rainID, "grabbed"), s.key(rainID, "outbox"),
		s.key(rainID, "idem:"+buyerID+":"+idempotencyKey),
	}
	args := []any{buyerID, idempotencyKey, now.UnixMilli(), grabID, now.UTC().Format(createdAtLayout), RefusalTTL.Milliseconds(), rainID}
	var vals []any
	var err, unsynced error
	if s.c.replicated() {
		r := s.c.evalReplicated(ctx, grabScript, []*scriptCall{{keys: keys, args: args}}, "red packet")[0]
		if err, unsynced = r.err, r.unsynced; err == nil {
			vals, _ = r.val.([]any)
		}
	} else {
		vals, err = grabScript.Run(ctx, s.c.RDB, keys, args...).Slice()
	}
	if err == nil && len(vals) != 2 {
		err = fmt.Errorf("unexpected reply of %d values", len(vals))
	}
	if err != nil {
		return domain.GrabResult{}, nil, fmt.Errorf("grab red packet: %w", err)
	}
	raw, _ := vals[1].(string)
	var a grabAnswer
	if err := json.Unmarshal([]byte(raw), &a); err != nil {
		return domain.GrabResult{}, nil, fmt.Errorf("grab red packet: decode %q: %w", raw, err)
	}
	if a.Outcome == outcomeRainNotLoaded {
		return domain.GrabResult{}, nil, domain.ErrNotLoaded
	}
	dup, _ := vals[0].(int64)
	res := domain.GrabResult{Outcome: a.Outcome, PacketsLeft: a.PacketsLeft, Replay: dup == 1}
	if a.Grab != nil {
		res.AmountCents = a.Grab.AmountCents
	} else if a.Outcome == domain.GrabGrabbed || a.Outcome == domain.GrabAlreadyGrabbed {
		return domain.GrabResult{}, nil, fmt.Errorf("grab red packet: %s without a grab", a.Outcome)
	}
	if a.Grab != nil && unsynced != nil {
		// Taken on the master but not yet on its replicas.
		return domain.GrabResult{}, nil, fmt.Errorf("grab %s: %w", a.Grab.ID, unsynced)
	}
	return res, a.Grab, nil
}

// Left returns the packets nobody holds and reports whether the rain is
// loaded.
func (s *Rains) Left(ctx context.Context, rainID string) (int, bool, error) {
	var exists *goredis.IntCmd
	var left *goredis.IntCmd
	_, err := s.c.RDB.TxPipelined(ctx, func(p goredis.Pipeliner) error {
		exists = p.Exists(ctx, s.key(rainID, "meta"))
		left = p.LLen(ctx, s.key(rainID, "packets"))
		return nil
	})
	if err != nil {
		return 0, false, fmt.Errorf("packets left of rain %s: %w", rainID, err)
	}
	return int(left.Val()), exists.Val() == 1, nil
}

// Taken returns how many packets of the rain were grabbed in Redis and
// the grabs not yet forgotten (not known written), and reports whether
// the rain is loaded; all read in one step.
func (s *Rains) Taken(ctx context.Context, rainID string) (int, []domain.RedPacketGrab, bool, error) {
	var exists, n *goredis.IntCmd
	var out *goredis.MapStringStringCmd
	_, err := s.c.RDB.TxPipelined(ctx, func(p goredis.Pipeliner) error {
		exists = p.Exists(ctx, s.key(rainID, "meta"))
		n = p.HLen(ctx, s.key(rainID, "grabbed"))
		out = p.HGetAll(ctx, s.key(rainID, "outbox"))
		return nil
	})
	if err != nil {
		return 0, nil, false, fmt.Errorf("grabs of rain %s: %w", rainID, err)
	}
	gs := make([]domain.RedPacketGrab, 0, len(out.Val()))
	for buyer, raw := range out.Val() {
		var g domain.RedPacketGrab
		if err := json.Unmarshal([]byte(raw), &g); err != nil {
			return 0, nil, false, fmt.Errorf("decode outbox grab of %s in rain %s: %w", buyer, rainID, err)
		}
		gs = append(gs, g)
	}
	sort.Slice(gs, func(i, j int) bool { return gs[i].ID < gs[j].ID })
	return int(n.Val()), gs, exists.Val() == 1, nil
}

// Forget deletes the outbox records of grabs written to PostgreSQL.
func (s *Rains) Forget(ctx context.Context, gs []domain.RedPacketGrab) error {
	if len(gs) == 0 {
		return nil
	}
	byRain := map[string][]string{}
	for _, g := range gs {
		byRain[g.RainID] = append(byRain[g.RainID], g.BuyerID)
	}
	_, err := s.c.RDB.Pipelined(ctx, func(p goredis.Pipeliner) error {
		for rain, buyers := range byRain {
			p.HDel(ctx, s.key(rain, "outbox"), buyers...)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("forget written grabs: %w", err)
	}
	return nil
}

// Held returns the buyer's grab of the rain, or nil when the buyer holds
// no packet of it (or the rain is not loaded). With Client.MinReplicas
// above 0 a grab is returned only once the replicas hold it (UNAVAILABLE
// otherwise), as Grab gives it.
func (s *Rains) Held(ctx context.Context, rainID, buyerID string) (*domain.RedPacketGrab, error) {
	raw, err := s.c.RDB.HGet(ctx, s.key(rainID, "grabbed"), buyerID).Result()
	if errors.Is(err, goredis.Nil) {
		return nil, nil
	} else if err != nil {
		return nil, fmt.Errorf("grab of %s in rain %s: %w", buyerID, rainID, err)
	}
	var g domain.RedPacketGrab
	if err := json.Unmarshal([]byte(raw), &g); err != nil {
		return nil, fmt.Errorf("decode grab of %s in rain %s: %w", buyerID, rainID, err)
	}
	if s.c.replicated() {
		// The grab may have been answered UNAVAILABLE for want of
		// replicas: it is shown once they hold it.
		key := s.key(rainID, "grabbed")
		err := s.c.confirm(ctx, key, "red packet", func(p goredis.Pipeliner) func() (bool, error) {
			return p.HExists(ctx, key, buyerID).Result
		})
		if err != nil {
			return nil, fmt.Errorf("grab of %s in rain %s: %w", buyerID, rainID, err)
		}
	}
	return &g, nil
}
