package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

const (
	tokenMutation    = `mutation($e: ID!) { flashPurchaseToken(eventId: $e) { token } }`
	purchaseMutation = `mutation($in: PurchaseFlashInput!) { purchaseFlash(input: $in) { outcome retryAfterMs order { id } } }`
)

// answer is what one press got: the outcome (the PurchaseOutcome, an
// error code, BLOCKED for a 429 refusal of a blocked client, NET_ERROR
// when no answer came), the order when RESERVED, and the wait asked for.
type answer struct {
	Outcome    string
	OrderID    string
	RetryAfter time.Duration
}

// press sends one purchaseFlash as acc.
func (s *sale) press(ctx context.Context, acc *account, event, key string) answer {
	a, err := acc.ep.do(ctx, acc.Token, purchaseMutation, map[string]any{"in": map[string]any{
		"eventId": event, "token": acc.ptoken, "quantity": 1, "idempotencyKey": key,
	}})
	if err != nil {
		return answer{Outcome: "NET_ERROR"}
	}
	if c := a.code(); c != "" {
		if a.Status == 429 && strings.Contains(strings.ToLower(a.Errors[0].Message), "blocked") {
			c = "BLOCKED"
		}
		return answer{Outcome: c, RetryAfter: a.retryAfter()}
	}
	var out struct {
		PurchaseFlash struct {
			Outcome      string
			RetryAfterMs int
			Order        *struct{ ID string }
		} `json:"purchaseFlash"`
	}
	if decode(a.Data, &out) != nil {
		return answer{Outcome: "BAD_ANSWER"}
	}
	r := answer{Outcome: out.PurchaseFlash.Outcome, RetryAfter: time.Duration(out.PurchaseFlash.RetryAfterMs) * time.Millisecond}
	if out.PurchaseFlash.Order != nil {
		r.OrderID = out.PurchaseFlash.Order.ID
	}
	return r
}

// keep records a RESERVED answer.
func (s *sale) keep(acc *account, a answer, bot bool) {
	if a.Outcome != "RESERVED" {
		return
	}
	s.mu.Lock()
	s.reserved[a.OrderID] = reservation{OrderID: a.OrderID, BuyerID: acc.UserID, Units: 1, Bot: bot}
	s.mu.Unlock()
}

// errNotLive is a purchase token refused because the event is no longer
// LIVE (sold out before the buyer asked): not a failure of the run.
var errNotLive = errors.New("the event is no longer LIVE")

// purchaseToken gets acc a purchase token for event, waiting (with
// jitter) while the event has not started on the server's clock yet and
// while the server asks to wait.
func (s *sale) purchaseToken(ctx context.Context, p *phase, acc *account, event string, startsAt time.Time, slots chan struct{}) error {
	for attempt := 0; ; attempt++ {
		var a gqlAnswer
		var err error
		// The wait for a slot is the bench's queue, not the server's time.
		acquire(slots)
		s.rec.timed(p, func() string {
			a, err = acc.ep.do(ctx, acc.Token, tokenMutation, map[string]any{"e": event})
			if err != nil {
				return "NET_ERROR"
			}
			return cmpOr(a.code(), "OK")
		})
		release(slots)
		switch {
		case ctx.Err() != nil:
			return ctx.Err()
		case err != nil:
			if attempt > 8 {
				return err
			}
			_ = sleep(ctx, backoff(attempt))
		case (a.code() == "RATE_LIMITED" || a.code() == "UNAVAILABLE") && a.retryAfter() <= maxSetupWait:
			_ = sleep(ctx, jitter(max(a.retryAfter(), 20*time.Millisecond)))
		case a.code() == "CONFLICT" && s.serverNow().Before(startsAt.Add(2*time.Second)):
			// Not LIVE yet: the buyer's clock ran a little ahead. A
			// person tries again a moment later (and under the token limit).
			_ = sleep(ctx, jitter(250*time.Millisecond))
		case a.code() == "CONFLICT":
			return errNotLive
		case a.code() != "":
			return a.err()
		default:
			var out struct {
				FlashPurchaseToken struct{ Token string } `json:"flashPurchaseToken"`
			}
			if err := decode(a.Data, &out); err != nil {
				return err
			}
			acc.ptoken = out.FlashPurchaseToken.Token
			return nil
		}
	}
}

