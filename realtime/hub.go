package realtime

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"

	"flashlive/domain"
)

// Broker publishes and subscribes bytes on subjects, across instances
// (NATS core subjects; a trailing ".*" subscribes to one more token).
type Broker interface {
	Publish(subject string, data []byte) error
	Subscribe(subject string, handle func(subject string, data []byte)) (unsubscribe func(), err error)
}

// Source is what the hub shows: the current state of events.
type Source interface {
	// RoomEvents returns the flash events pinned to a room.
	RoomEvents(ctx context.Context, roomID string) ([]EventState, error)
	// EventState returns one event's current state.
	EventState(ctx context.Context, eventID string) (EventState, error)
}

// Config configures a Hub. Source, Broker and Authenticate are required.
type Config struct {
	Source Source
	Broker Broker
	// Authenticate checks an access token (from ?token= or an auth frame);
	// the principal's ExpiresAt and SessionID say how long the connection
	// follows the user's orders.
	Authenticate func(ctx context.Context, token string) (domain.Principal, error)
	// Revoked is told of every revoked session the hub hears of, from
	// any instance, before the hub signs out that session's members, so
	// that Authenticate refuses its tokens from then on (nil: nobody).
	Revoked domain.RevocationNotifier
	// AllowedOrigins may open sockets from browsers besides the server's
	// own origin; in Dev, localhost origins are allowed too.
	AllowedOrigins []string
	Dev            bool
	// QueueSize is the frames a viewer may have waiting (default 64: a
	// few seconds of a busy room).
	QueueSize int
	// PongWait is how long a viewer may stay silent, pongs included
	// (default 60s); pings go every PongWait*9/10, and silent viewers are
	// looked for every PongWait/4.
	PongWait time.Duration
	// WriteWait is how long a viewer's backed-up socket may take to accept
	// what waits for it (default 10s); a viewer that cannot is cut off, as
	// is one with QueueSize frames waiting.
	WriteWait time.Duration
	// MaxFrameBytes is the largest frame a viewer may send (default 4096).
	MaxFrameBytes int64
	// FrameLimit is the frames one viewer may send (zero: no limit): each
	// frame over it is answered with an error frame of code RATE_LIMITED
	// and retryAfterMs, and a viewer that sends more than
	// maxLimitedFrames of those is closed with 1008.
	FrameLimit domain.Limit
	// Queue reads waiting-room tickets (nil: positions of tickets drawn
	// at the start wait for their next notice).
	Queue QueueSource
	// Chat is the room chat (nil: none; chat frames are refused and
	// snapshots carry no chat).
	Chat Chat
	// Rains reads the rains a snapshot shows (nil: none; see rain.go).
	Rains RainSource
	// Instance names this process among the hub's peers.
	Instance string
	Logger   *slog.Logger
	Now      func() time.Time
}

// Broker subjects.
const (
	subjectStock   = "fl.live.stock"   // data: event ID
	subjectEvent   = "fl.live.event"   // data: event ID
	subjectViewers = "fl.live.viewers" // data: viewerReport JSON
	subjectOrder   = "fl.live.order."  // + buyer ID; data: an order frame
)

const (
	// A stock change is announced, and a stock frame sent, at most once
	// per minInterval per event; the rest are coalesced into the next one.
	// A change goes out at once when its event's last one is older than
	// minInterval; the queues of those held back are looked at every
	// coalescePeriod.
	minInterval     = 100 * time.Millisecond
	coalescePeriod  = 20 * time.Millisecond
	tickPeriod      = time.Second
	expirePeriod    = time.Second // how late a sign-in may be ended past its token's expiry
	viewersPeriod   = 2 * time.Second
	viewersStale    = 3 * viewersPeriod
	countdownWithin = time.Hour
	maxRoomsPerConn = 16
	// frameWorkersPerCore handle viewers' frames (joins read Redis and
	// PostgreSQL); more wait their turn.
	frameWorkersPerCore = 8
	maxBadFrames        = 20
	maxLimitedFrames    = 50
	sourceTimeout       = 2 * time.Second
)

