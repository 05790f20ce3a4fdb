package main

import (
	"log/slog"
	"reflect"
	"strings"
	"testing"
	"time"
)

// cfgGetenv is a getenv reading m only.
func cfgGetenv(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

// cfgDevEnv is the dev environment, which has to be asked for by name.
func cfgDevEnv() map[string]string {
	return map[string]string{"FLASHLIVE_ENV": "dev"}
}

// cfgDev is a dev environment with the variable k set to v.
func cfgDev(k, v string) func(string) string {
	env := cfgDevEnv()
	env[k] = v
	return cfgGetenv(env)
}

// cfgProdEnv is a complete, valid prod environment.
func cfgProdEnv() map[string]string {
	return map[string]string{
		"FLASHLIVE_ENV":          "prod",
		"FLASHLIVE_POSTGRES_URL": "postgres://flashlive@db.internal:5432/flashlive?sslmode=require",
		"FLASHLIVE_REDIS_URL":    "rediss://cache.internal:6380/0",
		"FLASHLIVE_JWT_SECRET":   strings.Repeat("s", 48),
	}
}

func TestLoadConfigDevDefaults(t *testing.T) {
	got, warnings, err := LoadConfig(cfgGetenv(cfgDevEnv()))
	if err != nil {
		t.Fatalf("LoadConfig(FLASHLIVE_ENV=dev): %v", err)
	}
	want := Config{
		HTTPAddr:       ":8080",
		PostgresURL:    DefaultPostgresURL,
		RedisURL:       DefaultRedisURL,
		RedisPrefix:    "fl:",
		NATSReplicas:   1,
		JWTSecret:      []byte(devJWTSecret),
		PaymentTimeout: 15 * time.Minute,
		Env:            EnvDev,
		DataDir:        ".data",
		LogLevel:       slog.LevelInfo,
		Seed:           true,
		Admission:      Admission{OperationTimeout: 10 * time.Second, MaxPurchasesInFlight: 1024, PurchaseWait: 250 * time.Millisecond},
		Limits:         DefaultLimits,
		Chat:           DefaultChat,
		WSInitTimeout:  3 * time.Second,
		Queue:          DefaultQueue,
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("LoadConfig(FLASHLIVE_ENV=dev) =\n%+v\nwant\n%+v", got, want)
	}
	if !got.Dev() {
		t.Fatal("Dev() = false for FLASHLIVE_ENV=dev")
	}
	if got, want := len(warnings), 1; got != want {
		t.Fatalf("warnings = %q, want %d", warnings, want)
	}
	if !strings.Contains(warnings[0], "FLASHLIVE_JWT_SECRET") {
		t.Fatalf("warning = %q, want it to name FLASHLIVE_JWT_SECRET", warnings[0])
	}
}

func TestLoadConfigProd(t *testing.T) {
	env := cfgProdEnv()
	got, warnings, err := LoadConfig(cfgGetenv(env))
	if err != nil {
		t.Fatalf("LoadConfig(prod): %v", err)
	}
	if len(warnings) != 0 {
		t.Fatalf("warnings = %q, want none", warnings)
	}
	want := Config{
		HTTPAddr:       ":8080",
		PostgresURL:    env["FLASHLIVE_POSTGRES_URL"],
		RedisURL:       env["FLASHLIVE_REDIS_URL"],
		RedisPrefix:    "fl:",
		NATSReplicas:   1,
		JWTSecret:      []byte(env["FLASHLIVE_JWT_SECRET"]),
		PaymentTimeout: 15 * time.Minute,
		Env:            EnvProd,
		DataDir:        ".data",
		LogLevel:       slog.LevelInfo,
		Seed:           false,
		Admission:      Admission{OperationTimeout: 10 * time.Second, MaxPurchasesInFlight: 1024, PurchaseWait: 250 * time.Millisecond},
		Limits:         DefaultLimits,
		Chat:           DefaultChat,
		WSInitTimeout:  3 * time.Second,
		Queue:          DefaultQueue,
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("LoadConfig(prod) =\n%+v\nwant\n%+v", got, want)
	}
	if got.Dev() {
		t.Fatal("Dev() = true in prod")
	}
}

// FLASHLIVE_ENV unset is prod: dev, with its public secret and its
// default URLs, is only ever asked for by name.
func TestLoadConfigEnvUnsetIsProd(t *testing.T) {
	env := cfgProdEnv()
	delete(env, "FLASHLIVE_ENV")
	got, warnings, err := LoadConfig(cfgGetenv(env))
	if err != nil {
		t.Fatalf("LoadConfig(prod settings, FLASHLIVE_ENV unset): %v", err)
	}
	if got.Env != EnvProd || got.Dev() || got.Seed || len(warnings) != 0 {
		t.Fatalf("Env, Dev(), Seed, warnings = %q, %v, %v, %q; want %q, false, false, none", got.Env, got.Dev(), got.Seed, warnings, EnvProd)
	}

	// Only the database URLs set, as in the container that used to
	// accept anyone's self-made ADMIN token: refused.
	_, warnings, err = LoadConfig(cfgGetenv(map[string]string{
		"FLASHLIVE_POSTGRES_URL": env["FLASHLIVE_POSTGRES_URL"],
		"FLASHLIVE_REDIS_URL":    env["FLASHLIVE_REDIS_URL"],
	}))
	if err == nil {
		t.Fatal("LoadConfig(URLs only) = nil error, want the JWT secret required")
	}
	msg := err.Error()
	if !strings.Contains(msg, "FLASHLIVE_JWT_SECRET is required in prod") {
		t.Fatalf("error %q does not ask for FLASHLIVE_JWT_SECRET", msg)
	}
	if got, want := strings.Count(msg, "\n  - "), 1; got != want {
		t.Fatalf("error lists %d problems, want %d:\n%s", got, want, msg)
	}
	if len(warnings) != 0 {
		t.Fatalf("warnings = %q, want none (no dev secret used)", warnings)
	}

	// Nothing set at all: every value dev would have defaulted is asked for.
	_, _, err = LoadConfig(cfgGetenv(nil))
	if err == nil {
		t.Fatal("LoadConfig(empty env) = nil error")
	}
	for _, w := range []string{"FLASHLIVE_POSTGRES_URL is required in prod", "FLASHLIVE_REDIS_URL is required in prod", "FLASHLIVE_JWT_SECRET is required in prod"} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error %q does not contain %q", err, w)
		}
	}
}

