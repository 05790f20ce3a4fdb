// Package testenv gives tests real services: a fresh PostgreSQL database,
// a Redis key prefix of their own, a data directory for embedded NATS.
// `make test` (scripts/test.sh) starts PostgreSQL and Redis and exports
// FLASHLIVE_TEST_POSTGRES_URL and FLASHLIVE_TEST_REDIS_URL. When they are
// missing, tests FAIL: a test that needs a service never skips.
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
	url, prefix = required(t, RedisEnv), "fltest:"+suffix()+":"
	t.Cleanup(func() {
		opts, err := goredis.ParseURL(url)
		if err != nil {
			t.Errorf("parse %s: %v", RedisEnv, err)
			return
		}
		rdb := goredis.NewClient(opts)
		defer rdb.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		iter := rdb.Scan(ctx, 0, prefix+"*", 1000).Iterator()
		for iter.Next(ctx) {
			if err := rdb.Del(ctx, iter.Val()).Err(); err != nil {
				t.Errorf("delete test keys: %v", err)
				return
			}
		}
		if err := iter.Err(); err != nil {
			t.Errorf("scan test keys: %v", err)
		}
	})
	return url, prefix
}