// Hub is the live-room hub of one instance. It implements the live
// notifications of domain.LiveNotifier by publishing them on the Broker,
// and builds the frames of its own viewers from what every instance
// publishes.
type Hub struct {
	cfg      Config
	upgrader websocket.Upgrader

	mu          sync.RWMutex
	clients     map[*client]struct{}            // every /ws connection here
	rooms       map[string]map[member]struct{}  // room → its viewers and listeners here
	users       map[string]map[member]struct{}  // buyer → their connections, listeners and session watches here
	expiring    map[int64]map[member]struct{}   // second (see expirySecond) → the members whose sign-in expires then
	events      map[string]*eventView           // events of rooms with viewers here
	peers       map[string]map[string]peerCount // room → instance → count
	sentViewers map[string]int                  // room → count last sent here

	showMu sync.Mutex // serializes show, from building its frames to sending them

	pendingMu   sync.Mutex
	outStock    map[string]struct{}  // events whose stock changed here, to announce
	dirtyEvents map[string]struct{}  // events announced by anyone, to refresh
	announced   map[string]time.Time // event → when its change was last announced
	refreshed   map[string]time.Time // event → when it was last refreshed
	pruned      time.Time            // when announced and refreshed were last pruned

	dropped   atomic.Int64
	silent    atomic.Int64
	backedUp  atomic.Int64
	connected atomic.Int64
	// limitedClosed counts viewers closed for flooding past FrameLimit.
	limitedClosed atomic.Int64

	queue queueBook  // the waiting rooms followed here (queue.go)
	chat  *chatFeeds // nil without Config.Chat

	unsubscribe []func()
	rains       *rainFeed     // the rains shown here (rain.go)
	kick        chan struct{} // wakes the coalescer; one pending wake-up at most
	frames      chan frameJob // viewers' frames, for the frame workers
	stop        chan struct{}
	wg          sync.WaitGroup
}

// eventView is what the hub last showed of an event.
type eventView struct {
	state      EventState
	sentStatus string
	sentLeft   int
}

type peerCount struct {
	count int
	at    time.Time
}

type viewerReport struct {
	Instance string         `json:"instance"`
	Rooms    map[string]int `json:"rooms"`
}