// Prod reports every problem at once, so that a deploy is fixed in one go.
func TestLoadConfigProdReportsEveryProblem(t *testing.T) {
	env := map[string]string{
		"FLASHLIVE_ENV":       "prod",
		"FLASHLIVE_HTTP_ADDR": "8080",
	}
	_, _, err := LoadConfig(cfgGetenv(env))
	if err == nil {
		t.Fatal("LoadConfig(prod without URLs and secret) = nil error")
	}
	msg := err.Error()
	for _, w := range []string{
		"FLASHLIVE_POSTGRES_URL is required in prod",
		"FLASHLIVE_REDIS_URL is required in prod",
		"FLASHLIVE_JWT_SECRET is required in prod",
		"FLASHLIVE_HTTP_ADDR",
	} {
		if !strings.Contains(msg, w) {
			t.Errorf("error %q does not contain %q", msg, w)
		}
	}
	if got, want := strings.Count(msg, "\n  - "), 4; got != want {
		t.Errorf("error lists %d problems, want %d:\n%s", got, want, msg)
	}
}

// A mistyped FLASHLIVE_ENV is not dev: it never falls back to the dev
// database URLs or the public dev secret.
func TestLoadConfigUnknownEnvGetsNoDevDefaults(t *testing.T) {
	_, warnings, err := LoadConfig(cfgGetenv(map[string]string{"FLASHLIVE_ENV": "staging"}))
	if err == nil {
		t.Fatal("LoadConfig(FLASHLIVE_ENV=staging) = nil error")
	}
	for _, w := range []string{"FLASHLIVE_ENV", "FLASHLIVE_POSTGRES_URL", "FLASHLIVE_REDIS_URL", "FLASHLIVE_JWT_SECRET"} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error %q does not name %s", err, w)
		}
	}
	if len(warnings) != 0 {
		t.Errorf("warnings = %q, want none (no dev secret used)", warnings)
	}
}

