package main

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"flashlive/domain"
	"flashlive/internal/testenv"
	"flashlive/jobs"
)

const (
	createRainMutation = `mutation($in: CreateRedPacketRainInput!) { createRedPacketRain(input: $in) {
		id totalCents packets packetsLeft status refundedCents startsAt endsAt room { id } } }`
	grabMutation = `mutation($r: ID!, $k: String!) { grabRedPacket(rainId: $r, idempotencyKey: $k) {
		outcome amountCents packetsLeft retryAfterMs } }`
	rainQuery    = `query($id: ID!) { redPacketRain(id: $id) { id packets packetsLeft status refundedCents totalCents } }`
	myGrabsQuery = `query($f: Int, $a: String) { myRedPacketGrabs(first: $f, after: $a) {
		edges { cursor node { amountCents grabbedAt rain { id } } } pageInfo { hasNextPage endCursor } } }`
)

type rainView struct {
	ID            string
	TotalCents    int64
	Packets       int
	PacketsLeft   int
	Status        string
	RefundedCents int64
}

type grabAnswer struct {
	Outcome      string
	AmountCents  *int64
	PacketsLeft  *int
	RetryAfterMs *int
}

// newRain has seller create a rain in room over [start, end).
func (c *client) newRain(t testing.TB, room string, total int64, packets int, start, end time.Time) rainView {
	t.Helper()
	var out struct{ CreateRedPacketRain rainView }
	c.must(t, createRainMutation, map[string]any{"in": map[string]any{
		"liveRoomId": room, "totalCents": total, "packets": packets, "startsAt": ts(start), "endsAt": ts(end),
	}}, &out)
	return out.CreateRedPacketRain
}

// liveRain creates a seller, a room and a rain LIVE now for d.
func (a *testApp) liveRain(t testing.TB, total int64, packets int, d time.Duration) (*client, string, rainView) {
	t.Helper()
	seller, _ := a.register(t, "SELLER")
	room := seller.newRoom(t, "Rain room")
	now := a.Clock.Now()
	return seller, room, seller.newRain(t, room, total, packets, now, now.Add(d))
}

func (c *client) grab(t testing.TB, rainID, key string) grabAnswer {
	t.Helper()
	var out struct{ GrabRedPacket grabAnswer }
	c.must(t, grabMutation, map[string]any{"r": rainID, "k": key}, &out)
	return out.GrabRedPacket
}

func (c *client) rain(t testing.TB, id string) rainView {
	t.Helper()
	var out struct{ RedPacketRain rainView }
	c.must(t, rainQuery, map[string]any{"id": id}, &out)
	return out.RedPacketRain
}

// grabsInPostgres returns the rain's grabs written, their distinct buyers
// and their sum.
func (a *testApp) grabsInPostgres(t testing.TB, rainID string) (n, buyers int, sum int64) {
	t.Helper()
	err := a.DB.Pool.QueryRow(context.Background(), `
		SELECT count(*), count(DISTINCT buyer_id), coalesce(sum(amount_cents), 0) FROM red_packet_grabs WHERE rain_id = $1`,
		rainID).Scan(&n, &buyers, &sum)
	if err != nil {
		t.Fatalf("count grabs: %v", err)
	}
	return n, buyers, sum
}

func (a *testApp) waitGrabsSettled(t testing.TB) {
	t.Helper()
	testenv.WaitForCheck(t, 30*time.Second, "the grab stream to settle", func() error {
		ok, err := a.Grabs.Settled(context.Background())
		if err == nil && !ok {
			err = fmt.Errorf("grabs in flight")
		}
		return err
	})
}

