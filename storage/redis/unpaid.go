package redis

import (
	"context"
	_ "embed"
	"fmt"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"flashlive/domain"
)

var (
	//go:embed unpaid.lua
	unpaidLua    string
	unpaidScript = goredis.NewScript(unpaidLua)
)

// UnpaidOrders is every buyer's list of unpaid flash orders in Redis, a
// sorted set per buyer, scored by when each order's payment window ends:
//
//	<prefix>{buyer:ID}:unpaid   sorted set: order ID -> window end, Unix ms
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
func (u *UnpaidOrders) Admit(ctx context.Context, buyerID, orderID string, windowEnd, now time.Time, max int) (bool, error) {
	switch {
	case buyerID == "" || orderID == "":
		return false, domain.Errorf(domain.EINVALID, "admit an unpaid order: buyerId and orderId are required")
	case max < 1:
		return false, domain.Errorf(domain.EINVALID, "admit an unpaid order: the cap must be at least 1, not %d", max)
	case windowEnd.UnixMilli() <= now.UnixMilli():
		return false, domain.Errorf(domain.EINVALID, "admit an unpaid order: its payment window must end after now")
	}
	reply, err := u.admit.do(ctx, []string{u.key(buyerID)}, orderID, windowEnd.UnixMilli(), now.UnixMilli(), max)
	if err != nil {
		return false, fmt.Errorf("admit unpaid order %s: %w", orderID, err)
	}
	n, ok := reply.(int64)
	if !ok {
		return false, fmt.Errorf("admit unpaid order %s: unexpected reply %T", orderID, reply)
	}
	return n == 1, nil
}

// Drop implements domain.UnpaidOrders: one ZREM (Redis deletes the set
// once it is empty).
func (u *UnpaidOrders) Drop(ctx context.Context, buyerID, orderID string) error {
	if buyerID == "" || orderID == "" {
		return domain.Errorf(domain.EINVALID, "drop an unpaid order: buyerId and orderId are required")
	}
	if err := u.c.RDB.ZRem(ctx, u.key(buyerID), orderID).Err(); err != nil {
		return fmt.Errorf("drop unpaid order %s: %w", orderID, err)
	}
	return nil
}
