package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/oklog/ulid/v2"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"flashlive/auth"
	"flashlive/domain"
	"flashlive/graph"
	"flashlive/jobs"
	"flashlive/realtime"
	"flashlive/service"
	"flashlive/storage/nats"
	"flashlive/storage/postgres"
	"flashlive/storage/redis"
)

// ShutdownTimeout bounds how long Close waits for in-flight requests.
const ShutdownTimeout = 15 * time.Second

// PreheatWindow is how long before its start an event is loaded into the
// hot stock.
const PreheatWindow = 10 * time.Minute

// OrphanAge is how old a reservation without an order must be before
// reconciliation publishes it again.
const OrphanAge = 5 * time.Second

// RevocationSync is how often every instance reads the sessions revoked
// lately, in case the live feed lost the notice of one.
const RevocationSync = 5 * time.Second

// newOrderID makes the ID of a flash order of the event: unique across
// instances, sortable by time.
func newOrderID(eventID string) string {
	return domain.FlashOrderID(strings.ToLower(ulid.Make().String()), eventID)
}

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
	// Sale is the flash-sale hot path; Orders the order stream.
	Sale *service.FlashSale
	// WaitingRoom is the waiting room of flash events (queue.go).
	WaitingRoom *service.WaitingRoom
	Orders      *nats.OrderStream
	Reconciler  *jobs.Reconciler
	// Hub is the live-room feed behind /ws.
	Hub      *realtime.Hub
	Registry *prometheus.Registry
	// Rains is the red-packet rain service, Grabs its stream (rain.go).
	Rains          *service.RedPackets
	Grabs          *nats.GrabStream
	GrabReconciler *jobs.GrabReconciler
	RainRefund     *jobs.RainRefund

	jobs      *jobs.Scheduler
	protect   *protection    // rate limits and the blocklist; nil when limits are off
	limiter   *redis.Limiter // the one rate limiter (sale, accounts, chat); nil until asked for
	chat      *chatSide      // the room chat: its log and service
	stores    stores
	hubQueue  *presentedQueue // the waiting room as the hub reads it
	rain      rainParts
	drift     driftGauge
	closeOnce sync.Once
	closeErr  error
	server    *http.Server
	listener  net.Listener
	serveErr  chan error
	debug     *http.Server // /debug/pprof/ on DebugAddr; nil when off
	debugLn   net.Listener
	metrics   *http.Server // /metrics on MetricsAddr; nil when on the public address
	metricsLn net.Listener

	// replicaReads counts the reads routed to the read replica or away
	// from it; nil without one (replica.go).
	replicaReads *prometheus.CounterVec
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
// serving HTTP. On error, Close releases what was opened. Each step reads
// what the steps before it set on m.
func (m *Main) Open(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	for _, step := range []struct {
		name string
		run  func(context.Context) error
	}{
		{"config", m.checkConfig},
		{"connect", m.connect},
		{"stores", m.openStores},
		{"live feed", m.openFeed},
		{"services", m.buildServices},
		{"demo data", m.seed},
		{"jobs", m.startJobs},
		{"http", m.serve},
	} {
		if err := step.run(ctx); err != nil {
			return fmt.Errorf("open %s: %w", step.name, err)
		}
	}
	m.Logger.Info("flashlive is serving",
		"url", "http://"+displayAddr(m.listener.Addr()),
		"env", m.Config.Env,
		"postgres", redactURL(m.Config.PostgresURL),
		"redis", redactURL(m.Config.RedisURL),
		"redis_min_replicas", m.Config.RedisReplicas.Min,
		"nats", redactURL(m.natsWhere()))
	return nil
}

// checkConfig refuses to run outside dev with a JWT secret that
// LoadConfig refuses there (none, too short, or public), so that a Config
// built in code fails closed as the environment's does.
func (m *Main) checkConfig(context.Context) error {
	if m.Config.Dev() {
		return nil
	}
	if msg := checkJWTSecret(m.Config.JWTSecret, false); msg != "" {
		return errors.New(msg)
	}
	return nil
}