// TestRainStormGivesEachPacketOnce: 1,000 concurrent grabs by 500 buyers
// on a 100-packet rain: exactly 100 GRABBED, no buyer twice, the amounts
// sum exactly to the total, in the answers and in PostgreSQL after the
// writer; a same-key retry returns the same amount; ALREADY_GRABBED comes
// with the buyer's amount.
func TestRainStormGivesEachPacketOnce(t *testing.T) {
	app := startApp(t, nil)
	const total = 10_000
	_, _, rain := app.liveRain(t, total, 100, time.Hour)
	if rain.Status != "LIVE" || rain.PacketsLeft != 100 || rain.Packets != 100 || rain.TotalCents != total {
		t.Fatalf("new rain = %+v", rain)
	}
	buyers := app.buyers(t, 500)
	type answer struct {
		buyer int
		key   string
		grabAnswer
	}
	var mu sync.Mutex
	var answers []answer
	var wg sync.WaitGroup
	sem := make(chan struct{}, 32)
	for i := range 1000 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			key := fmt.Sprintf("k-%d", i)
			a := buyers[i%500].grab(t, rain.ID, key)
			mu.Lock()
			answers = append(answers, answer{i % 500, key, a})
			mu.Unlock()
		}()
	}
	wg.Wait()
	won := map[int]answer{}
	var sum int64
	for _, a := range answers {
		switch a.Outcome {
		case "GRABBED":
			if _, twice := won[a.buyer]; twice {
				t.Fatalf("buyer %d grabbed twice", a.buyer)
			}
			won[a.buyer] = a
			sum += *a.AmountCents
		case "ALREADY_GRABBED", "EMPTY":
		default:
			t.Fatalf("unexpected answer %+v", a)
		}
	}
	if len(won) != 100 || sum != total {
		t.Fatalf("%d GRABBED summing to %d cents, want 100 summing to %d", len(won), sum, total)
	}
	for _, a := range answers {
		if a.Outcome == "ALREADY_GRABBED" && (won[a.buyer].AmountCents == nil || *a.AmountCents != *won[a.buyer].AmountCents) {
			t.Fatalf("ALREADY_GRABBED %+v of buyer %d, who grabbed %+v", a, a.buyer, won[a.buyer])
		}
	}
	// Retries with the first key: the first answer, amount and all.
	for b, a := range won {
		again := buyers[b].grab(t, rain.ID, a.key)
		if again.Outcome != "GRABBED" || *again.AmountCents != *a.AmountCents || *again.PacketsLeft != *a.PacketsLeft {
			t.Fatalf("retry of %+v = %+v", a, again)
		}
	}
	testenv.WaitFor(t, 30*time.Second, "100 grabs in PostgreSQL", func() bool { n, _, _ := app.grabsInPostgres(t, rain.ID); return n == 100 })
	app.waitGrabsSettled(t)
	if n, bs, s := app.grabsInPostgres(t, rain.ID); n != 100 || bs != 100 || s != total {
		t.Fatalf("PostgreSQL: %d grabs by %d buyers summing to %d, want 100 by 100 summing to %d", n, bs, s, total)
	}
	if got := buyers[0].rain(t, rain.ID); got.PacketsLeft != 0 || got.Status != "FINISHED" {
		t.Fatalf("emptied rain = %+v, want FINISHED with 0 left", got)
	}
	for b, a := range won {
		var out struct {
			MyRedPacketGrabs struct {
				Edges []struct {
					Node struct {
						AmountCents int64
						Rain        struct{ ID string }
					}
				}
			}
		}
		buyers[b].must(t, myGrabsQuery, map[string]any{"f": 10}, &out)
		if e := out.MyRedPacketGrabs.Edges; len(e) != 1 || e[0].Node.AmountCents != *a.AmountCents || e[0].Node.Rain.ID != rain.ID {
			t.Fatalf("myRedPacketGrabs of buyer %d = %+v, want its %d cents", b, e, *a.AmountCents)
		}
		break
	}
}

