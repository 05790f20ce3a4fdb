package main

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"sort"
	"strconv"
	"sync"
	"testing"
	"time"

	"flashlive/auth"
	"flashlive/domain"
	"flashlive/internal/testenv"
)

const (
	joinMutation      = `mutation($in: JoinQueueInput!) { joinQueue(input: $in) { eventId status position waiting estimatedWaitMs joinedAt purchaseToken { token expiresAt } } }`
	challengeMutation = `mutation($e: ID!) { queueChallenge(eventId: $e) { challenge difficultyBits expiresAt } }`
	myTicketQuery     = `query($e: ID!) { myQueueTicket(eventId: $e) { eventId status position waiting estimatedWaitMs joinedAt purchaseToken { token expiresAt } } }`
)

// ticketAnswer is a QueueTicket as the tests read it.
type ticketAnswer struct {
	EventID         string
	Status          string
	Position        *int
	Waiting         int
	EstimatedWaitMs *int
	JoinedAt        string
	PurchaseToken   *struct{ Token, ExpiresAt string }
}

// waitingRoomEvent creates a waiting-room event of stock units starting
// after startIn, for an hour.
func (a *testApp) waitingRoomEvent(t testing.TB, stock int, startIn time.Duration) (seller *client, eventID string) {
	t.Helper()
	seller, _ = a.register(t, "SELLER")
	p := seller.newProduct(t, "Queued item", stock)
	now := a.Clock.Now()
	ev := seller.newEvent(t, map[string]any{
		"productId": p.ID, "priceCents": 500, "stock": stock, "perUserLimit": 1, "waitingRoom": true,
		"startsAt": ts(now.Add(startIn)), "endsAt": ts(now.Add(startIn + time.Hour)),
	})
	return seller, ev.ID
}

// join joins c to the event's queue, solving the proof of work when the
// server asks for one.
func (c *client) join(t testing.TB, eventID string) ticketAnswer {
	t.Helper()
	in := map[string]any{"eventId": eventID}
	if c.app.Config.Queue.PowBits > 0 {
		var ch struct {
			QueueChallenge struct {
				Challenge      string
				DifficultyBits int
			}
		}
		c.must(t, challengeMutation, map[string]any{"e": eventID}, &ch)
		in["challenge"] = ch.QueueChallenge.Challenge
		in["nonce"] = solveChallenge(t, ch.QueueChallenge.Challenge, ch.QueueChallenge.DifficultyBits)
	}
	var out struct{ JoinQueue ticketAnswer }
	c.must(t, joinMutation, map[string]any{"in": in}, &out)
	return out.JoinQueue
}

func (c *client) myTicket(t testing.TB, eventID string) *ticketAnswer {
	t.Helper()
	var out struct{ MyQueueTicket *ticketAnswer }
	c.must(t, myTicketQuery, map[string]any{"e": eventID}, &out)
	return out.MyQueueTicket
}

// userID reads the buyer ID out of c's access token (the tests' own
// tokens are signed with the app's secret).
func (c *client) userID(t testing.TB, a *testApp) string {
	t.Helper()
	tokens, err := auth.NewTokens(a.Config.JWTSecret, time.Hour, a.Now)
	if err != nil {
		t.Fatal(err)
	}
	p, err := tokens.Verify(c.token)
	if err != nil {
		t.Fatal(err)
	}
	return p.UserID
}

// each runs f for every client, 16 at a time.
func each(cs []*client, f func(i int, c *client)) {
	var wg sync.WaitGroup
	sem := make(chan struct{}, 16)
	for i, c := range cs {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			f(i, c)
		}()
	}
	wg.Wait()
}