// NewHub subscribes to the broker and starts the hub's goroutines; Close
// stops them.
func NewHub(cfg Config) (*Hub, error) {
	if cfg.Source == nil || cfg.Broker == nil || cfg.Authenticate == nil {
		return nil, errors.New("realtime: Source, Broker and Authenticate are required")
	}
	if cfg.QueueSize <= 0 {
		cfg.QueueSize = 64
	}
	if cfg.PongWait <= 0 {
		cfg.PongWait = 60 * time.Second
	}
	if cfg.WriteWait <= 0 {
		cfg.WriteWait = 10 * time.Second
	}
	if cfg.MaxFrameBytes <= 0 {
		cfg.MaxFrameBytes = 4096
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Revoked == nil {
		cfg.Revoked = domain.NopNotifier{}
	}
	h := &Hub{
		cfg:         cfg,
		clients:     map[*client]struct{}{},
		rooms:       map[string]map[member]struct{}{},
		users:       map[string]map[member]struct{}{},
		expiring:    map[int64]map[member]struct{}{},
		events:      map[string]*eventView{},
		peers:       map[string]map[string]peerCount{},
		sentViewers: map[string]int{},
		outStock:    map[string]struct{}{},
		dirtyEvents: map[string]struct{}{},
		announced:   map[string]time.Time{},
		refreshed:   map[string]time.Time{},
		rains:       newRainFeed(),
		kick:        make(chan struct{}, 1),
		frames:      make(chan frameJob, 256),
		stop:        make(chan struct{}),
	}
	h.upgrader = websocket.Upgrader{
		// Viewers send little: a small read buffer. Write buffers come
		// from a pool between writes, so an idle viewer holds none.
		ReadBufferSize:  512,
		WriteBufferSize: 4096,
		WriteBufferPool: &sync.Pool{},
		CheckOrigin:     h.originAllowed,
	}
	subs := []struct {
		subject string
		handle  func(string, []byte)
	}{
		{subjectStock, func(_ string, d []byte) { h.markDirty(string(d)) }},
		{subjectEvent, func(_ string, d []byte) { h.markDirty(string(d)) }},
		{subjectViewers, h.onViewers},
		{subjectOrder + "*", h.onOrder},
		{subjectRevoked, h.onRevoked},
		{subjectQueue + "*", h.onQueueTicket},
		{subjectQueueState, h.onQueueState},
		{subjectRain, h.onRain},
	}
	if cfg.Chat != nil {
		h.chat = newChatFeeds(h, cfg.Chat)
		subs = append(subs, struct {
			subject string
			handle  func(string, []byte)
		}{subjectChat, func(_ string, d []byte) { h.chat.mark(string(d)) }})
	}
	for _, s := range subs {
		unsub, err := cfg.Broker.Subscribe(s.subject, s.handle)
		if err != nil {
			h.Close()
			return nil, fmt.Errorf("realtime: subscribe %s: %w", s.subject, err)
		}
		h.unsubscribe = append(h.unsubscribe, unsub)
	}
	workers := frameWorkersPerCore * runtime.GOMAXPROCS(0)
	h.wg.Add(6 + workers)
	for range workers {
		go h.handleFrames()
	}
	go h.every(cfg.PongWait*9/10, h.ping)
	go h.every(cfg.PongWait/4, h.sweep)
	go h.coalesce()
	go h.every(tickPeriod, h.tick)
	go h.every(viewersPeriod, h.reportViewers)
	go h.every(expirePeriod, h.expire)
	if h.chat != nil {
		h.wg.Add(1)
		go h.chat.run()
	}
	return h, nil
}

// Close unsubscribes, stops the hub's goroutines and disconnects every
// viewer and listener.
func (h *Hub) Close() {
	select {
	case <-h.stop:
		return
	default:
	}
	close(h.stop)
	for _, u := range h.unsubscribe {
		u()
	}
	h.wg.Wait()
	h.rains.close()
	h.mu.RLock()
	var all []member
	for c := range h.clients {
		all = append(all, c)
	}
	for _, ms := range h.rooms {
		all = append(all, list(ms)...)
	}
	for _, ms := range h.users {
		all = append(all, list(ms)...)
	}
	h.mu.RUnlock()
	for _, m := range all {
		m.shut()
	}
}

// stopped reports whether Close has begun.
func (h *Hub) stopped() bool {
	select {
	case <-h.stop:
		return true
	default:
		return false
	}
}

func (h *Hub) every(d time.Duration, fn func()) {
	defer h.wg.Done()
	t := time.NewTicker(d)
	defer t.Stop()
	for {
		select {
		case <-h.stop:
			return
		case <-t.C:
			fn()
		}
	}
}

// ping sends a ping to every connection here; the pong, or any frame,
// keeps it alive for PongWait more.
func (h *Hub) ping() {
	h.mu.RLock()
	all := list(h.clients)
	h.mu.RUnlock()
	fanout(all, func(c *client) { c.write(pingFrame) })
}

// sweep disconnects the viewers that have sent nothing, not even a pong,
// for PongWait.
func (h *Hub) sweep() {
	h.mu.RLock()
	all := list(h.clients)
	h.mu.RUnlock()
	cutoff := time.Now().Add(-h.cfg.PongWait).UnixNano()
	for _, c := range all {
		if c.lastHeard.Load() < cutoff && !c.closed.Load() {
			h.silent.Add(1)
			c.shut()
		}
	}
}

// StockChanged announces that an event's stock moved. It never blocks:
// announcements are coalesced and sent every 100 ms.
func (h *Hub) StockChanged(eventID string) {
	h.pendingMu.Lock()
	h.outStock[eventID] = struct{}{}
	h.pendingMu.Unlock()
	h.wake()
}

// wake makes the coalescer look at the pending changes now rather than at
// its next tick.
func (h *Hub) wake() {
	select {
	case h.kick <- struct{}{}:
	default: // a wake-up is already pending
	}
}

// coalesce runs flush on every wake-up, and every coalescePeriod for the
// changes held back by minInterval.
func (h *Hub) coalesce() {
	defer h.wg.Done()
	t := time.NewTicker(coalescePeriod)
	defer t.Stop()
	for {
		select {
		case <-h.stop:
			return
		case <-h.kick:
		case <-t.C:
		}
		h.flush()
	}
}

// EventChanged announces that an event's status may have changed (closed,
// for instance).
func (h *Hub) EventChanged(eventID string) {
	if err := h.cfg.Broker.Publish(subjectEvent, []byte(eventID)); err != nil {
		h.cfg.Logger.Warn("realtime: publish event change", "event_id", eventID, "err", err)
	}
}

// OrderChanged sends an order frame to the buyer's connections, on every
// instance.
func (h *Hub) OrderChanged(o *domain.Order) {
	data := mustJSON(orderFrame{Type: "order", OrderID: o.ID, EventID: o.FlashEventID, Status: string(o.Status)})
	if err := h.cfg.Broker.Publish(subjectOrder+o.BuyerID, data); err != nil {
		h.cfg.Logger.Warn("realtime: publish order change", "order_id", o.ID, "err", err)
	}
	if o.FlashEventID != "" && (o.Status == domain.OrderCancelled || o.Status == domain.OrderExpired) {
		h.StockChanged(o.FlashEventID)
	}
}

// ViewerCount returns the viewers of a room on every instance, as last
// reported.
func (h *Hub) ViewerCount(roomID string) int {
	h.mu.RLock()
	defer h.mu.RUnlock()
	return h.viewerCountLocked(roomID)
}

func (h *Hub) viewerCountLocked(roomID string) int {
	n := len(h.rooms[roomID])
	now := h.cfg.Now()
	for inst, pc := range h.peers[roomID] {
		if inst != h.cfg.Instance && now.Sub(pc.at) < viewersStale {
			n += pc.count
		}
	}
	return n
}

// Followers returns how many of this instance's viewers and listeners
// follow userID's orders (they get its order updates): a viewer signed in
// as the user counts once per connection, a Listen for the user once per
// call, until it is disconnected or its context ends. A session watch (a
// GraphQL socket's, which gets no updates) does not count.
func (h *Hub) Followers(userID string) int {
	h.mu.RLock()
	defer h.mu.RUnlock()
	n := 0
	for m := range h.users[userID] {
		if _, ok := m.(*watch); !ok {
			n++
		}
	}
	return n
}

// Dropped returns how many viewers were disconnected for being too slow.
func (h *Hub) Dropped() int64 { return h.dropped.Load() }

// BackedUp returns how many times a viewer's socket could not take a
// frame at once, so that a flusher goroutine had to wait for it.
func (h *Hub) BackedUp() int64 { return h.backedUp.Load() }

// Silent returns how many viewers were disconnected for sending nothing,
// not even a pong, for PongWait.
func (h *Hub) Silent() int64 { return h.silent.Load() }

// Connected returns the open connections of this instance.
func (h *Hub) Connected() int64 { return h.connected.Load() }

// FloodsClosed returns how many viewers were closed for sending frames
// past FrameLimit.
func (h *Hub) FloodsClosed() int64 { return h.limitedClosed.Load() }

func (h *Hub) markDirty(eventID string) {
	h.pendingMu.Lock()
	h.dirtyEvents[eventID] = struct{}{}
	h.pendingMu.Unlock()
	h.wake()
}

// flush announces the stock changes made here, then refreshes the events
// anyone announced and sends their frames, each at most once per
// minInterval per event (the others wait for the next flush).
func (h *Hub) flush() {
	now := time.Now()
	var out, dirty []string
	h.pendingMu.Lock()
	for id := range h.outStock {
		if now.Sub(h.announced[id]) >= minInterval {
			out = append(out, id)
			h.announced[id] = now
			delete(h.outStock, id)
		}
	}
	for id := range h.dirtyEvents {
		if now.Sub(h.refreshed[id]) >= minInterval {
			dirty = append(dirty, id)
			h.refreshed[id] = now
			delete(h.dirtyEvents, id)
		}
	}
	if now.Sub(h.pruned) > time.Second {
		h.pruned = now
		for id, at := range h.announced {
			if now.Sub(at) > time.Minute {
				delete(h.announced, id)
			}
		}
		for id, at := range h.refreshed {
			if now.Sub(at) > time.Minute {
				delete(h.refreshed, id)
			}
		}
	}
	h.pendingMu.Unlock()
	for _, id := range out {
		if err := h.cfg.Broker.Publish(subjectStock, []byte(id)); err != nil {
			h.cfg.Logger.Warn("realtime: publish stock change", "event_id", id, "err", err)
		}
	}
	for _, id := range dirty {
		h.mu.RLock()
		_, watched := h.events[id]
		h.mu.RUnlock()
		if !watched {
			continue
		}
		ctx, cancel := context.WithTimeout(context.Background(), sourceTimeout)
		st, err := h.cfg.Source.EventState(ctx, id)
		cancel()
		if err != nil {
			h.cfg.Logger.Warn("realtime: read event state", "event_id", id, "err", err)
			continue
		}
		h.show(st, true)
	}
}

// show sends the frames that st differs by from what was shown: a stock
// frame (when stock is true and remaining moved) and an event frame when
// the status moved.
func (h *Hub) show(st EventState, stock bool) {
	// The coalescer and the ticker both show events: one at a time, frame
	// built to frame sent, so an older figure never overtakes a newer one.
	h.showMu.Lock()
	defer h.showMu.Unlock()
	h.mu.Lock()
	v, ok := h.events[st.EventID]
	if !ok {
		h.mu.Unlock()
		return
	}
	v.state = st
	var msgs []*message
	if stock && st.Remaining != v.sentLeft {
		v.sentLeft = st.Remaining
		now := h.cfg.Now()
		msgs = append(msgs, newMessage(mustJSON(stockFrame{
			Type: "stock", Room: st.RoomID, EventID: st.EventID, Remaining: st.Remaining, Status: st.Status,
			ServerTime: wireTime(now),
		}), domain.LiveStock{
			RoomID: st.RoomID, EventID: st.EventID, Remaining: st.Remaining, Status: domain.FlashEventStatus(st.Status),
			ServerTime: now,
		}))
	}
	if st.Status != v.sentStatus {
		v.sentStatus = st.Status
		msgs = append(msgs, newMessage(mustJSON(eventFrame{Type: "event", Room: st.RoomID, EventID: st.EventID, Status: st.Status}),
			domain.LiveEventChanged{RoomID: st.RoomID, Status: domain.FlashEventStatus(st.Status), Event: st.Event}))
	}
	h.mu.Unlock()
	for _, m := range msgs {
		h.broadcast(st.RoomID, m)
	}
}

// tick refreshes the events of every room with viewers here, sends their
// status changes (LIVE at start, ENDED at end) and the countdowns.
func (h *Hub) tick() {
	h.mu.RLock()
	rooms := make([]string, 0, len(h.rooms))
	for r := range h.rooms {
		rooms = append(rooms, r)
	}
	h.mu.RUnlock()
	now := h.cfg.Now()
	for _, room := range rooms {
		ctx, cancel := context.WithTimeout(context.Background(), sourceTimeout)
		events, err := h.cfg.Source.RoomEvents(ctx, room)
		cancel()
		if err != nil {
			h.cfg.Logger.Warn("realtime: read room events", "room", room, "err", err)
			continue
		}
		h.watch(events)
		for _, st := range events {
			h.show(st, true)
			if st.Status == string(domain.FlashEventScheduled) && st.StartsAt.Sub(now) <= countdownWithin {
				left := int(max(st.StartsAt.Sub(now), 0).Round(time.Second) / time.Second)
				h.broadcast(room, newMessage(mustJSON(countdownFrame{
					Type: "countdown", Room: room, EventID: st.EventID, StartsAt: wireTime(st.StartsAt),
					ServerTime: wireTime(now), SecondsLeft: left,
				}), domain.LiveCountdown{RoomID: room, EventID: st.EventID, StartsAt: st.StartsAt, ServerTime: now, SecondsLeft: left}))
			}
		}
	}
}

// watch starts tracking events not tracked yet, as shown by a snapshot.
func (h *Hub) watch(events []EventState) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, st := range events {
		if _, ok := h.events[st.EventID]; !ok {
			h.events[st.EventID] = &eventView{state: st, sentStatus: st.Status, sentLeft: st.Remaining}
		}
	}
}

