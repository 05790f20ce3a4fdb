package scaleout

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"

	"flashlive/internal/stockframes"
)

// client is the balancer as seen from one loopback address (127.1.x.y):
// the balancer forwards that address in X-Forwarded-For, and the
// instances, which trust the balancer, count their per-address limits on
// it, as they would for many phones.
type client struct {
	base string
	from net.IP
	hc   *http.Client
}

// clientAddr is the i-th client address, 127.1.0.1 up to 127.1.0.254, then 127.1.1.1...
func clientAddr(i int) net.IP { return net.IPv4(127, 1, byte(i/254%256), byte(i%254+1)) }

func newClient(base string, from net.IP) *client {
	d := &net.Dialer{Timeout: 5 * time.Second, LocalAddr: &net.TCPAddr{IP: from}}
	tr := &http.Transport{DialContext: d.DialContext, MaxIdleConnsPerHost: 8, IdleConnTimeout: time.Minute}
	return &client{base: base, from: from, hc: &http.Client{Transport: tr, Timeout: 30 * time.Second}}
}

// gqlAnswer is a GraphQL answer: data, the first error's code ("" for
// none), the HTTP status.
type gqlAnswer struct {
	Status int
	Data   json.RawMessage
	Code   string
	Msg    string
	Retry  time.Duration
}

// do posts one operation; err is a transport failure or an answer that is
// not GraphQL (such as HAProxy's 503 page while no instance is up).
func (c *client) do(ctx context.Context, token, query string, vars map[string]any) (gqlAnswer, error) {
	body, _ := json.Marshal(map[string]any{"query": query, "variables": vars})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.base+"/graphql", bytes.NewReader(body))
	if err != nil {
		return gqlAnswer{}, err
	}
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := c.hc.Do(req)
	if err != nil {
		return gqlAnswer{}, err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(io.LimitReader(res.Body, 8<<20))
	if err != nil {
		return gqlAnswer{}, err
	}
	var out struct {
		Data   json.RawMessage
		Errors []struct {
			Message    string
			Extensions struct {
				Code         string
				RetryAfterMs int
			}
		}
	}
	if err := json.Unmarshal(b, &out); err != nil {
		return gqlAnswer{Status: res.StatusCode}, fmt.Errorf("status %d, not a GraphQL answer: %.200q", res.StatusCode, b)
	}
	a := gqlAnswer{Status: res.StatusCode, Data: out.Data}
	if len(out.Errors) > 0 {
		e := out.Errors[0]
		a.Code, a.Msg = cmpOr(e.Extensions.Code, "ERROR"), e.Message
		a.Retry = time.Duration(e.Extensions.RetryAfterMs) * time.Millisecond
	}
	return a, nil
}

