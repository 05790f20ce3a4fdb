package main

import (
	"context"
	"fmt"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"flashlive/storage/postgres"
	"flashlive/storage/redis"
)

// ReplicaConfig is the PostgreSQL read replica: FLASHLIVE_POSTGRES_READ_URL
// (empty: every read on the primary) and FLASHLIVE_POSTGRES_READ_MAX_LAG,
// how far behind the primary it may be and still serve reads (zero, when
// unset: postgres.DefaultReplicaMaxLag).
type ReplicaConfig struct {
	URL    string
	MaxLag time.Duration
}

// Bounds of FLASHLIVE_POSTGRES_READ_MAX_LAG.
const (
	minReplicaLag = 100 * time.Millisecond
	maxReplicaLag = 10 * time.Minute
)

func loadReplica(get func(string) string, bad func(string, ...any)) ReplicaConfig {
	c := ReplicaConfig{URL: get("FLASHLIVE_POSTGRES_READ_URL")}
	if c.URL != "" && !hasScheme(c.URL, "postgres", "postgresql") {
		bad("FLASHLIVE_POSTGRES_READ_URL must be a postgres:// URL")
	}
	if v := get("FLASHLIVE_POSTGRES_READ_MAX_LAG"); v != "" {
		d, err := time.ParseDuration(v)
		switch {
		case err != nil:
			bad("FLASHLIVE_POSTGRES_READ_MAX_LAG %q is not a duration (such as 5s or 500ms)", v)
		case d < minReplicaLag || d > maxReplicaLag:
			bad("FLASHLIVE_POSTGRES_READ_MAX_LAG must be between %s and %s, not %s", minReplicaLag, maxReplicaLag, d)
		default:
			c.MaxLag = d
		}
	}
	return c
}

// replicaReads counts the routed reads by where they went and why
// (flashlive_postgres_reads_total); registered by instrumentReplica.
var replicaReadsHelp = "Stale-tolerant PostgreSQL reads (catalog, rooms, events, order lists) by where they went: " +
	"to=replica, or to=primary with the reason (own_write: the replica had not replayed the reader's last write; " +
	"down, lagging, failed: the replica could not serve it; primary: the caller asked; mark_error)."

// attachReplica attaches the read replica of the configuration to m.DB,
// with the write marks in Redis so that read-your-own-writes holds across
// instances. A replica that is down at start does not stop the process:
// reads go to the primary until it answers.
func (m *Main) attachReplica(ctx context.Context) error {
	cfg := m.Config.Replica
	if cfg.URL == "" {
		return nil
	}
	m.replicaReads = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "flashlive_postgres_reads_total", Help: replicaReadsHelp,
	}, []string{"to", "reason"})
	err := m.DB.AttachReplica(ctx, cfg.URL, postgres.ReplicaOptions{
		MaxLag: cfg.MaxLag,
		Marks:  redis.NewWriteMarks(m.Redis),
		Pool: postgres.Options{
			QueryTimeout:    m.Config.PostgresTimeout,
			BreakerCooldown: m.Config.PostgresBreakerCooldown,
		},
		OnRoute: func(reason string) {
			to := "primary"
			if reason == postgres.RouteReplica {
				to = "replica"
			}
			m.replicaReads.WithLabelValues(to, reason).Inc()
		},
		OnHealth: func(reason string, cause error) {
			if reason == "" {
				m.Logger.Info("postgres read replica fit again: stale-tolerant reads go to it")
				return
			}
			m.Logger.Warn("postgres read replica unfit: reads fall back to the primary", "state", reason, "err", cause)
		},
		OnMarkError: func(err error) {
			m.Logger.Warn("postgres read replica: a write mark was not recorded; the writer's next reads may be stale", "err", err)
		},
	})
	if err != nil {
		return fmt.Errorf("postgres read replica at %s: %w", redactURL(cfg.URL), err)
	}
	return nil
}

// instrumentReplica registers the replica's metrics, when one is attached.
func (m *Main) instrumentReplica(reg prometheus.Registerer) {
	if m.replicaReads == nil {
		return
	}
	reg.MustRegister(m.replicaReads,
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "flashlive_postgres_replica_lag_seconds",
			Help: "How far the read replica's replay was behind the primary at the last probe.",
		}, func() float64 { lag, _ := m.DB.ReplicaLag(); return lag.Seconds() }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "flashlive_postgres_replica_fit",
			Help: "1 while the read replica serves reads, 0 while it is down or lags past FLASHLIVE_POSTGRES_READ_MAX_LAG (reads on the primary).",
		}, func() float64 {
			if _, fit := m.DB.ReplicaLag(); fit {
				return 1
			}
			return 0
		}),
	)
}
