package graph

import (
	"context"
	"errors"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"flashlive/domain"
)

// quietFeed is a LiveFeed whose listeners hear nothing until their
// context ends: a subscription that stays open.
type quietFeed struct{}

func (quietFeed) Listen(ctx context.Context, _, _ string) (<-chan domain.LiveUpdate, error) {
	ch := make(chan domain.LiveUpdate)
	context.AfterFunc(ctx, func() { close(ch) })
	return ch, nil
}

// closes records what SocketObserver is told.
type closes struct {
	mu     sync.Mutex
	open   int
	codes  []int
	closed chan struct{}
}

func (c *closes) SocketOpened() { c.mu.Lock(); c.open++; c.mu.Unlock() }
func (c *closes) SocketClosed(code int, _ time.Duration) {
	c.mu.Lock()
	c.open--
	c.codes = append(c.codes, code)
	c.mu.Unlock()
	c.closed <- struct{}{}
}

// socketServer serves NewHandler over real HTTP, with a token "good" for
// user u1 and every other token refused.
func socketServer(t *testing.T, initTimeout time.Duration) (string, *closes) {
	t.Helper()
	obs := &closes{closed: make(chan struct{}, 16)}
	h := NewHandler(&Resolver{
		UserService: noUsers{}, ProductService: noProducts{}, LiveRoomService: noRooms{}, FlashEventService: noEvents{},
		Live: quietFeed{},
	}, Options{
		InitTimeout: initTimeout,
		Sockets:     obs,
		Authenticate: func(_ context.Context, token string) (domain.Principal, error) {
			if token != "good" {
				return domain.Principal{}, domain.Errorf(domain.EUNAUTHENTICATED, "bad token")
			}
			return domain.Principal{UserID: "u1", Role: domain.RoleBuyer}, nil
		},
	})
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return "ws" + strings.TrimPrefix(srv.URL, "http"), obs
}

// dialSocket opens a graphql-transport-ws socket.
func dialSocket(t *testing.T, url string) *websocket.Conn {
	t.Helper()
	d := websocket.Dialer{Subprotocols: []string{SocketProtocol}, HandshakeTimeout: 5 * time.Second}
	c, _, err := d.Dial(url, nil)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func send(t *testing.T, c *websocket.Conn, msg string) {
	t.Helper()
	if err := c.WriteMessage(websocket.TextMessage, []byte(msg)); err != nil {
		t.Fatalf("send %s: %v", msg, err)
	}
}

// readUntil reads messages until one contains want, and returns it.
func readUntil(t *testing.T, c *websocket.Conn, want string) string {
	t.Helper()
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	for {
		_, b, err := c.ReadMessage()
		if err != nil {
			t.Fatalf("waiting for a message with %s: %v", want, err)
		}
		if strings.Contains(string(b), want) {
			return string(b)
		}
	}
}

// closedWith reads until the server closes the socket and checks its code
// and reason.
func closedWith(t *testing.T, c *websocket.Conn, code int, reason string) {
	t.Helper()
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	for {
		_, b, err := c.ReadMessage()
		if err == nil {
			continue // messages sent before the close
		}
		var ce *websocket.CloseError
		if !errors.As(err, &ce) {
			t.Fatalf("socket ended with %v (after %q), want close %d %q", err, b, code, reason)
		}
		if ce.Code != code || ce.Text != reason {
			t.Fatalf("close = %d %q, want %d %q", ce.Code, ce.Text, code, reason)
		}
		return
	}
}

const (
	initMsg     = `{"type":"connection_init"}`
	subscribeOn = `{"id":"a","type":"subscribe","payload":{"query":"subscription { myOrderUpdates { id } }"}}`
)

// Every close code of graphql-transport-ws, each for its reason, as
// https://github.com/enisdenjo/graphql-ws/blob/master/PROTOCOL.md says.
func TestSocketCloseCodes(t *testing.T) {
	for _, tt := range []struct {
		name   string
		send   []string
		ack    bool // wait for connection_ack before the last message
		code   int
		reason string
	}{
		{"not JSON", []string{"hello"}, false, 4400, "Invalid message received: not a JSON object"},
		{"a JSON array", []string{`[1]`}, false, 4400, "Invalid message received: not a JSON object"},
		{"no type", []string{`{"id":"a"}`}, false, 4400, "Invalid message received: 'type' must be a string"},
		{"unknown type", []string{initMsg, `{"type":"start","id":"a"}`}, true, 4400, `Invalid message received: unknown type "start"`},
		{"subscribe without id", []string{initMsg, `{"type":"subscribe","payload":{"query":"{ __typename }"}}`}, true, 4400,
			`Invalid message received: "subscribe" needs a non-empty string 'id'`},
		{"subscribe with an empty id", []string{initMsg, `{"id":"","type":"subscribe","payload":{"query":"{ __typename }"}}`}, true, 4400,
			`Invalid message received: "subscribe" needs a non-empty string 'id'`},
		{"subscribe without a query", []string{initMsg, `{"id":"a","type":"subscribe","payload":{}}`}, true, 4400,
			`Invalid message received: "subscribe" payload needs a string 'query'`},
		{"init payload not an object", []string{`{"type":"connection_init","payload":"x"}`}, false, 4400,
			`Invalid message received: "connection_init" payload must be an object`},
		{"subscribe before init", []string{subscribeOn}, false, 4401, "Unauthorized"},
		{"bad token", []string{`{"type":"connection_init","payload":{"Authorization":"Bearer forged"}}`}, false, 4403, "Forbidden"},
		{"duplicate id", []string{`{"type":"connection_init","payload":{"Authorization":"Bearer good"}}`, subscribeOn, subscribeOn}, true, 4409,
			"Subscriber for a already exists"},
		{"second init", []string{initMsg, initMsg}, true, 4429, "Too many initialisation requests"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			url, obs := socketServer(t, time.Minute)
			c := dialSocket(t, url)
			for i, m := range tt.send {
				if tt.ack && i == 1 {
					readUntil(t, c, `"connection_ack"`)
				}
				send(t, c, m)
			}
			closedWith(t, c, tt.code, tt.reason)
			<-obs.closed
			obs.mu.Lock()
			defer obs.mu.Unlock()
			if len(obs.codes) != 1 || obs.codes[0] != tt.code || obs.open != 0 {
				t.Fatalf("observer saw closes %v with %d open, want [%d] and 0", obs.codes, obs.open, tt.code)
			}
		})
	}
}