func TestLoadConfigErrors(t *testing.T) {
	for _, tt := range []struct {
		name  string
		prod  bool // start from cfgProdEnv instead of an empty env
		set   map[string]string
		words []string
	}{
		// An unknown env is not dev: it gets no dev defaults, so these
		// start from a complete prod environment.
		{"unknown env", true, map[string]string{"FLASHLIVE_ENV": "production"}, []string{`FLASHLIVE_ENV must be "dev" or "prod", not "production"`}},
		{"env in capitals", true, map[string]string{"FLASHLIVE_ENV": "PROD"}, []string{"FLASHLIVE_ENV", `"PROD"`}},

		{"http addr without colon", false, map[string]string{"FLASHLIVE_HTTP_ADDR": "8080"}, []string{"FLASHLIVE_HTTP_ADDR", `"8080"`}},
		{"http addr host only", false, map[string]string{"FLASHLIVE_HTTP_ADDR": "localhost"}, []string{"FLASHLIVE_HTTP_ADDR"}},
		{"http addr as a URL", false, map[string]string{"FLASHLIVE_HTTP_ADDR": "http://localhost:8080"}, []string{"FLASHLIVE_HTTP_ADDR"}},
		{"debug addr without colon", false, map[string]string{"FLASHLIVE_DEBUG_ADDR": "6060"}, []string{"FLASHLIVE_DEBUG_ADDR", `"6060"`}},
		{"metrics addr without colon", false, map[string]string{"FLASHLIVE_METRICS_ADDR": "9090"}, []string{"FLASHLIVE_METRICS_ADDR", `"9090"`}},
		{"metrics addr as a URL", true, map[string]string{"FLASHLIVE_METRICS_ADDR": "http://127.0.0.1:9090/metrics"}, []string{"FLASHLIVE_METRICS_ADDR"}},

		{"prod without postgres", true, map[string]string{"FLASHLIVE_POSTGRES_URL": ""}, []string{"FLASHLIVE_POSTGRES_URL is required in prod"}},
		{"prod without redis", true, map[string]string{"FLASHLIVE_REDIS_URL": ""}, []string{"FLASHLIVE_REDIS_URL is required in prod"}},
		{"prod without jwt secret", true, map[string]string{"FLASHLIVE_JWT_SECRET": ""}, []string{"FLASHLIVE_JWT_SECRET is required in prod"}},
		{"prod jwt secret of 31 bytes", true, map[string]string{"FLASHLIVE_JWT_SECRET": strings.Repeat("s", 31)}, []string{"FLASHLIVE_JWT_SECRET", "at least 32 bytes", "has 31"}},
		{"prod with the public dev secret", true, map[string]string{"FLASHLIVE_JWT_SECRET": devJWTSecret}, []string{"FLASHLIVE_JWT_SECRET is a public secret", "set a secret of your own"}},
		{"prod with the old compose placeholder", true, map[string]string{"FLASHLIVE_JWT_SECRET": "change-me-dev-only-secret-at-least-32-bytes"}, []string{"FLASHLIVE_JWT_SECRET is a public secret"}},
		{"env unset, without jwt secret", true, map[string]string{"FLASHLIVE_ENV": "", "FLASHLIVE_JWT_SECRET": ""}, []string{"FLASHLIVE_JWT_SECRET is required in prod"}},
		{"env unset, with the public dev secret", true, map[string]string{"FLASHLIVE_ENV": "", "FLASHLIVE_JWT_SECRET": devJWTSecret}, []string{"FLASHLIVE_JWT_SECRET is a public secret"}},
		{"env unset, jwt secret of 31 bytes", true, map[string]string{"FLASHLIVE_ENV": "", "FLASHLIVE_JWT_SECRET": strings.Repeat("s", 31)}, []string{"FLASHLIVE_JWT_SECRET", "at least 32 bytes", "has 31"}},
		{"dev jwt secret set but short", false, map[string]string{"FLASHLIVE_JWT_SECRET": "short"}, []string{"FLASHLIVE_JWT_SECRET", "at least 32 bytes", "has 5"}},

		{"mysql URL", false, map[string]string{"FLASHLIVE_POSTGRES_URL": "mysql://u@db:3306/fl"}, []string{"FLASHLIVE_POSTGRES_URL must be a postgres:// URL"}},
		{"postgres URL without scheme", false, map[string]string{"FLASHLIVE_POSTGRES_URL": "127.0.0.1:5432"}, []string{"FLASHLIVE_POSTGRES_URL"}},
		{"postgres URL in prod is checked too", true, map[string]string{"FLASHLIVE_POSTGRES_URL": "redis://db:6379"}, []string{"FLASHLIVE_POSTGRES_URL must be a postgres:// URL"}},
		{"redis URL over http", false, map[string]string{"FLASHLIVE_REDIS_URL": "http://cache:6379"}, []string{"FLASHLIVE_REDIS_URL", "redis+cluster://"}},
		{"redis cluster without nodes", false, map[string]string{"FLASHLIVE_REDIS_URL": "redis+cluster://"}, []string{"FLASHLIVE_REDIS_URL", "no node"}},
		{"redis cluster node without port", false, map[string]string{"FLASHLIVE_REDIS_URL": "redis+cluster://h1:7000,h2"}, []string{"FLASHLIVE_REDIS_URL", `"h2" is not host:port`}},
		{"redis cluster port out of range", false, map[string]string{"FLASHLIVE_REDIS_URL": "redis+cluster://h1:70000"}, []string{"FLASHLIVE_REDIS_URL", `"h1:70000"`, "between 1 and 65535"}},
		{"redis cluster with a database", false, map[string]string{"FLASHLIVE_REDIS_URL": "redis+cluster://h1:7000/2"}, []string{"FLASHLIVE_REDIS_URL", "database 0 only"}},
		{"redis cluster with an unknown option", false, map[string]string{"FLASHLIVE_REDIS_URL": "redis+cluster://u:s3cret@h1:7000?colour=red"}, []string{"FLASHLIVE_REDIS_URL", "colour"}},
		{"redis prefix with a brace", false, map[string]string{"FLASHLIVE_REDIS_PREFIX": "fl{x}:"}, []string{"FLASHLIVE_REDIS_PREFIX", "brace"}},
		{"nats URL over http", false, map[string]string{"FLASHLIVE_NATS_URL": "http://nats:4222"}, []string{"FLASHLIVE_NATS_URL"}},
		{"prod exposes nats without a password", true, map[string]string{"FLASHLIVE_NATS_LISTEN": "0.0.0.0:4222"}, []string{"FLASHLIVE_NATS_LISTEN exposes the embedded NATS server", "FLASHLIVE_NATS_USER", "FLASHLIVE_NATS_PASSWORD"}},
		{"prod nats password too short", true, map[string]string{"FLASHLIVE_NATS_LISTEN": "0.0.0.0:4222", "FLASHLIVE_NATS_USER": "app", "FLASHLIVE_NATS_PASSWORD": "short"}, []string{"FLASHLIVE_NATS_PASSWORD", "at least 16 bytes", "has 5"}},
		{"nats user without password", false, map[string]string{"FLASHLIVE_NATS_USER": "app"}, []string{"FLASHLIVE_NATS_USER and FLASHLIVE_NATS_PASSWORD go together"}},
		{"nats password without user", false, map[string]string{"FLASHLIVE_NATS_PASSWORD": "p"}, []string{"FLASHLIVE_NATS_USER and FLASHLIVE_NATS_PASSWORD go together"}},
		{"nats replicas not a number", false, map[string]string{"FLASHLIVE_NATS_URL": "nats://n1:4222", "FLASHLIVE_NATS_REPLICAS": "three"}, []string{"FLASHLIVE_NATS_REPLICAS", `"three"`}},
		{"nats replicas zero", false, map[string]string{"FLASHLIVE_NATS_URL": "nats://n1:4222", "FLASHLIVE_NATS_REPLICAS": "0"}, []string{"FLASHLIVE_NATS_REPLICAS must be between 1 and 5, not 0"}},
		{"nats replicas six", false, map[string]string{"FLASHLIVE_NATS_URL": "nats://n1:4222", "FLASHLIVE_NATS_REPLICAS": "6"}, []string{"FLASHLIVE_NATS_REPLICAS must be between 1 and 5, not 6"}},
		{"nats replicas on the embedded server", false, map[string]string{"FLASHLIVE_NATS_REPLICAS": "3"}, []string{"FLASHLIVE_NATS_REPLICAS 3 needs a NATS cluster"}},
		{"nats listen without colon", false, map[string]string{"FLASHLIVE_NATS_LISTEN": "4222"}, []string{"FLASHLIVE_NATS_LISTEN", `"4222"`}},

		{"payment timeout not a duration", false, map[string]string{"FLASHLIVE_PAYMENT_TIMEOUT": "abc"}, []string{"FLASHLIVE_PAYMENT_TIMEOUT", `"abc"`, "not a duration"}},
		{"payment timeout without unit", false, map[string]string{"FLASHLIVE_PAYMENT_TIMEOUT": "900"}, []string{"FLASHLIVE_PAYMENT_TIMEOUT", "not a duration"}},
		{"payment timeout zero", false, map[string]string{"FLASHLIVE_PAYMENT_TIMEOUT": "0s"}, []string{"FLASHLIVE_PAYMENT_TIMEOUT", "between 1s and 24h"}},
		{"payment timeout negative", false, map[string]string{"FLASHLIVE_PAYMENT_TIMEOUT": "-5m"}, []string{"FLASHLIVE_PAYMENT_TIMEOUT", "between 1s and 24h"}},
		{"payment timeout under a second", false, map[string]string{"FLASHLIVE_PAYMENT_TIMEOUT": "999ms"}, []string{"FLASHLIVE_PAYMENT_TIMEOUT", "between 1s and 24h"}},
		{"payment timeout of two days", false, map[string]string{"FLASHLIVE_PAYMENT_TIMEOUT": "48h"}, []string{"FLASHLIVE_PAYMENT_TIMEOUT", "between 1s and 24h"}},

		{"postgres timeout not a duration", false, map[string]string{"FLASHLIVE_POSTGRES_TIMEOUT": "2"}, []string{"FLASHLIVE_POSTGRES_TIMEOUT", `"2"`, "not a duration"}},
		{"postgres timeout too short", false, map[string]string{"FLASHLIVE_POSTGRES_TIMEOUT": "10ms"}, []string{"FLASHLIVE_POSTGRES_TIMEOUT", "between 50ms and 1m0s", "not 10ms"}},
		{"postgres timeout too long", false, map[string]string{"FLASHLIVE_POSTGRES_TIMEOUT": "2m"}, []string{"FLASHLIVE_POSTGRES_TIMEOUT", "between 50ms and 1m0s"}},
		{"postgres timeout negative", false, map[string]string{"FLASHLIVE_POSTGRES_TIMEOUT": "-1s"}, []string{"FLASHLIVE_POSTGRES_TIMEOUT", "between 50ms and 1m0s"}},
		{"breaker cooldown not a duration", false, map[string]string{"FLASHLIVE_POSTGRES_BREAKER_COOLDOWN": "soon"}, []string{"FLASHLIVE_POSTGRES_BREAKER_COOLDOWN", `"soon"`, "not a duration"}},
		{"breaker cooldown too short", false, map[string]string{"FLASHLIVE_POSTGRES_BREAKER_COOLDOWN": "10ms"}, []string{"FLASHLIVE_POSTGRES_BREAKER_COOLDOWN", "between 100ms and 5m0s"}},
		{"breaker cooldown too long", false, map[string]string{"FLASHLIVE_POSTGRES_BREAKER_COOLDOWN": "1h"}, []string{"FLASHLIVE_POSTGRES_BREAKER_COOLDOWN", "between 100ms and 5m0s"}},

		{"origin with another scheme", false, map[string]string{"FLASHLIVE_ALLOWED_ORIGINS": "ftp://x"}, []string{"FLASHLIVE_ALLOWED_ORIGINS", `"ftp://x"`}},
		{"origin with a path", false, map[string]string{"FLASHLIVE_ALLOWED_ORIGINS": "https://x/path"}, []string{"FLASHLIVE_ALLOWED_ORIGINS", `"https://x/path"`}},
		{"origin without scheme", false, map[string]string{"FLASHLIVE_ALLOWED_ORIGINS": "shop.example.com"}, []string{"FLASHLIVE_ALLOWED_ORIGINS", `"shop.example.com"`}},
		{"origin without host", false, map[string]string{"FLASHLIVE_ALLOWED_ORIGINS": "https://"}, []string{"FLASHLIVE_ALLOWED_ORIGINS"}},
		{"one bad origin among good ones", false, map[string]string{"FLASHLIVE_ALLOWED_ORIGINS": "https://a.example.com,ftp://x,http://localhost:3000"}, []string{"FLASHLIVE_ALLOWED_ORIGINS", `"ftp://x"`}},

		{"operation timeout not a duration", false, map[string]string{"FLASHLIVE_OPERATION_TIMEOUT": "ten"}, []string{"FLASHLIVE_OPERATION_TIMEOUT", `"ten"`, "not a duration"}},
		{"operation timeout too short", false, map[string]string{"FLASHLIVE_OPERATION_TIMEOUT": "10ms"}, []string{"FLASHLIVE_OPERATION_TIMEOUT", "between 100ms and 5m0s", "not 10ms"}},
		{"operation timeout too long", false, map[string]string{"FLASHLIVE_OPERATION_TIMEOUT": "1h"}, []string{"FLASHLIVE_OPERATION_TIMEOUT", "between 100ms and 5m0s"}},
		{"purchase wait not a duration", false, map[string]string{"FLASHLIVE_PURCHASE_WAIT": "250"}, []string{"FLASHLIVE_PURCHASE_WAIT", `"250"`, "not a duration"}},
		{"purchase wait zero", false, map[string]string{"FLASHLIVE_PURCHASE_WAIT": "0s"}, []string{"FLASHLIVE_PURCHASE_WAIT", "between 1ms and 10s"}},
		{"purchase wait too long", false, map[string]string{"FLASHLIVE_PURCHASE_WAIT": "1m"}, []string{"FLASHLIVE_PURCHASE_WAIT", "between 1ms and 10s"}},
		{"purchases in flight not a number", false, map[string]string{"FLASHLIVE_MAX_PURCHASES_IN_FLIGHT": "many"}, []string{"FLASHLIVE_MAX_PURCHASES_IN_FLIGHT", `"many"`, "not a whole number"}},
		{"purchases in flight zero", false, map[string]string{"FLASHLIVE_MAX_PURCHASES_IN_FLIGHT": "0"}, []string{"FLASHLIVE_MAX_PURCHASES_IN_FLIGHT", "between 1 and 1000000", "not 0"}},
		{"purchases in flight too many", false, map[string]string{"FLASHLIVE_MAX_PURCHASES_IN_FLIGHT": "2000000"}, []string{"FLASHLIVE_MAX_PURCHASES_IN_FLIGHT", "between 1 and 1000000"}},

		{"ws init timeout not a duration", false, map[string]string{"FLASHLIVE_WS_INIT_TIMEOUT": "3"}, []string{"FLASHLIVE_WS_INIT_TIMEOUT", `"3"`, "not a duration"}},
		{"ws init timeout too short", false, map[string]string{"FLASHLIVE_WS_INIT_TIMEOUT": "10ms"}, []string{"FLASHLIVE_WS_INIT_TIMEOUT", "between 100ms and 1m0s", "not 10ms"}},
		{"ws init timeout too long", false, map[string]string{"FLASHLIVE_WS_INIT_TIMEOUT": "2m"}, []string{"FLASHLIVE_WS_INIT_TIMEOUT", "between 100ms and 1m0s", "not 2m0s"}},

		{"unknown log level", false, map[string]string{"FLASHLIVE_LOG_LEVEL": "loud"}, []string{"FLASHLIVE_LOG_LEVEL", `"loud"`}},

		{"seed not a boolean", false, map[string]string{"FLASHLIVE_SEED": "maybe"}, []string{"FLASHLIVE_SEED", `"maybe"`, "not a boolean"}},
		{"seed not a boolean in prod", true, map[string]string{"FLASHLIVE_SEED": "2"}, []string{"FLASHLIVE_SEED", "not a boolean"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			env := cfgDevEnv()
			if tt.prod {
				env = cfgProdEnv()
			}
			for k, v := range tt.set {
				env[k] = v
			}
			_, _, err := LoadConfig(cfgGetenv(env))
			if err == nil {
				t.Fatalf("LoadConfig(%v) = nil error", tt.set)
			}
			msg := err.Error()
			for _, w := range tt.words {
				if !strings.Contains(msg, w) {
					t.Fatalf("error %q does not contain %q", msg, w)
				}
			}
			// Only the value set here is wrong: exactly one problem.
			if got, want := strings.Count(msg, "\n  - "), 1; got != want {
				t.Fatalf("error lists %d problems, want %d:\n%s", got, want, msg)
			}
		})
	}
}