// stores are the adapters' services that Open builds once and hands to
// the services, the feed and the jobs.
type stores struct {
	orders *postgres.OrderStore
	events *postgres.FlashEventService
	rooms  *postgres.LiveRoomService
	source *postgres.HotEventSource
	hot    *redis.HotStock
	unpaid *redis.UnpaidOrders
	queue  *redis.Queue
	// idemTTL is how long a key keeps its first answer: in Redis, in what
	// a rebuild restores, and in PostgreSQL before pruning.
	idemTTL time.Duration
}

// connect opens PostgreSQL (applying migrations), Redis and NATS.
func (m *Main) connect(ctx context.Context) error {
	cfg := m.Config
	var err error
	m.DB, err = postgres.OpenWith(ctx, cfg.PostgresURL, postgres.Options{
		QueryTimeout:    cfg.PostgresTimeout,
		BreakerCooldown: cfg.PostgresBreakerCooldown,
		OnBreakerChange: m.breakerChanged,
	})
	if err != nil {
		return fmt.Errorf("postgres at %s: %w", redactURL(cfg.PostgresURL), err)
	}
	m.DB.Now = m.Now
	if m.Redis, err = redis.Open(ctx, cfg.RedisURL, cfg.RedisPrefix); err != nil {
		return fmt.Errorf("redis at %s: %w", redactURL(cfg.RedisURL), err)
	}
	m.Redis.MinReplicas, m.Redis.ReplicaTimeout = cfg.RedisReplicas.Min, cfg.RedisReplicas.Timeout
	if err := m.attachReplica(ctx); err != nil {
		return err
	}
	m.NATS, err = nats.Open(ctx, cfg.NATSURL, "flashlive", nats.EmbeddedOptions{
		StoreDir: m.natsDir(),
		Listen:   cfg.NATSListen,
		User:     cfg.NATSUser,
		Password: cfg.NATSPassword,
	})
	if err != nil {
		return fmt.Errorf("nats at %s: %w", redactURL(m.natsWhere()), err)
	}
	m.NATS.Replicas = cfg.NATSReplicas
	return nil
}

func (m *Main) natsDir() string { return filepath.Join(m.Config.DataDir, "nats") }

// natsWhere says, for logs, which NATS the process uses.
func (m *Main) natsWhere() string {
	if m.Config.NATSURL != "" {
		return m.Config.NATSURL
	}
	return "embedded (" + m.natsDir() + ")"
}

// openStores builds the stores over the connections: accounts, orders,
// events and rooms in PostgreSQL, the hot stock in Redis, the order
// stream in NATS.
func (m *Main) openStores(ctx context.Context) error {
	tokens, err := auth.NewTokens(m.Config.JWTSecret, auth.DefaultAccessTTL, m.Now)
	if err != nil {
		return err
	}
	m.Auth = postgres.NewAuthService(m.DB, auth.NewHasher(auth.DefaultParams, 0), tokens, 0)
	if m.Orders, err = nats.NewOrderStream(ctx, m.NATS, m.Logger); err != nil {
		return err
	}
	if err := m.openRainStores(ctx); err != nil {
		return err
	}
	st := &m.stores
	st.idemTTL = redis.DefaultIdempotencyTTL
	st.hot = redis.NewHotStock(m.Redis, st.idemTTL)
	st.hot.Now = m.Now
	st.unpaid = redis.NewUnpaidOrders(m.Redis)
	st.queue = redis.NewQueue(m.Redis)
	m.hubQueue = &presentedQueue{Queue: st.queue}
	st.orders = postgres.NewOrderStore(m.DB, m.Config.PaymentTimeout)
	st.events = postgres.NewFlashEventService(m.DB)
	st.rooms = postgres.NewLiveRoomService(m.DB)
	st.source = postgres.NewHotEventSource(m.DB, st.idemTTL)
	return nil
}

