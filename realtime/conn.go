package realtime

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"

	"flashlive/domain"
)

// client is one viewer's connection: its reader runs in the HTTP handler's
// goroutine, its writer in a goroutine of its own that owns all writes.
type client struct {
	hub    *Hub
	ws     *websocket.Conn // nil for a listener (see Hub.Listen)
	queue  chan *message   // never closed: nil tells the writer to stop
	done   chan struct{}
	once   sync.Once
	closed atomic.Bool
	slow   atomic.Bool // cut off for being too slow

	// guarded by hub.mu
	user  string
	rooms map[string]struct{}
}

// ServeHTTP upgrades a viewer to the room feed. A token in ?token= must be
// valid (401 otherwise); a foreign Origin is refused (403).
func (h *Hub) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var user string
	if tok := r.URL.Query().Get("token"); tok != "" {
		p, err := h.cfg.Authenticate(r.Context(), tok)
		if err != nil {
			http.Error(w, domain.ErrorMessage(err), http.StatusUnauthorized)
			return
		}
		user = p.UserID
	}
	if !h.originAllowed(r) {
		http.Error(w, "origin not allowed", http.StatusForbidden)
		return
	}
	ws, err := h.upgrader.Upgrade(w, r, nil)
	if err != nil {
		return // the upgrader has answered
	}
	c := &client{
		hub:   h,
		ws:    ws,
		queue: make(chan *message, h.cfg.QueueSize),
		done:  make(chan struct{}),
		rooms: map[string]struct{}{},
	}
	h.connected.Add(1)
	h.mu.Lock()
	h.clients[c] = struct{}{}
	h.mu.Unlock()
	if user != "" {
		h.setUser(c, user)
	}
	// Both loops get goroutines of their own, and the handler returns: the
	// HTTP server's per-request state (its buffers, the request, a stack
	// grown by serving) is freed instead of held for the life of the feed.
	go c.write()
	go c.read()
}

// originAllowed admits requests without an Origin (not from a browser),
// from the server's own origin, from AllowedOrigins, and in Dev from
// localhost.
func (h *Hub) originAllowed(r *http.Request) bool {
	origin := r.Header.Get("Origin")
	if origin == "" {
		return true
	}
	u, err := url.Parse(origin)
	if err != nil {
		return false
	}
	if strings.EqualFold(u.Host, r.Host) {
		return true
	}
	for _, o := range h.cfg.AllowedOrigins {
		if strings.EqualFold(o, u.Scheme+"://"+u.Host) {
			return true
		}
	}
	if h.cfg.Dev {
		switch u.Hostname() {
		case "localhost", "127.0.0.1", "::1":
			return true
		}
	}
	return false
}

// read handles the viewer's frames until the connection ends, then
// unregisters it.
func (c *client) read() {
	h := c.hub
	defer h.unregister(c)
	c.ws.SetReadLimit(h.cfg.MaxFrameBytes)
	_ = c.ws.SetReadDeadline(time.Now().Add(h.cfg.PongWait))
	c.ws.SetPongHandler(func(string) error {
		return c.ws.SetReadDeadline(time.Now().Add(h.cfg.PongWait))
	})
	bad := 0
	for {
		_, data, err := c.ws.ReadMessage()
		if err != nil {
			return // closed, too large, or silent too long
		}
		_ = c.ws.SetReadDeadline(time.Now().Add(h.cfg.PongWait))
		var f clientFrame
		if err := json.Unmarshal(data, &f); err != nil || f.Type == "" {
			if bad++; bad > maxBadFrames {
				return
			}
			c.sendError("frames are JSON objects with a type")
			continue
		}
		if msg := c.handle(f); msg != "" {
			if bad++; bad > maxBadFrames {
				return
			}
			c.sendError(msg)
		}
	}
}

// handle acts on one frame and returns an error message for the viewer, or
// "".
func (c *client) handle(f clientFrame) string {
	h := c.hub
	switch f.Type {
	case "ping":
		c.send(pongFrame{Type: "pong", ServerTime: wireTime(h.cfg.Now())})
	case "auth":
		ctx, cancel := context.WithTimeout(context.Background(), sourceTimeout)
		p, err := h.cfg.Authenticate(ctx, f.Token)
		cancel()
		if err != nil {
			return domain.ErrorMessage(err)
		}
		h.setUser(c, p.UserID)
	case "join":
		if !strings.HasPrefix(f.Room, domain.PrefixLiveRoom) || len(f.Room) > 64 {
			return "room is not a live room ID"
		}
		return c.join(f.Room)
	case "leave":
		h.mu.Lock()
		delete(c.rooms, f.Room)
		delete(h.rooms[f.Room], c)
		if len(h.rooms[f.Room]) == 0 {
			delete(h.rooms, f.Room)
		}
		h.mu.Unlock()
	default:
		return "unknown frame type " + truncate(f.Type, 32)
	}
	return ""
}