// TestWaitingRoomFairAdmission: 2,000 buyers join before the start and
// are admitted in a random order, 500 who join after it strictly in join
// order behind them; every admitted buyer buys once, so RESERVED equals
// the stock; a buyer never admitted cannot buy, whatever token they hold.
func TestWaitingRoomFairAdmission(t *testing.T) {
	const pre, post = 2000, 500
	a := startApp(t, func(c *Config) { c.Queue = QueueConfig{AdmitPerSecond: 400, AdmissionTTL: 10 * time.Minute} })
	_, eventID := a.waitingRoomEvent(t, pre+post, 5*time.Minute)
	buyers := a.buyers(t, pre+post+1)
	outsider := buyers[pre+post]
	if r := buyers[0].wantCode(t, "CONFLICT", tokenMutation, map[string]any{"e": eventID}); len(r.Errors) == 0 {
		t.Fatal("flashPurchaseToken of a waiting-room event did not refuse")
	}
	ids := make([]string, pre+post)
	each(buyers[:pre], func(i int, c *client) {
		ids[i] = c.userID(t, a)
		tk := c.join(t, eventID)
		if tk.Status != "WAITING" || tk.Position != nil || tk.EstimatedWaitMs != nil {
			t.Errorf("pre-start ticket %+v, want WAITING without a position", tk)
		}
	})
	if again := buyers[3].join(t, eventID); again.JoinedAt != buyers[3].myTicket(t, eventID).JoinedAt {
		t.Fatalf("joining twice made a new ticket: %+v", again)
	}
	a.Clock.Advance(5*time.Minute + time.Second)
	for i, c := range buyers[pre : pre+post] {
		ids[pre+i] = c.userID(t, a)
		if tk := c.join(t, eventID); tk.Status != "WAITING" {
			t.Fatalf("post-start join %d: %+v", i, tk)
		}
	}
	// Every ticket is admitted, at 400 a second.
	testenv.WaitFor(t, 60*time.Second, "every ticket admitted", func() bool {
		_, tks, err := a.stores.queue.Tickets(context.Background(), eventID, ids)
		if err != nil {
			t.Fatal(err)
		}
		for _, tk := range tks {
			if tk.Status != domain.QueueAdmitted {
				return false
			}
		}
		return len(tks) == len(ids)
	})
	_, tks, err := a.stores.queue.Tickets(context.Background(), eventID, ids)
	if err != nil {
		t.Fatal(err)
	}
	// Admission order: by the second of admission (the expiry), then by
	// rank, the order the step pops them in; ranks and seconds agree.
	order := slices.Clone(ids)
	sort.Slice(order, func(i, j int) bool {
		x, y := tks[order[i]], tks[order[j]]
		if !x.ExpiresAt.Equal(y.ExpiresAt) {
			return x.ExpiresAt.Before(y.ExpiresAt)
		}
		return x.Rank < y.Rank
	})
	seen := map[int64]bool{}
	for i, b := range order {
		if r := tks[b].Rank; r != int64(i+1) || seen[r] {
			t.Fatalf("admission %d has rank %d: admitted out of rank order, or twice", i, r)
		}
		seen[tks[b].Rank] = true
	}
	joinIndex := map[string]int{}
	for i, id := range ids {
		joinIndex[id] = i
	}
	perm := make([]int, pre)
	identity := true
	for i, b := range order[:pre] {
		perm[i] = joinIndex[b]
		if perm[i] >= pre {
			t.Fatalf("a post-start joiner was admitted at %d, before a pre-start one", i)
		}
		identity = identity && perm[i] == i
	}
	if rho := testenv.RankCorrelation(perm); identity || math.Abs(rho) >= 0.1 {
		t.Fatalf("pre-start admission order: Spearman rho %.3f (identity %v); want a random permutation", rho, identity)
	}
	t.Logf("pre-start admission order: Spearman rho %.4f", testenv.RankCorrelation(perm))
	for i, b := range order[pre:] {
		if joinIndex[b] != pre+i {
			t.Fatalf("post-start admission %d is joiner %d, want %d (join order)", i, joinIndex[b], pre+i)
		}
	}
	// Every admitted buyer buys once with the admission's token.
	var mu sync.Mutex
	reserved := 0
	each(buyers[:pre+post], func(i int, c *client) {
		tk := c.myTicket(t, eventID)
		if tk == nil || tk.Status != "ADMITTED" || tk.PurchaseToken == nil {
			t.Errorf("admitted ticket %+v", tk)
			return
		}
		if r := c.buy(t, eventID, tk.PurchaseToken.Token, 1, "k-"+strconv.Itoa(i)); r.Outcome == "RESERVED" {
			mu.Lock()
			reserved++
			mu.Unlock()
		} else {
			t.Errorf("admitted buyer %d: %s", i, r.Outcome)
		}
	})
	if reserved != pre+post {
		t.Fatalf("RESERVED %d, want the stock %d", reserved, pre+post)
	}
	// A buyer never admitted cannot buy, even with an authentic token.
	pt, err := auth.NewPurchaseTokens(a.Config.JWTSecret, time.Minute, a.Now)
	if err != nil {
		t.Fatal(err)
	}
	forged, err := pt.Issue(outsider.userID(t, a), eventID)
	if err != nil {
		t.Fatal(err)
	}
	outsider.wantCode(t, "INVALID", purchaseMutation, map[string]any{"in": map[string]any{
		"eventId": eventID, "token": forged.Token, "quantity": 1, "idempotencyKey": "outsider",
	}})
	testenv.WaitFor(t, 30*time.Second, "every order written", func() bool {
		_, live, _ := a.orderCounts(t, eventID)
		return live == pre+post
	})
}