// acquire takes one of the slots that bound the requests in flight (nil: no bound).
func acquire(slots chan struct{}) {
	if slots != nil {
		slots <- struct{}{}
	}
}

// release gives a slot back.
func release(slots chan struct{}) {
	if slots != nil {
		<-slots
	}
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// floor measures { serverTime } at -conns requests in flight for -phase:
// the cheapest thing the server answers, the yardstick of the others.
func (s *sale) floor(ctx context.Context) error {
	p := s.rec.begin("floor")
	defer s.rec.end(p)
	body := []byte(`{"query":"{ serverTime }"}`)
	s.spin(ctx, p, s.cfg.Phase, func(ctx context.Context, w, k int) string {
		a, err := s.ep(w).post(ctx, "", body)
		if err != nil {
			return "NET_ERROR"
		}
		return cmpOr(a.code(), "OK")
	})
	return ctx.Err()
}

// spin runs -conns workers doing f for d, each recording every answer.
func (s *sale) spin(ctx context.Context, p *phase, d time.Duration, f func(ctx context.Context, w, k int) string) {
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	var wg sync.WaitGroup
	for w := range s.cfg.Conns {
		wg.Go(func() {
			for k := 0; ctx.Err() == nil; k++ {
				t0 := time.Now()
				out := f(ctx, w, k)
				if ctx.Err() != nil {
					return // cut off by the phase's end: not an answer
				}
				p.add(sample{At: s.rec.since(t0), Latency: time.Since(t0), Outcome: out})
			}
		})
	}
	wg.Wait()
}

// rush is the sale: at the start every buyer, after a person's reaction
// time, gets a purchase token and presses until they hold -limit units
// or the answer says there is nothing left to buy; at most -conns
// requests are in flight at once. Bots press beside them when asked.
func (s *sale) rush(ctx context.Context) error {
	p := s.rec.begin("rush")
	tokens := s.rec.beside("tokens")
	ctx, cancel := context.WithTimeout(ctx, s.cfg.RushMax)
	defer cancel()
	slots := make(chan struct{}, s.cfg.Conns)
	var bots sync.WaitGroup
	if s.bot != nil {
		bp := s.rec.beside("bots")
		bots.Go(func() {
			s.runBot(ctx, bp)
			s.rec.end(bp)
		})
	}
	var wg sync.WaitGroup
	var late, failed atomic.Int64
	var firstErr atomic.Pointer[error]
	for _, b := range s.buyers {
		wg.Go(func() {
			if sleep(ctx, time.Duration(rand.Int64N(int64(300*time.Millisecond)))) != nil {
				return
			}
			if err := s.purchaseToken(ctx, tokens, b, s.event, s.startsAt, slots); err != nil {
				if errors.Is(err, errNotLive) {
					late.Add(1)
				} else {
					failed.Add(1)
					firstErr.CompareAndSwap(nil, &err)
				}
				return
			}
			s.buyerPresses(ctx, p, b, slots)
		})
	}
	wg.Wait()
	s.rec.end(p)
	s.rec.end(tokens)
	bots.Wait()
	if n := late.Load(); n > 0 {
		s.note("rush: %d buyers asked for a purchase token after the event had sold out", n)
	}
	if n := failed.Load(); n > 0 {
		s.note("rush: %d buyers got no purchase token, first: %v", n, *firstErr.Load())
	}
	return ctx.Err()
}

// buyerPresses is one buyer's part of the rush: a key per unit wanted,
// the same key on every retry of that unit.
func (s *sale) buyerPresses(ctx context.Context, p *phase, b *account, slots chan struct{}) {
	for unit := range s.cfg.Limit {
		key := fmt.Sprintf("%s-rush-%d-%d", s.runID, b.Index, unit)
		for attempt := 0; ; attempt++ {
			var a answer
			acquire(slots)
			s.rec.timed(p, func() string {
				a = s.press(ctx, b, s.event, key)
				return a.Outcome
			})
			release(slots)
			if ctx.Err() != nil {
				return
			}
			s.keep(b, a, false)
			switch a.Outcome {
			case "RESERVED":
			case "RATE_LIMITED", "UNAVAILABLE":
				if a.RetryAfter > maxSetupWait {
					return // a person told to come back in minutes gives up
				}
				_ = sleep(ctx, jitter(max(a.RetryAfter, 20*time.Millisecond)))
				continue
			case "NOT_STARTED":
				_ = sleep(ctx, jitter(30*time.Millisecond))
				continue
			case "NET_ERROR", "INTERNAL", "BAD_ANSWER":
				if attempt < 8 {
					_ = sleep(ctx, backoff(attempt))
					continue
				}
				s.mu.Lock()
				s.gaveUp++
				s.mu.Unlock()
				return
			default: // SOLD_OUT, LIMIT_REACHED, ENDED, CLOSED, other refusals
				return
			}
			break
		}
		// A person looks at the answer before pressing for the next unit.
		if sleep(ctx, jitter(60*time.Millisecond)) != nil {
			return
		}
	}
}

// runBot presses -bots times from one account and one address, eight at
// a time, never waiting: what the server's limits and blocklist are for.
func (s *sale) runBot(ctx context.Context, p *phase) {
	if err := s.purchaseToken(ctx, p, s.bot, s.event, s.startsAt, nil); err != nil {
		s.note("bots: no purchase token: %v", err)
		return
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for ctx.Err() == nil {
				k := next.Add(1)
				if k > int64(s.cfg.Bots) {
					return
				}
				var a answer
				s.rec.timed(p, func() string {
					a = s.press(ctx, s.bot, s.event, fmt.Sprintf("%s-bot-%d", s.runID, k))
					return a.Outcome
				})
				s.keep(s.bot, a, true)
			}
		})
	}
	wg.Wait()
}

