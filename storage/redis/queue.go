package redis

import (
	"context"
	_ "embed"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"flashlive/domain"
)

// Scripts of the waiting room; each begins with queue_lib.lua, whose
// header names the keys they share.
var (
	//go:embed queue_lib.lua
	queueLibLua string
	//go:embed queue_join.lua
	queueJoinLua string
	//go:embed queue_leave.lua
	queueLeaveLua string
	//go:embed queue_read.lua
	queueReadLua string
	//go:embed queue_use.lua
	queueUseLua string
	//go:embed queue_step.lua
	queueStepLua string

	queueJoinScript  = goredis.NewScript(queueLibLua + queueJoinLua)
	queueLeaveScript = goredis.NewScript(queueLibLua + queueLeaveLua)
	queueReadScript  = goredis.NewScript(queueLibLua + queueReadLua)
	queueUseScript   = goredis.NewScript(queueLibLua + queueUseLua)
	queueStepScript  = goredis.NewScript(queueLibLua + queueStepLua)
)

// Queue is the waiting room of flash events in Redis. Each event's queue
// sits beside its hot stock, under the same hash tag {ev:<eventID>} (the
// admission step reads the stock left in the same script):
//
//	<prefix>{ev:ID}:q:meta       hash: seq, rank, shuffled, tick, closed_seq
//	<prefix>{ev:ID}:q:tk         hash: buyer -> "S|seq|rank|joinedMs|expiresMs"
//	<prefix>{ev:ID}:q:pre        list: pre-start joiners, not ranked yet
//	<prefix>{ev:ID}:q:wait       zset: WAITING buyers by rank
//	<prefix>{ev:ID}:q:adm        zset: ADMITTED buyers by expiry
//	<prefix>{ev:ID}:q:used       set: ADMITTED buyers who bought
//	<prefix>{ev:ID}:q:pow:<id>   string: a proof-of-work challenge spent (TTL)
//	<prefix>queues               zset: event ID -> until when its queue is stepped
//
// Each ticket has a join number (seq) and a rank (its place in admission
// order). Pre-start joiners are ranked at the start, in a uniformly random
// order, by the first script to run after it (a join or a step); later
// joiners get the next rank at once. A position is derived, not stored:
// rank - head + 1 (domain.QueuePosition), where head is the lowest rank
// WAITING, so that showing every buyer their place costs one read of the
// head per event, whatever the number of buyers.
type Queue struct {
	c *Client
}

// NewQueue returns the queue kept in c.
func NewQueue(c *Client) *Queue { return &Queue{c: c} }

func (q *Queue) keys(eventID string) []string {
	p := q.c.Prefix + "{ev:" + eventID + "}:"
	return []string{p + "q:meta", p + "q:tk", p + "q:pre", p + "q:wait", p + "q:adm", p + "q:used", p + "meta"}
}

func (q *Queue) activeKey() string { return q.c.Prefix + "queues" }

func seed() int64 { return rand.Int64N(1 << 31) }

// Join joins buyerID to the event's queue at now, or returns the ticket
// held, and reports whether the ticket is new.
func (q *Queue) Join(ctx context.Context, ev *domain.HotEvent, buyerID string, now time.Time) (domain.QueueTicket, domain.QueueState, bool, error) {
	res, err := queueJoinScript.Run(ctx, q.c.RDB, q.keys(ev.ID), buyerID, now.UnixMilli(), ev.StartsAt.UnixMilli(), seed()).Slice()
	if err != nil {
		return domain.QueueTicket{}, domain.QueueState{}, false, fmt.Errorf("join queue: %w", err)
	}
	t, err := decodeTicket(ev.ID, buyerID, res[0])
	if err != nil {
		return t, domain.QueueState{}, false, err
	}
	st := decodeState(ev.ID, res[2:6])
	fresh := toInt(res[1]) == 1
	if fresh {
		// The step job finds the queue here; stepped until the end, and
		// an admission's life past it, so the last admissions expire.
		err := q.c.RDB.ZAdd(ctx, q.activeKey(), goredis.Z{Score: float64(ev.EndsAt.Add(time.Hour).UnixMilli()), Member: ev.ID}).Err()
		if err != nil {
			return t, st, fresh, fmt.Errorf("list active queue: %w", err)
		}
	}
	return t, st, fresh, nil
}

// Leave drops buyerID's ticket and reports whether it held a place
// (WAITING or ADMITTED); the ticket as it was is returned too.
func (q *Queue) Leave(ctx context.Context, eventID, buyerID string) (bool, domain.QueueState, error) {
	res, err := queueLeaveScript.Run(ctx, q.c.RDB, q.keys(eventID), buyerID).Slice()
	if err != nil {
		return false, domain.QueueState{}, fmt.Errorf("leave queue: %w", err)
	}
	return toInt(res[0]) == 1, decodeState(eventID, res[2:6]), nil
}

