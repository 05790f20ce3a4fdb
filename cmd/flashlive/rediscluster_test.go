package main

import (
	"testing"
	"time"

	"flashlive/internal/testenv"
)

// TestFlashSaleOnRedisCluster runs a whole sale, end to end, with the hot
// stock, the limits and the claims on a Redis Cluster
// (FLASHLIVE_REDIS_URL=redis+cluster://...): exactly the stock is sold,
// every RESERVED answer is an order in PostgreSQL, and stock is conserved
// with no drift. Every RESERVED answer waits for a replica of its master
// (FLASHLIVE_REDIS_MIN_REPLICAS=1, a cluster's default).
func TestFlashSaleOnRedisCluster(t *testing.T) {
	url := testenv.RedisClusterURL(t)
	app := startApp(t, func(c *Config) {
		c.RedisURL, c.RedisPrefix = url, testenv.RedisPrefix(t, url)
		c.RedisReplicas.Min = 1
	})
	if !app.Redis.IsCluster() {
		t.Fatalf("the app's Redis client is not a cluster client for %s", url)
	}
	const stock, buyers = 100, 300
	_, eventID := app.liveEvent(t, stock, 1)
	answers := runSale(t, app.buyers(t, buyers), eventID, 2, func() int { return 1 })
	orderIDs := map[string]bool{}
	for _, as := range answers {
		for _, a := range as {
			switch a.Outcome {
			case "RESERVED":
				if a.Order == nil || orderIDs[a.Order.ID] {
					t.Fatalf("RESERVED answer with order %+v", a.Order)
				}
				orderIDs[a.Order.ID] = true
			case "SOLD_OUT", "LIMIT_REACHED":
			default:
				t.Fatalf("unexpected outcome %q", a.Outcome)
			}
		}
	}
	if got, want := len(orderIDs), stock; got != want {
		t.Fatalf("reserved %d units, want exactly %d", got, want)
	}
	app.assertOrdersWritten(t, eventID, orderIDs, stock, 30*time.Second)
	if left := app.remaining(t, eventID); left != 0 {
		t.Fatalf("remaining %d after selling the whole stock of %d", left, stock)
	}
	app.assertNoDrift(t, eventID)
}
