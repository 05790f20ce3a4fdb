package realtime

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
	"golang.org/x/time/rate"

	"flashlive/domain"
)

// client is one viewer's connection to /ws: the member of the hub that is
// a socket. Its reader runs in a goroutine of its own. It has no writer
// goroutine: whoever sends it a frame writes the frame to its socket at
// once, without waiting (see write), and only a viewer whose socket is
// backed up gets a flusher goroutine, for as long as it is backed up.
type client struct {
	// The fields of write's fast path come first, on one cache line: a
	// broadcast touches them for every viewer.
	wmu      sync.Mutex
	fd       int         // the socket's descriptor, written without the runtime (see write); -1 when not a plain socket
	flushing bool        // a flusher owns the socket's writes until pending is empty
	closing  bool        // the close frame is written or waiting: nothing may follow it
	closed   atomic.Bool // set under wmu: no write reaches fd after it
	pending  [][]byte    // frames waiting for the socket (the first maybe in part); at most QueueSize,
	// besides the batch a flusher is writing
	flushed chan struct{} // closed when the current flusher ends

	hub  *Hub
	ws   *websocket.Conn
	conn net.Conn // ws.NetConn()
	once sync.Once
	slow atomic.Bool // cut off for being too slow

	lastHeard atomic.Int64  // when the viewer last sent a frame, in Unix nanoseconds
	bad       int           // bad frames the viewer sent; the reader's alone
	frames    *rate.Limiter // the viewer's frame budget (nil: none); the reader's alone
	limited   int           // frames refused for the budget; the reader's alone
	reply     chan string   // a frame worker's answer to the reader; made by the reader

	chatOrigin string // names the connection in the chat messages it sends

	at seats // guarded by hub.mu
}

var _ member = (*client)(nil)

// ServeHTTP upgrades a viewer to the room feed. A token in ?token= must be
// valid (401 otherwise); a foreign Origin is refused (403).
func (h *Hub) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if h.stopped() {
		http.Error(w, "the live feed is shutting down", http.StatusServiceUnavailable)
		return
	}
	var who domain.Principal
	tok := r.URL.Query().Get("token")
	if tok != "" {
		var err error
		if who, err = h.cfg.Authenticate(r.Context(), tok); err != nil {
			http.Error(w, domain.ErrorMessage(err), http.StatusUnauthorized)
			return
		}
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
		hub:  h,
		ws:   ws,
		conn: ws.NetConn(),
		fd:   socketOf(ws.NetConn()),
		at:   seats{rooms: map[string]struct{}{}},
	}
	if h.chat != nil {
		c.chatOrigin = h.chat.origin()
	}
	if l := h.cfg.FrameLimit; !l.Off() {
		c.frames = rate.NewLimiter(rate.Every(l.Period/time.Duration(l.Rate)), max(l.Burst, 1))
	}
	c.heard()
	// Registered under mu, where Close looks for the viewers to cut off
	// after it has stopped the hub: a viewer either is in its list, or sees
	// the hub stopped here.
	h.mu.Lock()
	if h.stopped() {
		h.mu.Unlock()
		_ = ws.Close()
		return
	}
	h.clients[c] = struct{}{}
	h.mu.Unlock()
	h.connected.Add(1)
	if who.UserID != "" {
		if err := h.follow(c, who, tok); err != nil {
			c.sendCodedError(domain.ErrorCode(err), domain.ErrorMessage(err)) // revoked since the check above
		}
	}
	// The reader gets a goroutine of its own, and the handler returns: the
	// HTTP server's per-request state (its buffers, the request, a stack
	// grown by serving) is freed instead of held for the life of the feed.
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
// unregisters it. Every frame, pongs included, marks the viewer as heard
// from; the hub's sweep cuts off viewers silent for PongWait. (A read
// deadline would do the same at the cost of a timer reset per frame.)
//
// read is the one goroutine every viewer keeps, parked in ReadMessage for
// the life of the connection, so its stack is memory per viewer: it keeps
// its own frame small (the rest lives in functions it calls and that are
// not inlined into it), which keeps the parked stack at the runtime's
// smallest, 2 KB instead of 4.
func (c *client) read() {
	c.readSetup()
	for c.readOne() {
	}
	c.hub.disconnected(c)
}

