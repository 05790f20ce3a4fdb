package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/url"
	"os"
	"strings"
	"sync"
	"time"
)

// sale is one run of the bench against one server: the accounts, the
// room, the event and what the run saw.
type sale struct {
	cfg    config
	target *url.URL
	base   string
	out    io.Writer
	rec    *recorder
	prog   *progress
	state  *stateFile
	pool   addressPool
	eps    []*endpoint // one per client address
	runID  string

	offset   time.Duration // server clock minus ours
	seller   *account
	buyers   []*account
	bot      *account
	product  string
	room     string
	event    string
	startsAt time.Time
	viewers  *audience
	notes    []string // lines for the report: skipped phases and why

	mu       sync.Mutex
	reserved map[string]reservation // orderId -> who got it
	gaveUp   int                    // presses abandoned with no answer after retries
}

// reservation is a RESERVED answer the bench saw.
type reservation struct {
	OrderID string
	BuyerID string
	Units   int
	Bot     bool
}

func newSale(cfg config, target *url.URL, out io.Writer) (*sale, error) {
	st, err := loadState(cfg.State)
	if err != nil {
		return nil, err
	}
	s := &sale{
		cfg: cfg, target: target, base: strings.TrimSuffix(target.String(), "/"), out: out,
		rec: newRecorder(), state: st, reserved: map[string]reservation{},
		runID: fmt.Sprintf("%x", time.Now().UnixNano()),
	}
	s.pool = newAddressPool(target, cfg.IPs)
	n := max(1, len(s.pool))
	for i := range n {
		s.eps = append(s.eps, newEndpoint(s.base, s.pool.at(i), max(4, cfg.Conns/n+2)))
	}
	if len(s.pool) == 0 {
		s.eps[0] = newEndpoint(s.base, nil, cfg.Conns)
	}
	tty := false
	if f, ok := out.(*os.File); ok {
		if fi, err := f.Stat(); err == nil && fi.Mode()&os.ModeCharDevice != 0 {
			tty = true
		}
	}
	live := cfg.Progress == "on" || (cfg.Progress == "auto" && tty)
	s.prog = newProgress(out, s.rec, live)
	return s, nil
}

// ep is the endpoint the i-th client dials from.
func (s *sale) ep(i int) *endpoint { return s.eps[i%len(s.eps)] }

// say prints a line (through the progress display, which it does not garble).
func (s *sale) say(format string, args ...any) { s.prog.say(fmt.Sprintf(format, args...)) }

// note keeps a line for the report and prints it.
func (s *sale) note(format string, args ...any) {
	line := fmt.Sprintf(format, args...)
	s.notes = append(s.notes, line)
	s.say("%s", line)
}

// play runs every phase in order and returns the report.
func (s *sale) play(ctx context.Context) (*report, error) {
	s.prog.start()
	defer s.prog.stop()
	if len(s.pool) > 0 {
		if err := checkBind(s.pool[0], s.target); err != nil {
			return nil, err
		}
	}
	var err error
	if s.offset, err = s.clockOffset(ctx); err != nil {
		return nil, fmt.Errorf("reach %s: %w", s.base, err)
	}
	hasQueue, why := s.hasJoinQueue(ctx)
	for _, step := range []struct {
		name string
		run  func(context.Context) error
	}{
		{"sign-up", s.signUp},
		{"catalog", s.makeCatalog},
		{"viewers", s.connectViewers},
		{"floor", s.floor},
		{"countdown", s.countdown},
		{"rush", s.rush},
		{"sold-out", s.soldOut},
		{"pay/cancel", s.payAndCancel},
	} {
		if err := step.run(ctx); err != nil {
			s.closeViewers()
			return nil, fmt.Errorf("%s: %w", step.name, err)
		}
	}
	if hasQueue {
		if err := s.waitingRoom(ctx); err != nil {
			s.note("waiting room: skipped, the schema has joinQueue but the server did not take a waiting-room sale (%v)", err)
		}
	} else {
		s.note("waiting room: skipped, %s", why)
	}
	// The accept phase comes last: it leaves every buyer holding many
	// unpaid orders, which would refuse the waiting room's purchases.
	if s.cfg.Accept {
		if err := s.accept(ctx); err != nil {
			s.closeViewers()
			return nil, fmt.Errorf("accept: %w", err)
		}
	}
	facts, err := s.settle(ctx)
	s.closeViewers()
	if err != nil {
		return nil, fmt.Errorf("settle: %w", err)
	}
	if err := s.state.save(); err != nil {
		s.say("could not save the state file: %v", err)
	}
	return s.report(facts), nil
}

