// Command flashlive-bench plays a whole flash sale against a running
// flashlive, as its users would, through the public GraphQL API and the
// /ws room feed only, and says whether the sale held:
//
//	flashlive-bench -url http://127.0.0.1:8080 -buyers 1000 -viewers 5000 -json sale.json -html sale.html
//
// It signs up (or, on later runs, signs in) the buyers and a seller,
// makes a product and a live room, connects the viewers, measures the
// floor ({ serverTime } at -conns keep-alive connections), creates the
// event, counts down, runs the rush (every buyer presses "buy" with a
// person's reaction time and retries, honouring retryAfterMs), keeps
// pressing on the sold-out event, lets bots hammer from one account and
// one address (-bots), pays and cancels a share of the orders, tries a
// waiting-room event when the server has one, and checks the sale's
// invariants through the API: no oversell, every RESERVED answer an
// order, per-buyer limits, stock conservation, every viewer on the final
// stock. It exits 1 when one fails, 2 on bad flags, 3 when the run could
// not be played.
//
// Against a loopback server, buyers and viewers dial from many loopback
// addresses (127.1.x.y, -ips of them) so the server's per-address limits
// meet many people, as they would in a real sale. Other hosts are
// refused unless named with -allow-host.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// Exit codes of run.
const (
	exitOK        = 0
	exitInvariant = 1 // the sale ran and an invariant failed
	exitUsage     = 2
	exitFailed    = 3 // the sale could not be played
)

// config is what the flags ask for.
type config struct {
	URL, AllowHost         string
	Buyers, Viewers, Conns int
	IPs                    int
	// Accept runs the accept phase (accept.go): purchases that reserve,
	// back to back, to measure the accept path's cost.
	Accept                bool
	Phase, Countdown      time.Duration
	RushMax, Settle       time.Duration
	Stock, Limit, Bots    int
	Pay, Cancel           float64
	State, JSONPath, HTML string
	Progress              string
}

func parseFlags(args []string, stderr io.Writer) (config, error) {
	var c config
	fs := flag.NewFlagSet("flashlive-bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cache, _ := os.UserCacheDir()
	fs.StringVar(&c.URL, "url", "http://127.0.0.1:8080", "the server's base URL")
	fs.StringVar(&c.AllowHost, "allow-host", "", "comma-separated hosts that are not loopback but may be loaded (on purpose)")
	fs.IntVar(&c.Buyers, "buyers", 1000, "buyers in the sale")
	fs.IntVar(&c.Viewers, "viewers", 1000, "viewers of the room's /ws feed")
	fs.IntVar(&c.Conns, "conns", 64, "requests in flight at once in the floor, rush and sold-out phases (keep-alive connections)")
	fs.BoolVar(&c.Accept, "accept", false, "after the sale, press back to back on an event of its own to measure purchases that reserve (needs many more buyers than -conns: with few, the per-buyer limits and the blocklist answer instead)")
	fs.IntVar(&c.IPs, "ips", 256, "loopback addresses to dial from (127.1.x.y), against a loopback server")
	fs.DurationVar(&c.Phase, "phase", 10*time.Second, "length of the floor and sold-out phases")
	fs.DurationVar(&c.Countdown, "countdown", 5*time.Second, "from the event's creation to its start")
	fs.DurationVar(&c.RushMax, "rush-max", time.Minute, "longest the rush may last")
	fs.DurationVar(&c.Settle, "settle", 30*time.Second, "longest the bench waits for orders and viewers to settle before it checks")
	fs.IntVar(&c.Stock, "stock", 0, "units on sale (0: buyers × limit / 2, so demand is twice the stock)")
	fs.IntVar(&c.Limit, "limit", 4, "units each buyer may buy (the event's perUserLimit); each buyer tries for all of them")
	fs.IntVar(&c.Bots, "bots", 0, "presses by a bot: one account, one address, no waiting")
	fs.Float64Var(&c.Pay, "pay", 0.5, "share of the orders paid")
	fs.Float64Var(&c.Cancel, "cancel", 0.1, "share of the orders cancelled")
	fs.StringVar(&c.State, "state", filepath.Join(cache, "flashlive-bench", "state.json"), "where accounts are remembered between runs")
	fs.StringVar(&c.JSONPath, "json", "", "write the report as JSON to this file")
	fs.StringVar(&c.HTML, "html", "", "write the report as a self-contained HTML page to this file")
	fs.StringVar(&c.Progress, "progress", "auto", "live progress: auto (when stdout is a terminal), on or off")
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	if fs.NArg() > 0 {
		return c, fmt.Errorf("unexpected arguments: %q", fs.Args())
	}
	switch {
	case c.Buyers < 1 || c.Buyers > 1_000_000:
		return c, fmt.Errorf("-buyers must be from 1 to 1000000")
	case c.Viewers < 0 || c.Viewers > 100_000:
		return c, fmt.Errorf("-viewers must be from 0 to 100000")
	case c.Conns < 1 || c.Conns > 10_000:
		return c, fmt.Errorf("-conns must be from 1 to 10000")
	case c.IPs < 1:
		return c, fmt.Errorf("-ips must be at least 1")
	case c.Phase <= 0 || c.Countdown < 0 || c.RushMax <= 0 || c.Settle <= 0:
		return c, fmt.Errorf("-phase, -rush-max and -settle must be positive, -countdown not negative")
	case c.Limit < 1 || c.Stock < 0 || c.Bots < 0:
		return c, fmt.Errorf("-limit must be positive, -stock and -bots not negative")
	case c.Pay < 0 || c.Cancel < 0 || c.Pay+c.Cancel > 1:
		return c, fmt.Errorf("-pay and -cancel are shares from 0 to 1 whose sum is at most 1")
	case c.Progress != "auto" && c.Progress != "on" && c.Progress != "off":
		return c, fmt.Errorf("-progress takes auto, on or off")
	}
	if c.Stock == 0 {
		c.Stock = max(1, c.Buyers*c.Limit/2)
	}
	return c, nil
}

// run plays the sale the arguments describe and returns the exit code.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	cfg, err := parseFlags(args, stderr)
	if err != nil {
		if err != flag.ErrHelp {
			fmt.Fprintln(stderr, "flashlive-bench:", err)
		}
		return exitUsage
	}
	target, err := checkTarget(cfg.URL, cfg.AllowHost)
	if err != nil {
		fmt.Fprintln(stderr, "flashlive-bench:", err)
		return exitUsage
	}
	if err := raiseFileLimit(uint64(cfg.Viewers + 4*cfg.Conns + cfg.IPs + 256)); err != nil {
		fmt.Fprintln(stderr, "flashlive-bench:", err)
		return exitFailed
	}
	s, err := newSale(cfg, target, stdout)
	if err != nil {
		fmt.Fprintln(stderr, "flashlive-bench:", err)
		return exitFailed
	}
	rep, err := s.play(ctx)
	if err != nil {
		fmt.Fprintln(stderr, "flashlive-bench:", err)
		return exitFailed
	}
	if err := rep.write(stdout, cfg.JSONPath, cfg.HTML); err != nil {
		fmt.Fprintln(stderr, "flashlive-bench:", err)
		return exitFailed
	}
	if rep.failed() {
		return exitInvariant
	}
	return exitOK
}