// must runs an operation until it succeeds, riding out the balancer's and
// the instances' refusals (transport errors, RATE_LIMITED, UNAVAILABLE,
// INTERNAL) for up to three minutes (a loaded 2-core machine during a failover),
// and decodes its data into out.
func (c *client) must(ctx context.Context, token, query string, vars map[string]any, out any) error {
	deadline := time.Now().Add(3 * time.Minute)
	for attempt := 0; ; attempt++ {
		a, err := c.do(ctx, token, query, vars)
		// INTERNAL too: during a Redis failover an instance may answer
		// INTERNAL for a moment (a request that met the dead master).
		retry := err != nil || a.Code == "RATE_LIMITED" || a.Code == "UNAVAILABLE" || a.Code == "INTERNAL"
		switch {
		case !retry && a.Code != "":
			return fmt.Errorf("%s: %s", a.Code, a.Msg)
		case !retry:
			if out == nil {
				return nil
			}
			return json.Unmarshal(a.Data, out)
		case time.Now().After(deadline):
			return fmt.Errorf("still refused after 3 minutes: %v %s %s", err, a.Code, a.Msg)
		}
		if err := pause(ctx, max(a.Retry, backoff(attempt))); err != nil {
			return err
		}
	}
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// backoff is the wait before the attempt-th retry: 20ms doubling to 1s.
func backoff(attempt int) time.Duration {
	return min(20*time.Millisecond<<min(attempt, 6), time.Second)
}

// pause waits d as a client spacing its retries (not a test synchronising
// with the server), or until ctx ends.
func pause(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// viewer is one /ws connection watching the room through the balancer; it
// reconnects (through the balancer, from the same address) when its
// socket drops, as the demo page does, and keeps the last stock level of
// each event from stock frames and snapshots.
type viewer struct {
	mu   sync.Mutex
	last stockframes.Levels
	conn *websocket.Conn
}

// audience is the test's viewers.
type audience struct {
	url     string
	join    []byte
	viewers []*viewer
	closing atomic.Bool
	wg      sync.WaitGroup
	rejoins atomic.Int64 // sockets reopened after a drop
	failed  atomic.Int64 // viewers that could not reconnect within a minute
}

// connectAudience opens n viewers of room, the i-th from clientAddr(i),
// 32 dials at a time.
func connectAudience(ctx context.Context, base, room string, n int) (*audience, error) {
	join, _ := json.Marshal(map[string]string{"type": "join", "room": room})
	au := &audience{url: "ws" + strings.TrimPrefix(base, "http") + "/ws", join: join, viewers: make([]*viewer, n)}
	errs := make(chan error, n)
	next := make(chan int)
	var dials sync.WaitGroup
	for range 32 {
		dials.Go(func() {
			for i := range next {
				v := &viewer{last: stockframes.Levels{}}
				c, err := au.connect(ctx, clientAddr(i))
				if err != nil {
					errs <- fmt.Errorf("viewer %d: %w", i, err)
					continue
				}
				v.conn = c
				au.viewers[i] = v
				au.wg.Go(func() { au.read(ctx, v, clientAddr(i)) })
			}
		})
	}
	for i := range n {
		next <- i
	}
	close(next)
	dials.Wait()
	close(errs)
	if err := <-errs; err != nil {
		au.close()
		return nil, err
	}
	return au, nil
}

// connect opens a socket from from and joins the room, retrying for
// two minutes while the balancer or the instances refuse.
func (au *audience) connect(ctx context.Context, from net.IP) (*websocket.Conn, error) {
	nd := &net.Dialer{Timeout: 5 * time.Second, LocalAddr: &net.TCPAddr{IP: from}}
	d := websocket.Dialer{NetDialContext: nd.DialContext, HandshakeTimeout: 10 * time.Second, ReadBufferSize: 4096, WriteBufferSize: 512}
	deadline := time.Now().Add(2 * time.Minute)
	for attempt := 0; ; attempt++ {
		c, _, err := d.DialContext(ctx, au.url, nil)
		if err == nil {
			if err = c.WriteMessage(websocket.TextMessage, au.join); err == nil {
				return c, nil
			}
			c.Close()
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return nil, err
		}
		if err := pause(ctx, 100*time.Millisecond+backoff(attempt)); err != nil {
			return nil, err
		}
	}
}

// read handles v's frames until the audience closes.
func (au *audience) read(ctx context.Context, v *viewer, from net.IP) {
	for {
		v.mu.Lock()
		conn := v.conn
		v.mu.Unlock()
		_, data, err := conn.ReadMessage()
		if err != nil {
			conn.Close()
			if au.closing.Load() {
				return
			}
			c, err := au.connect(ctx, from)
			if err != nil {
				au.failed.Add(1)
				return
			}
			au.rejoins.Add(1)
			v.mu.Lock()
			v.conn = c
			v.mu.Unlock()
			if au.closing.Load() {
				c.Close()
				return
			}
			continue
		}
		v.mu.Lock()
		v.last.Read(data)
		v.mu.Unlock()
	}
}

// notOn counts the viewers whose last stock level of event is not want
// (or who saw none), and returns one of their levels (-1: none seen).
func (au *audience) notOn(event string, want int) (n, example int) {
	for _, v := range au.viewers {
		v.mu.Lock()
		got := v.last.Of(event)
		v.mu.Unlock()
		if got != want {
			n, example = n+1, got
		}
	}
	return n, example
}

// close ends every viewer and waits for the readers.
func (au *audience) close() {
	au.closing.Store(true)
	for _, v := range au.viewers {
		if v == nil {
			continue
		}
		v.mu.Lock()
		c := v.conn
		v.mu.Unlock()
		_ = c.Close()
	}
	au.wg.Wait()
}