func TestLoadConfigValues(t *testing.T) {
	for _, tt := range []struct {
		name  string
		prod  bool
		set   map[string]string
		check func(t *testing.T, c Config, warnings []string)
	}{
		{"values are trimmed", true, map[string]string{"FLASHLIVE_ENV": "  prod\n", "FLASHLIVE_HTTP_ADDR": " 127.0.0.1:9090 "}, func(t *testing.T, c Config, _ []string) {
			if c.Env != EnvProd || c.HTTPAddr != "127.0.0.1:9090" {
				t.Fatalf("Env, HTTPAddr = %q, %q; want %q, %q", c.Env, c.HTTPAddr, EnvProd, "127.0.0.1:9090")
			}
		}},
		{"http addr on a random port", false, map[string]string{"FLASHLIVE_HTTP_ADDR": "127.0.0.1:0"}, func(t *testing.T, c Config, _ []string) {
			if got, want := c.HTTPAddr, "127.0.0.1:0"; got != want {
				t.Fatalf("HTTPAddr = %q, want %q", got, want)
			}
		}},
		{"jwt secret of exactly 32 bytes", true, map[string]string{"FLASHLIVE_JWT_SECRET": strings.Repeat("k", 32)}, func(t *testing.T, c Config, _ []string) {
			if got, want := string(c.JWTSecret), strings.Repeat("k", 32); got != want {
				t.Fatalf("JWTSecret = %q, want %q", got, want)
			}
		}},
		{"dev with a jwt secret has no warning", false, map[string]string{"FLASHLIVE_JWT_SECRET": strings.Repeat("k", 40)}, func(t *testing.T, c Config, warnings []string) {
			if len(warnings) != 0 {
				t.Fatalf("warnings = %q, want none", warnings)
			}
			if got, want := string(c.JWTSecret), strings.Repeat("k", 40); got != want {
				t.Fatalf("JWTSecret = %q, want %q", got, want)
			}
		}},
		{"metrics on a private address", true, map[string]string{"FLASHLIVE_METRICS_ADDR": " 127.0.0.1:9090 "}, func(t *testing.T, c Config, _ []string) {
			if got, want := c.MetricsAddr, "127.0.0.1:9090"; got != want {
				t.Fatalf("MetricsAddr = %q, want %q", got, want)
			}
		}},
		{"dev may use the public dev secret", false, map[string]string{"FLASHLIVE_JWT_SECRET": devJWTSecret}, func(t *testing.T, c Config, warnings []string) {
			if got, want := string(c.JWTSecret), devJWTSecret; got != want || len(warnings) != 0 {
				t.Fatalf("JWTSecret, warnings = %q, %q; want %q, none", got, warnings, want)
			}
		}},
		{"postgresql scheme", false, map[string]string{"FLASHLIVE_POSTGRES_URL": "postgresql://u@db/fl"}, func(t *testing.T, c Config, _ []string) {
			if got, want := c.PostgresURL, "postgresql://u@db/fl"; got != want {
				t.Fatalf("PostgresURL = %q, want %q", got, want)
			}
		}},
		{"postgres timeout and breaker cooldown", false, map[string]string{"FLASHLIVE_POSTGRES_TIMEOUT": "750ms", "FLASHLIVE_POSTGRES_BREAKER_COOLDOWN": "10s"}, func(t *testing.T, c Config, _ []string) {
			if c.PostgresTimeout != 750*time.Millisecond || c.PostgresBreakerCooldown != 10*time.Second {
				t.Fatalf("PostgresTimeout, PostgresBreakerCooldown = %s, %s; want 750ms, 10s", c.PostgresTimeout, c.PostgresBreakerCooldown)
			}
		}},
		{"redis over a unix socket", false, map[string]string{"FLASHLIVE_REDIS_URL": "unix:///run/redis.sock"}, func(t *testing.T, c Config, _ []string) {
			if got, want := c.RedisURL, "unix:///run/redis.sock"; got != want {
				t.Fatalf("RedisURL = %q, want %q", got, want)
			}
		}},
		{"dev exposes nats without a password: a warning", false, map[string]string{"FLASHLIVE_NATS_LISTEN": "127.0.0.1:4222"}, func(t *testing.T, c Config, warnings []string) {
			if len(warnings) == 0 || !strings.Contains(warnings[0], "without a password") {
				t.Fatalf("warnings = %q, want one about the unauthenticated NATS", warnings)
			}
		}},
		{"prod exposes nats with a password", true, map[string]string{"FLASHLIVE_NATS_LISTEN": "0.0.0.0:4222", "FLASHLIVE_NATS_USER": "app", "FLASHLIVE_NATS_PASSWORD": "0123456789abcdef"}, func(t *testing.T, c Config, _ []string) {
			if c.NATSUser != "app" || c.NATSPassword != "0123456789abcdef" {
				t.Fatalf("NATSUser, NATSPassword = %q, %q", c.NATSUser, c.NATSPassword)
			}
		}},
		{"nats replicas on a cluster", false, map[string]string{"FLASHLIVE_NATS_URL": "nats://u:p@n1:4222,nats://u:p@n2:4222", "FLASHLIVE_NATS_REPLICAS": "3"}, func(t *testing.T, c Config, _ []string) {
			if c.NATSReplicas != 3 {
				t.Fatalf("NATSReplicas = %d, want 3", c.NATSReplicas)
			}
		}},
		{"redis cluster", false, map[string]string{"FLASHLIVE_REDIS_URL": "redis+cluster://u:p@10.0.0.1:7000,10.0.0.2:7000/0?max_redirects=5"}, func(t *testing.T, c Config, _ []string) {
			if got, want := c.RedisURL, "redis+cluster://u:p@10.0.0.1:7000,10.0.0.2:7000/0?max_redirects=5"; got != want {
				t.Fatalf("RedisURL = %q, want %q", got, want)
			}
		}},
		{"external nats and a listen address", false, map[string]string{"FLASHLIVE_NATS_URL": "nats://127.0.0.1:4222", "FLASHLIVE_NATS_LISTEN": "127.0.0.1:4223"}, func(t *testing.T, c Config, _ []string) {
			if c.NATSURL != "nats://127.0.0.1:4222" || c.NATSListen != "127.0.0.1:4223" {
				t.Fatalf("NATSURL, NATSListen = %q, %q", c.NATSURL, c.NATSListen)
			}
		}},
		{"redis prefix and data dir", false, map[string]string{"FLASHLIVE_REDIS_PREFIX": "t1:", "FLASHLIVE_DATA_DIR": "/var/lib/flashlive"}, func(t *testing.T, c Config, _ []string) {
			if c.RedisPrefix != "t1:" || c.DataDir != "/var/lib/flashlive" {
				t.Fatalf("RedisPrefix, DataDir = %q, %q", c.RedisPrefix, c.DataDir)
			}
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			env := cfgDevEnv()
			if tt.prod {
				env = cfgProdEnv()
			}
			for k, v := range tt.set {
				env[k] = v
			}
			c, warnings, err := LoadConfig(cfgGetenv(env))
			if err != nil {
				t.Fatalf("LoadConfig(%v): %v", tt.set, err)
			}
			tt.check(t, c, warnings)
		})
	}
}

