// Package redis holds flashlive's hot state in Redis with go-redis v9: the
// hot stock of preheated flash events (HotStock: stock, the units each
// buyer holds, reservations and their outbox, the first answer to each
// idempotency key), each room's chat (ChatLog: one stream per room, whose
// IDs are the one order every viewer gets, chosen over a JetStream subject
// per room so that the mute check and the append are one script; see
// ChatLog) and one-of-many claims (Client.Claim). Scripts live
// beside the code as .lua files. Every key starts with the client's
// prefix, so that tests and tenants can share one server.
package redis

import (
	"context"
	"fmt"
	"time"

	goredis "github.com/redis/go-redis/v9"
)

// Client is a Redis client and the prefix of every key it writes.
type Client struct {
	RDB    *goredis.Client
	Prefix string
}

// Open connects to the Redis server at url (redis://host:port/db) and
// checks that it answers. Every key is prefixed with prefix.
func Open(ctx context.Context, url, prefix string) (*Client, error) {
	opts, err := goredis.ParseURL(url)
	if err != nil {
		return nil, fmt.Errorf("parse redis url: %w", err)
	}
	// RESP2: flashlive uses no push messages, and RESP3 makes every reply
	// be checked for pending ones.
	opts.Protocol = 2
	rdb := goredis.NewClient(opts)
	c := &Client{RDB: rdb, Prefix: prefix}
	if err := c.Ping(ctx); err != nil {
		_ = rdb.Close()
		return nil, err
	}
	return c, nil
}

// Ping reports an error when Redis does not answer.
func (c *Client) Ping(ctx context.Context) error {
	if err := c.RDB.Ping(ctx).Err(); err != nil {
		return fmt.Errorf("ping redis: %w", err)
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
