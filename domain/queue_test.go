package domain_test

import (
	"crypto/sha256"
	"strconv"
	"testing"
	"time"

	"flashlive/domain"
)

func TestQueuePosition(t *testing.T) {
	for _, c := range []struct {
		rank, head int64
		want       int
		ok         bool
	}{{0, 1, 0, false}, {1, 1, 1, true}, {10, 4, 7, true}, {3, 5, 1, true}} {
		got, ok := domain.QueuePosition(c.rank, c.head)
		if got != c.want || ok != c.ok {
			t.Errorf("QueuePosition(%d, %d) = %d, %v; want %d, %v", c.rank, c.head, got, ok, c.want, c.ok)
		}
	}
}

func TestTicketWithState(t *testing.T) {
	tk := domain.QueueTicket{Status: domain.QueueWaiting, Seq: 5, Rank: 12}
	got := tk.WithState(domain.QueueState{Head: 10, Waiting: 40, Shuffled: true, AdmitPerSecond: 2})
	if got.Position == nil || *got.Position != 3 || *got.EstimatedWait != 1500*time.Millisecond || got.Waiting != 40 {
		t.Fatalf("WithState = %+v", got)
	}
	if got := tk.WithState(domain.QueueState{Head: 10, Shuffled: true, ClosedSeq: 5}); got.Status != domain.QueueClosed || got.Position != nil {
		t.Fatalf("closed: %+v", got)
	}
	if got := tk.WithState(domain.QueueState{Head: 10}); got.Position != nil {
		t.Fatalf("before the draw: %+v", got)
	}
}

func TestQueueOpen(t *testing.T) {
	start := time.Date(2030, 1, 1, 12, 0, 0, 0, time.UTC)
	ev := &domain.HotEvent{WaitingRoom: true, StartsAt: start}
	for _, c := range []struct {
		st   domain.FlashEventStatus
		now  time.Time
		room bool
		ok   bool
	}{
		{domain.FlashEventScheduled, start.Add(-11 * time.Minute), true, false},
		{domain.FlashEventScheduled, start.Add(-10 * time.Minute), true, true},
		{domain.FlashEventLive, start, true, true},
		{domain.FlashEventSoldOut, start, true, false},
		{domain.FlashEventEnded, start, true, false},
		{domain.FlashEventLive, start, false, false},
	} {
		e := *ev
		e.WaitingRoom = c.room
		err := domain.QueueOpen(&e, c.st, c.now)
		if (err == nil) != c.ok || (err != nil && domain.ErrorCode(err) != domain.ECONFLICT) {
			t.Errorf("QueueOpen(%s, %v, room %v) = %v; want ok %v", c.st, c.now, c.room, err, c.ok)
		}
	}
}

func TestAdmitBudget(t *testing.T) {
	for _, c := range []struct{ per, left, out, want int }{{10, 100, 0, 10}, {10, 5, 2, 3}, {10, 2, 5, 0}, {0, 5, 0, 0}} {
		if got := domain.AdmitBudget(c.per, c.left, c.out); got != c.want {
			t.Errorf("AdmitBudget(%d, %d, %d) = %d, want %d", c.per, c.left, c.out, got, c.want)
		}
	}
}

func TestPowSolved(t *testing.T) {
	const ch = "qc1.test"
	if !domain.PowSolved(ch, "anything", 0) {
		t.Fatal("0 bits: any nonce must do")
	}
	// Find a nonce with 8 zero bits by brute force, and check one
	// without them is refused.
	for i := 0; ; i++ {
		n := strconv.Itoa(i)
		sum := sha256.Sum256([]byte(ch + n))
		if sum[0] == 0 {
			if !domain.PowSolved(ch, n, 8) {
				t.Fatalf("nonce %s has a zero first byte but is refused", n)
			}
			if sum[1]&0x80 == 0 != domain.PowSolved(ch, n, 9) {
				t.Fatalf("nonce %s: 9 bits judged wrongly", n)
			}
			break
		}
		if domain.PowSolved(ch, n, 8) {
			t.Fatalf("nonce %s has a non-zero first byte but is accepted at 8 bits", n)
		}
	}
}

func TestValidateNonce(t *testing.T) {
	long := make([]byte, 65)
	for i := range long {
		long[i] = 'a'
	}
	for _, c := range []struct {
		n  string
		ok bool
	}{{"a", true}, {"~ !", true}, {"", false}, {string(long), false}, {string(long[:64]), true}, {"é", false}, {"a\n", false}} {
		if err := domain.ValidateNonce(c.n); (err == nil) != c.ok {
			t.Errorf("ValidateNonce(%q) = %v, want ok %v", c.n, err, c.ok)
		}
	}
}