// solveChallenge finds a nonce for a challenge.
func solveChallenge(t testing.TB, ch string, bits int) string {
	t.Helper()
	n := testenv.SolvePow(ch, bits)
	if n == "" {
		t.Fatal("no nonce")
	}
	return n
}

// TestWaitingRoomProofOfWork: a solved challenge joins once; a wrong
// nonce, a reused challenge and another buyer's challenge are INVALID.
func TestWaitingRoomProofOfWork(t *testing.T) {
	a := startApp(t, func(c *Config) { c.Queue.PowBits = 8 })
	_, eventID := a.waitingRoomEvent(t, 5, time.Minute)
	bs := a.buyers(t, 2)
	challenge := func(c *client) (string, int) {
		var out struct {
			QueueChallenge struct {
				Challenge      string
				DifficultyBits int
			}
		}
		c.must(t, challengeMutation, map[string]any{"e": eventID}, &out)
		return out.QueueChallenge.Challenge, out.QueueChallenge.DifficultyBits
	}
	joinWith := func(c *client, ch, nonce string) gqlResponse {
		return c.post(t, joinMutation, map[string]any{"in": map[string]any{"eventId": eventID, "challenge": ch, "nonce": nonce}})
	}
	ch, bits := challenge(bs[0])
	if bits != 8 {
		t.Fatalf("difficultyBits %d, want 8", bits)
	}
	nonce := solveChallenge(t, ch, bits)
	wrong := nonce + "x"
	for domain.PowSolved(ch, wrong, bits) {
		wrong += "x"
	}
	if r := joinWith(bs[0], ch, wrong); r.code() != "INVALID" {
		t.Fatalf("wrong nonce: %+v", r)
	}
	if r := joinWith(bs[1], ch, nonce); r.code() != "INVALID" {
		t.Fatalf("another buyer's challenge: %+v", r)
	}
	if r := joinWith(bs[0], ch, nonce); len(r.Errors) > 0 {
		t.Fatalf("solved challenge: %+v", r.Errors)
	}
	if r := joinWith(bs[0], ch, nonce); r.code() != "INVALID" {
		t.Fatalf("reused challenge: %+v", r)
	}
	if r := bs[1].post(t, joinMutation, map[string]any{"in": map[string]any{"eventId": eventID}}); r.code() != "INVALID" {
		t.Fatalf("no challenge: %+v", r)
	}
	// A second solved challenge returns the same ticket.
	held := bs[0].myTicket(t, eventID)
	ch2, _ := challenge(bs[0])
	var again struct{ JoinQueue ticketAnswer }
	r := joinWith(bs[0], ch2, solveChallenge(t, ch2, bits))
	if err := json.Unmarshal(r.Data, &again); err != nil || len(r.Errors) > 0 {
		t.Fatalf("join again: %v %+v", err, r.Errors)
	}
	if held == nil || again.JoinQueue.JoinedAt != held.JoinedAt || again.JoinQueue.Status != "WAITING" {
		t.Fatalf("join again = %+v, want the ticket held %+v", again.JoinQueue, held)
	}
}

