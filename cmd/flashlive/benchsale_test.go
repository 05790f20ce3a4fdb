package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"flashlive/domain"
)

var (
	benchBinOnce sync.Once
	benchBin     string
	benchBinErr  error
)

// buildBench builds cmd/flashlive-bench once per test process: the bench
// is a client process of its own, and the tests run it as one.
func buildBench(t *testing.T) string {
	t.Helper()
	benchBinOnce.Do(func() {
		dir, err := os.MkdirTemp("", "flashlive-bench-")
		if err != nil {
			benchBinErr = err
			return
		}
		benchBin = filepath.Join(dir, "flashlive-bench")
		out, err := exec.Command("go", "build", "-o", benchBin, "flashlive/cmd/flashlive-bench").CombinedOutput()
		if err != nil {
			benchBinErr = errors.New(string(out) + err.Error())
		}
	})
	if benchBinErr != nil {
		t.Fatalf("build flashlive-bench: %v", benchBinErr)
	}
	return benchBin
}

// benchReport is the part of the bench's JSON report the tests read.
type benchReport struct {
	Phases []struct {
		Name     string         `json:"name"`
		Requests int            `json:"requests"`
		Outcomes map[string]int `json:"outcomes"`
	} `json:"phases"`
	Frames struct {
		Viewers int `json:"viewers"`
		Timed   int `json:"timed"`
	} `json:"frames"`
	Invariants []struct {
		Name   string `json:"name"`
		OK     bool   `json:"ok"`
		Detail string `json:"detail"`
	} `json:"invariants"`
	Notes []string `json:"notes"`
}

// runBench runs the bench against url with small numbers and returns its
// exit code, its output and its JSON report.
func runBench(t *testing.T, url, dir string, extra ...string) (int, string, benchReport) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	args := append([]string{"-url", url, "-buyers", "50", "-viewers", "20", "-phase", "1s", "-countdown", "1s",
		"-settle", "20s", "-state", filepath.Join(dir, "state.json"),
		"-json", filepath.Join(dir, "report.json"), "-html", filepath.Join(dir, "report.html")}, extra...)
	cmd := exec.CommandContext(ctx, buildBench(t), args...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	code := 0
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		code = exit.ExitCode()
	} else if err != nil {
		t.Fatalf("run flashlive-bench: %v\n%s", err, out.String())
	}
	var rep benchReport
	if b, err := os.ReadFile(filepath.Join(dir, "report.json")); err == nil {
		if err := json.Unmarshal(b, &rep); err != nil {
			t.Fatalf("report.json: %v", err)
		}
	}
	return code, out.String(), rep
}

