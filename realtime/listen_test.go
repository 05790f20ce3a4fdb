package realtime

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"flashlive/domain"
	"flashlive/internal/testenv"
)

// roomSource is a Source with one room, room_1, whose events the test
// changes as it goes.
type roomSource struct {
	mu     sync.Mutex
	states map[string]EventState
}

func (s *roomSource) RoomEvents(_ context.Context, room string) ([]EventState, error) {
	if room != "room_1" {
		return nil, domain.Errorf(domain.ENOTFOUND, "no such room")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]EventState, 0, len(s.states))
	for _, st := range s.states {
		out = append(out, st)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].EventID < out[j].EventID })
	return out, nil
}

func (s *roomSource) EventState(_ context.Context, id string) (EventState, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	st, ok := s.states[id]
	if !ok {
		return EventState{}, domain.Errorf(domain.ENOTFOUND, "no such event")
	}
	return st, nil
}

// set changes an event as a purchase or a close would, with the event as
// the catalog would read it again.
func (s *roomSource) set(id string, status domain.FlashEventStatus, remaining int) *domain.FlashEvent {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.states[id]
	e := *st.Event
	st.Status, st.Remaining, st.Event = string(status), remaining, &e
	s.states[id] = st
	return &e
}

// newRoomSource holds evt_1, LIVE with 5 left, and evt_2, SCHEDULED to
// start 90.123456789 s after now.
func newRoomSource(now time.Time) *roomSource {
	live := &domain.FlashEvent{ID: "evt_1", LiveRoomID: "room_1", Stock: 5, StartsAt: now.Add(-time.Minute), EndsAt: now.Add(time.Hour)}
	soon := &domain.FlashEvent{ID: "evt_2", LiveRoomID: "room_1", Stock: 3, StartsAt: now.Add(90*time.Second + 123456789), EndsAt: now.Add(2 * time.Hour)}
	state := func(e *domain.FlashEvent, status domain.FlashEventStatus) EventState {
		return EventState{EventID: e.ID, RoomID: e.LiveRoomID, Status: string(status), Remaining: e.Stock, StartsAt: e.StartsAt, EndsAt: e.EndsAt, Event: e}
	}
	return &roomSource{states: map[string]EventState{
		"evt_1": state(live, domain.FlashEventLive),
		"evt_2": state(soon, domain.FlashEventScheduled),
	}}
}

// nextUpdate returns the next update that match accepts, skipping the
// others.
func nextUpdate(t *testing.T, updates <-chan domain.LiveUpdate, what string, match func(domain.LiveUpdate) bool) domain.LiveUpdate {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		select {
		case u, ok := <-updates:
			if !ok {
				t.Fatalf("the listener's channel closed waiting for %s", what)
			}
			if match(u) {
				return u
			}
		case <-deadline:
			t.Fatalf("no %s", what)
		}
	}
}

// nextOf returns the next update of type T.
func nextOf[T domain.LiveUpdate](t *testing.T, updates <-chan domain.LiveUpdate) T {
	t.Helper()
	var zero T
	return nextUpdate(t, updates, fmt.Sprintf("%T", zero), func(u domain.LiveUpdate) bool {
		_, ok := u.(T)
		return ok
	}).(T)
}

// nextChange returns the next update that is not a countdown or an
// audience count (those come on their own clock).
func nextChange(t *testing.T, updates <-chan domain.LiveUpdate) domain.LiveUpdate {
	t.Helper()
	return nextUpdate(t, updates, "a change", func(u domain.LiveUpdate) bool {
		switch u.(type) {
		case domain.LiveCountdown, domain.LiveViewers:
			return false
		}
		return true
	})
}

// TestListenerGetsTypedUpdates: a listener of a room and a buyer is handed
// each change as the typed value the hub built it from: a stock change, a
// status change with the event as read for it, a countdown whose StartsAt
// is the event's own time.Time (to the nanosecond, which the wire's
// milliseconds could not carry: nothing was parsed), the room's audience
// (the listener counts in it), and the buyer's order.
func TestListenerGetsTypedUpdates(t *testing.T) {
	now := time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)
	src := newRoomSource(now)
	h, _ := newTestHubWith(t, func(c *Config) { c.Source = src; c.Now = func() time.Time { return now } })
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	updates, err := h.Listen(ctx, "room_1", "usr_b")
	if err != nil {
		t.Fatal(err)
	}

	src.set("evt_1", domain.FlashEventLive, 4)
	h.StockChanged("evt_1")
	if got, want := nextChange(t, updates), domain.LiveUpdate(domain.LiveStock{
		RoomID: "room_1", EventID: "evt_1", Remaining: 4, Status: domain.FlashEventLive, ServerTime: now,
	}); got != want {
		t.Fatalf("stock update = %#v, want %#v", got, want)
	}

	soldOut := src.set("evt_1", domain.FlashEventSoldOut, 0)
	h.StockChanged("evt_1")
	if got, want := nextChange(t, updates), domain.LiveUpdate(domain.LiveStock{
		RoomID: "room_1", EventID: "evt_1", Remaining: 0, Status: domain.FlashEventSoldOut, ServerTime: now,
	}); got != want {
		t.Fatalf("stock update = %#v, want %#v", got, want)
	}
	if got, want := nextChange(t, updates), domain.LiveUpdate(domain.LiveEventChanged{
		RoomID: "room_1", Status: domain.FlashEventSoldOut, Event: soldOut,
	}); got != want {
		t.Fatalf("status update = %#v, want %#v (the event as read for the change)", got, want)
	}

	h.OrderChanged(&domain.Order{ID: "ord_1", BuyerID: "usr_b", FlashEventID: "evt_1", Status: domain.OrderPaid})
	h.OrderChanged(&domain.Order{ID: "ord_2", BuyerID: "usr_other", Status: domain.OrderPaid})
	if got, want := nextChange(t, updates), domain.LiveUpdate(domain.LiveOrder{
		OrderID: "ord_1", EventID: "evt_1", Status: domain.OrderPaid,
	}); got != want {
		t.Fatalf("order update = %#v, want %#v", got, want)
	}

	if got, want := nextOf[domain.LiveCountdown](t, updates), (domain.LiveCountdown{
		RoomID: "room_1", EventID: "evt_2", StartsAt: now.Add(90*time.Second + 123456789), ServerTime: now, SecondsLeft: 90,
	}); got != want {
		t.Fatalf("countdown = %#v, want %#v", got, want)
	}
	if got, want := nextOf[domain.LiveViewers](t, updates), (domain.LiveViewers{RoomID: "room_1", Count: 1}); got != want {
		t.Fatalf("audience = %#v, want %#v", got, want)
	}
}

