package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"flashlive/domain"
	"flashlive/graph"
	webdemo "flashlive/web-demo"
)

// MaxBodyBytes is the largest request body /graphql reads.
const MaxBodyBytes = 1 << 20

// routes returns the HTTP handler of the process.
func (m *Main) routes(gql http.Handler) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/graphql", m.refuseBlocked(domain.BlockIP, m.authenticate(m.refuseBlocked(domain.BlockAccount, limitBody(gql)))))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = w.Write([]byte("ok\n"))
	})
	mux.HandleFunc("GET /readyz", m.ready)
	mux.Handle("GET /ws", m.refuseBlocked(domain.BlockIP, m.limitUpgrades(m.Hub)))
	if m.Config.MetricsAddr == "" {
		mux.Handle("GET /metrics", m.metricsHandler())
	} else {
		// Served on FLASHLIVE_METRICS_ADDR only.
		mux.Handle("/metrics", http.NotFoundHandler())
	}
	static := http.FileServerFS(webdemo.FS)
	// Browsers ask for /favicon.ico where a page names no icon (a JSON
	// answer, an image opened alone): the demo's SVG icon answers.
	mux.HandleFunc("GET /favicon.ico", func(w http.ResponseWriter, r *http.Request) {
		http.ServeFileFS(w, r, webdemo.FS, "favicon.svg")
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		static.ServeHTTP(w, r)
	})
	return m.observe(mux)
}

// metricsHandler serves the process's Prometheus metrics.
func (m *Main) metricsHandler() http.Handler {
	return promhttp.HandlerFor(m.Registry, promhttp.HandlerOpts{Registry: m.Registry})
}

// ReadyTimeout bounds how long /readyz takes to answer.
const ReadyTimeout = time.Second

// readyCheckTimeout is how long each dependency's check may take; they run
// at once, so that a slow one neither delays the answer past ReadyTimeout
// nor leaves the others without time.
const readyCheckTimeout = ReadyTimeout * 8 / 10

// ready answers 200 when PostgreSQL, Redis and NATS all answer, 503
// otherwise, within ReadyTimeout, with each one's state ("ok" or "down")
// as JSON. While PostgreSQL's breaker is open, PostgreSQL is down at once.
func (m *Main) ready(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), ReadyTimeout)
	defer cancel()
	checks := map[string]func(context.Context) error{
		"postgres": m.DB.Ping,
		"redis":    m.Redis.Ping,
		"nats":     m.NATS.Ping,
	}
	type result struct {
		name string
		err  error
	}
	// Buffered: a check that outlives the answer still finishes.
	results := make(chan result, len(checks))
	for name, check := range checks {
		go func() {
			cctx, ccancel := context.WithTimeout(ctx, readyCheckTimeout)
			defer ccancel()
			results <- result{name, check(cctx)}
		}()
	}
	status := map[string]string{}
	for len(status) < len(checks) && ctx.Err() == nil {
		select {
		case res := <-results:
			status[res.name] = "ok"
			if res.err != nil {
				status[res.name] = "down"
				m.Logger.WarnContext(ctx, "not ready", "dependency", res.name, "err", res.err)
			}
		case <-ctx.Done():
		}
	}
	code := http.StatusOK
	for name := range checks {
		if _, answered := status[name]; !answered {
			status[name] = "down"
			m.Logger.WarnContext(r.Context(), "not ready", "dependency", name, "err", "no answer within "+ReadyTimeout.String())
		}
		if status[name] != "ok" {
			code = http.StatusServiceUnavailable
		}
	}
	if s := m.DB.ReplicaState(); s != "" {
		status["postgres_replica"] = s // shown, never unready: reads fall back to the primary
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(status)
}

// authenticate reads "Authorization: Bearer <token>" and puts the caller in
// the request context. A request without the header is anonymous; one with
// a bad or expired token is refused with 401 and UNAUTHENTICATED, so that a
// client knows to refresh rather than silently losing its identity.
func (m *Main) authenticate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := r.Header.Get("Authorization")
		if h == "" {
			next.ServeHTTP(w, r)
			return
		}
		token, ok := strings.CutPrefix(h, "Bearer ")
		if !ok {
			writeGraphQLError(w, http.StatusUnauthorized, domain.Errorf(domain.EUNAUTHENTICATED, "the Authorization header must be 'Bearer <accessToken>'"))
			return
		}
		p, err := m.Auth.Authenticate(r.Context(), strings.TrimSpace(token))
		if err != nil {
			writeGraphQLError(w, http.StatusUnauthorized, err)
			return
		}
		noteUser(r.Context(), p.UserID)
		next.ServeHTTP(w, r.WithContext(domain.NewContextWithPrincipal(r.Context(), p)))
	})
}

// limitBody reads the request body, up to MaxBodyBytes, before the handler
// runs, and refuses larger ones with 413, whether or not the client said
// their length.
func limitBody(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tooLarge := domain.Errorf(domain.EINVALID, "the request body is larger than %d bytes", MaxBodyBytes)
		if r.ContentLength > MaxBodyBytes {
			writeGraphQLError(w, http.StatusRequestEntityTooLarge, tooLarge)
			return
		}
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBodyBytes))
		var maxErr *http.MaxBytesError
		switch {
		case errors.As(err, &maxErr):
			writeGraphQLError(w, http.StatusRequestEntityTooLarge, tooLarge)
			return
		case err != nil:
			writeGraphQLError(w, http.StatusBadRequest, domain.Errorf(domain.EINVALID, "the request body could not be read"))
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		next.ServeHTTP(w, r)
	})
}

