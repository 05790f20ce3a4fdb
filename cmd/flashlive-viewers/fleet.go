//go:build linux

package main

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// A fleet is many WebSocket viewers read by a few epoll loops rather than
// a goroutine each: the load tool shares the machine with the server it
// measures, so it must cost as little per frame as it can. Each viewer is
// a plain socket speaking RFC 6455: an HTTP upgrade, masked frames to the
// server, unmasked frames from it (pings answered, close honoured).
type fleet struct {
	loops []*loop
	stop  chan struct{}
	wg    sync.WaitGroup
}

// loop owns the viewers of one epoll instance; only its goroutine touches
// them once it runs.
type loop struct {
	ep      int
	viewers []*viewer        // by socket descriptor; nil where none
	seen    map[int]*arrival // stock frames, by remaining
	frames  atomic.Int64     // stock frames read
	dropped atomic.Int64     // viewers the server closed
	stopped atomic.Bool
}

type viewer struct {
	fd     int
	buf    []byte // the start of a frame not read in full yet
	frames int    // stock frames read
}

// arrival is what a loop saw of one stock frame.
type arrival struct {
	built time.Time // its serverTime
	last  time.Time // when the loop's last viewer had it
}

// dialViewers connects n viewers to ws://addr/ws, each joining room, over
// parallel dials, and spreads them over loops epoll loops (not started).
func dialViewers(addr string, n, loops int, room string) (*fleet, error) {
	f := &fleet{stop: make(chan struct{})}
	for range loops {
		ep, err := syscall.EpollCreate1(syscall.EPOLL_CLOEXEC)
		if err != nil {
			f.close()
			return nil, err
		}
		f.loops = append(f.loops, &loop{ep: ep, seen: map[int]*arrival{}})
	}
	join := clientFrame(0x1, []byte(`{"type":"join","room":"`+room+`"}`))
	vs := make([]*viewer, n)
	var next atomic.Int64
	var firstErr error
	var errOnce sync.Once
	var wg sync.WaitGroup
	for range 16 {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				v, err := dialViewer(addr, join)
				if err != nil {
					errOnce.Do(func() { firstErr = fmt.Errorf("viewer %d: %w", i, err) })
					next.Store(int64(n))
					return
				}
				vs[i] = v
			}
		})
	}
	wg.Wait()
	for i, v := range vs {
		if v == nil {
			continue
		}
		l := f.loops[i%loops]
		if v.fd >= len(l.viewers) {
			l.viewers = append(l.viewers, make([]*viewer, v.fd+1-len(l.viewers))...)
		}
		l.viewers[v.fd] = v
		ev := syscall.EpollEvent{Events: syscall.EPOLLIN | syscall.EPOLLRDHUP, Fd: int32(v.fd)}
		if err := syscall.EpollCtl(l.ep, syscall.EPOLL_CTL_ADD, v.fd, &ev); err != nil && firstErr == nil {
			firstErr = err
		}
	}
	if firstErr != nil {
		f.close()
		return nil, firstErr
	}
	return f, nil
}

// dialViewer upgrades one connection to a WebSocket and sends join, with
// the runtime's sockets; then it takes the socket out of the runtime's
// hands (a duplicate of it, the original closed), for an epoll loop.
func dialViewer(addr string, join []byte) (*viewer, error) {
	conn, err := net.DialTimeout("tcp4", addr, 10*time.Second)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	var key [16]byte
	binary.LittleEndian.PutUint64(key[:], rand.Uint64())
	binary.LittleEndian.PutUint64(key[8:], rand.Uint64())
	req := "GET /ws HTTP/1.1\r\nHost: " + addr + "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Key: " + base64.StdEncoding.EncodeToString(key[:]) + "\r\nSec-WebSocket-Version: 13\r\n\r\n"
	if _, err := conn.Write([]byte(req)); err != nil {
		return nil, err
	}
	var head []byte
	buf := make([]byte, 1024)
	for !bytes.Contains(head, []byte("\r\n\r\n")) {
		if len(head) > 8192 {
			return nil, errors.New("upgrade answer too long")
		}
		m, err := conn.Read(buf)
		if err != nil {
			return nil, fmt.Errorf("read upgrade answer: %w", err)
		}
		head = append(head, buf[:m]...)
	}
	if !bytes.HasPrefix(head, []byte("HTTP/1.1 101 ")) {
		line, _, _ := bytes.Cut(head, []byte("\r\n"))
		return nil, fmt.Errorf("upgrade refused: %s", line)
	}
	_, rest, _ := bytes.Cut(head, []byte("\r\n\r\n"))
	if _, err := conn.Write(join); err != nil {
		return nil, err
	}
	file, err := conn.(*net.TCPConn).File()
	if err != nil {
		return nil, err
	}
	fd, err := syscall.Dup(int(file.Fd()))
	file.Close()
	if err != nil {
		return nil, err
	}
	syscall.CloseOnExec(fd)
	if err := syscall.SetNonblock(fd, true); err != nil {
		_ = syscall.Close(fd)
		return nil, err
	}
	return &viewer{fd: fd, buf: append([]byte(nil), rest...)}, nil
}

// run starts the loops; close stops them.
func (f *fleet) run() {
	for _, l := range f.loops {
		f.wg.Go(func() { l.run(f.stop) })
	}
}