// openFeed starts the live-room hub behind /ws, which every service that
// changes what viewers see notifies, and which carries revoked sessions
// between the instances (the accounts tell it theirs, it tells them the
// others'); then it reads the sessions revoked lately, so that their
// tokens are refused from the first request.
func (m *Main) openFeed(ctx context.Context) error {
	cfg := m.Config
	var err error
	m.chat = m.openChat()
	m.Hub, err = realtime.NewHub(realtime.Config{
		Source: &liveSource{
			rooms: m.stores.rooms, events: m.stores.events, stock: service.HotStockReader{Hot: m.stores.hot}, now: m.Now,
		},
		Broker:         nats.NewBroker(m.NATS),
		Rains:          &rainSnapshot{store: m.rain.store, hot: m.rain.hot, now: m.Now},
		Authenticate:   m.Auth.Authenticate,
		Revoked:        m.Auth,
		Queue:          m.hubQueue,
		AllowedOrigins: cfg.AllowedOrigins,
		Dev:            cfg.Dev(),
		FrameLimit:     cfg.Limits.WSFrames,
		Chat:           m.chat,
		Instance:       instanceName(),
		Logger:         m.Logger,
		Now:            m.Now,
	})
	if err != nil {
		return err
	}
	m.Auth.Revocations = m.Hub
	m.chat.Chat.Notify = m.Hub
	return m.Auth.SyncRevocations(ctx)
}

// buildServices builds the application services over the stores, the
// metrics around them, and the GraphQL resolver that serves them.
func (m *Main) buildServices(context.Context) error {
	st := m.stores
	purchaseTokens, err := auth.NewPurchaseTokens(m.Config.JWTSecret, auth.DefaultPurchaseTokenTTL, m.Now)
	if err != nil {
		return err
	}
	m.Sale = &service.FlashSale{
		Hot:        st.hot,
		Source:     st.source,
		Publisher:  m.Orders,
		Tokens:     purchaseTokens,
		Settled:    m.Orders.Settled,
		NewOrderID: newOrderID,
		Now:        m.Now,
		Logger:     m.Logger,
		Live:       m.Hub,

		MaxPurchasesInFlight: m.Config.Admission.MaxPurchasesInFlight,
		PurchaseWait:         m.Config.Admission.PurchaseWait,
		Unpaid:               service.UnpaidCap{Orders: st.unpaid, Max: m.Config.maxUnpaidOrders(), Window: m.Config.PaymentTimeout + UnpaidWindowMargin},
	}
	if err := m.buildWaitingRoom(purchaseTokens); err != nil {
		return err
	}
	m.Registry = prometheus.NewRegistry()
	m.Registry.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	m.protect = m.openProtection()
	meteredSale, drift := instrument(m.Registry, m.limitSale(m.Sale), m.Orders)
	m.drift = drift
	instrumentHub(m.Registry, m.Hub)
	instrumentDB(m.Registry, m.DB.Pool)
	m.instrumentReplica(m.Registry)
	m.Resolver = &graph.Resolver{
		AuthService:     m.limitAuth(m.Auth),
		UserService:     m.Auth,
		ProductService:  postgres.NewProductService(m.DB),
		LiveRoomService: st.rooms,
		FlashEventService: &service.SaleEvents{
			FlashEventService: st.events, Sale: m.Sale, PreheatWindow: PreheatWindow, Logger: m.Logger,
		},
		FlashSaleService: meteredSale,
		OrderService:     &service.Orders{Store: st.orders, Hot: st.hot, Logger: m.Logger, Live: m.Hub, Unpaid: st.unpaid},
		StockReader:      service.HotStockReader{Hot: st.hot},
		ViewerCounter:    m.Hub,
		Live:             m.Hub,
		Now:              m.Now,
		BlockService:     m.blockService(),
		WaitingRoom:      m.limitWaitingRoom(m.WaitingRoom),
		QueueWatch:       m.Hub,
		ChatService:      m.chat.Chat,
	}
	m.buildRainService()
	return nil
}

// seed creates the demo data when the configuration asks for it.
func (m *Main) seed(ctx context.Context) error {
	if !m.Config.Seed {
		return nil
	}
	return seedDemo(ctx, m.demoServices(), m.Now, m.Logger)
}