// writeGraphQLError answers with a GraphQL-shaped error body.
// An error with a RetryAfter says it as extensions.retryAfterMs and as
// the Retry-After header.
func writeGraphQLError(w http.ResponseWriter, status int, err error) {
	ext := map[string]any{"code": domain.ErrorCode(err)}
	if d := domain.RetryAfter(err); d > 0 {
		ext["retryAfterMs"] = graph.RetryAfterMs(d)
		w.Header().Set("Retry-After", retryAfterHeader(d))
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{
		"errors": []map[string]any{{
			"message":    domain.ErrorMessage(err),
			"extensions": ext,
		}},
	})
}

// httpMetrics are the request counters and latencies of every route.
type httpMetrics struct {
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
}

func newHTTPMetrics(reg prometheus.Registerer) *httpMetrics {
	hm := &httpMetrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "flashlive_http_requests_total",
			Help: "HTTP requests by route and status code.",
		}, []string{"route", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "flashlive_http_request_duration_seconds",
			Help:    "HTTP request latency by route.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5},
		}, []string{"route"}),
	}
	reg.MustRegister(hm.requests, hm.duration)
	return hm
}

// observe gives every request an ID (the client's X-Request-ID when it is
// sane, a new one otherwise), echoes it, logs one access line, counts the
// request and turns a panic into a 500 that is logged with its stack.
func (m *Main) observe(next http.Handler) http.Handler {
	hm := newHTTPMetrics(m.Registry)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		id := r.Header.Get("X-Request-ID")
		if !validRequestID(id) {
			id = newRequestID()
		}
		ip := m.Config.TrustedProxies.clientIP(r)
		ctx := domain.NewContextWithRequestID(r.Context(), id)
		if ip.IsValid() {
			ctx = domain.NewContextWithClientIP(ctx, ip)
		}
		note := &accessNote{}
		ctx = context.WithValue(ctx, accessNoteKey{}, note)
		w.Header().Set("X-Request-ID", id)
		rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
		defer func() {
			if p := recover(); p != nil {
				if p == http.ErrAbortHandler {
					panic(p)
				}
				m.Logger.ErrorContext(ctx, "http: panic", "panic", p, "stack", string(debug.Stack()))
				if !rec.wrote {
					writeGraphQLError(rec, http.StatusInternalServerError, errors.New("panic"))
				}
			}
			route := routeOf(r.URL.Path)
			hm.requests.WithLabelValues(route, strconv.Itoa(rec.status)).Inc()
			if rec.status != http.StatusSwitchingProtocols {
				// A WebSocket's lifetime is no request latency: sockets
				// have their own metrics (socketMetrics, the hub's).
				hm.duration.WithLabelValues(route).Observe(time.Since(start).Seconds())
			}
			if route != "/metrics" && route != "/healthz" {
				op, user := note.get()
				m.Logger.InfoContext(ctx, "http request", "method", r.Method, "path", r.URL.Path,
					"status", rec.status, "bytes", rec.bytes, "took_ms", float64(time.Since(start).Microseconds())/1000,
					"client_ip", ip.String(), "user_id", user, "operation", op)
			}
		}()
		next.ServeHTTP(rec, r.WithContext(ctx))
	})
}

// accessNote is what the handlers of a request learn for its access log
// line: the GraphQL operation and the signed-in user.
type accessNote struct {
	mu              sync.Mutex
	operation, user string
}

type accessNoteKey struct{}

func (n *accessNote) get() (operation, user string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.operation, n.user
}

// noteUser records the signed-in user of the request of ctx for its
// access log line.
func noteUser(ctx context.Context, userID string) {
	if n, ok := ctx.Value(accessNoteKey{}).(*accessNote); ok {
		n.mu.Lock()
		n.user = userID
		n.mu.Unlock()
	}
}

// noteOperation records the GraphQL operation of the request of ctx (the
// last one, on a socket) and its user, for its access log line; it is
// graph.Options.OnOperation.
func noteOperation(ctx context.Context, name string) {
	if n, ok := ctx.Value(accessNoteKey{}).(*accessNote); ok {
		n.mu.Lock()
		n.operation = name
		if p, ok := domain.PrincipalFromContext(ctx); ok {
			n.user = p.UserID
		}
		n.mu.Unlock()
	}
}

// routeOf names a path's route for metrics, so that labels stay few.
func routeOf(path string) string {
	switch path {
	case "/graphql", "/healthz", "/readyz", "/metrics", "/ws":
		return path
	}
	return "/static"
}

func validRequestID(id string) bool {
	if id == "" || len(id) > 128 {
		return false
	}
	for _, c := range id {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.ContainsRune("-_.:", c)) {
			return false
		}
	}
	return true
}

func newRequestID() string {
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// statusRecorder remembers the status and size of a response.
type statusRecorder struct {
	http.ResponseWriter
	status int
	bytes  int
	wrote  bool
}

func (s *statusRecorder) WriteHeader(code int) {
	if !s.wrote {
		s.status, s.wrote = code, true
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusRecorder) Write(b []byte) (int, error) {
	s.wrote = true
	n, err := s.ResponseWriter.Write(b)
	s.bytes += n
	return n, err
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (s *statusRecorder) Unwrap() http.ResponseWriter { return s.ResponseWriter }

// Hijack hands the connection over, for WebSockets (/ws).
func (s *statusRecorder) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	conn, rw, err := http.NewResponseController(s.ResponseWriter).Hijack()
	if err == nil {
		s.status, s.wrote = http.StatusSwitchingProtocols, true
	}
	return conn, rw, err
}
