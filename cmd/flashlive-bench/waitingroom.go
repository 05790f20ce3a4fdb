package main

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"math/bits"
	"strconv"
	"sync"
	"time"
)

// waitingRoom sells a small event through the server's waiting room, as
// waiting-room.graphql describes it: every buyer solves the join
// challenge, joins before the start, waits for admission and buys with
// the ticket's token. It fails (and the bench notes it and goes on) when
// the server has the schema but refuses such an event.
func (s *sale) waitingRoom(ctx context.Context) error {
	startsAt := s.serverNow().Add(2 * time.Second).Truncate(time.Millisecond)
	stock := max(1, len(s.buyers)/4)
	event, err := s.createEvent(ctx, startsAt, stock, 1, map[string]any{"waitingRoom": true})
	if err != nil {
		return fmt.Errorf("create a waiting-room event: %w", err)
	}
	// One buyer tries first: a server whose waiting room is not built
	// refuses the first as it would every other.
	if _, err := s.challenge(ctx, s.buyers[0], event); err != nil {
		// Off the room's feed: the event would otherwise stay on sale there.
		_ = s.seller.ep.must(ctx, s.seller.Token, `mutation($id: ID!) { closeFlashEvent(id: $id) { id } }`, map[string]any{"id": event}, nil)
		return fmt.Errorf("queueChallenge: %w", err)
	}
	p := s.rec.begin("waiting room")
	defer s.rec.end(p)
	ctx, cancel := context.WithTimeout(ctx, s.cfg.RushMax)
	defer cancel()
	var wg sync.WaitGroup
	errs := make([]error, len(s.buyers))
	for i, b := range s.buyers {
		wg.Go(func() { errs[i] = s.queueAndBuy(ctx, p, b, event) })
	}
	wg.Wait()
	failed, first := countFailed(errs)
	if failed == len(s.buyers) {
		s.rec.drop(p)
		return first
	}
	if failed > 0 {
		s.note("waiting room: %d buyers did not get through: %v", failed, first)
	}
	return nil
}

const ticketFields = `status position purchaseToken { token }`

type ticket struct {
	Status        string
	Position      *int
	PurchaseToken *struct{ Token string }
}

// queueAndBuy is one buyer's way through the waiting room.
func (s *sale) queueAndBuy(ctx context.Context, p *phase, b *account, event string) error {
	ch, err := s.challenge(ctx, b, event)
	if err != nil {
		return err
	}
	nonce, err := solve(ch.Challenge, ch.DifficultyBits)
	if err != nil {
		return err
	}
	var joined struct {
		JoinQueue ticket `json:"joinQueue"`
	}
	if err := b.ep.must(ctx, b.Token, `mutation($in: JoinQueueInput!) { joinQueue(input: $in) { `+ticketFields+` } }`,
		map[string]any{"in": map[string]any{"eventId": event, "challenge": ch.Challenge, "nonce": nonce}}, &joined); err != nil {
		return err
	}
	t := joined.JoinQueue
	for t.Status == "WAITING" {
		if err := sleep(ctx, jitter(500*time.Millisecond)); err != nil {
			return err
		}
		var out struct {
			MyQueueTicket *ticket `json:"myQueueTicket"`
		}
		if err := b.ep.must(ctx, b.Token, `query($e: ID!) { myQueueTicket(eventId: $e) { `+ticketFields+` } }`, map[string]any{"e": event}, &out); err != nil {
			return err
		}
		if out.MyQueueTicket == nil {
			return errors.New("the ticket is gone")
		}
		t = *out.MyQueueTicket
	}
	if t.Status != "ADMITTED" || t.PurchaseToken == nil {
		p.add(sample{At: s.rec.since(time.Now()), Outcome: "QUEUE_" + t.Status})
		return nil
	}
	b2 := *b
	b2.ptoken = t.PurchaseToken.Token
	key := fmt.Sprintf("%s-wr-%d", s.runID, b.Index)
	for attempt := 0; attempt < 10; attempt++ {
		var a answer
		s.rec.timed(p, func() string { a = s.press(ctx, &b2, event, key); return a.Outcome })
		if a.Outcome != "RATE_LIMITED" && a.Outcome != "UNAVAILABLE" && a.Outcome != "NET_ERROR" {
			return nil
		}
		_ = sleep(ctx, jitter(max(a.RetryAfter, 50*time.Millisecond)))
	}
	return nil
}

// queueChallenge is the proof of work asked before joining a queue.
type queueChallenge struct {
	Challenge      string
	DifficultyBits int
}

// challenge asks the server for b's proof of work to join event's queue.
func (s *sale) challenge(ctx context.Context, b *account, event string) (queueChallenge, error) {
	var out struct {
		QueueChallenge queueChallenge `json:"queueChallenge"`
	}
	err := b.ep.must(ctx, b.Token, `mutation($e: ID!) { queueChallenge(eventId: $e) { challenge difficultyBits } }`, map[string]any{"e": event}, &out)
	return out.QueueChallenge, err
}

// solve finds a nonce whose SHA-256 with challenge starts with bits zero bits.
func solve(challenge string, zeroBits int) (string, error) {
	if zeroBits > 32 {
		return "", fmt.Errorf("a proof of work of %d bits is more than a bench should spend", zeroBits)
	}
	for n := 0; ; n++ {
		nonce := strconv.Itoa(n)
		sum := sha256.Sum256([]byte(challenge + nonce))
		if leadingZeros(sum[:]) >= zeroBits {
			return nonce, nil
		}
	}
}

func leadingZeros(b []byte) int {
	n := 0
	for _, c := range b {
		if c != 0 {
			return n + bits.LeadingZeros8(c)
		}
		n += 8
	}
	return n
}