func TestLoadConfigPaymentTimeout(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want time.Duration
	}{
		{"", 15 * time.Minute},
		{"2s", 2 * time.Second},
		{"1s", time.Second},
		{" 90s ", 90 * time.Second},
		{"24h", 24 * time.Hour},
		{"1h30m", 90 * time.Minute},
	} {
		c, _, err := LoadConfig(cfgDev("FLASHLIVE_PAYMENT_TIMEOUT", tt.in))
		if err != nil {
			t.Fatalf("FLASHLIVE_PAYMENT_TIMEOUT=%q: %v", tt.in, err)
		}
		if got := c.PaymentTimeout; got != tt.want {
			t.Fatalf("FLASHLIVE_PAYMENT_TIMEOUT=%q: PaymentTimeout = %s, want %s", tt.in, got, tt.want)
		}
	}
}

func TestLoadConfigWSInitTimeout(t *testing.T) {
	c, _, err := LoadConfig(cfgGetenv(cfgDevEnv()))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := c.WSInitTimeout, 3*time.Second; got != want {
		t.Fatalf("default WSInitTimeout = %s, want %s (graphql-ws's connectionInitWaitTimeout)", got, want)
	}
	c, _, err = LoadConfig(cfgDev("FLASHLIVE_WS_INIT_TIMEOUT", "750ms"))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := c.WSInitTimeout, 750*time.Millisecond; got != want {
		t.Fatalf("FLASHLIVE_WS_INIT_TIMEOUT=750ms: WSInitTimeout = %s, want %s", got, want)
	}
}