// Tickets returns the queue's state and the tickets of buyers that have
// one, in one read.
func (q *Queue) Tickets(ctx context.Context, eventID string, buyers []string) (domain.QueueState, map[string]domain.QueueTicket, error) {
	args := make([]any, len(buyers))
	for i, b := range buyers {
		args[i] = b
	}
	res, err := queueReadScript.Run(ctx, q.c.RDB, q.keys(eventID), args...).Slice()
	if err != nil {
		return domain.QueueState{}, nil, fmt.Errorf("read queue: %w", err)
	}
	st := decodeState(eventID, res[:4])
	out := make(map[string]domain.QueueTicket, len(buyers))
	for i, b := range buyers {
		if s, _ := res[4+i].(string); s != "" {
			t, err := decodeTicket(eventID, b, s)
			if err != nil {
				return st, nil, err
			}
			out[b] = t
		}
	}
	return st, out, nil
}

// UseAdmission reports whether buyerID holds an ADMITTED ticket of the
// event not past its expiry at now, and marks it used (see
// service.Admissions).
func (q *Queue) UseAdmission(ctx context.Context, eventID, buyerID string, now time.Time) (bool, error) {
	n, err := queueUseScript.Run(ctx, q.c.RDB, q.keys(eventID), buyerID, now.UnixMilli()).Int()
	if err != nil {
		return false, fmt.Errorf("use admission: %w", err)
	}
	return n == 1, nil
}

// Step runs the event's queue step for the second of now (see
// queue_step.lua): done is false when another caller ran it already;
// domain.ErrNotLoaded when the event is not in the hot stock.
func (q *Queue) Step(ctx context.Context, eventID string, now time.Time, perSecond int, ttl time.Duration) (domain.QueueStep, error) {
	res, err := queueStepScript.Run(ctx, q.c.RDB, q.keys(eventID),
		now.UnixMilli(), now.Unix(), perSecond, ttl.Milliseconds(), seed()).Slice()
	if err != nil {
		return domain.QueueStep{}, fmt.Errorf("step queue: %w", err)
	}
	switch toInt(res[0]) {
	case 0:
		return domain.QueueStep{}, nil
	case -1:
		return domain.QueueStep{}, domain.ErrNotLoaded
	}
	step := domain.QueueStep{Done: true, Closed: int(toInt(res[1])), State: decodeState(eventID, res[2:6])}
	nexp, nadm := int(toInt(res[6])), int(toInt(res[7]))
	rest := res[8:]
	for i := range nexp + nadm {
		b, _ := rest[2*i].(string)
		t, err := decodeTicket(eventID, b, rest[2*i+1])
		if err != nil {
			return step, err
		}
		if i < nexp {
			step.Expired = append(step.Expired, t)
		} else {
			step.Admitted = append(step.Admitted, t)
		}
	}
	return step, nil
}

// UseChallenge spends a proof-of-work challenge of the event and reports
// whether this call was the first to (within ttl).
func (q *Queue) UseChallenge(ctx context.Context, eventID, id string, ttl time.Duration) (bool, error) {
	ok, err := q.c.RDB.SetNX(ctx, q.c.Prefix+"{ev:"+eventID+"}:q:pow:"+id, "1", ttl).Result()
	if err != nil {
		return false, fmt.Errorf("spend challenge: %w", err)
	}
	return ok, nil
}

// Active returns the events whose queues are to be stepped at now, and
// forgets those past their time.
func (q *Queue) Active(ctx context.Context, now time.Time) ([]string, error) {
	ms := strconv.FormatInt(now.UnixMilli(), 10)
	if err := q.c.RDB.ZRemRangeByScore(ctx, q.activeKey(), "-inf", "("+ms).Err(); err != nil {
		return nil, fmt.Errorf("prune active queues: %w", err)
	}
	ids, err := q.c.RDB.ZRange(ctx, q.activeKey(), 0, -1).Result()
	if err != nil {
		return nil, fmt.Errorf("active queues: %w", err)
	}
	return ids, nil
}

func toInt(v any) int64 {
	n, _ := v.(int64)
	return n
}

func decodeState(eventID string, v []any) domain.QueueState {
	return domain.QueueState{
		EventID: eventID, Head: toInt(v[0]), Waiting: int(toInt(v[1])),
		Shuffled: toInt(v[2]) == 1, ClosedSeq: toInt(v[3]),
	}
}

var ticketStatus = map[string]domain.QueueStatus{
	"W": domain.QueueWaiting, "A": domain.QueueAdmitted, "C": domain.QueueClosed, "E": domain.QueueExpired,
}

// decodeTicket reads "S|seq|rank|joinedMs|expiresMs" (queue_lib.lua).
func decodeTicket(eventID, buyerID string, v any) (domain.QueueTicket, error) {
	s, _ := v.(string)
	f := strings.Split(s, "|")
	if len(f) != 5 || ticketStatus[f[0]] == "" {
		return domain.QueueTicket{}, fmt.Errorf("queue ticket of %s: malformed %q", buyerID, s)
	}
	n := make([]int64, 4)
	for i := range n {
		var err error
		if n[i], err = strconv.ParseInt(f[i+1], 10, 64); err != nil {
			return domain.QueueTicket{}, fmt.Errorf("queue ticket of %s: malformed %q", buyerID, s)
		}
	}
	t := domain.QueueTicket{
		EventID: eventID, BuyerID: buyerID, Status: ticketStatus[f[0]],
		Seq: n[0], Rank: n[1], JoinedAt: time.UnixMilli(n[2]),
	}
	if n[3] > 0 {
		t.ExpiresAt = time.UnixMilli(n[3])
	}
	return t, nil
}