// soldOut keeps the buyers pressing on the sold-out event for -phase, at
// -conns in flight: the answer a server gives most in a real sale. A
// buyer told to wait rests while the others press.
func (s *sale) soldOut(ctx context.Context) error {
	var ev struct {
		FlashEvent struct{ Remaining int } `json:"flashEvent"`
	}
	if err := s.seller.ep.must(ctx, s.seller.Token, `query($id: ID!) { flashEvent(id: $id) { remaining } }`, map[string]any{"id": s.event}, &ev); err != nil {
		return err
	}
	if ev.FlashEvent.Remaining > 0 {
		s.note("sold-out: skipped, %d units were left after the rush (demand below the stock)", ev.FlashEvent.Remaining)
		return nil
	}
	p := s.rec.begin("sold-out")
	defer s.rec.end(p)
	pressers := s.tokenHolders()
	if len(pressers) == 0 {
		s.note("sold-out: skipped, no buyer holds a purchase token")
		return nil
	}
	// A buyer told to wait rests that long; one told so often gives up
	// for the phase, as a person would, and before the server's
	// blocklist would take them for a bot.
	rest := make([]atomic.Int64, len(pressers))
	strikes := make([]atomic.Int64, len(pressers))
	var seq, retired atomic.Int64
	s.spin(ctx, p, s.cfg.Phase, func(ctx context.Context, w, k int) string {
		for spins := 1; ctx.Err() == nil; spins++ {
			if retired.Load() == int64(len(pressers)) {
				_ = sleep(ctx, s.cfg.Phase)
				return "GAVE_UP"
			}
			i := int(seq.Add(1)) % len(pressers)
			if strikes[i].Load() >= soldOutStrikes || rest[i].Load() > time.Now().UnixNano() {
				if spins%len(pressers) == 0 {
					_ = sleep(ctx, 5*time.Millisecond) // every buyer resting
				}
				continue
			}
			b := pressers[i]
			a := s.press(ctx, b, s.event, fmt.Sprintf("%s-so-%d-%d", s.runID, w, k))
			s.keep(b, a, false)
			if a.Outcome == "RATE_LIMITED" || a.Outcome == "BLOCKED" {
				if strikes[i].Add(1) == soldOutStrikes {
					retired.Add(1)
				}
			}
			if a.RetryAfter > 0 {
				rest[i].Store(time.Now().Add(a.RetryAfter).UnixNano())
			}
			return a.Outcome
		}
		return "CANCELLED"
	})
	if n := retired.Load(); n > 0 {
		s.note("sold-out: %d of %d buyers gave up after %d RATE_LIMITED answers each", n, len(pressers), soldOutStrikes)
	}
	return ctx.Err()
}