// TestRainRules: only the room's seller creates rains; packets between 1
// and totalCents; a seller cannot grab; a grab before the window is
// NOT_STARTED, after it ENDED, while a holder is ALREADY_GRABBED even
// then; unknown rains are NOT_FOUND; the room lists its rains newest
// first.
func TestRainRules(t *testing.T) {
	app := startApp(t, nil)
	seller, _ := app.register(t, "SELLER")
	other, _ := app.register(t, "SELLER")
	room := seller.newRoom(t, "Rules")
	now := app.Clock.Now()
	in := func(total int64, packets int, start, end time.Time) map[string]any {
		return map[string]any{"in": map[string]any{"liveRoomId": room, "totalCents": total, "packets": packets, "startsAt": ts(start), "endsAt": ts(end)}}
	}
	for name, tc := range map[string]struct {
		c    *client
		vars map[string]any
		code string
	}{
		"other seller":    {other, in(100, 10, now.Add(time.Minute), now.Add(2*time.Minute)), "FORBIDDEN"},
		"buyer":           {app.buyers(t, 1)[0], in(100, 10, now.Add(time.Minute), now.Add(2*time.Minute)), "FORBIDDEN"},
		"packets > total": {seller, in(5, 6, now.Add(time.Minute), now.Add(2*time.Minute)), "INVALID"},
		"no packets":      {seller, in(5, 0, now.Add(time.Minute), now.Add(2*time.Minute)), "INVALID"},
		"ends first":      {seller, in(5, 1, now.Add(time.Minute), now), "INVALID"},
	} {
		if got := tc.c.post(t, createRainMutation, tc.vars).code(); got != tc.code {
			t.Errorf("%s: code %q, want %s", name, got, tc.code)
		}
	}
	first := seller.newRain(t, room, 3, 2, now.Add(time.Minute), now.Add(2*time.Minute))
	second := seller.newRain(t, room, 3, 3, now.Add(time.Minute), now.Add(2*time.Minute))
	if first.Status != "SCHEDULED" {
		t.Fatalf("rain starting in a minute: %+v", first)
	}
	var rooms struct {
		LiveRoom struct{ RedPacketRains []struct{ ID string } }
	}
	seller.must(t, `query($id: ID!) { liveRoom(id: $id) { redPacketRains { id } } }`, map[string]any{"id": room}, &rooms)
	if rs := rooms.LiveRoom.RedPacketRains; len(rs) != 2 || rs[0].ID != second.ID || rs[1].ID != first.ID {
		t.Fatalf("redPacketRains = %+v, want newest first", rs)
	}
	if got := seller.post(t, grabMutation, map[string]any{"r": first.ID, "k": "k"}).code(); got != "FORBIDDEN" {
		t.Fatalf("seller grabbing: %q, want FORBIDDEN", got)
	}
	bs := app.buyers(t, 2)
	if got := bs[0].post(t, grabMutation, map[string]any{"r": "rain_nope", "k": "k"}).code(); got != "NOT_FOUND" {
		t.Fatalf("unknown rain: %q, want NOT_FOUND", got)
	}
	if a := bs[0].grab(t, first.ID, "early"); a.Outcome != "NOT_STARTED" {
		t.Fatalf("early grab = %+v", a)
	}
	app.Clock.Advance(time.Minute)
	got := bs[0].grab(t, first.ID, "k1")
	if got.Outcome != "GRABBED" || *got.AmountCents < 1 || *got.AmountCents > 2 {
		t.Fatalf("grab = %+v", got)
	}
	app.Clock.Advance(time.Minute)
	if a := bs[0].grab(t, first.ID, "late"); a.Outcome != "ALREADY_GRABBED" || *a.AmountCents != *got.AmountCents {
		t.Fatalf("holder after the end = %+v", a)
	}
	if a := bs[1].grab(t, first.ID, "late"); a.Outcome != "ENDED" {
		t.Fatalf("grab after the end = %+v", a)
	}
	var node struct {
		Node, Nope *struct{ ID, Status string }
	}
	bs[0].must(t, `query($id: ID!) { node(id: $id) { ... on RedPacketRain { id status } } nope: node(id: "rain_nope") { id } }`, map[string]any{"id": first.ID}, &node)
	if node.Node == nil || node.Node.ID != first.ID || node.Node.Status != "FINISHED" || node.Nope != nil {
		t.Fatalf("node = %+v / %+v, want the rain FINISHED and null", node.Node, node.Nope)
	}
	var none struct{ RedPacketRain *rainView }
	bs[0].must(t, rainQuery, map[string]any{"id": "rain_nope"}, &none)
	if none.RedPacketRain != nil {
		t.Fatalf("unknown rain = %+v, want null", none.RedPacketRain)
	}
}

