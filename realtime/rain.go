package realtime

import (
	"context"
	"encoding/json"
	"sync"
	"time"

	"flashlive/domain"
)

// subjectRain carries rain notices between instances; data: a rainNotice.
const subjectRain = "fl.live.rain"

// rainInterval is the least time between two packetsLeft frames of one
// rain: at most 10 a second, the last figure always sent.
const rainInterval = 100 * time.Millisecond

// rainForget is how long a FINISHED rain's view is kept after its last
// frame (a notice that comes later only repeats it).
const rainForget = 10 * time.Minute

// RainSource reads the rains a snapshot shows: the room's SCHEDULED and
// LIVE rains.
type RainSource interface {
	RoomRains(ctx context.Context, roomID string) ([]domain.RainState, error)
}

// rainNotice is a domain.RainState on the broker.
type rainNotice struct {
	RoomID      string    `json:"room"`
	RainID      string    `json:"rainId"`
	Status      string    `json:"status"`
	PacketsLeft int       `json:"packetsLeft"`
	StartsAt    time.Time `json:"startsAt"`
	EndsAt      time.Time `json:"endsAt"`
}

// rainFrame is the contract's `rain` frame; without Type, a snapshot's
// entry.
type rainFrame struct {
	Type        string   `json:"type,omitempty"`
	Room        string   `json:"room"`
	RainID      string   `json:"rainId"`
	Status      string   `json:"status"`
	PacketsLeft int      `json:"packetsLeft"`
	StartsAt    wireTime `json:"startsAt"`
	EndsAt      wireTime `json:"endsAt"`
}

func newRainFrame(typ string, s domain.RainState) rainFrame {
	return rainFrame{
		Type: typ, Room: s.RoomID, RainID: s.RainID, Status: string(s.Status), PacketsLeft: s.PacketsLeft,
		StartsAt: wireTime(s.StartsAt), EndsAt: wireTime(s.EndsAt),
	}
}

// rainFeed is what the hub last showed of each rain, and the coalescing
// of their packetsLeft frames. Notices are merged (domain.RainState.Merge:
// statuses never go back, packets left never grow), so notices that cross
// on the way between instances never show an older figure after a newer.
type rainFeed struct {
	mu     sync.Mutex
	views  map[string]*rainView
	pruned time.Time
	// sendMu serializes sends, from the figure chosen to the frame sent,
	// so that a timer's send and a notice's cannot overtake each other.
	sendMu sync.Mutex
}

type rainView struct {
	latest domain.RainState // every notice merged
	shown  domain.RainState // what the last frame said
	sent   bool
	sentAt time.Time
	timer  *time.Timer // a coalesced frame to come; nil when none
}

func newRainFeed() *rainFeed { return &rainFeed{views: map[string]*rainView{}} }

// RainChanged implements domain.RainNotifier: every instance's viewers of
// the rain's room get a rain frame at each status change and, while LIVE,
// when packetsLeft moves (coalesced to at most 10 a second per rain, the
// last figure always sent). It never blocks on viewers.
func (h *Hub) RainChanged(s domain.RainState) {
	data, err := json.Marshal(rainNotice{
		RoomID: s.RoomID, RainID: s.RainID, Status: string(s.Status), PacketsLeft: s.PacketsLeft,
		StartsAt: s.StartsAt, EndsAt: s.EndsAt,
	})
	if err != nil {
		return
	}
	if err := h.cfg.Broker.Publish(subjectRain, data); err != nil {
		h.cfg.Logger.Warn("realtime: publish rain change", "rain_id", s.RainID, "err", err)
	}
}

// onRain merges a notice into the rain's view and sends what it changes:
// a status change at once, a packetsLeft change at once or, within
// rainInterval of the last frame, when the interval is up.
func (h *Hub) onRain(_ string, data []byte) {
	var n rainNotice
	if err := json.Unmarshal(data, &n); err != nil || n.RainID == "" || n.RoomID == "" {
		return
	}
	s := domain.RainState{
		RoomID: n.RoomID, RainID: n.RainID, Status: domain.RedPacketRainStatus(n.Status), PacketsLeft: n.PacketsLeft,
		StartsAt: n.StartsAt, EndsAt: n.EndsAt,
	}
	f := h.rains
	now := time.Now()
	f.mu.Lock()
	f.prune(now)
	v, ok := f.views[s.RainID]
	if !ok {
		v = &rainView{latest: s}
		f.views[s.RainID] = v
	} else {
		v.latest = v.latest.Merge(s)
	}
	due := !v.sent || v.latest.Status != v.shown.Status
	if !due && v.latest.Status == domain.RainLive && v.latest.PacketsLeft != v.shown.PacketsLeft {
		if wait := rainInterval - now.Sub(v.sentAt); wait > 0 {
			if v.timer == nil {
				id := s.RainID
				v.timer = time.AfterFunc(wait, func() { h.sendRain(id) })
			}
		} else {
			due = true
		}
	}
	f.mu.Unlock()
	if due {
		h.sendRain(s.RainID)
	}
}

// sendRain sends the rain's latest state if it differs from the shown one.
func (h *Hub) sendRain(rainID string) {
	f := h.rains
	f.sendMu.Lock()
	defer f.sendMu.Unlock()
	if h.stopped() {
		return
	}
	f.mu.Lock()
	v, ok := f.views[rainID]
	if !ok {
		f.mu.Unlock()
		return
	}
	if v.timer != nil {
		v.timer.Stop()
		v.timer = nil
	}
	s := v.latest
	if v.sent && s.Status == v.shown.Status && s.PacketsLeft == v.shown.PacketsLeft {
		f.mu.Unlock()
		return
	}
	v.shown, v.sent, v.sentAt = s, true, time.Now()
	f.mu.Unlock()
	h.broadcast(s.RoomID, newMessage(mustJSON(newRainFrame("rain", s)), domain.LiveRain{RainState: s}))
}

// prune forgets rains finished and shown long ago; at most once a second.
func (f *rainFeed) prune(now time.Time) {
	if now.Sub(f.pruned) < time.Second {
		return
	}
	f.pruned = now
	for id, v := range f.views {
		if v.sent && v.shown.Status == domain.RainFinished && v.timer == nil && now.Sub(v.sentAt) > rainForget {
			delete(f.views, id)
		}
	}
}

// close stops the coalesced frames still to come.
func (f *rainFeed) close() {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, v := range f.views {
		if v.timer != nil {
			v.timer.Stop()
			v.timer = nil
		}
	}
}

// snapshotRains are the room's SCHEDULED and LIVE rains for a snapshot:
// none when the hub has no RainSource or it fails (the frames to come
// still tell).
func (h *Hub) snapshotRains(room string) []rainFrame {
	out := []rainFrame{}
	if h.cfg.Rains == nil {
		return out
	}
	ctx, cancel := context.WithTimeout(context.Background(), sourceTimeout)
	rs, err := h.cfg.Rains.RoomRains(ctx, room)
	cancel()
	if err != nil {
		h.cfg.Logger.Warn("realtime: snapshot rains", "room", room, "err", err)
		return out
	}
	for _, s := range rs {
		if s.Status == domain.RainScheduled || s.Status == domain.RainLive {
			out = append(out, newRainFrame("", s))
		}
	}
	return out
}
