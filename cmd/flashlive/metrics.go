package main

import (
	"context"
	"runtime"
	"runtime/debug"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"flashlive/domain"
	"flashlive/graph"
	"flashlive/jobs"
	"flashlive/realtime"
	"flashlive/storage/nats"
	"flashlive/storage/postgres"
)

// meteredSale counts purchases by outcome and times them.
type meteredSale struct {
	domain.FlashSaleService
	purchases *prometheus.CounterVec
	latency   *prometheus.HistogramVec
}

// Purchase implements domain.FlashSaleService.
func (s *meteredSale) Purchase(ctx context.Context, r domain.PurchaseRequest) (*domain.PurchaseResult, error) {
	start := time.Now()
	res, err := s.FlashSaleService.Purchase(ctx, r)
	outcome := "ERROR_" + domain.ErrorCode(err)
	if err == nil {
		outcome = string(res.Outcome)
	}
	s.purchases.WithLabelValues(outcome).Inc()
	s.latency.WithLabelValues(outcome).Observe(time.Since(start).Seconds())
	return res, err
}

// driftGauge reports reconciliation's drift per event as a gauge, and
// deletes the series of the events reconciliation no longer checks.
type driftGauge struct {
	vec *prometheus.GaugeVec
	mu  *sync.Mutex
	ids map[string]bool // the events with a series
}

var (
	_ jobs.DriftReporter  = driftGauge{}
	_ jobs.DriftForgetter = driftGauge{}
)

func newDriftGauge(vec *prometheus.GaugeVec) driftGauge {
	return driftGauge{vec: vec, mu: new(sync.Mutex), ids: map[string]bool{}}
}

// ReportDrift implements jobs.DriftReporter.
func (g driftGauge) ReportDrift(eventID string, d int) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.ids[eventID] = true
	g.vec.WithLabelValues(eventID).Set(float64(d))
}

// KeepDrift implements jobs.DriftForgetter: the series of every other
// event goes.
func (g driftGauge) KeepDrift(eventIDs []string) {
	keep := make(map[string]bool, len(eventIDs))
	for _, id := range eventIDs {
		keep[id] = true
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	for id := range g.ids {
		if !keep[id] {
			g.vec.DeleteLabelValues(id)
			delete(g.ids, id)
		}
	}
}

// lagCollector reports how many reservations the order stream holds that
// are not yet written to PostgreSQL. When the lag cannot be read it
// reports no sample (never a made-up value) and counts the failure.
type lagCollector struct {
	lag      func(context.Context) (int, error)
	desc     *prometheus.Desc
	failures prometheus.Counter
}

func newLagCollector(lag func(context.Context) (int, error)) *lagCollector {
	return &lagCollector{
		lag: lag,
		desc: prometheus.NewDesc("flashlive_order_stream_lag_messages",
			"Reservations in the order stream not yet written to PostgreSQL (no sample when the stream cannot be read).", nil, nil),
		failures: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "flashlive_order_stream_lag_read_failures_total",
			Help: "Times the order stream's lag could not be read for a scrape.",
		}),
	}
}

// Describe implements prometheus.Collector.
func (c *lagCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.desc
	c.failures.Describe(ch)
}

// Collect implements prometheus.Collector.
func (c *lagCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	if n, err := c.lag(ctx); err != nil {
		c.failures.Inc()
	} else {
		ch <- prometheus.MustNewConstMetric(c.desc, prometheus.GaugeValue, float64(n))
	}
	c.failures.Collect(ch)
}

// buildInfo is flashlive_build_info: always 1, its labels name the build.
func buildInfo() prometheus.Collector {
	version, revision, goVersion := "unknown", "unknown", runtime.Version()
	if bi, ok := debug.ReadBuildInfo(); ok {
		if bi.Main.Version != "" {
			version = bi.Main.Version
		}
		goVersion = bi.GoVersion
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" && s.Value != "" {
				revision = s.Value
			}
		}
	}
	g := prometheus.NewGauge(prometheus.GaugeOpts{
		Name:        "flashlive_build_info",
		Help:        "Which build of flashlive this process runs (always 1): its version, source revision and Go version.",
		ConstLabels: prometheus.Labels{"version": version, "revision": revision, "goversion": goVersion},
	})
	g.Set(1)
	return g
}

// socketMetrics count the GraphQL subscription sockets: open now, how
// long they lasted, and how they closed. They stay out of the HTTP
// request latencies, which a socket's lifetime would swamp.
type socketMetrics struct {
	open   prometheus.Gauge
	lasted prometheus.Histogram
	closes *prometheus.CounterVec
}

var _ graph.SocketObserver = (*socketMetrics)(nil)

