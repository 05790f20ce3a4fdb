package realtime

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"flashlive/internal/testenv"
)

// roomClient returns the hub's one viewer of room_1.
func roomClient(t *testing.T, h *Hub) *client {
	t.Helper()
	h.mu.RLock()
	defer h.mu.RUnlock()
	for m := range h.rooms["room_1"] {
		return m.(*client)
	}
	t.Fatal("no viewer in room_1")
	return nil
}

func (c *client) backedUp() bool {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	return c.flushing
}

// seqFrame is a broadcast numbered n, padded to size bytes of one letter.
func seqFrame(n, size int) []byte {
	return fmt.Appendf(nil, `{"type":"seq","n":%d,"pad":"%s"}`, n, strings.Repeat(string(rune('a'+n%26)), size))
}

// withoutSocket makes c write as a viewer on a connection with no socket
// (TLS, say) does: every frame through a flusher and the runtime.
func withoutSocket(c *client) {
	c.wmu.Lock()
	c.fd = -1
	c.wmu.Unlock()
}

// TestFramesKeepTheirOrderThroughABackedUpSocket: a viewer that stops
// reading while the room keeps broadcasting has its socket fill up (the
// kernel takes frames in part), the rest waits for a flusher; once it reads
// again it gets every frame whole and in order, and later frames take the
// direct path again. Frame sizes straddle each length encoding of RFC 6455.
// The same holds on a connection without a socket, where every frame goes
// through a flusher.
func TestFramesKeepTheirOrderThroughABackedUpSocket(t *testing.T) {
	for _, socket := range []bool{true, false} {
		t.Run(fmt.Sprintf("socket=%v", socket), func(t *testing.T) {
			h, srv := newTestHubWith(t, func(c *Config) { c.QueueSize = 1024 })
			v := joinRoom(t, srv)
			testenv.WaitFor(t, 10*time.Second, "the viewer in the room", func() bool { return h.ViewerCount("room_1") == 1 })
			c := roomClient(t, h)
			if !socket {
				withoutSocket(c)
			}
			sizes := []int{0, 1, 100, 101, 102, 65_500, 65_600, 300_000}
			const frames = 96
			for i := range frames {
				h.broadcast("room_1", newMessage(seqFrame(i, sizes[i%len(sizes)]), nil))
			}
			if !c.backedUp() || h.BackedUp() == 0 {
				t.Fatal("the socket never backed up: the test did not reach the flusher")
			}
			_ = v.SetReadDeadline(time.Now().Add(20 * time.Second))
			next, flushers := 0, int64(0)
			for next < frames+1 {
				_, data, err := v.ReadMessage()
				if err != nil {
					t.Fatalf("after frame %d: %v", next, err)
				}
				var f struct {
					Type string
					N    int
					Pad  string
				}
				if err := json.Unmarshal(data, &f); err != nil {
					t.Fatalf("frame after %d is not whole JSON (%d bytes): %v", next, len(data), err)
				}
				if f.Type != "seq" {
					continue // the snapshot
				}
				size := sizes[next%len(sizes)]
				if next == frames {
					size = 10
				}
				want := strings.Repeat(string(rune('a'+next%26)), size)
				if f.N != next || f.Pad != want {
					t.Fatalf("got frame %d with %d bytes of padding, want frame %d with %d", f.N, len(f.Pad), next, len(want))
				}
				next++
				if next == frames {
					testenv.WaitFor(t, 10*time.Second, "the flusher to finish", func() bool { return !c.backedUp() })
					flushers = h.BackedUp()
					h.broadcast("room_1", newMessage(seqFrame(frames, 10), nil))
				}
			}
			// A small frame to a drained socket is written at once, with no
			// flusher; without a socket, it takes one more.
			if got, want := h.BackedUp()-flushers, map[bool]int64{true: 0, false: 1}[socket]; got != want {
				t.Fatalf("the frame after the drain started %d flushers, want %d", got, want)
			}
			if d := h.Dropped(); d != 0 {
				t.Fatalf("dropped = %d, want 0", d)
			}
		})
	}
}

