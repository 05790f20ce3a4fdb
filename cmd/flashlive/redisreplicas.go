package main

import (
	"strconv"
	"time"

	"flashlive/storage/redis"
	"flashlive/storage/redis/redisurl"
)

// RedisReplicas is how many Redis replicas must hold the write behind a
// RESERVED or GRABBED answer before the buyer is given it (Redis WAIT on
// the slot's master; see storage/redis.Client.MinReplicas).
type RedisReplicas struct {
	// Min: FLASHLIVE_REDIS_MIN_REPLICAS, 0..5. Unset: 1 for a Redis
	// Cluster URL (each master has a replica; an answer must outlive a
	// failover), 0 for one server (single-node dev: one server's memory
	// holds the answer, as before).
	Min int
	// Timeout: FLASHLIVE_REDIS_REPLICA_TIMEOUT, 10ms..2s, how long a write
	// waits for them before the buyer is asked to retry; 0 (unset) means
	// redis.DefaultReplicaTimeout.
	Timeout time.Duration
}

// maxRedisMinReplicas bounds FLASHLIVE_REDIS_MIN_REPLICAS.
const maxRedisMinReplicas = 5

// loadRedisReplicas reads FLASHLIVE_REDIS_MIN_REPLICAS and
// FLASHLIVE_REDIS_REPLICA_TIMEOUT into c (whose RedisURL is read) and
// returns its warnings: prod on a cluster told to wait for no replica.
func loadRedisReplicas(c *Config, get func(string) string, bad func(string, ...any)) []string {
	var warnings []string
	cluster := redisurl.IsCluster(c.RedisURL)
	if cluster {
		c.RedisReplicas.Min = 1
	}
	if v := get("FLASHLIVE_REDIS_MIN_REPLICAS"); v != "" {
		n, err := strconv.Atoi(v)
		switch {
		case err != nil:
			bad("FLASHLIVE_REDIS_MIN_REPLICAS %q is not a whole number (0 for no wait)", v)
		case n < 0 || n > maxRedisMinReplicas:
			bad("FLASHLIVE_REDIS_MIN_REPLICAS must be between 0 and %d, not %d", maxRedisMinReplicas, n)
		default:
			c.RedisReplicas.Min = n
			if n == 0 && cluster && !c.Dev() {
				warnings = append(warnings, "FLASHLIVE_REDIS_MIN_REPLICAS=0 on a Redis Cluster: a RESERVED answer lives in one master's memory until its order is written, and a failover to a lagging replica can lose it")
			}
		}
	}
	if v := get("FLASHLIVE_REDIS_REPLICA_TIMEOUT"); v != "" {
		d, err := time.ParseDuration(v)
		switch {
		case err != nil:
			bad("FLASHLIVE_REDIS_REPLICA_TIMEOUT %q is not a duration (such as 250ms)", v)
		case d < 10*time.Millisecond || d > redis.MaxReplicaTimeout:
			bad("FLASHLIVE_REDIS_REPLICA_TIMEOUT must be between 10ms and %s, not %s", redis.MaxReplicaTimeout, d)
		default:
			c.RedisReplicas.Timeout = d
		}
	}
	return warnings
}
