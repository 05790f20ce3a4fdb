package main

import (
	"context"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"flashlive/storage/redis"
)

func TestHealthReadinessMetrics(t *testing.T) {
	app := startApp(t, nil)

	res, _ := app.get(t, "/healthz")
	if res.StatusCode != 200 {
		t.Fatalf("/healthz = %d", res.StatusCode)
	}
	res, body := app.get(t, "/readyz")
	if res.StatusCode != 200 || !strings.Contains(body, `"postgres":"ok"`) || !strings.Contains(body, `"redis":"ok"`) || !strings.Contains(body, `"nats":"ok"`) {
		t.Fatalf("/readyz = %d %s", res.StatusCode, body)
	}

	// A client's request ID is kept; a missing or hostile one is replaced.
	res, _ = app.get(t, "/healthz", "X-Request-ID", "trace-123")
	if got := res.Header.Get("X-Request-ID"); got != "trace-123" {
		t.Fatalf("X-Request-ID = %q, want the client's", got)
	}
	res, _ = app.get(t, "/healthz", "X-Request-ID", "bad id\twith\"quotes")
	if got := res.Header.Get("X-Request-ID"); got == "" || strings.ContainsAny(got, " \t\"") {
		t.Fatalf("X-Request-ID = %q, want a fresh safe one", got)
	}

	app.anon().must(t, `{ serverTime }`, nil, nil)
	res, body = app.get(t, "/metrics")
	if res.StatusCode != 200 || !strings.Contains(body, `flashlive_http_requests_total{code="200",route="/graphql"}`) || !strings.Contains(body, "go_goroutines") {
		t.Fatalf("/metrics lacks the request counter: %d", res.StatusCode)
	}

	res, body = app.get(t, "/")
	if res.StatusCode != 200 || !strings.Contains(body, "<title>flashlive</title>") {
		t.Fatalf("/ = %d", res.StatusCode)
	}
	// The favicon is there under both names browsers ask for.
	for _, path := range []string{"/favicon.svg", "/favicon.ico"} {
		res, body = app.get(t, path)
		if res.StatusCode != 200 || res.Header.Get("Content-Type") != "image/svg+xml" || !strings.Contains(body, "<svg") {
			t.Fatalf("GET %s = %d %q, want 200 image/svg+xml", path, res.StatusCode, res.Header.Get("Content-Type"))
		}
	}
	req, _ := http.NewRequest(http.MethodDelete, app.URL+"/", nil)
	r2, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	r2.Body.Close()
	if r2.StatusCode != http.StatusMethodNotAllowed {
		t.Fatalf("DELETE / = %d, want 405", r2.StatusCode)
	}

	// Readiness follows the dependencies: with Redis gone, not ready.
	// (Main.Close closes the client again and reports that; reopen a client
	// for it after the check.)
	if err := app.Redis.RDB.Close(); err != nil {
		t.Fatal(err)
	}
	res, body = app.get(t, "/readyz")
	if res.StatusCode != http.StatusServiceUnavailable || !strings.Contains(body, `"redis":"down"`) {
		t.Fatalf("/readyz with Redis closed = %d %s, want 503 and redis down", res.StatusCode, body)
	}
	reopened, err := redis.Open(context.Background(), app.Config.RedisURL, app.Config.RedisPrefix)
	if err != nil {
		t.Fatal(err)
	}
	app.Redis = reopened
	if res, _ := app.get(t, "/readyz"); res.StatusCode != 200 {
		t.Fatalf("/readyz after Redis is back = %d, want 200", res.StatusCode)
	}
}

// TestProfilesOnlyOnTheDebugAddress: with FLASHLIVE_DEBUG_ADDR set, the
// runtime's profiles are served there, and never on the public address.
func TestProfilesOnlyOnTheDebugAddress(t *testing.T) {
	app := startApp(t, func(c *Config) { c.DebugAddr = "127.0.0.1:0" })
	if res, _ := app.get(t, "/debug/pprof/"); res.StatusCode != http.StatusNotFound {
		t.Fatalf("/debug/pprof/ on the public address = %d, want 404", res.StatusCode)
	}
	res, err := http.Get("http://" + app.DebugAddr() + "/debug/pprof/heap?debug=1&gc=1")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 200 || !strings.Contains(string(body), "heap profile") {
		t.Fatalf("heap profile on the debug address = %d %.80q", res.StatusCode, body)
	}
	if off := startApp(t, nil); off.DebugAddr() != "" {
		t.Fatalf("DebugAddr = %q with FLASHLIVE_DEBUG_ADDR unset", off.DebugAddr())
	}
}