// TestBenchSaleHolds plays a small sale, bots included, against a real
// server with its default limits: exit 0, every invariant checked and
// held, the phases that measure in the report, and an HTML page that
// needs no network. A second run signs the same buyers in again.
//
// Sign-up and login go unlimited: on a loaded machine PostgreSQL's
// breaker may answer UNAVAILABLE for a while, and the sign-ups the bench
// rightly retries then would spend an address's allowance (10 an hour),
// which is not what this test is about. Nor is the blocklist (its own
// tests are in protect_test.go): the sold-out phase presses at 64
// connections on purpose, and on a quiet machine that was enough for a
// buyer or two to earn the 50 strikes of a block, which then refused their
// sign-in in the second run. So the strikes are raised here.
func TestBenchSaleHolds(t *testing.T) {
	app := startApp(t, func(c *Config) {
		c.Limits = DefaultLimits
		c.Limits.RegisterIP, c.Limits.LoginIP, c.Limits.LoginEmail = domain.Limit{}, domain.Limit{}, domain.Limit{}
		c.Limits.BlockStrikes = 100_000
	})
	dir := t.TempDir()
	code, out, rep := runBench(t, app.URL, dir, "-bots", "100")
	if code != 0 {
		t.Fatalf("exit %d, want 0:\n%s", code, out)
	}
	if got, want := len(rep.Invariants), 6; got != want {
		t.Fatalf("%d invariants in the report, want %d:\n%s", got, want, out)
	}
	for _, inv := range rep.Invariants {
		if !inv.OK {
			t.Errorf("invariant %s failed: %s", inv.Name, inv.Detail)
		}
	}
	phases := map[string]int{}
	reserved, queued := 0, 0
	for _, p := range rep.Phases {
		phases[p.Name] = p.Requests
		if p.Name == "waiting room" { // an event of its own
			queued += p.Outcomes["RESERVED"]
			continue
		}
		reserved += p.Outcomes["RESERVED"]
	}
	for _, name := range []string{"floor", "rush", "sold-out", "bots", "pay/cancel", "waiting room"} {
		if phases[name] == 0 {
			t.Errorf("phase %s has no answers: %v\n%s", name, phases, out)
		}
	}
	if reserved != 100 { // stock: 50 buyers × 4 / 2
		t.Errorf("%d RESERVED answers, want the stock, 100", reserved)
	}
	if queued != 12 { // the waiting-room event's stock: 50 buyers / 4
		t.Errorf("%d RESERVED answers through the waiting room, want its stock, 12", queued)
	}
	if rep.Frames.Viewers != 20 || rep.Frames.Timed == 0 {
		t.Errorf("frames %+v: want 20 viewers and timed frames", rep.Frames)
	}
	page, err := os.ReadFile(filepath.Join(dir, "report.html"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"<svg", "Throughput over time", "Frame delays", "stock conservation held"} {
		if !bytes.Contains(page, []byte(want)) {
			t.Errorf("the HTML report lacks %q", want)
		}
	}
	if !strings.Contains(out, "ok   every viewer on the final stock") || !strings.Contains(out, "share of floor") {
		t.Errorf("the text report lacks its table or invariants:\n%s", out)
	}

	var state struct {
		Servers map[string]struct{ Sessions map[string]any }
	}
	b, _ := os.ReadFile(filepath.Join(dir, "state.json"))
	if err := json.Unmarshal(b, &state); err != nil || len(state.Servers[app.URL].Sessions) != 52 {
		t.Fatalf("state file keeps %d sessions (%v), want 50 buyers, a seller and a bot", len(state.Servers[app.URL].Sessions), err)
	}
	code, out, _ = runBench(t, app.URL, dir, "-viewers", "0", "-pay", "0", "-cancel", "0")
	if code != 0 || !strings.Contains(out, "50 buyers and a seller signed in") {
		t.Fatalf("second run: exit %d:\n%s", code, out)
	}
	if got := userCount(t, app); got != 52+seedUsers(app) {
		t.Fatalf("%d users after two runs, want the 52 of the first", got)
	}
}

// userCount counts the server's users.
func userCount(t *testing.T, app *testApp) int {
	t.Helper()
	var n int
	if err := app.DB.Pool.QueryRow(context.Background(), `SELECT count(*) FROM users`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// seedUsers is how many users the demo data adds.
func seedUsers(app *testApp) int {
	if app.Config.Seed {
		return 2
	}
	return 0
}

// TestBenchSaleCatchesAForgedReservation puts a proxy in front of a real
// server that turns one SOLD_OUT answer into RESERVED, with an order that
// does not exist: the bench must exit 1 and name the invariant.
func TestBenchSaleCatchesAForgedReservation(t *testing.T) {
	app := startApp(t, nil)
	target, _ := url.Parse(app.URL)
	var forged atomic.Bool
	type purchaseKey struct{}
	proxy := &httputil.ReverseProxy{
		Rewrite: func(r *httputil.ProxyRequest) {
			r.SetURL(target)
			r.Out.Host = r.In.Host
			if r.In.Body != nil {
				b, _ := io.ReadAll(r.In.Body)
				r.Out.Body = io.NopCloser(bytes.NewReader(b))
				if bytes.Contains(b, []byte("purchaseFlash")) {
					r.Out = r.Out.WithContext(context.WithValue(r.Out.Context(), purchaseKey{}, true))
				}
			}
		},
		ModifyResponse: func(res *http.Response) error {
			if res.Request.Context().Value(purchaseKey{}) == nil || forged.Load() {
				return nil
			}
			b, err := io.ReadAll(res.Body)
			if err != nil {
				return err
			}
			if bytes.Contains(b, []byte(`"outcome":"SOLD_OUT"`)) && forged.CompareAndSwap(false, true) {
				b = bytes.Replace(b, []byte(`"outcome":"SOLD_OUT"`), []byte(`"outcome":"RESERVED"`), 1)
				b = bytes.Replace(b, []byte(`"order":null`), []byte(`"order":{"id":"ord_forged_by_the_proxy"}`), 1)
			}
			res.Body = io.NopCloser(bytes.NewReader(b))
			res.ContentLength = int64(len(b))
			res.Header.Del("Content-Length")
			return nil
		},
	}
	srv := httptest.NewServer(proxy)
	defer srv.Close()

	code, out, rep := runBench(t, srv.URL, t.TempDir(), "-pay", "0", "-cancel", "0", "-ips", "1")
	if !forged.Load() {
		t.Fatalf("the proxy forged nothing:\n%s", out)
	}
	if code != 1 {
		t.Fatalf("exit %d, want 1 (an invariant failed):\n%s", code, out)
	}
	failed := map[string]string{}
	for _, inv := range rep.Invariants {
		if !inv.OK {
			failed[inv.Name] = inv.Detail
		}
	}
	if d := failed["every RESERVED answer has an order"]; !strings.Contains(d, `1 of 101 RESERVED answers have no order, first "ord_forged_by_the_proxy"`) {
		t.Errorf("every RESERVED answer has an order: %q\n%s", d, out)
	}
	if d := failed["RESERVED answers = orders"]; !strings.Contains(d, "101 RESERVED answers but 100 orders") {
		t.Errorf("RESERVED answers = orders: %q", d)
	}
	if len(failed) != 2 {
		t.Errorf("failed %v, want exactly the two the forgery breaks", failed)
	}
	if !strings.Contains(out, "INVARIANT FAILED: RESERVED answers = orders; every RESERVED answer has an order") {
		t.Errorf("no clear failure line:\n%s", out)
	}
}