// reportViewers publishes this instance's viewer counts, then sends the
// rooms here whose total moved a viewers frame.
func (h *Hub) reportViewers() {
	h.mu.RLock()
	rep := viewerReport{Instance: h.cfg.Instance, Rooms: make(map[string]int, len(h.rooms))}
	for r, cs := range h.rooms {
		rep.Rooms[r] = len(cs)
	}
	h.mu.RUnlock()
	if err := h.cfg.Broker.Publish(subjectViewers, mustJSON(rep)); err != nil {
		h.cfg.Logger.Warn("realtime: publish viewer counts", "err", err)
	}
	for r := range rep.Rooms {
		h.mu.RLock()
		n := h.viewerCountLocked(r)
		h.mu.RUnlock()
		h.sendViewers(r, n)
	}
}

// sendViewers sends room's viewers here its audience, unless unchanged.
func (h *Hub) sendViewers(room string, n int) {
	h.mu.Lock()
	prev, ok := h.sentViewers[room]
	h.sentViewers[room] = n
	h.mu.Unlock()
	if ok && prev == n {
		return
	}
	h.broadcast(room, newMessage(mustJSON(viewersFrame{Type: "viewers", Room: room, Count: n}),
		domain.LiveViewers{RoomID: room, Count: n}))
}

func (h *Hub) onViewers(_ string, data []byte) {
	var rep viewerReport
	if err := json.Unmarshal(data, &rep); err != nil || rep.Instance == "" {
		return
	}
	now := h.cfg.Now()
	h.mu.Lock()
	defer h.mu.Unlock()
	for room, m := range h.peers {
		if _, ok := rep.Rooms[room]; !ok {
			delete(m, rep.Instance)
		}
	}
	for room, n := range rep.Rooms {
		m := h.peers[room]
		if m == nil {
			m = map[string]peerCount{}
			h.peers[room] = m
		}
		m[rep.Instance] = peerCount{count: n, at: now}
	}
}