func TestLoadConfigAdmission(t *testing.T) {
	c, _, err := LoadConfig(cfgGetenv(cfgDevEnv()))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := c.Admission, (Admission{OperationTimeout: 10 * time.Second, MaxPurchasesInFlight: 1024, PurchaseWait: 250 * time.Millisecond}); got != want {
		t.Fatalf("default Admission = %+v, want %+v", got, want)
	}
	c, _, err = LoadConfig(cfgGetenv(map[string]string{
		"FLASHLIVE_ENV":               "dev",
		"FLASHLIVE_OPERATION_TIMEOUT": "3s", "FLASHLIVE_MAX_PURCHASES_IN_FLIGHT": "64", "FLASHLIVE_PURCHASE_WAIT": "40ms",
	}))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := c.Admission, (Admission{OperationTimeout: 3 * time.Second, MaxPurchasesInFlight: 64, PurchaseWait: 40 * time.Millisecond}); got != want {
		t.Fatalf("Admission = %+v, want %+v", got, want)
	}
}

func TestLoadConfigAllowedOrigins(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want []string
	}{
		{"", nil},
		{"https://a.example.com", []string{"https://a.example.com"}},
		{"https://a.example.com/", []string{"https://a.example.com"}},
		{"https://a.example.com, http://localhost:3000", []string{"https://a.example.com", "http://localhost:3000"}},
		{" https://a.example.com/ ,, http://localhost:3000/ , ", []string{"https://a.example.com", "http://localhost:3000"}},
		{"http://127.0.0.1:8080", []string{"http://127.0.0.1:8080"}},
	} {
		c, _, err := LoadConfig(cfgDev("FLASHLIVE_ALLOWED_ORIGINS", tt.in))
		if err != nil {
			t.Fatalf("FLASHLIVE_ALLOWED_ORIGINS=%q: %v", tt.in, err)
		}
		if !reflect.DeepEqual(c.AllowedOrigins, tt.want) {
			t.Fatalf("FLASHLIVE_ALLOWED_ORIGINS=%q: AllowedOrigins = %q, want %q", tt.in, c.AllowedOrigins, tt.want)
		}
	}
}