// TestSlowListenerIsDropped: a listener that never reads is dropped once
// QueueSize updates wait for it, counted once; what waited can still be
// read, then its channel closes, and it leaves the room's audience. The
// viewer beside it gets every frame.
func TestSlowListenerIsDropped(t *testing.T) {
	const queue, sent = 4, 7
	h, srv := newTestHub(t, queue)
	updates, err := h.Listen(context.Background(), "room_1", "")
	if err != nil {
		t.Fatal(err)
	}
	viewer := joinRoom(t, srv)
	testenv.WaitFor(t, 10*time.Second, "a listener and a viewer in the room", func() bool { return h.ViewerCount("room_1") == 2 })
	seq := func(i int) domain.LiveUpdate {
		return domain.LiveStock{RoomID: "room_1", EventID: "evt_x", Remaining: i}
	}
	for i := range sent {
		h.broadcast("room_1", newMessage(seqFrame(i, 0), seq(i)))
	}
	// The room's audience count may come in between, on its own clock:
	// it takes a place in the queue like any update.
	var got []domain.LiveUpdate
	audience := 0
	for u := range updates {
		if _, ok := u.(domain.LiveViewers); ok {
			audience++
			continue
		}
		got = append(got, u)
	}
	if len(got) != queue-audience {
		t.Fatalf("the listener got %d updates (and %d audience counts) before its channel closed, want %d in all", len(got), audience, queue)
	}
	for i, u := range got {
		if u != seq(i) {
			t.Fatalf("update %d = %#v, want %#v", i, u, seq(i))
		}
	}
	if got := h.Dropped(); got != 1 {
		t.Fatalf("dropped = %d, want 1", got)
	}
	testenv.WaitFor(t, 10*time.Second, "the listener to leave the room", func() bool { return h.ViewerCount("room_1") == 1 })
	_ = viewer.SetReadDeadline(time.Now().Add(10 * time.Second))
	for i := 0; i < sent; {
		_, data, err := viewer.ReadMessage()
		if err != nil {
			t.Fatalf("viewer, before frame %d: %v", i, err)
		}
		if !strings.Contains(string(data), `"type":"seq"`) {
			continue // the snapshot, the audience
		}
		if want := string(seqFrame(i, 0)); string(data) != want {
			t.Fatalf("viewer frame %d = %s, want %s", i, data, want)
		}
		i++
	}
}

// TestListenerEndsWithItsContext: the channel closes when the listener's
// context ends, and the listener leaves the room; on a closed hub, Listen
// hands back a closed channel.
func TestListenerEndsWithItsContext(t *testing.T) {
	h, _ := newTestHub(t, 64)
	ctx, cancel := context.WithCancel(context.Background())
	updates, err := h.Listen(ctx, "room_1", "usr_b")
	if err != nil {
		t.Fatal(err)
	}
	if got := h.ViewerCount("room_1"); got != 1 {
		t.Fatalf("viewer count = %d, want 1", got)
	}
	if got, other := h.Followers("usr_b"), h.Followers("usr_other"); got != 1 || other != 0 {
		t.Fatalf("followers of usr_b, usr_other = %d, %d; want 1, 0", got, other)
	}
	cancel()
	for range updates {
	}
	testenv.WaitFor(t, 10*time.Second, "the listener to leave the room", func() bool { return h.ViewerCount("room_1") == 0 })
	h.mu.RLock()
	buyers := len(h.users)
	h.mu.RUnlock()
	if buyers != 0 || h.Followers("usr_b") != 0 {
		t.Fatalf("%d buyers still followed, usr_b by %d; want 0, 0", buyers, h.Followers("usr_b"))
	}
	if _, err := h.Listen(context.Background(), "room_nosuch", ""); domain.ErrorCode(err) != domain.ENOTFOUND {
		t.Fatalf("unknown room: %v, want NOT_FOUND", err)
	}

	h.Close()
	closed, err := h.Listen(context.Background(), "room_1", "")
	if err != nil {
		t.Fatal(err)
	}
	if u, ok := <-closed; ok {
		t.Fatalf("a closed hub handed %#v", u)
	}
}
