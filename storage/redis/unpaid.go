package redis

import (
	"context"
	_ "embed"
	"fmt"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"flashlive/domain"
)

// Scripts of the lists of unpaid orders; each file's header states its
// keys, arguments, answers and the invariant it keeps.
var (
	//go:embed unpaid.lua
	unpaidLua string
	//go:embed unpaid_written.lua
	unpaidWrittenLua string
	//go:embed unpaid_replayed.lua
	unpaidReplayedLua string

	unpaidScript         = goredis.NewScript(unpaidLua)
	unpaidWrittenScript  = goredis.NewScript(unpaidWrittenLua)
	unpaidReplayedScript = goredis.NewScript(unpaidReplayedLua)
)

// UnpaidOrders is every buyer's list of unpaid flash orders in Redis, a
// sorted set per buyer, scored by when each order's payment window ends:
//
//	<prefix>{buyer:ID}:unpaid   sorted set: purchase or order ID -> window end, Unix ms
//
// Each buyer's set has its own hash tag, so it works on a Redis Cluster;
// no script touches it together with an event's keys (those are in the
// event's slot), which is why admitting an order and reserving it are two
// steps (see domain.UnpaidOrders for what that costs). Admit calls that
// arrive together go to Redis in one pipeline, sent by a goroutine that
// Stop stops. An UnpaidOrders is safe for concurrent use.
type UnpaidOrders struct {
	c     *Client
	admit *scriptBatcher
}

var _ domain.UnpaidOrders = (*UnpaidOrders)(nil)

// NewUnpaidOrders returns the lists of unpaid orders kept in c.
func NewUnpaidOrders(c *Client) *UnpaidOrders {
	return &UnpaidOrders{c: c, admit: newScriptBatcher(c.RDB, unpaidScript)}
}

// Stop stops sending admissions; Admit fails afterwards with an error that
// wraps ErrStopped. It does not close the client.
func (u *UnpaidOrders) Stop() {
	u.admit.close()
}

func (u *UnpaidOrders) key(buyerID string) string {
	return u.c.Prefix + "{buyer:" + buyerID + "}:unpaid"
}

// Admit implements domain.UnpaidOrders with unpaid.lua: dropping the
// entries past their window, counting and adding are one atomic step.
func (u *UnpaidOrders) Admit(ctx context.Context, buyerID, id string, windowEnd, now time.Time, max int) (bool, error) {
	if err := domain.ValidateUnpaidAdmission(buyerID, id, windowEnd, now, max); err != nil {
		return false, err
	}
	reply, err := u.admit.do(ctx, []string{u.key(buyerID)}, id, windowEnd.UnixMilli(), now.UnixMilli(), max)
	if err != nil {
		return false, fmt.Errorf("admit unpaid order %s: %w", id, err)
	}
	n, ok := reply.(int64)
	if !ok {
		return false, fmt.Errorf("admit unpaid order %s: unexpected reply %T", id, reply)
	}
	return n == 1, nil
}

// Written implements domain.UnpaidOrders with unpaid_written.lua, in
// one pipeline for all of rs.
func (u *UnpaidOrders) Written(ctx context.Context, rs []domain.Reservation) error {
	pipe := u.c.RDB.Pipeline()
	var cmds []*goredis.Cmd
	for _, r := range rs {
		if r.IdempotencyKey == "" || r.BuyerID == "" || r.OrderID == "" {
			continue
		}
		cmds = append(cmds, unpaidWrittenScript.EvalSha(ctx, pipe, []string{u.key(r.BuyerID)}, domain.PurchaseID(r.EventID, r.IdempotencyKey), r.OrderID))
	}
	if len(cmds) == 0 {
		return nil
	}
	_, _ = pipe.Exec(ctx) // errors are per command
	for i, cmd := range cmds {
		err := cmd.Err()
		if err != nil && goredis.HasErrorPrefix(err, "NOSCRIPT") {
			// Redis lost its scripts (a restart): the rest one by one,
			// loading it.
			for _, r := range rs[i:] {
				if r.IdempotencyKey == "" || r.BuyerID == "" || r.OrderID == "" {
					continue
				}
				if err := unpaidWrittenScript.Run(ctx, u.c.RDB, []string{u.key(r.BuyerID)}, domain.PurchaseID(r.EventID, r.IdempotencyKey), r.OrderID).Err(); err != nil {
					return fmt.Errorf("list written orders: %w", err)
				}
			}
			return nil
		}
		if err != nil {
			return fmt.Errorf("list written orders: %w", err)
		}
	}
	return nil
}

// Replayed implements domain.UnpaidOrders with unpaid_replayed.lua.
func (u *UnpaidOrders) Replayed(ctx context.Context, buyerID, id, orderID string) error {
	if buyerID == "" || id == "" || orderID == "" {
		return domain.Errorf(domain.EINVALID, "settle replayed purchase: buyerId, id and orderId are required")
	}
	if err := unpaidReplayedScript.Run(ctx, u.c.RDB, []string{u.key(buyerID)}, id, orderID).Err(); err != nil {
		return fmt.Errorf("settle replayed purchase %s: %w", id, err)
	}
	return nil
}

// Drop implements domain.UnpaidOrders: one ZREM (Redis deletes the set
// once it is empty).
func (u *UnpaidOrders) Drop(ctx context.Context, buyerID, id string) error {
	if buyerID == "" || id == "" {
		return domain.Errorf(domain.EINVALID, "drop an unpaid order: buyerId and id are required")
	}
	if err := u.c.RDB.ZRem(ctx, u.key(buyerID), id).Err(); err != nil {
		return fmt.Errorf("drop unpaid order %s: %w", id, err)
	}
	return nil
}
