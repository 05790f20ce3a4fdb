package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"

	"flashlive/internal/stockframes"
)

// viewer is one /ws connection watching the room: the last stock level
// it saw of each event, and how late the frames that carry a server
// timestamp arrived.
type viewer struct {
	from net.IP

	mu     sync.Mutex // guards what follows
	conn   *websocket.Conn
	last   stockframes.Levels // from stock frames and the snapshot
	delays []time.Duration
	closed bool // the server ended the connection before the bench did
}

// audience is the bench's viewers and the goroutines reading them.
type audience struct {
	rec     *recorder
	offset  time.Duration // server clock minus ours
	viewers []*viewer
	wg      sync.WaitGroup
	closing atomic.Bool
	dropped atomic.Int64 // sockets the server closed
	rejoins atomic.Int64 // of which a new socket took over, as a page would
	url     string
	join    []byte
}

// wsFrame is the part of a /ws frame the bench times frames by (the
// stock levels are stockframes.Levels').
type wsFrame struct {
	Type       string `json:"type"`
	ServerTime string `json:"serverTime"`
}

// connectAudience opens m viewers of room, the i-th dialling from
// addr(i), a few dozen dials at a time, each reading in a goroutine of
// its own until close.
func connectAudience(ctx context.Context, rec *recorder, base *url.URL, room string, m int, addr func(int) net.IP, offset time.Duration) (*audience, error) {
	au := &audience{rec: rec, offset: offset, viewers: make([]*viewer, m)}
	wsURL := *base
	wsURL.Scheme = map[string]string{"http": "ws", "https": "wss"}[base.Scheme]
	wsURL.Path = "/ws"
	join, _ := json.Marshal(map[string]string{"type": "join", "room": room})
	au.url, au.join = wsURL.String(), join
	errs := make([]error, m)
	next := make(chan int)
	var dials sync.WaitGroup
	for range 32 {
		dials.Go(func() {
			for i := range next {
				au.viewers[i], errs[i] = au.dial(ctx, addr(i))
			}
		})
	}
	for i := range m {
		if ctx.Err() != nil {
			break
		}
		next <- i
	}
	close(next)
	dials.Wait()
	for i, err := range errs {
		if err != nil {
			au.close()
			return nil, fmt.Errorf("viewer %d of %d: %w", i+1, m, err)
		}
	}
	return au, ctx.Err()
}

// dial connects one viewer, joins the room and starts its reader.
func (au *audience) dial(ctx context.Context, from net.IP) (*viewer, error) {
	conn, err := au.connect(ctx, from)
	if err != nil {
		return nil, err
	}
	v := &viewer{conn: conn, from: from, last: stockframes.Levels{}}
	au.rec.viewers.Add(1)
	au.wg.Go(func() { au.read(ctx, v) })
	return v, nil
}

// connect opens a socket from from and joins the room.
func (au *audience) connect(ctx context.Context, from net.IP) (*websocket.Conn, error) {
	u, join := au.url, au.join
	nd := &net.Dialer{Timeout: 10 * time.Second}
	if from != nil {
		nd.LocalAddr = &net.TCPAddr{IP: from}
	}
	d := websocket.Dialer{NetDialContext: nd.DialContext, HandshakeTimeout: 10 * time.Second, ReadBufferSize: 4096, WriteBufferSize: 512}
	var conn *websocket.Conn
	for attempt := 0; ; attempt++ {
		c, res, err := d.DialContext(ctx, u, nil)
		if err == nil {
			conn = c
			break
		}
		if res != nil && res.StatusCode == http.StatusTooManyRequests && attempt < 10 {
			// The server's per-address limit on new sockets: wait as a
			// person reloading the page would.
			if err := sleep(ctx, jitter(time.Second)); err != nil {
				return nil, err
			}
			continue
		}
		if res != nil {
			return nil, fmt.Errorf("upgrade refused with %s", res.Status)
		}
		return nil, err
	}
	if err := conn.WriteMessage(websocket.TextMessage, join); err != nil {
		conn.Close()
		return nil, err
	}
	return conn, nil
}

// read handles a viewer's frames until the bench closes it. When the
// server closes it first (a viewer too slow to keep up is cut off), the
// viewer opens a new socket, as the demo page does, a few times at most;
// the new socket's snapshot brings it up to date.
func (au *audience) read(ctx context.Context, v *viewer) {
	defer au.rec.viewers.Add(-1)
	for {
		v.mu.Lock()
		conn := v.conn
		v.mu.Unlock()
		_, data, err := conn.ReadMessage()
		if err != nil {
			if au.closing.Load() {
				return
			}
			au.dropped.Add(1)
			for attempt := 0; attempt < 5 && !au.closing.Load(); attempt++ {
				if sleep(ctx, jitter(200*time.Millisecond)) != nil {
					break
				}
				if c, err := au.connect(ctx, v.from); err == nil {
					au.rejoins.Add(1)
					v.mu.Lock()
					v.conn = c
					v.mu.Unlock()
					if au.closing.Load() {
						c.Close()
						return
					}
					break
				}
			}
			v.mu.Lock()
			reopened := v.conn != conn
			v.closed = !reopened
			v.mu.Unlock()
			if !reopened {
				return
			}
			continue
		}
		at := time.Now()
		au.rec.frames.Add(1)
		var f wsFrame
		timed := json.Unmarshal(data, &f) == nil && f.ServerTime != "" && (f.Type == "stock" || f.Type == "countdown")
		v.mu.Lock()
		v.last.Read(data)
		if timed {
			if t, err := time.Parse(time.RFC3339Nano, f.ServerTime); err == nil {
				v.delays = append(v.delays, max(0, at.Add(au.offset).Sub(t)))
			}
		}
		v.mu.Unlock()
	}
}

// lastStock returns each viewer's last stock level of event (-1 when it
// saw none) and whether the server cut it off.
func (au *audience) lastStock(event string) (levels []int, cut []bool) {
	for _, v := range au.viewers {
		v.mu.Lock()
		levels = append(levels, v.last.Of(event))
		cut = append(cut, v.closed)
		v.mu.Unlock()
	}
	return levels, cut
}

// frameDelays returns every viewer's frame delays, sorted.
func (au *audience) frameDelays() []time.Duration {
	var all []time.Duration
	for _, v := range au.viewers {
		v.mu.Lock()
		all = append(all, v.delays...)
		v.mu.Unlock()
	}
	slices.Sort(all)
	return all
}

// close ends every viewer and waits for the readers.
func (au *audience) close() {
	au.closing.Store(true)
	for _, v := range au.viewers {
		if v != nil {
			v.mu.Lock()
			c := v.conn
			v.mu.Unlock()
			_ = c.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""), time.Now().Add(time.Second))
			_ = c.Close()
		}
	}
	au.wg.Wait()
}