func TestSeedIsIdempotent(t *testing.T) {
	app := startApp(t, func(c *Config) { c.Seed = true })
	var rooms struct {
		LiveRooms struct {
			Edges []struct {
				Node struct {
					ID          string
					Title       string
					FlashEvents []struct {
						ID, Status, StartsAt string
						Remaining            int
						Product              struct{ ImageURL string }
					}
				}
			}
		}
	}
	q := `{ liveRooms(status: LIVE) { edges { node { id title flashEvents { id status startsAt remaining product { imageUrl } } } } } }`
	app.anon().must(t, q, nil, &rooms)
	if len(rooms.LiveRooms.Edges) != 1 || len(rooms.LiveRooms.Edges[0].Node.FlashEvents) != 1 {
		t.Fatalf("seeded rooms = %+v, want one LIVE room with one event", rooms.LiveRooms.Edges)
	}
	ev := rooms.LiveRooms.Edges[0].Node.FlashEvents[0]
	starts, err := time.Parse(time.RFC3339, ev.StartsAt)
	if err != nil {
		t.Fatalf("seeded event's startsAt %q: %v", ev.StartsAt, err)
	}
	if lead := time.Until(starts); ev.Status != "SCHEDULED" || ev.Remaining != demoEventStock || lead > DemoEventLead || lead < DemoEventLead-10*time.Second {
		t.Fatalf("seeded event = %+v, want SCHEDULED with %d left, starting in about %s", ev, demoEventStock, DemoEventLead)
	}

	// The demo product has a picture embedded in the binary, as every demo
	// product does.
	if got, want := ev.Product.ImageURL, "/img/earbuds.svg"; got != want {
		t.Fatalf("seeded product's imageUrl = %q, want %q", got, want)
	}
	images := seededImages(t, app)
	if got, want := len(images), len(demoProducts); got != want {
		t.Fatalf("seeded products with an image = %d (%v), want %d", got, images, want)
	}
	for _, path := range images {
		res, body := app.get(t, path)
		if res.StatusCode != 200 || res.Header.Get("Content-Type") != "image/svg+xml" || !strings.Contains(body, "<svg") {
			t.Fatalf("GET %s = %d %q, want 200 image/svg+xml", path, res.StatusCode, res.Header.Get("Content-Type"))
		}
	}

	// The demo accounts sign in with the printed password.
	for _, email := range []string{DemoSellerEmail, DemoBuyerEmail} {
		app.anon().must(t, loginMutation, map[string]any{"in": map[string]any{"email": email, "password": DemoPassword}}, nil)
	}

	// A second start on the same database reuses all of it.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := seedDemo(ctx, app.demoServices(), app.Now, app.Logger); err != nil {
		t.Fatalf("seed again: %v", err)
	}
	var again = rooms
	app.anon().must(t, q, nil, &again)
	if len(again.LiveRooms.Edges) != 1 || len(again.LiveRooms.Edges[0].Node.FlashEvents) != 1 || again.LiveRooms.Edges[0].Node.FlashEvents[0].ID != ev.ID {
		t.Fatalf("after a second seed: %+v, want the same room and event", again.LiveRooms.Edges)
	}
	if got := seededImages(t, app); !slices.Equal(got, images) {
		t.Fatalf("product images after a second seed = %v, want the same %v", got, images)
	}
}

// seededImages returns the imageUrl of every published product, in the
// order products lists them.
func seededImages(t *testing.T, app *testApp) []string {
	t.Helper()
	var out struct {
		Products struct {
			Edges []struct{ Node struct{ ImageURL *string } }
		}
	}
	app.anon().must(t, `{ products(first: 50) { edges { node { imageUrl } } } }`, nil, &out)
	var images []string
	for _, e := range out.Products.Edges {
		if e.Node.ImageURL == nil {
			t.Fatalf("a seeded product has no image: %+v", out.Products.Edges)
		}
		images = append(images, *e.Node.ImageURL)
	}
	return images
}