// TestRainGrabsAreRateLimited: past its limit a buyer's grab is
// RATE_LIMITED with retryAfterMs, unless the buyer holds a packet of the
// rain: ALREADY_GRABBED comes before any other outcome.
func TestRainGrabsAreRateLimited(t *testing.T) {
	app := startApp(t, func(c *Config) {
		c.Limits = Limits{GrabUser: domain.Limit{Rate: 1, Burst: 2, Period: time.Minute}}
	})
	seller, room, rain := app.liveRain(t, 100, 10, time.Hour)
	now := app.Clock.Now()
	soon := seller.newRain(t, room, 100, 10, now.Add(time.Minute), now.Add(time.Hour))
	b := app.buyers(t, 1)[0]
	var limited *grabAnswer
	for i := range 5 {
		if a := b.grab(t, soon.ID, fmt.Sprintf("k%d", i)); a.Outcome == "RATE_LIMITED" {
			limited = &a
			break
		}
	}
	if limited == nil || limited.RetryAfterMs == nil || *limited.RetryAfterMs < 1 {
		t.Fatalf("no RATE_LIMITED with retryAfterMs in 5 grabs: %+v", limited)
	}
	// The limit is spent; a buyer who holds a packet still hears so first.
	holder := app.buyers(t, 1)[0]
	first := holder.grab(t, rain.ID, "h0")
	for i := 1; i < 5; i++ {
		if a := holder.grab(t, rain.ID, fmt.Sprintf("h%d", i)); a.Outcome != "ALREADY_GRABBED" || *a.AmountCents != *first.AmountCents {
			t.Fatalf("holder's grab #%d past the limit = %+v, want ALREADY_GRABBED of %d", i, a, *first.AmountCents)
		}
	}
}

// TestRainWriterCrashLosesNothing makes the grab writer fail after its
// statement commits, before it acknowledges (as a crash there would): the
// batches come back, and nothing is lost or written twice.
func TestRainWriterCrashLosesNothing(t *testing.T) {
	app := startApp(t, nil)
	const total = 5_000
	_, _, rain := app.liveRain(t, total, 50, time.Hour)
	app.Grabs.Stop()
	var crashes sync.Map
	var n int
	var mu sync.Mutex
	writer := &jobs.GrabWriter{Grabs: app.rain.store, Hot: app.rain.hot, Logger: app.Logger}
	if err := app.Grabs.Start(func(ctx context.Context, gs []domain.RedPacketGrab) error {
		if err := app.rain.store.WriteGrabs(ctx, gs); err != nil {
			return err
		}
		mu.Lock()
		n++
		crash := n <= 3
		mu.Unlock()
		if crash {
			crashes.Store(n, len(gs))
			return fmt.Errorf("simulated crash after commit")
		}
		return writer.Handle(ctx, gs)
	}); err != nil {
		t.Fatal(err)
	}
	buyers := app.buyers(t, 50)
	var wg sync.WaitGroup
	for _, b := range buyers {
		wg.Add(1)
		go func() { defer wg.Done(); b.grab(t, rain.ID, "k") }()
	}
	wg.Wait()
	testenv.WaitFor(t, 40*time.Second, "50 grabs in PostgreSQL", func() bool { n, _, _ := app.grabsInPostgres(t, rain.ID); return n == 50 })
	app.waitGrabsSettled(t)
	if n, bs, s := app.grabsInPostgres(t, rain.ID); n != 50 || bs != 50 || s != total {
		t.Fatalf("PostgreSQL: %d grabs by %d buyers summing to %d, want 50 by 50 summing to %d", n, bs, s, total)
	}
	if _, ok := crashes.Load(3); !ok {
		t.Fatal("the writer never crashed three times")
	}
	testenv.WaitFor(t, 10*time.Second, "the outbox to be forgotten", func() bool {
		_, out, _, err := app.rain.hot.Taken(context.Background(), rain.ID)
		return err == nil && len(out) == 0
	})
}