func TestLoadConfigLogLevel(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want slog.Level
	}{
		{"", slog.LevelInfo},
		{"debug", slog.LevelDebug},
		{"info", slog.LevelInfo},
		{"warn", slog.LevelWarn},
		{"WARN", slog.LevelWarn},
		{"error", slog.LevelError},
		{" Error ", slog.LevelError},
	} {
		c, _, err := LoadConfig(cfgDev("FLASHLIVE_LOG_LEVEL", tt.in))
		if err != nil {
			t.Fatalf("FLASHLIVE_LOG_LEVEL=%q: %v", tt.in, err)
		}
		if got := c.LogLevel; got != tt.want {
			t.Fatalf("FLASHLIVE_LOG_LEVEL=%q: LogLevel = %s, want %s", tt.in, got, tt.want)
		}
	}
}

func TestLoadConfigSeed(t *testing.T) {
	for _, tt := range []struct {
		prod bool
		in   string
		want bool
	}{
		{false, "", true},
		{true, "", false},
		{false, "true", true},
		{false, "TRUE", true},
		{true, "1", true},
		{true, "yes", true},
		{true, "on", true},
		{true, "true", true},
		{false, "false", false},
		{false, "0", false},
		{false, "no", false},
		{false, "Off", false},
	} {
		env := cfgDevEnv()
		if tt.prod {
			env = cfgProdEnv()
		}
		env["FLASHLIVE_SEED"] = tt.in
		c, _, err := LoadConfig(cfgGetenv(env))
		if err != nil {
			t.Fatalf("prod=%v FLASHLIVE_SEED=%q: %v", tt.prod, tt.in, err)
		}
		if got := c.Seed; got != tt.want {
			t.Fatalf("prod=%v FLASHLIVE_SEED=%q: Seed = %v, want %v", tt.prod, tt.in, got, tt.want)
		}
	}
}