// onOrder sends an order notice to the buyer's connections and listeners
// here: the notice is the order frame, and is read once for the
// listeners' typed update.
func (h *Hub) onOrder(subject string, data []byte) {
	h.mu.RLock()
	ms := list(h.users[strings.TrimPrefix(subject, subjectOrder)])
	h.mu.RUnlock()
	if len(ms) == 0 {
		return
	}
	var u domain.LiveUpdate
	var f orderFrame
	if err := json.Unmarshal(data, &f); err != nil {
		// Not from a hub of ours: the sockets get it as it came, as they
		// always have; listeners get nothing they could misread.
		h.cfg.Logger.Warn("realtime: malformed order notice", "subject", subject, "err", err)
	} else {
		u = domain.LiveOrder{OrderID: f.OrderID, EventID: f.EventID, Status: domain.OrderStatus(f.Status)}
	}
	m := newMessage(data, u)
	for _, c := range ms {
		c.deliver(m)
	}
}

// broadcast sends one message, built once, to every viewer and listener of
// room here, and returns when each has it or has it waiting (so two
// broadcasts from one goroutine reach every member in order).
func (h *Hub) broadcast(room string, m *message) {
	h.mu.RLock()
	ms := list(h.rooms[room])
	h.mu.RUnlock()
	if len(ms) == 0 {
		return
	}
	fanout(ms, func(c member) { c.deliver(m) })
}
