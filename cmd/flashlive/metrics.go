package main

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"flashlive/domain"
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

// driftGauge reports reconciliation's drift per event as a gauge.
type driftGauge struct{ vec *prometheus.GaugeVec }

var _ jobs.DriftReporter = driftGauge{}

// ReportDrift implements jobs.DriftReporter.
func (g driftGauge) ReportDrift(eventID string, d int) {
	g.vec.WithLabelValues(eventID).Set(float64(d))
}

// instrument registers the flash-sale metrics and returns the metered
// sale service and the drift reporter of reconciliation.
func instrument(reg prometheus.Registerer, sale domain.FlashSaleService, orders *nats.OrderStream) (domain.FlashSaleService, driftGauge) {
	m := &meteredSale{
		FlashSaleService: sale,
		purchases: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "flashlive_purchases_total",
			Help: "Flash purchase attempts by outcome (ERROR_<code> for errors).",
		}, []string{"outcome"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "flashlive_purchase_duration_seconds",
			Help:    "Latency of flash purchase attempts inside the server, by outcome.",
			Buckets: []float64{.0002, .0005, .001, .002, .005, .01, .025, .05, .1, .25, 1},
		}, []string{"outcome"}),
	}
	drift := prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "flashlive_stock_drift_units",
		Help: "stock - (remaining + live order units + outbox units) per checked event; anything but 0 is a bug or a crash to look at.",
	}, []string{"event_id"})
	reg.MustRegister(m.purchases, m.latency, drift,
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "flashlive_order_publish_failures_total",
			Help: "Reservations the order stream did not take (reconciliation publishes them again).",
		}, func() float64 { return float64(orders.PublishFailures()) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "flashlive_order_messages_parked_total",
			Help: "Order-stream messages that could never be handled, parked in ORDERS_PARKED.",
		}, func() float64 { return float64(orders.Parked()) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "flashlive_order_stream_lag_messages",
			Help: "Reservations in the order stream not yet written to PostgreSQL.",
		}, func() float64 {
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			defer cancel()
			n, err := orders.Lag(ctx)
			if err != nil {
				return -1
			}
			return float64(n)
		}),
	)
	return m, driftGauge{drift}
}

// instrumentHub registers the live feed's metrics.
func instrumentHub(reg prometheus.Registerer, hub *realtime.Hub) {
	reg.MustRegister(
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "flashlive_live_connections",
			Help: "Open /ws connections on this instance.",
		}, func() float64 { return float64(hub.Connected()) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "flashlive_live_slow_viewers_dropped_total",
			Help: "Viewers disconnected for being too slow: QueueSize frames waiting, or WriteWait to take them.",
		}, func() float64 { return float64(hub.Dropped()) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "flashlive_live_backed_up_writes_total",
			Help: "Frames a viewer's socket could not take at once, so that a flusher had to wait for it.",
		}, func() float64 { return float64(hub.BackedUp()) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "flashlive_live_silent_viewers_dropped_total",
			Help: "Viewers disconnected for sending nothing, not even a pong, for PongWait.",
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