func (s *sale) closeViewers() {
	if s.viewers != nil {
		s.viewers.close()
	}
}

// checkBind tells early, and clearly, when this system cannot dial from
// the loopback addresses the bench spreads its clients over.
func checkBind(from net.IP, target *url.URL) error {
	port := target.Port()
	if port == "" {
		port = map[string]string{"http": "80", "https": "443"}[target.Scheme]
	}
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: from}, Timeout: 5 * time.Second}
	c, err := d.Dial("tcp4", net.JoinHostPort(target.Hostname(), port))
	if err != nil {
		return fmt.Errorf("dial the server from %s: %w (give -ips 1 where the system has no 127.0.0.0/8 on its loopback)", from, err)
	}
	return c.Close()
}

// clockOffset asks the server's clock a few times and keeps the answer
// with the shortest round trip: server time minus ours, for frame delays.
func (s *sale) clockOffset(ctx context.Context) (time.Duration, error) {
	best, offset := time.Hour, time.Duration(0)
	for range 5 {
		t0 := time.Now()
		var out struct {
			ServerTime time.Time `json:"serverTime"`
		}
		if err := s.ep(0).must(ctx, "", `{ serverTime }`, nil, &out); err != nil {
			return 0, err
		}
		rtt := time.Since(t0)
		if rtt < best {
			best, offset = rtt, out.ServerTime.Sub(t0.Add(rtt/2))
		}
	}
	return offset, nil
}

// serverNow is the server's clock now, as far as the bench can tell.
func (s *sale) serverNow() time.Time { return time.Now().Add(s.offset) }

// hasJoinQueue asks the schema (introspection) whether the server has a
// waiting room, and says why not when it has none.
func (s *sale) hasJoinQueue(ctx context.Context) (bool, string) {
	var out struct {
		Schema struct {
			MutationType struct {
				Fields []struct{ Name string }
			}
		} `json:"__schema"`
	}
	if err := s.ep(0).must(ctx, "", `{ __schema { mutationType { fields { name } } } }`, nil, &out); err != nil {
		return false, "the server refuses introspection (" + err.Error() + "), so the bench cannot tell whether it has joinQueue"
	}
	for _, f := range out.Schema.MutationType.Fields {
		if f.Name == "joinQueue" {
			return true, ""
		}
	}
	return false, "the server's schema has no joinQueue mutation"
}

// signUp signs in the seller, the buyers and the bot: deterministic
// e-mails per server (the state file keeps the salt and the sessions).
func (s *sale) signUp(ctx context.Context) error {
	p := s.rec.begin("sign-up")
	defer s.rec.end(p)
	salt := s.state.server(s.base).Salt
	mail := func(kind string, i int) string {
		return fmt.Sprintf("bench-%s-%s%d@bench.flashlive.dev", salt, kind, i)
	}
	t0 := time.Now()
	var err error
	if s.seller, err = signIn(ctx, s.state, s.ep(0), 0, mail("seller", 0), "SELLER"); err != nil {
		return err
	}
	done := func(t0 time.Time, err error) {
		out := "OK"
		if err != nil {
			out = "FAILED"
		}
		p.add(sample{At: s.rec.since(t0), Latency: time.Since(t0), Outcome: out})
	}
	if s.buyers, err = signInAll(ctx, s.state, s.cfg.Buyers, "BUYER", func(i int) string { return mail("buyer", i) }, s.ep, done); err != nil {
		return err
	}
	if s.cfg.Bots > 0 {
		// The bot has an address of its own, outside the buyers' pool.
		var from net.IP
		if len(s.pool) > 0 {
			from = net.IPv4(127, 2, 0, 1)
		}
		if s.bot, err = signIn(ctx, s.state, newEndpoint(s.base, from, 16), 0, mail("bot", 0), "BUYER"); err != nil {
			return err
		}
	}
	_ = s.state.save()
	s.say("sign-up: %d buyers and a seller signed in in %s (from %d addresses)", len(s.buyers), time.Since(t0).Round(time.Millisecond), len(s.eps))
	return nil
}

