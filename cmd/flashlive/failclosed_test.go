package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"flashlive/internal/testenv"
)

// runMainEnv names the variable under which the test binary, started again
// by TestProcessFailsClosed, runs main() instead of the tests.
const runMainEnv = "FLASHLIVE_TEST_RUN_MAIN"

// TestProcessFailsClosed starts the real process (this test binary running
// main()) with environments that used to start a server signing tokens
// with a public secret: each one exits with status 2 before it connects to
// anything, with a message naming FLASHLIVE_JWT_SECRET.
func TestProcessFailsClosed(t *testing.T) {
	if os.Getenv(runMainEnv) == "1" {
		main()
		t.Fatal("main() returned; want it to exit")
	}
	// URLs of nothing that listens: a process that got past the
	// configuration would fail on them with another message.
	urls := []string{
		"FLASHLIVE_POSTGRES_URL=postgres://flashlive@127.0.0.1:1/flashlive?sslmode=disable",
		"FLASHLIVE_REDIS_URL=redis://127.0.0.1:1/0",
	}
	for _, tt := range []struct {
		name string
		env  []string
		want string
	}{
		{"env unset and no secret", nil, "FLASHLIVE_JWT_SECRET is required in prod"},
		{"env unset and the dev secret", []string{"FLASHLIVE_JWT_SECRET=" + devJWTSecret}, "FLASHLIVE_JWT_SECRET is a public secret"},
		{"prod and the dev secret", []string{"FLASHLIVE_ENV=prod", "FLASHLIVE_JWT_SECRET=" + devJWTSecret}, "FLASHLIVE_JWT_SECRET is a public secret"},
		{"prod and a short secret", []string{"FLASHLIVE_ENV=prod", "FLASHLIVE_JWT_SECRET=" + strings.Repeat("s", 31)}, "FLASHLIVE_JWT_SECRET must have at least 32 bytes, it has 31"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^TestProcessFailsClosed$")
			cmd.Env = append(append(withoutFlashlive(os.Environ()), runMainEnv+"=1"), append(urls, tt.env...)...)
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			err := cmd.Run()
			var exit *exec.ExitError
			if !errors.As(err, &exit) || exit.ExitCode() != 2 {
				t.Fatalf("process ended with %v, want exit status 2; stderr:\n%s", err, stderr.String())
			}
			if !strings.Contains(stderr.String(), tt.want) {
				t.Fatalf("stderr = %q, want it to contain %q", stderr.String(), tt.want)
			}
		})
	}
}

// withoutFlashlive returns env without the FLASHLIVE_ variables, so that
// the process sees only what the test sets.
func withoutFlashlive(env []string) []string {
	var out []string
	for _, kv := range env {
		if !strings.HasPrefix(kv, "FLASHLIVE_") {
			out = append(out, kv)
		}
	}
	return out
}

// TestMainRefusesProdWithAnUnsafeSecret: a Config built in code, not read
// by LoadConfig, fails closed too. Outside dev, Main.Open refuses no
// secret, a short one and a public one, before it connects to anything.
func TestMainRefusesProdWithAnUnsafeSecret(t *testing.T) {
	redisURL, prefix := testenv.Redis(t)
	pgURL := testenv.PostgresURL(t)
	for _, tt := range []struct {
		name   string
		env    string
		secret string
		want   string
	}{
		{"prod without a secret", EnvProd, "", "FLASHLIVE_JWT_SECRET is required in prod"},
		{"prod with the dev secret", EnvProd, devJWTSecret, "FLASHLIVE_JWT_SECRET is a public secret"},
		{"prod with a short secret", EnvProd, strings.Repeat("s", 31), "FLASHLIVE_JWT_SECRET must have at least 32 bytes, it has 31"},
		{"no environment and the dev secret", "", devJWTSecret, "FLASHLIVE_JWT_SECRET is a public secret"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			cfg := Config{
				HTTPAddr: "127.0.0.1:0", PostgresURL: pgURL, RedisURL: redisURL, RedisPrefix: prefix,
				JWTSecret: []byte(tt.secret), PaymentTimeout: DefaultPaymentTimeout, Env: tt.env,
				DataDir: t.TempDir(), LogLevel: slog.LevelWarn,
			}
			m := NewMain(cfg, NewLogger(io.Discard, cfg.LogLevel))
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			err := m.Open(ctx)
			defer m.Close()
			if err == nil {
				t.Fatal("Open = nil error, want the secret refused")
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Open = %q, want it to contain %q", err, tt.want)
			}
			if m.DB != nil || m.Redis != nil || m.listener != nil {
				t.Fatal("Open connected or listened before refusing the secret")
			}
		})
	}
}

// TestMetricsOnlyOnTheMetricsAddress: with FLASHLIVE_METRICS_ADDR set,
// /metrics is served there, and the public address answers 404 for it,
// whatever the method.
func TestMetricsOnlyOnTheMetricsAddress(t *testing.T) {
	app := startApp(t, func(c *Config) { c.MetricsAddr = "127.0.0.1:0" })
	app.anon().must(t, `{ serverTime }`, nil, nil)

	for _, method := range []string{http.MethodGet, http.MethodHead, http.MethodPost} {
		req, _ := http.NewRequest(method, app.URL+"/metrics", nil)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != http.StatusNotFound || strings.Contains(string(body), "go_goroutines") {
			t.Fatalf("%s /metrics on the public address = %d %.80q, want 404 and no metrics", method, res.StatusCode, body)
		}
	}

	if app.MetricsAddr() == "" || app.MetricsAddr() == app.Addr() {
		t.Fatalf("MetricsAddr = %q (public %q), want a listener of its own", app.MetricsAddr(), app.Addr())
	}
	res, err := http.Get("http://" + app.MetricsAddr() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusOK || !strings.Contains(string(body), `flashlive_http_requests_total{code="200",route="/graphql"}`) || !strings.Contains(string(body), "go_goroutines") {
		t.Fatalf("/metrics on the metrics address = %d, want 200 with the request counter and the Go collector", res.StatusCode)
	}
	// The private listener serves /metrics and nothing else.
	if res, err := http.Get("http://" + app.MetricsAddr() + "/graphql?query={serverTime}"); err != nil {
		t.Fatal(err)
	} else if res.Body.Close(); res.StatusCode != http.StatusNotFound {
		t.Fatalf("/graphql on the metrics address = %d, want 404", res.StatusCode)
	}

	if off := startApp(t, nil); off.MetricsAddr() != "" {
		t.Fatalf("MetricsAddr = %q with FLASHLIVE_METRICS_ADDR unset", off.MetricsAddr())
	}
}