// TestRainLostPublishIsRecovered: a grab whose publish was lost (taken in
// Redis, never published) is published again by reconciliation once it is
// old enough, and written once.
func TestRainLostPublishIsRecovered(t *testing.T) {
	app := startApp(t, nil)
	_, _, rain := app.liveRain(t, 100, 10, time.Hour)
	buyer := app.buyers(t, 1)[0]
	var me struct{ Me struct{ ID string } }
	buyer.must(t, meQuery, nil, &me)
	now := app.Clock.Now()
	res, _, err := app.rain.hot.Grab(context.Background(), rain.ID, me.Me.ID, "lost", "grab_lost0001", now)
	if err != nil || res.Outcome != domain.GrabGrabbed {
		t.Fatalf("grab in Redis: %+v %v", res, err)
	}
	if n, err := app.GrabReconciler.Republish(context.Background()); err != nil || n != 0 {
		t.Fatalf("young grab republished: %d, %v", n, err)
	}
	app.Clock.Advance(OrphanAge + time.Second)
	if n, err := app.GrabReconciler.Republish(context.Background()); err != nil || n != 1 {
		t.Fatalf("orphan republished: %d, %v; want 1", n, err)
	}
	testenv.WaitFor(t, 10*time.Second, "the grab in PostgreSQL", func() bool { n, _, _ := app.grabsInPostgres(t, rain.ID); return n == 1 })
	if n, _, s := app.grabsInPostgres(t, rain.ID); n != 1 || s != res.AmountCents {
		t.Fatalf("PostgreSQL: %d grabs of %d cents, want 1 of %d", n, s, res.AmountCents)
	}
	if a := buyer.grab(t, rain.ID, "lost"); a.Outcome != "GRABBED" || *a.AmountCents != res.AmountCents {
		t.Fatalf("retry of the lost grab = %+v", a)
	}
}

// TestRainRefundsTheRestOnce: a rain with packets left refunds exactly
// the rest to its seller once its window ends, even with two refund
// runners (and the app's own scheduled one) racing.
func TestRainRefundsTheRestOnce(t *testing.T) {
	app := startApp(t, nil)
	const total = 1_000
	_, _, rain := app.liveRain(t, total, 10, time.Minute)
	var grabbed int64
	for _, b := range app.buyers(t, 3) {
		a := b.grab(t, rain.ID, "k")
		grabbed += *a.AmountCents
	}
	if err := app.RainRefund.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := app.anon().rain(t, rain.ID); got.RefundedCents != 0 {
		t.Fatalf("refunded %d before the end", got.RefundedCents)
	}
	app.Clock.Advance(time.Minute)
	second := &jobs.RainRefund{Rains: app.rain.store, Hot: app.rain.hot, Settled: app.Grabs.Settled, Logger: app.Logger, Now: app.Now}
	testenv.WaitFor(t, 30*time.Second, "the refund", func() bool {
		var wg sync.WaitGroup
		for _, j := range []*jobs.RainRefund{app.RainRefund, second} {
			wg.Add(1)
			go func() { defer wg.Done(); _ = j.Run(context.Background()) }()
		}
		wg.Wait()
		return app.anon().rain(t, rain.ID).Status == "FINISHED" && app.anon().rain(t, rain.ID).RefundedCents > 0
	})
	for range 3 {
		_ = second.Run(context.Background())
	}
	var refunds int
	var cents int64
	if err := app.DB.Pool.QueryRow(context.Background(), `SELECT count(*), coalesce(sum(cents), 0) FROM red_packet_refunds WHERE rain_id = $1`, rain.ID).Scan(&refunds, &cents); err != nil {
		t.Fatal(err)
	}
	if refunds != 1 || cents != total-grabbed {
		t.Fatalf("%d refunds of %d cents, want 1 of %d", refunds, cents, total-grabbed)
	}
	if got := app.anon().rain(t, rain.ID); got.RefundedCents != total-grabbed || got.PacketsLeft != 7 {
		t.Fatalf("refunded rain = %+v", got)
	}
}