// TestCloseAnswerWaitsForABackedUpSocket: a viewer that closes while
// frames wait for its socket gets them all, in order, then our close frame
// with its code, and nothing after it.
func TestCloseAnswerWaitsForABackedUpSocket(t *testing.T) {
	h, srv := newTestHubWith(t, func(c *Config) { c.QueueSize = 1024 })
	v := joinRoom(t, srv)
	testenv.WaitFor(t, 10*time.Second, "the viewer in the room", func() bool { return h.ViewerCount("room_1") == 1 })
	c := roomClient(t, h)
	const frames = 30
	for i := range frames {
		h.broadcast("room_1", newMessage(seqFrame(i, 200_000), nil))
	}
	if !c.backedUp() {
		t.Fatal("the socket never backed up")
	}
	if err := v.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseGoingAway, "bye"), time.Now().Add(time.Second)); err != nil {
		t.Fatal(err)
	}
	testenv.WaitFor(t, 10*time.Second, "the close frame read", func() bool {
		c.wmu.Lock()
		defer c.wmu.Unlock()
		return c.closing
	})
	h.broadcast("room_1", newMessage(seqFrame(frames, 10), nil)) // after the close: never sent
	_ = v.SetReadDeadline(time.Now().Add(20 * time.Second))
	n := 0
	for {
		_, data, err := v.ReadMessage()
		if err != nil {
			var ce *websocket.CloseError
			if !errors.As(err, &ce) || ce.Code != websocket.CloseGoingAway {
				t.Fatalf("after %d frames: %v, want our close frame with code %d", n, err, websocket.CloseGoingAway)
			}
			break
		}
		if strings.Contains(string(data), `"type":"seq"`) {
			if !strings.Contains(string(data), fmt.Sprintf(`"n":%d,`, n)) {
				t.Fatalf("frame %d out of order: %.40s", n, data)
			}
			n++
		}
	}
	if n != frames {
		t.Fatalf("got %d frames before the close, want %d", n, frames)
	}
}

// TestStuckViewerIsCutAfterWriteWait: a viewer whose socket takes none of
// what waits for it is cut off after WriteWait and counted as slow, even
// with room in its queue; the room's other viewer gets every frame.
func TestStuckViewerIsCutAfterWriteWait(t *testing.T) {
	h, srv := newTestHubWith(t, func(c *Config) { c.QueueSize = 1024; c.WriteWait = 300 * time.Millisecond })
	stuck := joinRoom(t, srv)
	_ = stuck
	reader := joinRoom(t, srv)
	testenv.WaitFor(t, 10*time.Second, "two viewers", func() bool { return h.ViewerCount("room_1") == 2 })
	const frames = 40
	got := make(chan int, 1)
	go func() {
		n := 0
		_ = reader.SetReadDeadline(time.Now().Add(20 * time.Second))
		for n < frames {
			_, data, err := reader.ReadMessage()
			if err != nil {
				break
			}
			if strings.Contains(string(data), `"type":"seq"`) {
				n++
			}
		}
		got <- n
	}()
	for i := range frames {
		h.broadcast("room_1", newMessage(seqFrame(i, 200_000), nil))
	}
	if n := <-got; n != frames {
		t.Fatalf("the reading viewer got %d of %d frames", n, frames)
	}
	testenv.WaitFor(t, 10*time.Second, "the stuck viewer to be cut off", func() bool { return h.ViewerCount("room_1") == 1 })
	if d := h.Dropped(); d != 1 {
		t.Fatalf("dropped = %d, want 1", d)
	}
}