// join adds the viewer to a room and sends it the room's snapshot.
func (c *client) join(room string) string {
	h := c.hub
	ctx, cancel := context.WithTimeout(context.Background(), sourceTimeout)
	events, err := h.cfg.Source.RoomEvents(ctx, room)
	cancel()
	if err != nil {
		if domain.ErrorCode(err) == domain.ENOTFOUND {
			return "no such live room"
		}
		h.cfg.Logger.Warn("realtime: snapshot", "room", room, "err", err)
		return "the room cannot be shown right now; try again"
	}
	h.watch(events)
	if !h.addToRoom(c, room) {
		return "too many rooms on one connection"
	}
	snap := snapshotFrame{Type: "snapshot", Room: room, ServerTime: wireTime(h.cfg.Now()), Events: []snapshotEvent{}}
	for _, st := range events {
		snap.Events = append(snap.Events, snapshotEvent{
			EventID: st.EventID, Status: st.Status, Remaining: st.Remaining,
			StartsAt: wireTime(st.StartsAt), EndsAt: wireTime(st.EndsAt),
		})
	}
	c.send(snap)
	return ""
}

// addToRoom adds c to room's viewers, unless c watches too many rooms.
func (h *Hub) addToRoom(c *client, room string) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	if _, ok := c.rooms[room]; !ok && len(c.rooms) >= maxRoomsPerConn {
		return false
	}
	c.rooms[room] = struct{}{}
	if h.rooms[room] == nil {
		h.rooms[room] = map[*client]struct{}{}
	}
	h.rooms[room][c] = struct{}{}
	return true
}

func (h *Hub) setUser(c *client, user string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if c.user != "" {
		delete(h.users[c.user], c)
	}
	c.user = user
	if h.users[user] == nil {
		h.users[user] = map[*client]struct{}{}
	}
	h.users[user][c] = struct{}{}
}

func (c *client) send(v any) { c.enqueue(newMessage(mustJSON(v))) }

func (c *client) sendError(msg string) { c.send(errorFrame{Type: "error", Message: msg}) }

// message is one frame, encoded once for every viewer it goes to.
type message struct {
	data []byte
	once sync.Once
	pm   *websocket.PreparedMessage
}

func newMessage(data []byte) *message { return &message{data: data} }

// prepared returns the frame as a WebSocket message, framed once however
// many connections write it.
func (m *message) prepared() (*websocket.PreparedMessage, error) {
	var err error
	m.once.Do(func() { m.pm, err = websocket.NewPreparedMessage(websocket.TextMessage, m.data) })
	if m.pm == nil && err == nil {
		err = errors.New("realtime: frame could not be prepared")
	}
	return m.pm, err
}

// enqueue queues a frame without ever blocking; a viewer whose queue is
// full is too slow and is disconnected.
func (c *client) enqueue(m *message) {
	if c.closed.Load() {
		return
	}
	select {
	case c.queue <- m:
	default:
		// Two broadcasts may find the queue full at once: count the
		// viewer once.
		if c.slow.CompareAndSwap(false, true) {
			c.hub.dropped.Add(1)
		}
		c.shut()
	}
}

// shut ends the connection once: the writer stops and the reader's next
// read fails, which unregisters the viewer.
func (c *client) shut() {
	c.once.Do(func() {
		c.closed.Store(true)
		close(c.done)
		if c.ws != nil {
			_ = c.ws.Close()
			// Wake an idle writer. A writer with a full queue is not idle:
			// its next write fails on the closed socket.
			select {
			case c.queue <- nil:
			default:
			}
		}
	})
}

// unregister removes a viewer from its rooms and its buyer's connections.
func (h *Hub) unregister(c *client) {
	c.shut()
	h.mu.Lock()
	for room := range c.rooms {
		delete(h.rooms[room], c)
		if len(h.rooms[room]) == 0 {
			delete(h.rooms, room)
		}
	}
	if c.user != "" {
		delete(h.users[c.user], c)
		if len(h.users[c.user]) == 0 {
			delete(h.users, c.user)
		}
	}
	_, wasClient := h.clients[c]
	delete(h.clients, c)
	h.mu.Unlock()
	if wasClient {
		h.connected.Add(-1)
	}
}

// pingMessage, queued by the hub's pinger, makes the writer send a ping.
var pingMessage = &message{}

// write writes queued frames and pings until the connection ends. It
// waits on the queue alone: one channel receive per frame, the cheapest
// wake-up there is, for the goroutine that 10,000 viewers each have.
func (c *client) write() {
	h := c.hub
	for m := range c.queue {
		if m == nil || c.closed.Load() {
			return
		}
		if m == pingMessage {
			if err := c.ws.WriteControl(websocket.PingMessage, nil, time.Now().Add(h.cfg.WriteWait)); err != nil {
				c.shut()
				return
			}
			continue
		}
		pm, err := m.prepared()
		if err != nil {
			continue
		}
		// No deadline per frame: a viewer too slow to take its frames
		// fills its queue and is shut, which closes the socket and ends a
		// write stuck on it.
		if err := c.ws.WritePreparedMessage(pm); err != nil {
			c.shut()
			return
		}
	}
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}
