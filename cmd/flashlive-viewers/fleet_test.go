//go:build linux

package main

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"flashlive/internal/testenv"
)

// serverFrame frames payload as a server does: unmasked, FIN set.
func serverFrame(op byte, payload []byte) []byte {
	n := len(payload)
	var b []byte
	switch {
	case n < 126:
		b = []byte{0x80 | op, byte(n)}
	case n <= 0xFFFF:
		b = []byte{0x80 | op, 126, 0, 0}
		binary.BigEndian.PutUint16(b[2:], uint16(n))
	default:
		b = []byte{0x80 | op, 127, 0, 0, 0, 0, 0, 0, 0, 0}
		binary.BigEndian.PutUint64(b[2:], uint64(n))
	}
	return append(b, payload...)
}

// TestNextFrameSplitsEveryLengthEncoding: whole frames of each RFC 6455
// length encoding come out whole; a frame one byte short is not a frame.
func TestNextFrameSplitsEveryLengthEncoding(t *testing.T) {
	for _, n := range []int{0, 1, 125, 126, 127, 65535, 65536, 70000} {
		payload := bytes.Repeat([]byte{'x'}, n)
		f := serverFrame(0x1, payload)
		op, got, size := nextFrame(append(f, serverFrame(0x9, nil)...))
		if op != 0x1 || !bytes.Equal(got, payload) || size != len(f) {
			t.Fatalf("%d bytes: op %d, payload %d bytes, size %d; want 1, %d, %d", n, op, len(got), size, n, len(f))
		}
		if _, _, size := nextFrame(f[:len(f)-1]); size != 0 {
			t.Fatalf("%d bytes: a frame one byte short split as %d bytes", n, size)
		}
	}
}

// TestViewerSpeaksWebSocketToGorilla: a viewer of the tool upgrades, sends
// a masked join that a gorilla server reads, reads a stock frame larger
// than one read buffer, and answers the server's ping with a pong.
func TestViewerSpeaksWebSocketToGorilla(t *testing.T) {
	joined := make(chan string, 1)
	ponged := make(chan string, 1)
	stock := `{"type":"stock","remaining":41,"serverTime":"2026-11-24T10:00:00.250Z","pad":"` + strings.Repeat("p", 100_000) + `"}`
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ws, err := (&websocket.Upgrader{}).Upgrade(w, r, nil)
		if err != nil {
			return
		}
		defer ws.Close()
		ws.SetPongHandler(func(s string) error { ponged <- s; return nil })
		_, join, err := ws.ReadMessage()
		if err != nil {
			return
		}
		joined <- string(join)
		_ = ws.WriteMessage(websocket.TextMessage, []byte(stock))
		_ = ws.WriteControl(websocket.PingMessage, []byte("still there?"), time.Now().Add(time.Second))
		_, _, _ = ws.ReadMessage() // until the test ends
	}))
	defer srv.Close()

	addr := strings.TrimPrefix(srv.URL, "http://")
	v, err := dialViewer(addr, clientFrame(0x1, []byte(`{"type":"join","room":"room_1"}`)))
	if err != nil {
		t.Fatal(err)
	}
	l := &loop{seen: map[int]*arrival{}, viewers: make([]*viewer, v.fd+1)}
	l.viewers[v.fd] = v
	defer syscall.Close(v.fd)
	if got := <-joined; got != `{"type":"join","room":"room_1"}` {
		t.Fatalf("the server read %q", got)
	}
	buf := make([]byte, 4096) // smaller than the frame: it arrives in parts
	testenv.WaitForCheck(t, 5*time.Second, "the stock frame and the pong", func() error {
		l.read(v, buf)
		if v.frames == 0 || len(ponged) == 0 {
			return fmt.Errorf("%d stock frames, %d pongs", v.frames, len(ponged))
		}
		return nil
	})
	a := l.seen[41]
	want := time.Date(2026, 11, 24, 10, 0, 0, 250e6, time.UTC)
	if v.frames != 1 || a == nil || !a.built.Equal(want) || a.last.IsZero() {
		t.Fatalf("frames %d, arrival %+v; want one frame for remaining 41 built at %s", v.frames, a, want)
	}
	if got := <-ponged; got != "still there?" {
		t.Fatalf("pong %q", got)
	}
	if l.dropped.Load() != 0 {
		t.Fatal("the viewer was counted as dropped")
	}
}