// TestPingsKeepAnsweringViewersAndCutSilentOnes: the hub pings every
// viewer; one that answers stays past many PongWaits, one that never reads
// (so never answers) is disconnected and counted as silent.
func TestPingsKeepAnsweringViewersAndCutSilentOnes(t *testing.T) {
	const pongWait = 400 * time.Millisecond
	h, srv := newTestHubWith(t, func(c *Config) { c.PongWait = pongWait })
	alive := joinRoom(t, srv)
	pings := make(chan struct{}, 100)
	alive.SetPingHandler(func(data string) error {
		pings <- struct{}{}
		return alive.WriteControl(websocket.PongMessage, []byte(data), time.Now().Add(time.Second))
	})
	frames := make(chan string, 100)
	go func() {
		for {
			_, data, err := alive.ReadMessage()
			if err != nil {
				close(frames)
				return
			}
			frames <- string(data)
		}
	}()
	silent := joinRoom(t, srv)
	_ = silent
	testenv.WaitFor(t, 10*time.Second, "the silent viewer to be cut off", func() bool { return h.Silent() == 1 })
	// Three more pings (pings go every PongWait*9/10) take the answering
	// viewer well past the PongWait it would be cut off after, were its
	// pongs not counted.
	cut := len(pings)
	testenv.WaitFor(t, 10*time.Second, "three more pings to the answering viewer", func() bool { return len(pings) >= cut+3 })
	if n := h.ViewerCount("room_1"); n != 1 {
		t.Fatalf("viewers = %d after %d pings, want the answering one only", n, len(pings))
	}
	if len(pings) < 3 {
		t.Fatalf("the answering viewer got %d pings", len(pings))
	}
	h.broadcast("room_1", newMessage([]byte(`{"type":"seq","n":1}`), nil))
	deadline := time.After(2 * time.Second)
	for {
		select {
		case f, ok := <-frames:
			if !ok {
				t.Fatal("the answering viewer was disconnected")
			}
			if strings.Contains(f, `"type":"seq"`) {
				return
			}
		case <-deadline:
			t.Fatal("the answering viewer got no broadcast")
		}
	}
}

// TestViewerPingAndCloseAreAnswered: a viewer's ping gets a pong with its
// payload, and its close frame a close frame with the same code, on a
// socket and on a connection without one.
func TestViewerPingAndCloseAreAnswered(t *testing.T) {
	for _, socket := range []bool{true, false} {
		t.Run(fmt.Sprintf("socket=%v", socket), func(t *testing.T) {
			h, srv := newTestHub(t, 64)
			v := joinRoom(t, srv)
			testenv.WaitFor(t, 10*time.Second, "the viewer in the room", func() bool { return h.ViewerCount("room_1") == 1 })
			if !socket {
				withoutSocket(roomClient(t, h))
			}
			pong := make(chan string, 1)
			v.SetPongHandler(func(s string) error { pong <- s; return nil })
			readErr := make(chan error, 1)
			go func() {
				for {
					if _, _, err := v.ReadMessage(); err != nil {
						readErr <- err
						return
					}
				}
			}()
			if err := v.WriteControl(websocket.PingMessage, []byte("are you there"), time.Now().Add(time.Second)); err != nil {
				t.Fatal(err)
			}
			select {
			case s := <-pong:
				if s != "are you there" {
					t.Fatalf("pong payload %q", s)
				}
			case <-time.After(2 * time.Second):
				t.Fatal("no pong")
			}
			if err := v.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseGoingAway, "bye"), time.Now().Add(time.Second)); err != nil {
				t.Fatal(err)
			}
			select {
			case err := <-readErr:
				var ce *websocket.CloseError
				if !errors.As(err, &ce) || ce.Code != websocket.CloseGoingAway {
					t.Fatalf("read ended with %v, want the server's close frame with code %d", err, websocket.CloseGoingAway)
				}
			case <-time.After(2 * time.Second):
				t.Fatal("no close frame")
			}
		})
	}
}

// TestNoViewerAfterClose: once the hub is closed, /ws refuses viewers.
func TestNoViewerAfterClose(t *testing.T) {
	h, srv := newTestHub(t, 64)
	h.Close()
	_, res, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(srv.URL, "http"), nil)
	if err == nil || res == nil || res.StatusCode != 503 {
		t.Fatalf("dial after Close = %v (%v), want 503", err, res)
	}
	if n := h.Connected(); n != 0 {
		t.Fatalf("connected = %d, want 0", n)
	}
}