// TestRedactURL covers every kind of address the server logs: PostgreSQL
// URLs and DSNs, Redis URLs, NATS URL lists. No secret survives.
func TestRedactURL(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ in, want string }{
		{"postgres://u:secret@h:5432/db?sslmode=disable", "postgres://u:xxxxx@h:5432/db?sslmode=disable"},
		{"postgres://u@h/db?password=secret&sslmode=disable", "postgres://u@h/db?password=xxxxx&sslmode=disable"},
		{"postgres://u@h/db?sslpassword=secret", "postgres://u@h/db?sslpassword=xxxxx"},
		{"postgres://u@h/db", "postgres://u@h/db"},
		{"host=h user=u password=secret dbname=d", "host=h user=u password=xxxxx dbname=d"},
		{"host=h password='se cret\\' x' user=u", "host=h password=xxxxx user=u"},
		{"host=h user=u", "host=h user=u"},
		{"redis://:secret@127.0.0.1:6379/0", "redis://:xxxxx@127.0.0.1:6379/0"},
		{"redis://default:secret@h:6379/0?password=secret", "redis://default:xxxxx@h:6379/0?password=xxxxx"},
		{"rediss://u@h:6380", "rediss://u@h:6380"},
		{"nats://u:secret@a:4222,nats://u:secret@b:4222", "nats://u:xxxxx@a:4222,nats://u:xxxxx@b:4222"},
		{"postgres://u:sec%zzret@h/db", "postgres://xxxxx"},
	} {
		got := redactURL(tc.in)
		if got != tc.want {
			t.Errorf("redactURL(%q) = %q, want %q", tc.in, got, tc.want)
		}
		if strings.Contains(got, "secret") || strings.Contains(got, "cret") {
			t.Errorf("redactURL(%q) = %q still shows the secret", tc.in, got)
		}
	}
}
