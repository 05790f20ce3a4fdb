// Package redis holds flashlive's hot state in Redis with go-redis v9: the
// hot stock of preheated flash events (HotStock: stock, the units each
// buyer holds, reservations and their outbox, the first answer to each
// idempotency key), the waiting rooms of flash events beside it (Queue:
// tickets, the draw at the start, admission against the stock left), each
// room's chat (ChatLog: one stream per room, whose IDs are the one order
// every viewer gets, chosen over a JetStream subject per room so that the
// mute check and the append are one script; see ChatLog) and one-of-many
// claims (Client.Claim). Scripts live
// beside the code as .lua files. Every key starts with the client's
// prefix, so that tests and tenants can share one server.
//
// The same code runs on one server and on a Redis Cluster (a
// redis+cluster:// URL, see package redisurl): every script and every
// MULTI/EXEC touches the keys of one hash tag ({ev:<id>}, {buyer:<id>},
// {<limit name>:<key>}, ...), so one slot; pipelines and MGET-like reads
// that span tags go through go-redis's cluster pipeline, which splits them
// by node; a SCAN goes to every master (Client.ScanKeys).
package redis

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"flashlive/storage/redis/redisurl"
)

// Client is a Redis client and the prefix of every key it writes. RDB is
// a *goredis.Client for one server and a *goredis.ClusterClient for a
// Redis Cluster: code that uses it keeps each script's and each
// transaction's keys in one hash slot, and scans with ScanKeys.
type Client struct {
	RDB    goredis.UniversalClient
	Prefix string

	// MinReplicas is how many replicas of its master must acknowledge
	// (Redis WAIT) the write behind a RESERVED or GRABBED answer before
	// it is given; fewer in time, and the call fails UNAVAILABLE (see
	// ErrNotReplicated). 0: no wait, one server's memory holds it.
	// ReplicaTimeout bounds that wait (DefaultReplicaTimeout when 0, at
	// most MaxReplicaTimeout). Set both before NewHotStock and NewRains.
	MinReplicas    int
	ReplicaTimeout time.Duration
}

// Open connects to the Redis deployment at url (redis://host:port/db for
// one server, redis+cluster://h1:p1,h2:p2 for a cluster) and checks that
// it answers. Every key is prefixed with prefix, which must hold no brace:
// a brace would move the keys' hash tags.
func Open(ctx context.Context, url, prefix string) (*Client, error) {
	if strings.ContainsAny(prefix, "{}") {
		return nil, fmt.Errorf("redis key prefix %q holds a brace, which would break the keys' hash tags", prefix)
	}
	opts, err := redisurl.Parse(url)
	if err != nil {
		return nil, err
	}
	rdb := opts.NewClient()
	if cc, ok := rdb.(*goredis.ClusterClient); ok {
		cc.AddHook(reloadOnNodeLoss{cc: cc})
	}
	c := &Client{RDB: rdb, Prefix: prefix}
	if err := c.Ping(ctx); err != nil {
		_ = rdb.Close()
		return nil, err
	}
	return c, nil
}

// Ping reports an error when Redis does not answer. On a cluster every
// master must answer: the node holding an event's slot is the one that
// matters, and any may be it.
func (c *Client) Ping(ctx context.Context) error {
	var err error
	if cc, ok := c.RDB.(*goredis.ClusterClient); ok {
		err = cc.ForEachMaster(ctx, func(ctx context.Context, m *goredis.Client) error {
			return m.Ping(ctx).Err()
		})
	} else {
		err = c.RDB.Ping(ctx).Err()
	}
	if err != nil {
		return fmt.Errorf("ping redis: %w", err)
	}
	return nil
}

// IsCluster reports whether the client talks to a Redis Cluster.
func (c *Client) IsCluster() bool {
	_, ok := c.RDB.(*goredis.ClusterClient)
	return ok
}

// ScanKeys calls fn with every key that matches pattern (a SCAN MATCH
// pattern, prefix included), on every master of a cluster. Calls to fn
// never overlap; a key may be seen twice, as SCAN does. It stops at fn's
// first error.
func (c *Client) ScanKeys(ctx context.Context, pattern string, fn func(key string) error) error {
	var mu sync.Mutex
	scan := func(ctx context.Context, node goredis.UniversalClient) error {
		iter := node.Scan(ctx, 0, pattern, 1000).Iterator()
		for iter.Next(ctx) {
			mu.Lock()
			err := fn(iter.Val())
			mu.Unlock()
			if err != nil {
				return err
			}
		}
		return iter.Err()
	}
	var err error
	if cc, ok := c.RDB.(*goredis.ClusterClient); ok {
		err = cc.ForEachMaster(ctx, func(ctx context.Context, m *goredis.Client) error { return scan(ctx, m) })
	} else {
		err = scan(ctx, c.RDB)
	}
	if err != nil {
		return fmt.Errorf("scan %s: %w", pattern, err)
	}
	return nil
}

// Close closes the client's connections.
func (c *Client) Close() error {
	return c.RDB.Close()
}

// Claim reports whether this caller is the first to claim key (prefixed)
// within ttl: one instance of many acts, the others see false.
func (c *Client) Claim(ctx context.Context, key string, ttl time.Duration) (bool, error) {
	ok, err := c.RDB.SetNX(ctx, c.Prefix+"claim:"+key, "1", ttl).Result()
	if err != nil {
		return false, fmt.Errorf("claim %s: %w", key, err)
	}
	return ok, nil
}
