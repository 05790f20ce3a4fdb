package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"flashlive/auth"
	"flashlive/domain"
	"flashlive/graph"
	"flashlive/jobs"
	"flashlive/storage/nats"
	"flashlive/storage/postgres"
	"flashlive/storage/redis"
)

// ShutdownTimeout bounds how long Close waits for in-flight requests.
const ShutdownTimeout = 15 * time.Second

// Main is one flashlive process: its adapters, services, jobs and HTTP
// server. Tests run it end to end: NewMain, Open, use Addr, Close.
type Main struct {
	Config Config
	Logger *slog.Logger
	// Now is the clock of every service; tests may set it before Open.
	Now func() time.Time

	DB       *postgres.DB
	Redis    *redis.Client
	NATS     *nats.Conn
	Auth     *postgres.AuthService
	Resolver *graph.Resolver
	Registry *prometheus.Registry

	jobs     *jobs.Scheduler
	server   *http.Server
	listener net.Listener
	serveErr chan error
}

// NewMain returns a Main that has opened nothing yet.
func NewMain(cfg Config, logger *slog.Logger) *Main {
	return &Main{Config: cfg, Logger: logger, Now: time.Now}
}

// Run opens everything, serves until ctx ends or the server fails, then
// closes everything in reverse order.
func (m *Main) Run(ctx context.Context) error {
	if err := m.Open(ctx); err != nil {
		m.Close()
		return err
	}
	var err error
	select {
	case <-ctx.Done():
		m.Logger.Info("shutting down")
	case err = <-m.serveErr:
	}
	return errors.Join(err, m.Close())
}

// Open connects to PostgreSQL (applying migrations), Redis and NATS, wires
// the services, seeds demo data when configured, starts the jobs and starts
// serving HTTP. On error, Close releases what was opened.
func (m *Main) Open(ctx context.Context) error {
	cfg := m.Config
	openCtx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()

	var err error
	if m.DB, err = postgres.Open(openCtx, cfg.PostgresURL); err != nil {
		return fmt.Errorf("postgres at %s: %w", postgres.Redact(cfg.PostgresURL), err)
	}
	m.DB.Now = m.Now
	if m.Redis, err = redis.Open(openCtx, cfg.RedisURL, cfg.RedisPrefix); err != nil {
		return fmt.Errorf("redis at %s: %w", postgres.Redact(cfg.RedisURL), err)
	}
	m.NATS, err = nats.Open(openCtx, cfg.NATSURL, "flashlive", nats.EmbeddedOptions{
		StoreDir: filepath.Join(cfg.DataDir, "nats"),
		Listen:   cfg.NATSListen,
	})
	if err != nil {
		return err
	}
	natsWhere := cfg.NATSURL
	if natsWhere == "" {
		natsWhere = "embedded (" + filepath.Join(cfg.DataDir, "nats") + ")"
	}

	tokens, err := auth.NewTokens(cfg.JWTSecret, auth.DefaultAccessTTL, m.Now)
	if err != nil {
		return err
	}
	m.Auth = postgres.NewAuthService(m.DB, auth.NewHasher(auth.DefaultParams, 0), tokens, 0)
	m.Resolver = &graph.Resolver{
		AuthService:       m.Auth,
		UserService:       m.Auth,
		ProductService:    postgres.NewProductService(m.DB),
		LiveRoomService:   postgres.NewLiveRoomService(m.DB),
		FlashEventService: postgres.NewFlashEventService(m.DB),
		StockReader:       domain.SoldCountStock{},
		Now:               m.Now,
	}

	if cfg.Seed {
		if err := seedDemo(openCtx, m.Resolver, m.Auth, m.Now, m.Logger); err != nil {
			return fmt.Errorf("seed demo data: %w", err)
		}
	}

	if m.jobs, err = jobs.NewScheduler(m.Logger); err != nil {
		return err
	}
	if err := m.jobs.Every("prune-refresh-tokens", time.Hour, time.Minute,
		jobs.PruneRefreshTokens(m.Auth, m.Logger, m.Now)); err != nil {
		return err
	}
	m.jobs.Start()

	m.Registry = prometheus.NewRegistry()
	m.Registry.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	gql := graph.NewHandler(m.Resolver, graph.Options{Dev: cfg.Dev(), Logger: m.Logger})
	handler := m.routes(gql)

	if m.listener, err = net.Listen("tcp", cfg.HTTPAddr); err != nil {
		return fmt.Errorf("listen on %s: %w", cfg.HTTPAddr, err)
	}
	m.server = &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       30 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(m.Logger.Handler(), slog.LevelWarn),
	}
	m.serveErr = make(chan error, 1)
	go func() {
		if err := m.server.Serve(m.listener); err != nil && !errors.Is(err, http.ErrServerClosed) {
			m.serveErr <- err
		}
		close(m.serveErr)
	}()
	m.Logger.Info("flashlive is serving",
		"url", "http://"+displayAddr(m.listener.Addr()),
		"env", cfg.Env,
		"postgres", postgres.Redact(cfg.PostgresURL),
		"redis", postgres.Redact(cfg.RedisURL),
		"nats", natsWhere)
	return nil
}

// Addr returns the address the server listens on (useful with port 0).
func (m *Main) Addr() string {
	return m.listener.Addr().String()
}

// Close stops accepting requests, waits up to ShutdownTimeout for those in
// flight, stops the jobs, and closes NATS (draining its consumers), Redis
// and PostgreSQL, in that order. It is safe after a failed Open.
func (m *Main) Close() error {
	var errs []error
	if m.server != nil {
		ctx, cancel := context.WithTimeout(context.Background(), ShutdownTimeout)
		errs = append(errs, m.server.Shutdown(ctx))
		cancel()
	}
	if m.jobs != nil {
		errs = append(errs, m.jobs.Shutdown())
	}
	if m.NATS != nil {
		m.NATS.Close()
	}
	if m.Redis != nil {
		errs = append(errs, m.Redis.Close())
	}
	if m.DB != nil {
		m.DB.Close()
	}
	return errors.Join(errs...)
}

// displayAddr turns a listen address into one a person can open.
func displayAddr(a net.Addr) string {
	host, port, err := net.SplitHostPort(a.String())
	if err != nil {
		return a.String()
	}
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		host = "localhost"
	}
	return net.JoinHostPort(host, port)
}