// soldOutStrikes is how many RATE_LIMITED answers a buyer takes in the
// sold-out phase before giving up: under the server's default blocklist
// threshold (50 in a minute).
const soldOutStrikes = 10

// payAndCancel pays -pay and cancels -cancel of the buyers' orders
// (chosen at random), waiting for each order to be written first.
func (s *sale) payAndCancel(ctx context.Context) error {
	s.mu.Lock()
	var orders []reservation
	for _, r := range s.reserved {
		if !r.Bot {
			orders = append(orders, r)
		}
	}
	s.mu.Unlock()
	slices.SortFunc(orders, func(a, b reservation) int { return strings.Compare(a.OrderID, b.OrderID) })
	rand.Shuffle(len(orders), func(i, j int) { orders[i], orders[j] = orders[j], orders[i] })
	nPay := int(s.cfg.Pay * float64(len(orders)))
	nCancel := int(s.cfg.Cancel * float64(len(orders)))
	if nPay+nCancel == 0 {
		return nil
	}
	p := s.rec.begin("pay/cancel")
	defer s.rec.end(p)
	byID := map[string]*account{}
	for _, b := range s.buyers {
		byID[b.UserID] = b
	}
	type job struct {
		r   reservation
		pay bool
	}
	jobs := make(chan job)
	var wg sync.WaitGroup
	for range min(s.cfg.Conns, 32) {
		wg.Go(func() {
			for j := range jobs {
				s.settleOrder(ctx, p, byID[j.r.BuyerID], j.r.OrderID, j.pay)
			}
		})
	}
	for i, r := range orders[:nPay+nCancel] {
		jobs <- job{r: r, pay: i < nPay}
	}
	close(jobs)
	wg.Wait()
	return ctx.Err()
}

// settleOrder pays or cancels one order as its buyer, retrying while the
// order is still being written (PENDING) and while the server asks to wait.
func (s *sale) settleOrder(ctx context.Context, p *phase, b *account, id string, pay bool) {
	op, field := `mutation($id: ID!) { cancelOrder(id: $id) { status } }`, "cancelOrder"
	if pay {
		op, field = `mutation($id: ID!) { payOrder(id: $id) { status } }`, "payOrder"
	}
	deadline := time.Now().Add(15 * time.Second)
	for attempt := 0; ctx.Err() == nil; attempt++ {
		var a gqlAnswer
		var err error
		out := s.rec.timed(p, func() string {
			a, err = b.ep.do(ctx, b.Token, op, map[string]any{"id": id})
			if err != nil {
				return "NET_ERROR"
			}
			if c := a.code(); c != "" {
				return field + ":" + c
			}
			var o map[string]struct{ Status string }
			if json.Unmarshal(a.Data, &o) != nil {
				return field + ":BAD_ANSWER"
			}
			return o[field].Status
		})
		_ = out
		retry := err != nil || a.code() == "CONFLICT" || a.code() == "RATE_LIMITED" || a.code() == "UNAVAILABLE" || a.code() == "NOT_FOUND"
		if !retry || time.Now().After(deadline) || a.retryAfter() > maxSetupWait {
			return
		}
		_ = sleep(ctx, max(a.retryAfter(), backoff(attempt)))
	}
}

// tokenHolders are the buyers holding a purchase token for the current
// event, in order.
func (s *sale) tokenHolders() []*account {
	var out []*account
	for _, b := range s.buyers {
		if b.ptoken != "" {
			out = append(out, b)
		}
	}
	return out
}
