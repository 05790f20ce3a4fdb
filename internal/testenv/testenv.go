// Package testenv gives tests real services: a fresh PostgreSQL database,
// a Redis key prefix of their own, a data directory for embedded NATS.
// `make test` (scripts/test.sh) starts PostgreSQL, Redis and a Redis
// Cluster and exports FLASHLIVE_TEST_POSTGRES_URL, FLASHLIVE_TEST_REDIS_URL
// and FLASHLIVE_TEST_REDIS_CLUSTER_URL. When they are missing, tests FAIL:
// a test that needs a service never skips.
//
// It also holds what every test shares. A test waits for what happens
// elsewhere with WaitFor or WaitForCheck, polling with a deadline, never
// with time.Sleep. A test's name says what it proves in one CamelCase
// phrase without underscores (TestSlowViewerIsDisconnected,
// TestOrderPayAndExpire); a subject, when it helps, is the phrase's first
// word, not a prefix cut off with "_".
//
// A test that must pause PostgreSQL (SIGSTOP) starts a server of its own
// with StartPostgres, so that the shared one keeps serving the others.
package testenv

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	goredis "github.com/redis/go-redis/v9"

	"flashlive/storage/redis/redisurl"
)

// Environment variables that point tests at their services.
const (
	PostgresEnv = "FLASHLIVE_TEST_POSTGRES_URL"
	RedisEnv    = "FLASHLIVE_TEST_REDIS_URL"
)

func required(t testing.TB, env string) string {
	t.Helper()
	v := os.Getenv(env)
	if v == "" {
		t.Fatalf("%s is not set: run the tests with `make test`, which starts PostgreSQL and Redis, or point %s at a server you run", env, env)
	}
	return v
}

func suffix() string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// PostgresURL creates an empty database for the test, dropped when the test
// ends, and returns its URL.
func PostgresURL(t testing.TB) string {
	t.Helper()
	admin := required(t, PostgresEnv)
	name := "fltest_" + suffix()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, admin)
	if err != nil {
		t.Fatalf("connect to test PostgreSQL at %s: %v", admin, err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		t.Fatalf("create test database: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, admin)
		if err != nil {
			t.Errorf("drop test database: %v", err)
			return
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			t.Errorf("drop test database %s: %v", name, err)
		}
	})
	return withDatabase(t, admin, name)
}

func withDatabase(t testing.TB, raw, db string) string {
	t.Helper()
	if strings.Contains(raw, "://") {
		u, err := url.Parse(raw)
		if err != nil {
			t.Fatalf("parse %s: %v", PostgresEnv, err)
		}
		u.Path = "/" + db
		return u.String()
	}
	return fmt.Sprintf("%s dbname=%s", raw, db)
}

// Redis returns the URL of the test Redis server and a key prefix no other
// test uses. The prefix's keys are deleted when the test ends.
func Redis(t testing.TB) (url, prefix string) {
	t.Helper()
	url = required(t, RedisEnv)
	return url, RedisPrefix(t, url)
}

// RedisPrefix returns a key prefix no other test uses on the Redis
// deployment at url (one server or a cluster); the prefix's keys, and the
// rate limiter's ("rate:" + prefix), are deleted when the test ends.
func RedisPrefix(t testing.TB, url string) string {
	t.Helper()
	prefix := "fltest:" + suffix() + ":"
	t.Cleanup(func() {
		opts, err := redisurl.Parse(url)
		if err != nil {
			t.Errorf("parse test Redis URL: %v", err)
			return
		}
		rdb := opts.NewClient()
		defer rdb.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		del := func(ctx context.Context, node goredis.UniversalClient) error {
			for _, pattern := range []string{prefix + "*", "rate:" + prefix + "*"} {
				iter := node.Scan(ctx, 0, pattern, 1000).Iterator()
				for iter.Next(ctx) {
					if err := node.Del(ctx, iter.Val()).Err(); err != nil {
						return fmt.Errorf("delete test keys: %w", err)
					}
				}
				if err := iter.Err(); err != nil {
					return err
				}
			}
			return nil
		}
		if cc, ok := rdb.(*goredis.ClusterClient); ok {
			err = cc.ForEachMaster(ctx, func(ctx context.Context, m *goredis.Client) error { return del(ctx, m) })
		} else {
			err = del(ctx, rdb)
		}
		if err != nil {
			t.Errorf("clean test keys: %v", err)
		}
	})
	return prefix
}