func newSocketMetrics(reg prometheus.Registerer) *socketMetrics {
	m := &socketMetrics{
		open: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "flashlive_graphql_sockets_open",
			Help: "GraphQL subscription WebSockets open on this instance.",
		}),
		lasted: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "flashlive_graphql_socket_duration_seconds",
			Help:    "How long GraphQL subscription WebSockets stayed open.",
			Buckets: []float64{1, 5, 15, 30, 60, 300, 900, 1800, 3600, 4 * 3600},
		}),
		closes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "flashlive_graphql_socket_closes_total",
			Help: "GraphQL subscription WebSockets closed, by close code (4400 bad message, 4401 subscribe before acknowledgement, 4403 refused credentials, 4408 no connection_init in time, 4409 duplicate id, 4429 second connection_init, 1000 normal, 1001 going away, 1006 dropped).",
		}, []string{"code"}),
	}
	reg.MustRegister(m.open, m.lasted, m.closes)
	return m
}

// SocketOpened implements graph.SocketObserver.
func (m *socketMetrics) SocketOpened() { m.open.Inc() }

// SocketClosed implements graph.SocketObserver.
func (m *socketMetrics) SocketClosed(code int, lasted time.Duration) {
	m.open.Dec()
	m.lasted.Observe(lasted.Seconds())
	m.closes.WithLabelValues(strconv.Itoa(code)).Inc()
}

// instrument registers the flash-sale metrics and returns the metered
// sale service and the drift reporter of reconciliation.
func instrument(reg prometheus.Registerer, sale domain.FlashSaleService, orders *nats.OrderStream) (domain.FlashSaleService, driftGauge) {
	m := &meteredSale{
		FlashSaleService: sale,
		purchases: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "flashlive_purchases_total",
			Help: "Flash purchase attempts, by outcome (ERROR_<code> for errors).",
		}, []string{"outcome"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "flashlive_purchase_duration_seconds",
			Help:    "Latency of flash purchase attempts inside the server, by outcome.",
			Buckets: []float64{.0002, .0005, .001, .002, .005, .01, .025, .05, .1, .25, 1},
		}, []string{"outcome"}),
	}
	drift := prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "flashlive_stock_drift_units",
		Help: "Per event that reconciliation checks: its stock minus the units that account for it (left for sale, in live orders, waiting to become orders). Anything but 0 is a bug or a crash to look at.",
	}, []string{"event_id"})
	lag := newLagCollector(orders.Lag)
	reg.MustRegister(m.purchases, m.latency, drift, lag, buildInfo(),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "flashlive_order_publish_failures_total",
			Help: "Reservations the order stream did not take (reconciliation publishes them again).",
		}, func() float64 { return float64(orders.PublishFailures()) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "flashlive_order_messages_parked_total",
			Help: "Order-stream messages that could never be handled, set aside in the ORDERS_PARKED stream for a person to look at.",
		}, func() float64 { return float64(orders.Parked()) }),
	)
	return m, newDriftGauge(drift)
}

// instrumentHub registers the live feed's metrics.
func instrumentHub(reg prometheus.Registerer, hub *realtime.Hub) {
	reg.MustRegister(
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "flashlive_live_connections",
			Help: "Live-room connections (/ws) open on this instance.",
		}, func() float64 { return float64(hub.Connected()) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "flashlive_live_slow_viewers_dropped_total",
			Help: "Live-room viewers disconnected for being too slow: too many frames waiting for them, or a frame that took too long to take.",
		}, func() float64 { return float64(hub.Dropped()) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "flashlive_live_backed_up_writes_total",
			Help: "Frames a live-room viewer's connection could not take at once, so that the server had to wait for it.",
		}, func() float64 { return float64(hub.BackedUp()) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "flashlive_live_silent_viewers_dropped_total",
			Help: "Live-room viewers disconnected for sending nothing, not even an answer to a ping, for too long.",
		}, func() float64 { return float64(hub.Silent()) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "flashlive_live_floods_closed_total",
			Help: "Viewers closed (1008) for sending frames far past FLASHLIVE_LIMIT_WS_FRAMES.",
		}, func() float64 { return float64(hub.FloodsClosed()) }),
	)
}

// instrumentDB registers the state of the breaker in front of PostgreSQL
// and how many calls it refused.
func instrumentDB(reg prometheus.Registerer, pool *postgres.Pool) {
	reg.MustRegister(
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "flashlive_postgres_breaker_state",
			Help: "State of the breaker in front of PostgreSQL: 0 closed, 1 half-open (one call probes), 2 open (calls answer UNAVAILABLE at once).",
		}, func() float64 { return float64(pool.BreakerState()) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "flashlive_postgres_breaker_refused_total",
			Help: "PostgreSQL calls the breaker refused (answered UNAVAILABLE without asking PostgreSQL).",
		}, func() float64 { return float64(pool.Refused()) }),
	)
}

// breakerChanged logs the changes of the breaker in front of PostgreSQL.
func (m *Main) breakerChanged(from, to postgres.BreakerState) {
	switch to {
	case postgres.BreakerOpen:
		m.Logger.Error("postgres breaker open: PostgreSQL calls answer UNAVAILABLE until a probe succeeds", "from", from.String())
	case postgres.BreakerHalfOpen:
		m.Logger.Warn("postgres breaker half-open: one call probes PostgreSQL", "from", from.String())
	default:
		m.Logger.Info("postgres breaker closed: PostgreSQL answers again", "from", from.String())
	}
}
