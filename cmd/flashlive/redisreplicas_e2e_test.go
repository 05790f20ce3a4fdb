package main

import (
	"strings"
	"testing"
	"time"

	"flashlive/internal/testenv"
)

// TestPurchaseWaitsForRedisReplica sells on a Redis Cluster of the test's
// own with FLASHLIVE_REDIS_MIN_REPLICAS=1 and stops (SIGSTOP) the replica
// of the master that holds the event's slot: the buyer's purchase is
// answered with a GraphQL error UNAVAILABLE (extensions.code, a
// retryAfterMs and a message that says to retry with the same key), not
// RESERVED. Once the replica runs again the same key answers RESERVED, and
// the order is written exactly once (from the outbox: the refused answer
// published nothing).
func TestPurchaseWaitsForRedisReplica(t *testing.T) {
	cluster := testenv.StartRedisCluster(t)
	prefix := testenv.RedisPrefix(t, cluster.URL)
	app := startApp(t, func(c *Config) {
		c.RedisURL, c.RedisPrefix = cluster.URL, prefix
		c.RedisReplicas = RedisReplicas{Min: 1, Timeout: 50 * time.Millisecond}
	})
	_, eventID := app.liveEvent(t, 5, 1)
	buyers := app.buyers(t, 2)
	first, second := buyers[0], buyers[1]

	// With the replica up: RESERVED (and the event is in the hot stock).
	a, code := first.purchase(t, eventID, first.purchaseToken(t, eventID), "key-first")
	if code != "" || a.Outcome != "RESERVED" || a.Order == nil {
		t.Fatalf("purchase with the replica up = %+v, %q; want RESERVED", a, code)
	}
	orders := map[string]bool{a.Order.ID: true}

	replica := cluster.ReplicaOf(t, cluster.MasterOf(t, prefix+"{ev:"+eventID+"}:meta"))
	cluster.Pause(t, replica)
	token := second.purchaseToken(t, eventID)
	in := map[string]any{"in": map[string]any{"eventId": eventID, "token": token, "quantity": 1, "idempotencyKey": "key-second"}}
	r := second.post(t, purchaseMutation, in)
	if got := r.code(); got != "UNAVAILABLE" {
		t.Fatalf("purchase with the replica stopped: code %q, errors %+v, data %s; want UNAVAILABLE", got, r.Errors, r.Data)
	}
	if ms, _ := r.Errors[0].Extensions["retryAfterMs"].(float64); ms <= 0 {
		t.Fatalf("UNAVAILABLE without retryAfterMs: %+v", r.Errors[0])
	}
	if msg := r.Errors[0].Message; !strings.Contains(msg, "same idempotency key") || strings.Contains(msg, "WAIT") {
		t.Fatalf("message %q: want retry guidance, not the cause", msg)
	}
	cluster.Resume(t, replica)

	var got purchaseAnswer
	testenv.WaitFor(t, time.Minute, "the same key answered once the replica is back", func() bool {
		got, code = second.purchase(t, eventID, token, "key-second")
		return code == ""
	})
	if got.Outcome != "RESERVED" || got.Order == nil || orders[got.Order.ID] {
		t.Fatalf("retry = %+v; want RESERVED with a new order", got)
	}
	orders[got.Order.ID] = true
	again, code := second.purchase(t, eventID, token, "key-second")
	if code != "" || again.Order == nil || again.Order.ID != got.Order.ID {
		t.Fatalf("retry again = %+v, %q; want order %s", again, code, got.Order.ID)
	}
	app.assertOrdersWritten(t, eventID, orders, 2, time.Minute)
	if left := app.remaining(t, eventID); left != 3 {
		t.Fatalf("remaining %d, want 3", left)
	}
	app.assertNoDrift(t, eventID)
}