// TestWaitingRoomClosesWhenSoldOut: once the stock is gone every WAITING
// ticket is CLOSED and its buyer told over /ws; a cancel reopens the
// event, and admission resumes for new joiners while the closed stay
// closed. Joins and admissions go through two instances sharing one
// queue.
func TestWaitingRoomClosesWhenSoldOut(t *testing.T) {
	a, b := startPair(t)
	_, eventID := a.waitingRoomEvent(t, 3, time.Second)
	bs := a.buyers(t, 10)
	apps := []*testApp{a, b}
	var sockets []*wsClient
	for i, c := range bs {
		app := apps[i%2]
		w := app.dial(t, c.token, nil)
		w.send(t, map[string]any{"type": "ping"})
		w.next(t, 5*time.Second, "pong", frameIs("pong"))
		sockets = append(sockets, w)
		testenv.WaitForCheck(t, 10*time.Second, "joining", func() error {
			r := (&client{app: app, token: c.token}).post(t, joinMutation, map[string]any{"in": map[string]any{"eventId": eventID}})
			if len(r.Errors) > 0 {
				return fmt.Errorf("join: %+v", r.Errors)
			}
			return nil
		})
		w.next(t, 5*time.Second, "queue frame on joining", frameIs("queue", "eventId", eventID, "status", "WAITING"))
	}
	// Three are admitted (stock 3), told over /ws on whichever instance
	// holds their socket; they buy.
	admitted := map[int]string{}
	orders := map[int]string{}
	for len(admitted) < 3 {
		for i, w := range sockets {
			if _, ok := admitted[i]; ok {
				continue
			}
			select {
			case f := <-w.Frames:
				if f["type"] == "queue" && f["status"] == "ADMITTED" {
					tok := f["purchaseToken"].(map[string]any)["token"].(string)
					admitted[i] = tok
					r := (&client{app: apps[(i+1)%2], token: bs[i].token}).buy(t, eventID, tok, 1, "k")
					if r.Outcome != "RESERVED" {
						t.Fatalf("admitted buyer %d: %s", i, r.Outcome)
					}
					orders[i] = r.Order.ID
				}
			case <-time.After(50 * time.Millisecond):
			}
		}
	}
	for i, w := range sockets {
		if _, ok := admitted[i]; ok {
			continue
		}
		w.next(t, 10*time.Second, fmt.Sprintf("buyer %d's ticket closed", i), frameIs("queue", "eventId", eventID, "status", "CLOSED"))
		if tk := bs[i].myTicket(t, eventID); tk == nil || tk.Status != "CLOSED" {
			t.Fatalf("buyer %d's ticket after sold out: %+v", i, tk)
		}
	}
	// A cancel gives a unit back: a newcomer is admitted, the closed stay
	// closed.
	for i, id := range orders {
		var out struct{ CancelOrder struct{ Status string } }
		bs[i].must(t, cancelMutation, map[string]any{"id": id}, &out)
		if out.CancelOrder.Status != "CANCELLED" {
			t.Fatalf("cancel: %+v", out)
		}
		break
	}
	newcomer := b.buyers(t, 1)[0]
	nw := b.dial(t, newcomer.token, nil)
	nw.send(t, map[string]any{"type": "ping"})
	nw.next(t, 5*time.Second, "pong", frameIs("pong"))
	testenv.WaitForCheck(t, 15*time.Second, "the event LIVE again and the newcomer queued", func() error {
		r := newcomer.post(t, joinMutation, map[string]any{"in": map[string]any{"eventId": eventID}})
		if len(r.Errors) > 0 {
			return fmt.Errorf("join: %+v", r.Errors)
		}
		return nil
	})
	nw.next(t, 10*time.Second, "the newcomer admitted", frameIs("queue", "eventId", eventID, "status", "ADMITTED"))
	for i := range bs {
		if _, ok := admitted[i]; ok {
			continue
		}
		if tk := bs[i].myTicket(t, eventID); tk == nil || tk.Status != "CLOSED" {
			t.Fatalf("closed ticket %d after the cancel: %+v", i, tk)
		}
	}
}