// readOne reads and handles one frame; false when the connection is done.
//
//go:noinline
func (c *client) readOne() bool {
	_, data, err := c.ws.ReadMessage()
	if err != nil {
		// Closed (by the viewer, or by the hub), or too large. Our answer
		// to a viewer's close frame may wait behind a backed-up socket:
		// let it go out first, within WriteWait.
		c.drain()
		return false
	}
	return c.onFrame(data)
}

// readSetup sets the read limit and the control-frame handlers.
//
//go:noinline
func (c *client) readSetup() {
	c.ws.SetReadLimit(c.hub.cfg.MaxFrameBytes)
	c.ws.SetPongHandler(func(string) error {
		c.heard()
		return nil
	})
	// Answers go out through write, like every frame to this viewer, never
	// through gorilla's own writer: two writers could split each other's
	// frames. (gorilla still writes a close frame itself on a protocol
	// error or a frame over the read limit, just before the connection is
	// dropped; should a frame of ours be half written then, the viewer
	// sees a broken stream instead of that close code: it is being cut
	// off either way.)
	c.ws.SetPingHandler(func(data string) error {
		c.heard()
		c.write(wsFrame(opPong, []byte(data)))
		return nil
	})
	c.ws.SetCloseHandler(func(code int, _ string) error {
		if code == websocket.CloseNoStatusReceived {
			code = websocket.CloseNormalClosure
		}
		c.writeFrame(wsFrame(opClose, websocket.FormatCloseMessage(code, "")), true)
		return nil
	})
}

// onFrame handles one frame from the viewer; false when the viewer has
// sent too many bad ones and is to be disconnected.
//
//go:noinline
func (c *client) onFrame(data []byte) bool {
	c.heard()
	if c.frames != nil && !c.frames.Allow() {
		return c.overBudget()
	}
	msg := c.handleAside(data)
	if msg == "" {
		return true
	}
	if c.bad++; c.bad > maxBadFrames {
		return false
	}
	c.sendError(msg)
	return true
}

// overBudget answers a frame over the viewer's FrameLimit, on the reader
// and without a frame worker (a flood of joins must not tie them up): an
// error frame with RATE_LIMITED and the wait, or, past maxLimitedFrames
// such frames, a close with 1008 (policy violation). False when closing.
//
//go:noinline
func (c *client) overBudget() bool {
	if c.limited++; c.limited > maxLimitedFrames {
		c.hub.limitedClosed.Add(1)
		c.writeFrame(wsFrame(opClose, websocket.FormatCloseMessage(websocket.ClosePolicyViolation, "too many frames")), true)
		c.drain()
		return false
	}
	wait := c.frames.Reserve()
	d := wait.Delay()
	wait.Cancel()
	c.send(errorFrame{
		Type: "error", Code: domain.ERATELIMITED, Message: "too many frames; slow down",
		RetryAfterMs: int((d + time.Millisecond - 1) / time.Millisecond),
	})
	return true
}

// heard notes that the viewer sent something.
func (c *client) heard() { c.lastHeard.Store(time.Now().UnixNano()) }

