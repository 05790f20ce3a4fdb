package realtime

import (
	"context"
	"sync"
	"testing"
	"time"

	"flashlive/domain"
	"flashlive/internal/testenv"
)

type rainSource []domain.RainState

func (s rainSource) RoomRains(context.Context, string) ([]domain.RainState, error) { return s, nil }

// rainUpdates collects the LiveRain updates of a listener of room_1.
type rainUpdates struct {
	mu  sync.Mutex
	got []domain.RainState
}

func listenRains(t *testing.T, h *Hub) *rainUpdates {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	ch, err := h.Listen(ctx, "room_1", "")
	if err != nil {
		t.Fatal(err)
	}
	r := &rainUpdates{}
	go func() {
		for u := range ch {
			if lr, ok := u.(domain.LiveRain); ok {
				r.mu.Lock()
				r.got = append(r.got, lr.RainState)
				r.mu.Unlock()
			}
		}
	}()
	return r
}

func (r *rainUpdates) list() []domain.RainState {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]domain.RainState(nil), r.got...)
}

// TestRainFramesCoalesced: a status change is sent at once; a storm of
// packetsLeft notices, some arriving out of order, is sent at most once
// per rainInterval, never an older figure after a newer, and the last
// figure always comes.
func TestRainFramesCoalesced(t *testing.T) {
	h, _ := newTestHub(t, 1024)
	u := listenRains(t, h)
	start := time.Now()
	s := domain.RainState{RoomID: "room_1", RainID: "rain_1", Status: domain.RainScheduled, PacketsLeft: 100, StartsAt: start, EndsAt: start.Add(time.Minute)}
	h.RainChanged(s)
	testenv.WaitFor(t, 5*time.Second, "the SCHEDULED frame", func() bool { return len(u.list()) == 1 })
	s.Status = domain.RainLive
	h.RainChanged(s)
	testenv.WaitFor(t, 5*time.Second, "the LIVE frame", func() bool { return len(u.list()) == 2 })

	began := time.Now()
	for left := 99; left >= 1; left-- {
		s.PacketsLeft = left
		h.RainChanged(s)
		stale := s
		stale.PacketsLeft = left + 5 // a notice that was overtaken
		h.RainChanged(stale)
	}
	took := time.Since(began)
	testenv.WaitFor(t, 5*time.Second, "the last figure", func() bool {
		l := u.list()
		return l[len(l)-1].PacketsLeft == 1
	})
	got := u.list()[2:]
	// By construction: a figure at most every rainInterval during the
	// storm, plus one after it.
	if limit := int(took/rainInterval) + 2; len(got) > limit {
		t.Fatalf("%d packetsLeft frames in %s, want at most %d", len(got), took, limit)
	}
	for i := 1; i < len(got); i++ {
		if got[i].PacketsLeft >= got[i-1].PacketsLeft {
			t.Fatalf("frame %d shows %d after %d", i, got[i].PacketsLeft, got[i-1].PacketsLeft)
		}
	}
	s.Status, s.PacketsLeft = domain.RainFinished, 0
	h.RainChanged(s)
	testenv.WaitFor(t, 5*time.Second, "the FINISHED frame", func() bool {
		l := u.list()
		return l[len(l)-1].Status == domain.RainFinished
	})
	// A late LIVE notice changes nothing.
	n := len(u.list())
	live := s
	live.Status, live.PacketsLeft = domain.RainLive, 3
	h.RainChanged(live)
	h.RainChanged(s)
	if got := u.list(); len(got) != n {
		t.Fatalf("a late notice was shown: %+v", got[n:])
	}
}

// TestSnapshotCarriesRains: a viewer's snapshot lists the room's
// SCHEDULED and LIVE rains, not the finished ones.
func TestSnapshotCarriesRains(t *testing.T) {
	now := time.Now()
	_, srv := newTestHubWith(t, func(c *Config) {
		c.Rains = rainSource{
			{RoomID: "room_1", RainID: "rain_s", Status: domain.RainScheduled, PacketsLeft: 5, StartsAt: now, EndsAt: now.Add(time.Minute)},
			{RoomID: "room_1", RainID: "rain_l", Status: domain.RainLive, PacketsLeft: 2, StartsAt: now, EndsAt: now.Add(time.Minute)},
			{RoomID: "room_1", RainID: "rain_f", Status: domain.RainFinished, StartsAt: now, EndsAt: now.Add(time.Minute)},
		}
	})
	c := joinRoom(t, srv)
	var snap struct {
		Type  string
		Rains []map[string]any
	}
	if err := c.ReadJSON(&snap); err != nil {
		t.Fatal(err)
	}
	if snap.Type != "snapshot" || len(snap.Rains) != 2 || snap.Rains[0]["rainId"] != "rain_s" || snap.Rains[1]["status"] != "LIVE" ||
		snap.Rains[1]["packetsLeft"] != float64(2) || snap.Rains[0]["room"] != "room_1" || snap.Rains[0]["type"] != nil {
		t.Fatalf("snapshot = %+v", snap)
	}
}
