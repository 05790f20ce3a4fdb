package main

import (
	"cmp"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"maps"
	"math/bits"
	"slices"
	"strconv"
	"strings"
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
		s.note("waiting room: %d buyers did not get through: %s", failed, errorKinds(errs))
	}
	return nil
}

// errorKinds counts errs by message, most frequent first: "751 × context
// deadline exceeded; 2 × ...". Nil errors are not counted.
func errorKinds(errs []error) string {
	n := map[string]int{}
	for _, err := range errs {
		if err != nil {
			n[err.Error()]++
		}
	}
	kinds := slices.Collect(maps.Keys(n))
	slices.SortFunc(kinds, func(a, b string) int { return cmp.Or(n[b]-n[a], strings.Compare(a, b)) })
	parts := make([]string, len(kinds))
	for i, k := range kinds {
		parts[i] = fmt.Sprintf("%d × %s", n[k], k)
	}
	return strings.Join(parts, "; ")
}

const ticketFields = `status position purchaseToken { token }`

type ticket struct {
	Status        string
	Position      *int
	PurchaseToken *struct{ Token string }
}

// queueAndBuy is one buyer's way through the waiting room.
func (s *sale) queueAndBuy(ctx context.Context, p *phase, b *account, event string) error {
	t, err := s.join(ctx, b, event)
	if errors.Is(err, errQueueClosed) {
		// Late: the room closed (sold out) before this buyer joined.
		p.add(sample{At: s.rec.since(time.Now()), Outcome: "QUEUE_CLOSED"})
		return nil
	}
	if err != nil {
		return err
	}
	for t.Status == "WAITING" {
		if err := sleep(ctx, jitter(500*time.Millisecond)); err != nil {
			return fmt.Errorf("waiting (%s): %w", t.Status, err)
		}
		now, err := s.myTicket(ctx, b, event)
		if err != nil {
			return fmt.Errorf("myQueueTicket (%s): %w", t.Status, err)
		}
		if now == nil {
			return errors.New("the ticket is gone")
		}
		t = *now
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

// errQueueClosed is a join refused because the event's waiting room has
// closed (CONFLICT: sold out, ended or closed).
var errQueueClosed = errors.New("the waiting room has closed")

// join solves b's challenge and joins event's queue. When the join's
// answer is lost (a transport failure after the server took it), the
// ticket the server holds is the answer; otherwise it tries again with a
// new challenge, up to 3 times.
func (s *sale) join(ctx context.Context, b *account, event string) (ticket, error) {
	var last error
	for range 3 {
		ch, err := s.challenge(ctx, b, event)
		if err != nil && strings.HasPrefix(err.Error(), "CONFLICT:") {
			return ticket{}, errQueueClosed
		}
		if err != nil {
			return ticket{}, fmt.Errorf("queueChallenge: %w", err)
		}
		nonce, err := solve(ch.Challenge, ch.DifficultyBits)
		if err != nil {
			return ticket{}, err
		}
		var joined struct {
			JoinQueue ticket `json:"joinQueue"`
		}
		err = b.ep.patient(ctx, b.Token, `mutation($in: JoinQueueInput!) { joinQueue(input: $in) { `+ticketFields+` } }`,
			map[string]any{"in": map[string]any{"eventId": event, "challenge": ch.Challenge, "nonce": nonce}}, &joined)
		if err == nil {
			return joined.JoinQueue, nil
		}
		last = fmt.Errorf("joinQueue: %w", err)
		if ctx.Err() != nil {
			break
		}
		if t, terr := s.myTicket(ctx, b, event); terr == nil && t != nil {
			return *t, nil
		}
	}
	return ticket{}, last
}

// myTicket is b's ticket for event's queue, nil when b holds none.
func (s *sale) myTicket(ctx context.Context, b *account, event string) (*ticket, error) {
	var out struct {
		MyQueueTicket *ticket `json:"myQueueTicket"`
	}
	err := b.ep.patient(ctx, b.Token, `query($e: ID!) { myQueueTicket(eventId: $e) { `+ticketFields+` } }`, map[string]any{"e": event}, &out)
	return out.MyQueueTicket, err
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
	err := b.ep.patient(ctx, b.Token, `mutation($e: ID!) { queueChallenge(eventId: $e) { challenge difficultyBits } }`, map[string]any{"e": event}, &out)
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