// close stops the loops and closes every socket.
func (f *fleet) close() {
	select {
	case <-f.stop:
	default:
		close(f.stop)
	}
	for _, l := range f.loops {
		l.stopped.Store(true)
	}
	f.wg.Wait()
	for _, l := range f.loops {
		for _, v := range l.viewers {
			if v != nil {
				_ = syscall.Close(v.fd)
			}
		}
		_ = syscall.Close(l.ep)
	}
}

func (l *loop) run(stop <-chan struct{}) {
	events := make([]syscall.EpollEvent, 512)
	buf := make([]byte, 64<<10)
	// What a viewer's upgrade read past its answer raises no readiness:
	// handle it first.
	for _, v := range l.viewers {
		if v != nil && len(v.buf) > 0 {
			l.parse(v, v.buf, time.Now())
		}
	}
	for {
		select {
		case <-stop:
			return
		default:
		}
		n, err := syscall.EpollWait(l.ep, events, 100)
		if err != nil && !errors.Is(err, syscall.EINTR) {
			panic(fmt.Sprintf("epoll_wait: %v", err))
		}
		for _, ev := range events[:max(n, 0)] {
			if v := l.viewers[ev.Fd]; v != nil { // gone when dropped earlier in the batch
				l.read(v, buf)
			}
		}
	}
}

// read takes what the socket has and handles the whole frames in it.
func (l *loop) read(v *viewer, buf []byte) {
	m, err := syscall.Read(v.fd, buf)
	if errors.Is(err, syscall.EAGAIN) {
		return
	}
	if m <= 0 || err != nil {
		l.drop(v)
		return
	}
	at := time.Now()
	data := buf[:m]
	if len(v.buf) > 0 {
		v.buf = append(v.buf, data...)
		data = v.buf
	}
	l.parse(v, data, at)
}

// parse handles the whole frames at the start of data and keeps the rest.
func (l *loop) parse(v *viewer, data []byte, at time.Time) {
	for {
		op, payload, size := nextFrame(data)
		if size == 0 {
			break
		}
		switch op {
		case 0x1:
			l.text(v, payload, at)
		case 0x8:
			l.drop(v)
			return
		case 0x9:
			_ = writeAll(v.fd, clientFrame(0xA, payload))
		}
		data = data[size:]
	}
	v.buf = append(v.buf[:0], data...) // copy: data may be the read buffer
}

// text counts a stock frame and when it arrived.
func (l *loop) text(v *viewer, payload []byte, at time.Time) {
	if !bytes.Contains(payload, []byte(`"type":"stock"`)) {
		return
	}
	remaining, ok := intField(payload, `"remaining":`)
	if !ok {
		return
	}
	v.frames++
	l.frames.Add(1)
	a := l.seen[remaining]
	if a == nil {
		a = &arrival{built: serverTime(payload)}
		l.seen[remaining] = a
	}
	if at.After(a.last) {
		a.last = at
	}
}

func (l *loop) drop(v *viewer) {
	if !l.stopped.Load() {
		l.dropped.Add(1)
	}
	_ = syscall.EpollCtl(l.ep, syscall.EPOLL_CTL_DEL, v.fd, nil)
	_ = syscall.Close(v.fd)
	l.viewers[v.fd] = nil
}

// nextFrame splits the first whole server frame off data: its opcode, its
// payload and its size on the wire (0 when data holds no whole frame).
func nextFrame(data []byte) (op byte, payload []byte, size int) {
	if len(data) < 2 {
		return 0, nil, 0
	}
	n, head := int(data[1]&0x7f), 2
	switch n {
	case 126:
		if len(data) < 4 {
			return 0, nil, 0
		}
		n, head = int(binary.BigEndian.Uint16(data[2:])), 4
	case 127:
		if len(data) < 10 {
			return 0, nil, 0
		}
		n, head = int(binary.BigEndian.Uint64(data[2:])), 10
	}
	if len(data) < head+n {
		return 0, nil, 0
	}
	return data[0] & 0x0f, data[head : head+n], head + n
}

// clientFrame frames payload (under 126 bytes) as a client must: masked.
func clientFrame(op byte, payload []byte) []byte {
	mask := rand.Uint32()
	b := make([]byte, 6, 6+len(payload))
	b[0], b[1] = 0x80|op, 0x80|byte(len(payload))
	binary.BigEndian.PutUint32(b[2:], mask)
	for i, c := range payload {
		b = append(b, c^b[2+i%4])
	}
	return b
}

// serverTime reads a frame's "serverTime" (zero when absent).
func serverTime(payload []byte) time.Time {
	const key = `"serverTime":"`
	i := bytes.Index(payload, []byte(key))
	if i < 0 {
		return time.Time{}
	}
	rest := payload[i+len(key):]
	j := bytes.IndexByte(rest, '"')
	if j < 0 {
		return time.Time{}
	}
	t, _ := time.Parse(time.RFC3339Nano, string(rest[:j]))
	return t
}

func writeAll(fd int, b []byte) error {
	for len(b) > 0 {
		m, err := syscall.Write(fd, b)
		if errors.Is(err, syscall.EINTR) {
			continue
		}
		if err != nil {
			return err
		}
		b = b[m:]
	}
	return nil
}

// cpuSeconds is this process's CPU time so far, user and system.
func cpuSeconds() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	sec := func(tv syscall.Timeval) float64 { return float64(tv.Sec) + float64(tv.Usec)/1e6 }
	return sec(ru.Utime) + sec(ru.Stime)
}
