package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"flashlive/internal/testenv"
)

// clock is a test clock: the real time moved by an offset the test sets.
type clock struct{ offset atomic.Int64 }

func (c *clock) Now() time.Time          { return time.Now().Add(time.Duration(c.offset.Load())) }
func (c *clock) Advance(d time.Duration) { c.offset.Add(int64(d)) }

// testApp is a Main serving on a random loopback port against real
// PostgreSQL, Redis and an embedded NATS.
type testApp struct {
	*Main
	URL   string
	Clock *clock
}

// startApp opens a Main with a fresh database; edit tweaks the config.
func startApp(t testing.TB, edit func(*Config)) *testApp {
	t.Helper()
	redisURL, prefix := testenv.Redis(t)
	cfg := Config{
		HTTPAddr:       "127.0.0.1:0",
		PostgresURL:    testenv.PostgresURL(t),
		RedisURL:       redisURL,
		RedisPrefix:    prefix,
		JWTSecret:      []byte("test-secret-test-secret-test-secret!"),
		PaymentTimeout: DefaultPaymentTimeout,
		Env:            EnvDev,
		DataDir:        t.TempDir(),
		LogLevel:       slog.LevelWarn,
	}
	if edit != nil {
		edit(&cfg)
	}
	return openApp(t, cfg)
}

func openApp(t testing.TB, cfg Config) *testApp {
	t.Helper()
	clk := &clock{}
	m := NewMain(cfg, NewLogger(os.Stderr, cfg.LogLevel))
	m.Now = clk.Now
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := m.Open(ctx); err != nil {
		m.Close()
		t.Fatalf("open main: %v", err)
	}
	t.Cleanup(func() {
		if err := m.Close(); err != nil {
			t.Errorf("close main: %v", err)
		}
	})
	return &testApp{Main: m, URL: "http://" + m.Addr(), Clock: clk}
}

// gqlError is one error of a GraphQL response.
type gqlError struct {
	Message    string         `json:"message"`
	Path       []any          `json:"path"`
	Extensions map[string]any `json:"extensions"`
}

// gqlResponse is a GraphQL response with its HTTP status.
type gqlResponse struct {
	Status int
	Data   json.RawMessage `json:"data"`
	Errors []gqlError      `json:"errors"`
}

// code returns the code of the first error, or "".
func (r gqlResponse) code() string {
	if len(r.Errors) == 0 {
		return ""
	}
	c, _ := r.Errors[0].Extensions["code"].(string)
	return c
}

// client talks GraphQL to a testApp, as one signed-in user or anonymously.
type client struct {
	app   *testApp
	token string
	http  *http.Client // nil: http.DefaultClient (see from)
}

func (a *testApp) anon() *client { return &client{app: a} }

// post sends one GraphQL operation and decodes the answer.
func (c *client) post(t testing.TB, query string, vars map[string]any) gqlResponse {
	t.Helper()
	body, _ := json.Marshal(map[string]any{"query": query, "variables": vars})
	return c.raw(t, "application/json", body)
}

func (c *client) raw(t testing.TB, contentType string, body []byte) gqlResponse {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, c.app.URL+"/graphql", bytes.NewReader(body))
	req.Header.Set("Content-Type", contentType)
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	hc := http.DefaultClient
	if c.http != nil {
		hc = c.http
	}
	res, err := hc.Do(req)
	if err != nil {
		t.Fatalf("POST /graphql: %v", err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	var out gqlResponse
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatalf("POST /graphql: status %d, body is not JSON: %q", res.StatusCode, b)
	}
	out.Status = res.StatusCode
	if res.StatusCode >= 500 {
		t.Fatalf("POST /graphql: status %d: %s", res.StatusCode, b)
	}
	return out
}

// must sends an operation that must succeed and decodes its data into v.
func (c *client) must(t testing.TB, query string, vars map[string]any, v any) {
	t.Helper()
	r := c.post(t, query, vars)
	if len(r.Errors) > 0 {
		t.Fatalf("unexpected errors: %+v\nquery: %s", r.Errors, query)
	}
	if v != nil {
		if err := json.Unmarshal(r.Data, v); err != nil {
			t.Fatalf("decode data %s: %v", r.Data, err)
		}
	}
}

// wantCode sends an operation that must fail with code.
func (c *client) wantCode(t testing.TB, code, query string, vars map[string]any) gqlResponse {
	t.Helper()
	r := c.post(t, query, vars)
	if got := r.code(); got != code {
		t.Fatalf("code = %q, want %q; errors %+v; data %s", got, code, r.Errors, r.Data)
	}
	if strings.Contains(strings.ToLower(r.Errors[0].Message), "sql") || strings.Contains(r.Errors[0].Message, "goroutine") {
		t.Fatalf("error message leaks internals: %q", r.Errors[0].Message)
	}
	return r
}

// session is what register and login return.
type session struct {
	AccessToken  string `json:"accessToken"`
	RefreshToken string `json:"refreshToken"`
	ExpiresAt    string `json:"expiresAt"`
	User         struct {
		ID          string `json:"id"`
		Email       string `json:"email"`
		DisplayName string `json:"displayName"`
		Role        string `json:"role"`
	} `json:"user"`
}

const sessionFields = `accessToken refreshToken expiresAt user { id email displayName role }`

var userSeq atomic.Int64

// register signs up a new user with role and returns a client signed in
// as that user.
func (a *testApp) register(t testing.TB, role string) (*client, session) {
	t.Helper()
	n := userSeq.Add(1)
	var out struct{ Register session }
	a.anon().must(t, `mutation($in: RegisterInput!) { register(input: $in) { `+sessionFields+` } }`,
		map[string]any{"in": map[string]any{
			"email": fmt.Sprintf("user%d-%d@example.com", n, time.Now().UnixNano()), "password": "correct horse battery",
			"displayName": fmt.Sprintf("User %d", n), "role": role,
		}}, &out)
	return &client{app: a, token: out.Register.AccessToken}, out.Register
}

// get fetches a path and returns the status and body.
func (a *testApp) get(t testing.TB, path string, header ...string) (*http.Response, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, a.URL+path, nil)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res, string(b)
}