// TestRainFramesReachViewers: a viewer's snapshot lists the room's live
// rain; a grab moves packetsLeft in a rain frame; the last packet's grab
// finishes the rain with a FINISHED frame.
func TestRainFramesReachViewers(t *testing.T) {
	app := startApp(t, nil)
	_, room, rain := app.liveRain(t, 10, 2, time.Hour)
	ws := app.dial(t, "", nil)
	ws.send(t, map[string]string{"type": "join", "room": room})
	snap := ws.next(t, 10*time.Second, "snapshot", func(f map[string]any) bool { return f["type"] == "snapshot" })
	rains, _ := snap["rains"].([]any)
	if len(rains) != 1 || rains[0].(map[string]any)["rainId"] != rain.ID || rains[0].(map[string]any)["status"] != "LIVE" {
		t.Fatalf("snapshot rains = %v", snap["rains"])
	}
	bs := app.buyers(t, 2)
	bs[0].grab(t, rain.ID, "k")
	ws.next(t, 10*time.Second, "a rain frame with 1 left", func(f map[string]any) bool {
		return f["type"] == "rain" && f["rainId"] == rain.ID && f["packetsLeft"] == float64(1) && f["status"] == "LIVE"
	})
	bs[1].grab(t, rain.ID, "k")
	ws.next(t, 10*time.Second, "the FINISHED frame", func(f map[string]any) bool {
		return f["type"] == "rain" && f["rainId"] == rain.ID && f["status"] == "FINISHED" && f["packetsLeft"] == float64(0)
	})
}

// TestRainStatusFramesFollowTheClock: a viewer sees a new rain SCHEDULED,
// then LIVE at its start and FINISHED at its end (sent by the rain tick,
// on no grab), and the scheduled refund gives the whole sum back.
func TestRainStatusFramesFollowTheClock(t *testing.T) {
	app := startApp(t, nil)
	seller, _ := app.register(t, "SELLER")
	room := seller.newRoom(t, "Clockwork")
	ws := app.dial(t, "", nil)
	ws.send(t, map[string]string{"type": "join", "room": room})
	ws.next(t, 10*time.Second, "snapshot", func(f map[string]any) bool { return f["type"] == "snapshot" })
	now := app.Clock.Now()
	rain := seller.newRain(t, room, 500, 5, now.Add(time.Minute), now.Add(2*time.Minute))
	frame := func(status string) {
		ws.next(t, 15*time.Second, "a "+status+" rain frame", func(f map[string]any) bool {
			return f["type"] == "rain" && f["rainId"] == rain.ID && f["status"] == status && f["packetsLeft"] == float64(5)
		})
	}
	frame("SCHEDULED")
	app.Clock.Advance(time.Minute)
	frame("LIVE")
	app.Clock.Advance(time.Minute)
	frame("FINISHED")
	testenv.WaitFor(t, 30*time.Second, "the whole sum refunded", func() bool { return app.anon().rain(t, rain.ID).RefundedCents == 500 })
}