// startJobs starts the order stream's handlers (the order writer and
// expiry) and the periodic jobs.
func (m *Main) startJobs(context.Context) error {
	st := m.stores
	writer := &jobs.OrderWriter{Orders: st.orders, Hot: st.hot, Unpaid: st.unpaid, Live: m.Hub, Logger: m.Logger}
	expiry := &jobs.Expiry{Orders: st.orders, Hot: st.hot, Unpaid: st.unpaid, Live: m.Hub, Logger: m.Logger}
	if err := m.Orders.Start(writer.Handle, expiry.Handle); err != nil {
		return err
	}
	m.Reconciler = &jobs.Reconciler{
		Events: st.events, Orders: st.orders, Hot: st.hot, Publisher: m.Orders, Stream: m.Orders,
		Live: m.Hub, OrphanAge: OrphanAge, Logger: m.Logger, Now: m.Now,
		Drift: m.drift,
	}
	var err error
	if m.jobs, err = jobs.NewScheduler(m.Logger); err != nil {
		return err
	}
	for _, j := range []struct {
		name              string
		interval, timeout time.Duration
		run               func(context.Context) error
	}{
		{"prune-refresh-tokens", time.Hour, time.Minute, (&jobs.Prune{
			What: "expired refresh tokens", Age: jobs.RefreshTokenGrace,
			Store: jobs.PrunerFunc(m.Auth.DeleteExpiredRefreshTokens), Logger: m.Logger, Now: m.Now,
		}).Run},
		{"prune-idempotency-keys", time.Hour, time.Minute, (&jobs.Prune{
			What: "idempotency keys past their TTL", Age: st.idemTTL,
			Store: jobs.PrunerFunc(st.orders.DeleteKeptAnswers), Logger: m.Logger, Now: m.Now,
		}).Run},
		{"preheat", 5 * time.Second, 30 * time.Second, (&jobs.Preheat{
			Events: st.source, Sale: m.Sale, Window: PreheatWindow, Logger: m.Logger, Now: m.Now,
		}).Run},
		{"scan-expiries", time.Second, 10 * time.Second, (&jobs.ScanExpiries{
			Orders: st.orders, Publisher: m.Orders, Now: m.Now,
		}).Run},
		{"reconcile", 5 * time.Second, time.Minute, m.Reconciler.Run},
		{"sync-revocations", RevocationSync, 10 * time.Second, m.Auth.SyncRevocations},
		{"transitions", time.Second, 10 * time.Second, (&jobs.Transitions{
			Events: st.events, Claims: m.Redis, Live: m.Hub, Now: m.Now,
		}).Run},
		{"queue-admission", time.Second, 5 * time.Second, (&jobs.QueueAdmission{Rooms: m.WaitingRoom}).Run},
	} {
		if err := m.jobs.Every(j.name, j.interval, j.timeout, j.run); err != nil {
			return err
		}
	}
	if err := m.startRainJobs(); err != nil {
		return err
	}
	m.jobs.Start()
	return nil
}

// serve starts serving /graphql, /ws, the demo page, health and metrics
// on HTTPAddr, and the profiles on DebugAddr when it is set.
func (m *Main) serve(context.Context) error {
	cfg := m.Config
	gql := graph.NewHandler(m.Resolver, graph.Options{
		Dev: cfg.Dev(), Logger: m.Logger, Authenticate: m.Auth.Authenticate, OriginPatterns: originPatterns(cfg),
		OperationTimeout:          cfg.Admission.OperationTimeout,
		Sessions:                  m.Hub,
		MaxSubscriptionsPerSocket: cfg.Limits.SubscriptionsPerSocket,
		InitTimeout:               cfg.WSInitTimeout,
		Sockets:                   newSocketMetrics(m.Registry),
		OnOperation:               noteOperation,
	})
	var err error
	if m.listener, err = net.Listen("tcp", cfg.HTTPAddr); err != nil {
		return fmt.Errorf("listen on %s: %w", cfg.HTTPAddr, err)
	}
	m.server = &http.Server{
		Handler:           m.routes(gql),
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
	if cfg.MetricsAddr != "" {
		if err := m.serveMetrics(cfg.MetricsAddr); err != nil {
			return err
		}
	}
	if cfg.DebugAddr != "" {
		return m.serveDebug(cfg.DebugAddr)
	}
	return nil
}

// serveDebug serves the runtime's profiles (net/http/pprof) on a listener
// of their own, so that they are never on the public address.
func (m *Main) serveDebug(addr string) error {
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	var err error
	if m.debug, m.debugLn, err = m.servePrivate("FLASHLIVE_DEBUG_ADDR", addr, mux); err != nil {
		return err
	}
	m.Logger.Info("profiles are served", "url", "http://"+displayAddr(m.debugLn.Addr())+"/debug/pprof/")
	return nil
}

// serveMetrics serves /metrics on a listener of its own; the public
// address then answers 404 for it (see routes).
func (m *Main) serveMetrics(addr string) error {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", m.metricsHandler())
	var err error
	if m.metrics, m.metricsLn, err = m.servePrivate("FLASHLIVE_METRICS_ADDR", addr, mux); err != nil {
		return err
	}
	m.Logger.Info("metrics are served", "url", "http://"+displayAddr(m.metricsLn.Addr())+"/metrics")
	return nil
}

// servePrivate serves h on a listener of its own at addr, read from the
// variable env: for what must never be on the public address. Close
// stops the server it returns.
func (m *Main) servePrivate(env, addr string, h http.Handler) (*http.Server, net.Listener, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, nil, fmt.Errorf("listen on %s (%s): %w", addr, env, err)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			m.Logger.Error("private listener stopped", "listener", env, "addr", addr, "err", err)
		}
	}()
	return srv, ln, nil
}

