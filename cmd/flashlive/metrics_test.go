package main

import (
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"flashlive/internal/testenv"
)

// The metrics lint clean (promlint), name the build, and count a
// subscription socket in its own metrics, not in the request latencies.
func TestMetricsLintAndSockets(t *testing.T) {
	app := startApp(t, nil)
	g := app.subscribeClient(t, "")
	g.next(t, "connection_ack", func(m map[string]any) bool { return m["type"] == "connection_ack" })
	if err := g.conn.WriteMessage(websocket.TextMessage, []byte("not json")); err != nil {
		t.Fatal(err)
	}
	testenv.WaitFor(t, 10*time.Second, "the socket's close to be counted", func() bool {
		return closesOf(t, app.Registry, "4400") == 1
	})

	problems, err := testutil.GatherAndLint(app.Registry)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		if strings.HasPrefix(p.Metric, "flashlive_") {
			t.Errorf("lint: %s: %s", p.Metric, p.Text)
		}
	}
	families, err := app.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, f := range families {
		seen[f.GetName()] = true
		if f.GetName() == "flashlive_http_request_duration_seconds" {
			for _, m := range f.GetMetric() {
				for _, l := range m.GetLabel() {
					if l.GetName() == "route" && l.GetValue() == "/graphql" && m.GetHistogram().GetSampleCount() != 0 {
						t.Fatalf("the /graphql latency histogram has %d samples; only a WebSocket went there", m.GetHistogram().GetSampleCount())
					}
				}
			}
		}
		if f.GetName() == "flashlive_build_info" {
			labels := map[string]string{}
			for _, l := range f.GetMetric()[0].GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			if labels["goversion"] == "" || labels["version"] == "" || labels["revision"] == "" {
				t.Fatalf("flashlive_build_info labels = %v", labels)
			}
		}
	}
	for _, name := range []string{"flashlive_build_info", "flashlive_graphql_sockets_open", "flashlive_graphql_socket_duration_seconds",
		"flashlive_order_stream_lag_messages", "flashlive_order_stream_lag_read_failures_total"} {
		if !seen[name] {
			t.Errorf("no %s", name)
		}
	}
}

// closesOf reads flashlive_graphql_socket_closes_total{code}.
func closesOf(t *testing.T, reg *prometheus.Registry, code string) float64 {
	t.Helper()
	fs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range fs {
		if f.GetName() != "flashlive_graphql_socket_closes_total" {
			continue
		}
		for _, m := range f.GetMetric() {
			if m.GetLabel()[0].GetValue() == code {
				return m.GetCounter().GetValue()
			}
		}
	}
	return 0
}

// The drift of an event reconciliation no longer checks is deleted.
func TestDriftGaugeForgetsEndedEvents(t *testing.T) {
	vec := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "d", Help: "d"}, []string{"event_id"})
	g := newDriftGauge(vec)
	g.ReportDrift("evt_a", 0)
	g.ReportDrift("evt_b", 2)
	g.KeepDrift([]string{"evt_b"})
	if got, want := testutil.CollectAndCount(vec), 1; got != want {
		t.Fatalf("series = %d, want %d", got, want)
	}
	if got := testutil.ToFloat64(vec.WithLabelValues("evt_b")); got != 2 {
		t.Fatalf("evt_b drift = %v, want 2", got)
	}
}