// handleAside has one of the hub's frame workers handle a frame, and
// waits for it, so a viewer's frames are still handled one at a time and
// in order. Handling a join goes deep (the room's events are read from
// Redis and PostgreSQL): done on the reader, whose stack is kept for the
// life of the connection, it would grow that stack per viewer; done on a
// goroutine per frame, the stacks those leave behind fragment the stack
// memory about as much. A few long-lived workers also bound how many of
// those reads a storm of joins starts at once. "" when the hub is closing.
func (c *client) handleAside(data []byte) string {
	if c.reply == nil {
		c.reply = make(chan string, 1)
	}
	h := c.hub
	select {
	case h.frames <- frameJob{c: c, data: data}:
	case <-h.stop:
		return ""
	}
	select {
	case msg := <-c.reply:
		return msg
	case <-h.stop:
		return ""
	}
}

// frameJob is one frame from a viewer, for a frame worker.
type frameJob struct {
	c    *client
	data []byte
}

// handleFrames is a frame worker: it handles viewers' frames until the hub
// closes, answering each on its viewer's reply channel.
func (h *Hub) handleFrames() {
	defer h.wg.Done()
	for {
		select {
		case <-h.stop:
			return
		case j := <-h.frames:
			var f clientFrame
			msg := "frames are JSON objects with a type"
			if err := json.Unmarshal(j.data, &f); err == nil && f.Type != "" {
				msg = j.c.handle(f)
			}
			j.c.reply <- msg // room for one: its reader waits for it alone
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
		h.mu.RLock()
		before := c.at.user
		h.mu.RUnlock()
		if err == nil {
			err = h.follow(c, p, f.Token)
		}
		if err != nil {
			return domain.ErrorMessage(err)
		}
		if p.UserID != before {
			// Signed in after joining: the rooms joined anonymously
			// now show this buyer's place in their queues.
			h.resumeQueue(c, h.joinedEvents(c))
		}
	case "join":
		if !strings.HasPrefix(f.Room, domain.PrefixLiveRoom) || len(f.Room) > 64 {
			return "room is not a live room ID"
		}
		return c.join(f.Room)
	case "leave":
		h.leaveRoom(c, f.Room)
	case "chat":
		c.chat(f)
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
	snap := snapshotFrame{Type: "snapshot", Room: room, ServerTime: wireTime(h.cfg.Now()), Events: []snapshotEvent{}, Rains: h.snapshotRains(room)}
	for _, st := range events {
		snap.Events = append(snap.Events, snapshotEvent{
			EventID: st.EventID, Status: st.Status, Remaining: st.Remaining,
			StartsAt: wireTime(st.StartsAt), EndsAt: wireTime(st.EndsAt),
		})
	}
	if h.chat == nil {
		c.send(snap)
	} else {
		h.chat.snapshot(c, room, func(chat []chatFrame) {
			snap.Chat = &chat
			c.send(snap)
		})
	}
	h.resumeQueue(c, events)
	return ""
}

// send sends the viewer a frame of its own (not a broadcast).
func (c *client) send(v any) { c.deliver(newMessage(mustJSON(v), nil)) }

func (c *client) sendError(msg string) { c.send(errorFrame{Type: "error", Message: msg}) }

func (c *client) sendCodedError(code, msg string) {
	c.send(errorFrame{Type: "error", Code: code, Message: msg})
}

// signedOut implements member: the viewer stays in its rooms, anonymous,
// and is told why its order frames stopped; an auth frame with a fresh
// token brings them back.
func (c *client) signedOut(why signOut) { c.sendCodedError(domain.EUNAUTHENTICATED, why.message) }

// seats implements member.
func (c *client) seats() *seats { return &c.at }

// deliver implements member: it writes m's frame to the socket without
// ever blocking (see write). A viewer that has QueueSize frames waiting is
// too slow and is disconnected.
func (c *client) deliver(m *message) {
	if c.closed.Load() {
		return
	}
	c.write(m.wire)
}

// write writes one frame to the viewer's socket without waiting for it:
// the kernel takes it at once unless the socket's buffer is full. The rest
// of a frame the kernel did not take, and every frame sent while a
// flusher is at work, waits in pending for the flusher, which waits for
// the socket on its own goroutine. So a broadcast costs one system call
// per viewer and no goroutine switch, and a stuck viewer never holds up
// the room.
func (c *client) write(frame []byte) { c.writeFrame(frame, false) }

// writeFrame writes frame as write does; last marks the close frame,
// after which nothing more is written (RFC 6455 §5.5.1).
func (c *client) writeFrame(frame []byte, last bool) {
	c.wmu.Lock()
	if c.closed.Load() || c.closing {
		c.wmu.Unlock()
		return
	}
	c.closing = last
	if c.flushing {
		if len(c.pending) >= c.hub.cfg.QueueSize {
			c.wmu.Unlock()
			c.tooSlow()
			return
		}
		c.pending = append(c.pending, frame)
		c.wmu.Unlock()
		return
	}
	n := 0
	if c.fd >= 0 {
		var err error
		if n, err = writeNow(c.fd, frame); err != nil {
			c.wmu.Unlock()
			c.shut()
			return
		}
		if n == len(frame) {
			c.wmu.Unlock()
			return
		}
	}
	c.pending = append(c.pending, frame[n:])
	c.flushing = true
	c.flushed = make(chan struct{})
	c.hub.backedUp.Add(1)
	c.wmu.Unlock()
	go c.flush()
}

// flush writes pending frames, waiting for the socket, until none are
// left or the connection ends. Each round writes everything pending in
// one system call and must finish within WriteWait.
func (c *client) flush() {
	for {
		c.wmu.Lock()
		bufs := net.Buffers(c.pending)
		c.pending = nil
		if len(bufs) == 0 || c.closed.Load() {
			c.endFlush()
			c.wmu.Unlock()
			return
		}
		c.wmu.Unlock()
		_ = c.conn.SetWriteDeadline(time.Now().Add(c.hub.cfg.WriteWait))
		_, err := bufs.WriteTo(c.conn)
		// No deadline for the writes that follow: they never wait.
		_ = c.conn.SetWriteDeadline(time.Time{})
		if err != nil {
			if errors.Is(err, os.ErrDeadlineExceeded) {
				c.tooSlow() // took more than WriteWait: as slow as a full queue
			} else {
				c.shut()
			}
			c.wmu.Lock()
			c.pending = nil
			c.endFlush()
			c.wmu.Unlock()
			return
		}
	}
}

// endFlush marks the flusher gone; the caller holds wmu.
func (c *client) endFlush() {
	c.flushing = false
	close(c.flushed)
}

// drain waits, at most WriteWait, for a flusher at work to write what
// waits for the socket.
//
//go:noinline
func (c *client) drain() {
	c.wmu.Lock()
	busy, done := c.flushing, c.flushed
	c.wmu.Unlock()
	if !busy {
		return
	}
	t := time.NewTimer(c.hub.cfg.WriteWait)
	defer t.Stop()
	select {
	case <-done:
	case <-t.C:
	}
}

// tooSlow disconnects a viewer whose queue is full, counting it once
// however many broadcasts find it full at once.
func (c *client) tooSlow() {
	if c.slow.CompareAndSwap(false, true) {
		c.hub.dropped.Add(1)
	}
	c.shut()
}

// shut implements member: it ends the connection once. A flusher's next
// round stops, and the reader's next read fails, which unregisters the
// viewer. closed is set under wmu before the socket is closed, so write
// never writes to a descriptor the kernel may have handed to another
// connection.
func (c *client) shut() {
	c.once.Do(func() {
		c.wmu.Lock()
		c.closed.Store(true)
		c.wmu.Unlock()
		_ = c.ws.Close()
	})
}

// disconnected unregisters a viewer whose connection has ended, and no
// longer counts it as connected.
func (h *Hub) disconnected(c *client) {
	h.unregister(c)
	h.mu.Lock()
	_, wasClient := h.clients[c]
	delete(h.clients, c)
	h.mu.Unlock()
	if wasClient {
		h.connected.Add(-1)
	}
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}