// MetricsAddr returns the address /metrics is served on when
// FLASHLIVE_METRICS_ADDR is set, or "" when it is served on Addr.
func (m *Main) MetricsAddr() string {
	if m.metricsLn == nil {
		return ""
	}
	return m.metricsLn.Addr().String()
}

// DebugAddr returns the address the profiles are served on, or "" when
// FLASHLIVE_DEBUG_ADDR is not set.
func (m *Main) DebugAddr() string {
	if m.debugLn == nil {
		return ""
	}
	return m.debugLn.Addr().String()
}

// Addr returns the address the server listens on (useful with port 0).
func (m *Main) Addr() string {
	return m.listener.Addr().String()
}

// Close stops accepting requests, waits up to ShutdownTimeout for those in
// flight, stops the jobs, flushes the order stream and stops its consumers
// after their batch in hand, and closes NATS, Redis and PostgreSQL, in
// that order. It is safe after a failed Open.
func (m *Main) Close() error {
	m.closeOnce.Do(func() { m.closeErr = m.close() })
	return m.closeErr
}

func (m *Main) close() error {
	var errs []error
	if m.debug != nil {
		errs = append(errs, m.debug.Close())
	}
	if m.metrics != nil {
		errs = append(errs, m.metrics.Close())
	}
	if m.server != nil {
		ctx, cancel := context.WithTimeout(context.Background(), ShutdownTimeout)
		errs = append(errs, m.server.Shutdown(ctx))
		cancel()
	}
	if m.jobs != nil {
		errs = append(errs, m.jobs.Shutdown())
	}
	if m.Orders != nil {
		// Reservations already answered RESERVED reach the stream before
		// the connection goes; then the consumers finish their batch.
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		if err := m.Orders.Flush(ctx); err != nil {
			m.Logger.Error("order stream: unacknowledged publishes at shutdown; reconciliation will publish them", "err", err)
		}
		cancel()
		m.Orders.Stop()
	}
	m.closeRains()
	if m.Hub != nil {
		m.Hub.Close()
	}
	m.protect.close()
	if m.stores.hot != nil {
		m.stores.hot.Stop()
	}
	if m.stores.unpaid != nil {
		m.stores.unpaid.Stop()
	}
	if m.limiter != nil {
		m.limiter.Stop()
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

// originPatterns are the hosts whose pages may open GraphQL subscriptions
// besides the server's own: the allowed origins, and localhost in dev.
func originPatterns(cfg Config) []string {
	var ps []string
	for _, o := range cfg.AllowedOrigins {
		if u, err := url.Parse(o); err == nil {
			ps = append(ps, u.Host)
		}
	}
	if cfg.Dev() {
		ps = append(ps, "localhost", "localhost:*", "127.0.0.1", "127.0.0.1:*")
	}
	return ps
}

// instanceName names this process among its peers: host, process ID and a
// random suffix (a restarted process is a new peer).
func instanceName() string {
	host, _ := os.Hostname()
	return fmt.Sprintf("%s-%d-%s", host, os.Getpid(), strings.ToLower(ulid.Make().String())[20:])
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

// demoServices returns the services the demo seed goes through: the ones
// the API serves.
func (m *Main) demoServices() demoServices {
	return demoServices{
		Accounts: m.Auth, Products: m.Resolver.ProductService,
		Rooms: m.Resolver.LiveRoomService, Events: m.Resolver.FlashEventService,
	}
}