// makeCatalog makes the seller's product and live room, and starts the room.
func (s *sale) makeCatalog(ctx context.Context) error {
	var out struct {
		CreateProduct  struct{ ID string } `json:"createProduct"`
		CreateLiveRoom struct{ ID string } `json:"createLiveRoom"`
	}
	if err := s.seller.ep.must(ctx, s.seller.Token, `mutation($stock: Int!) {
		createProduct(input: {name: "Bench earbuds", priceCents: 4999, stock: $stock}) { id }
		createLiveRoom(input: {title: "Bench sale"}) { id } }`, map[string]any{"stock": s.cfg.Stock * 4}, &out); err != nil {
		return err
	}
	s.product, s.room = out.CreateProduct.ID, out.CreateLiveRoom.ID
	return s.seller.ep.must(ctx, s.seller.Token, `mutation($id: ID!) { startLiveRoom(id: $id) { id } }`, map[string]any{"id": s.room}, nil)
}

// connectViewers opens the room's audience.
func (s *sale) connectViewers(ctx context.Context) error {
	p := s.rec.begin("viewers")
	defer s.rec.end(p)
	t0 := time.Now()
	var err error
	s.viewers, err = connectAudience(ctx, s.rec, s.target, s.room, s.cfg.Viewers, s.pool.at, s.offset)
	if err != nil {
		return err
	}
	p.Note = fmt.Sprintf("%d connected in %s", s.cfg.Viewers, time.Since(t0).Round(time.Millisecond))
	return nil
}

// createEvent puts the stock on sale in the room from startsAt for an hour.
func (s *sale) createEvent(ctx context.Context, startsAt time.Time, stock, limit int, extra map[string]any) (string, error) {
	in := map[string]any{
		"productId": s.product, "liveRoomId": s.room, "priceCents": 1999, "stock": stock, "perUserLimit": limit,
		"startsAt": startsAt.UTC().Format(time.RFC3339Nano), "endsAt": startsAt.Add(time.Hour).UTC().Format(time.RFC3339Nano),
	}
	for k, v := range extra {
		in[k] = v
	}
	var out struct {
		CreateFlashEvent struct{ ID string } `json:"createFlashEvent"`
	}
	err := s.seller.ep.must(ctx, s.seller.Token, `mutation($in: CreateFlashEventInput!) { createFlashEvent(input: $in) { id } }`, map[string]any{"in": in}, &out)
	return out.CreateFlashEvent.ID, err
}

// countdown creates the event, to start -countdown from now, and waits
// for its start while the viewers get the countdown frames.
func (s *sale) countdown(ctx context.Context) error {
	p := s.rec.begin("countdown")
	defer s.rec.end(p)
	s.startsAt = s.serverNow().Add(s.cfg.Countdown).Truncate(time.Millisecond)
	var err error
	if s.event, err = s.createEvent(ctx, s.startsAt, s.cfg.Stock, s.cfg.Limit, nil); err != nil {
		return err
	}
	p.Note = fmt.Sprintf("event of %d units, at most %d per buyer, created %s before its start", s.cfg.Stock, s.cfg.Limit, s.cfg.Countdown)
	return sleep(ctx, time.Until(s.startsAt.Add(-s.offset)))
}

// sleep waits for d or the end of ctx.
func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// jitter is d give or take a quarter, as people and well-behaved clients
// spread their retries.
func jitter(d time.Duration) time.Duration {
	return d + time.Duration(rand.Int64N(int64(d)/2+1)) - d/4
}

// backoff is the wait before the attempt-th retry after a failed request.
func backoff(attempt int) time.Duration {
	return jitter(min(50*time.Millisecond<<min(attempt, 5), time.Second))
}

// decode unmarshals data, for answers whose shape the server owns.
func decode(data json.RawMessage, v any) error { return json.Unmarshal(data, v) }
