package main

import (
	"encoding/json"
	"net/http"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"flashlive/internal/testenv"
)

// TestLoadConfigReadReplica: the read replica is off by default, its URL
// must be postgres://, and its max lag a duration within bounds.
func TestLoadConfigReadReplica(t *testing.T) {
	c, _, err := LoadConfig(cfgGetenv(cfgDevEnv()))
	if err != nil {
		t.Fatal(err)
	}
	if c.Replica.URL != "" || c.Replica.MaxLag != 0 {
		t.Fatalf("default replica config = %+v, want no URL and MaxLag 0 (postgres.DefaultReplicaMaxLag)", c.Replica)
	}
	env := cfgDevEnv()
	env["FLASHLIVE_POSTGRES_READ_URL"] = "postgres://u@replica:5432/fl"
	env["FLASHLIVE_POSTGRES_READ_MAX_LAG"] = "750ms"
	if c, _, err = LoadConfig(cfgGetenv(env)); err != nil {
		t.Fatal(err)
	}
	if want := (ReplicaConfig{URL: "postgres://u@replica:5432/fl", MaxLag: 750 * time.Millisecond}); c.Replica != want {
		t.Fatalf("replica config = %+v, want %+v", c.Replica, want)
	}
	for _, tt := range []struct{ env, in, want string }{
		{"FLASHLIVE_POSTGRES_READ_URL", "mysql://replica/fl", "FLASHLIVE_POSTGRES_READ_URL must be a postgres:// URL"},
		{"FLASHLIVE_POSTGRES_READ_MAX_LAG", "5", `FLASHLIVE_POSTGRES_READ_MAX_LAG "5" is not a duration`},
		{"FLASHLIVE_POSTGRES_READ_MAX_LAG", "50ms", "FLASHLIVE_POSTGRES_READ_MAX_LAG must be between 100ms and 10m0s, not 50ms"},
		{"FLASHLIVE_POSTGRES_READ_MAX_LAG", "1h", "FLASHLIVE_POSTGRES_READ_MAX_LAG must be between 100ms and 10m0s, not 1h0m0s"},
	} {
		_, _, err := LoadConfig(cfgDev(tt.env, tt.in))
		if err == nil || !strings.Contains(err.Error(), "\n  - "+tt.want) {
			t.Fatalf("%s=%q: error %v, want one naming %q", tt.env, tt.in, err, tt.want)
		}
	}
}

// TestReadReplicaServesCatalogAndOnlyDegradesReadiness runs the server
// with FLASHLIVE_POSTGRES_READ_URL on a real streaming replica: the
// public catalog comes from the replica (a paused replay hides a new
// product from anonymous readers, never from its seller), the metric
// counts the reads per pool, and a stopped replica keeps every read
// answering and /readyz ready (the replica shown down), until it is back.
func TestReadReplicaServesCatalogAndOnlyDegradesReadiness(t *testing.T) {
	rep := testenv.StartPostgresReplica(t, os.Getenv(testenv.PostgresEnv))
	app := startApp(t, func(c *Config) {
		c.Replica = ReplicaConfig{URL: rep.Database(t, c.PostgresURL), MaxLag: time.Minute}
	})
	readiness := func() (int, map[string]string) {
		res, body := app.get(t, "/readyz")
		var got map[string]string
		if err := json.Unmarshal([]byte(body), &got); err != nil {
			t.Fatalf("/readyz body %q: %v", body, err)
		}
		return res.StatusCode, got
	}
	testenv.WaitFor(t, 30*time.Second, "replica ok in /readyz", func() bool {
		code, got := readiness()
		return code == http.StatusOK && got["postgres_replica"] == "ok"
	})

	seller, _ := app.register(t, "SELLER")
	create := func(name string) string {
		var out struct{ CreateProduct product }
		seller.must(t, createProduct, map[string]any{"in": map[string]any{"name": name, "priceCents": 100, "stock": 1, "published": true}}, &out)
		return out.CreateProduct.ID
	}
	list := func(c *client) []string {
		var out struct {
			Products struct{ Edges []struct{ Node product } }
		}
		c.must(t, `{ products(first: 100) { edges { node { id } } } }`, nil, &out)
		var ids []string
		for _, e := range out.Products.Edges {
			ids = append(ids, e.Node.ID)
		}
		slices.Sort(ids)
		return ids
	}
	p1 := create("one")
	rep.WaitReplayed(t)
	if got := list(app.anon()); !slices.Equal(got, []string{p1}) {
		t.Fatalf("anonymous catalog = %v, want [%s]", got, p1)
	}
	rep.PauseReplay(t)
	p2 := create("two")
	both := []string{p1, p2}
	slices.Sort(both)
	if got := list(app.anon()); !slices.Equal(got, []string{p1}) {
		t.Fatalf("anonymous catalog with the replay paused = %v, want [%s] (served by the replica)", got, p1)
	}
	if got := list(seller); !slices.Equal(got, both) {
		t.Fatalf("the seller's catalog right after their write = %v, want %v", got, both)
	}
	_, metrics := app.get(t, "/metrics")
	for _, want := range []string{`flashlive_postgres_reads_total{reason="replica",to="replica"}`, `flashlive_postgres_reads_total{reason="own_write",to="primary"}`, "flashlive_postgres_replica_lag_seconds", "flashlive_postgres_replica_fit 1"} {
		if !strings.Contains(metrics, want) {
			t.Fatalf("/metrics lacks %s", want)
		}
	}

	rep.Stop(t)
	for range 10 {
		if got := list(app.anon()); !slices.Equal(got, both) {
			t.Fatalf("anonymous catalog with the replica stopped = %v, want %v (from the primary)", got, both)
		}
	}
	testenv.WaitFor(t, 30*time.Second, "replica down in /readyz", func() bool {
		code, got := readiness()
		if code != http.StatusOK || got["postgres"] != "ok" {
			t.Fatalf("/readyz with the replica stopped = %d %v, want 200 with postgres ok", code, got)
		}
		return got["postgres_replica"] == "down"
	})
	if got := list(app.anon()); !slices.Equal(got, both) {
		t.Fatalf("anonymous catalog with the replica down = %v, want %v", got, both)
	}

	rep.Start(t)
	testenv.WaitFor(t, 30*time.Second, "replica ok in /readyz again", func() bool {
		code, got := readiness()
		return code == http.StatusOK && got["postgres_replica"] == "ok"
	})
	rep.WaitReplayed(t)
	if got := list(app.anon()); !slices.Equal(got, both) {
		t.Fatalf("anonymous catalog with the replica back = %v, want %v", got, both)
	}
}