// A socket that never sends connection_init is closed with 4408 after the
// init timeout.
func TestSocketInitTimeout(t *testing.T) {
	url, _ := socketServer(t, 100*time.Millisecond)
	c := dialSocket(t, url)
	closedWith(t, c, 4408, "Connection initialisation timeout")
}

// A socket that does not ask for graphql-transport-ws is closed with
// 4406, as graphql-ws's server does.
func TestSocketWithoutSubprotocol(t *testing.T) {
	url, _ := socketServer(t, time.Minute)
	c, _, err := websocket.DefaultDialer.Dial(url, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	closedWith(t, c, 4406, "Subprotocol not acceptable")
}

// A completed subscription frees its id: the client may reuse it at once;
// pings are answered with pongs carrying their payload; an operation's
// errors come as an error message for its id, and the socket stays open.
func TestSocketCompleteFreesID(t *testing.T) {
	url, obs := socketServer(t, time.Minute)
	c := dialSocket(t, url)
	send(t, c, `{"type":"connection_init","payload":{"Authorization":"Bearer good"}}`)
	readUntil(t, c, `"connection_ack"`)
	send(t, c, `{"type":"ping","payload":{"n":1}}`)
	if got, want := readUntil(t, c, `"pong"`), `{"payload":{"n":1},"type":"pong"}`; got != want {
		t.Fatalf("pong = %s, want %s", got, want)
	}
	send(t, c, subscribeOn)
	send(t, c, `{"id":"a","type":"complete"}`)
	send(t, c, subscribeOn) // the same id, free again
	send(t, c, `{"id":"b","type":"subscribe","payload":{"query":"{ nope }"}}`)
	got := readUntil(t, c, `"id":"b"`)
	if !strings.Contains(got, `"type":"error"`) || !strings.Contains(got, `"code":"INVALID"`) {
		t.Fatalf("answer to a bad query = %s, want an error message with code INVALID", got)
	}
	if err := c.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(1000, "bye"), time.Now().Add(time.Second)); err != nil {
		t.Fatal(err)
	}
	<-obs.closed
	obs.mu.Lock()
	defer obs.mu.Unlock()
	if len(obs.codes) != 1 || obs.codes[0] != 1000 {
		t.Fatalf("observer saw closes %v, want [1000] (the client's)", obs.codes)
	}
}
