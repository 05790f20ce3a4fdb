package graph

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/99designs/gqlgen/graphql"
	coderws "github.com/coder/websocket"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"flashlive/domain"
)

// SocketProtocol is the one WebSocket subprotocol /graphql speaks:
// graphql-transport-ws, as the graphql-ws npm client and Apollo speak it
// (https://github.com/enisdenjo/graphql-ws/blob/master/PROTOCOL.md).
const SocketProtocol = "graphql-transport-ws"

// DefaultInitTimeout is how long a subscription socket may wait before it
// sends connection_init when Options.InitTimeout is zero: graphql-ws's own
// default (connectionInitWaitTimeout).
const DefaultInitTimeout = 3 * time.Second

// The close codes of graphql-transport-ws, and 1000 for a normal end.
const (
	CloseNormal           = 1000
	CloseBadRequest       = 4400 // a message that is not JSON, of no known type, or malformed
	CloseUnauthorized     = 4401 // subscribe before connection_ack
	CloseForbidden        = 4403 // bad credentials, or their sign-in ended
	CloseSubprotocol      = 4406 // the client did not ask for graphql-transport-ws
	CloseInitTimeout      = 4408 // no connection_init in time
	CloseSubscriberExists = 4409 // a subscribe with an id already in use
	CloseTooManyInits     = 4429 // a second connection_init
	CloseInternal         = 4500
)

// SocketObserver is told when subscription sockets open and close, for
// metrics. Its methods must not block.
type SocketObserver interface {
	// SocketOpened is called when a socket has been accepted.
	SocketOpened()
	// SocketClosed is called once per opened socket when it has closed,
	// with its close code (the server's when the server closed it, the
	// client's otherwise, 1006 when the connection just dropped) and how
	// long it lasted.
	SocketClosed(code int, lasted time.Duration)
}

// socketInit runs on a socket's connection_init: it returns the context
// the socket's operations run in, or an error that closes the socket.
type socketInit func(ctx context.Context, payload map[string]any) (context.Context, error)

// socketWriteWait bounds one write to a subscriber: a socket that cannot
// take a frame for that long is closed rather than left holding memory.
const socketWriteWait = 10 * time.Second

// socketReadLimit is the largest message a subscriber may send.
const socketReadLimit = 1 << 20

// socketTransport serves GraphQL subscriptions (and any operation) over
// WebSocket with graphql-transport-ws only, closing with exactly the
// protocol's codes. It replaces gqlgen's transport.Websocket, which closes
// with 1000/1002 where the protocol says 4400, 4401, 4408 and 4429, accepts
// a duplicate id and answers nothing to a subscribe without one.
type socketTransport struct {
	accept      coderws.AcceptOptions
	initTimeout time.Duration
	// init authenticates a connection_init payload; an error closes the
	// socket with 4403. The context it returns is the connection's.
	init     socketInit
	logger   *slog.Logger
	observer SocketObserver
}

var _ graphql.Transport = socketTransport{}

// Supports implements graphql.Transport: every upgrade request.
func (t socketTransport) Supports(r *http.Request) bool { return r.Header.Get("Upgrade") != "" }

// Do implements graphql.Transport.
func (t socketTransport) Do(w http.ResponseWriter, r *http.Request, exec graphql.GraphExecutor) {
	opts := t.accept
	opts.Subprotocols = []string{SocketProtocol}
	conn, err := coderws.Accept(w, r, &opts)
	if err != nil {
		return // Accept answered the request with its reason
	}
	if conn.Subprotocol() != SocketProtocol {
		_ = conn.Close(CloseSubprotocol, "Subprotocol not acceptable")
		return
	}
	conn.SetReadLimit(socketReadLimit)
	s := &socket{t: t, conn: conn, exec: exec, headers: r.Header, ops: map[string]*socketOp{}, opened: time.Now()}
	if t.observer != nil {
		t.observer.SocketOpened()
	}
	s.serve(r.Context())
}

// socket is one graphql-transport-ws connection.
type socket struct {
	t       socketTransport
	conn    *coderws.Conn
	exec    graphql.GraphExecutor
	headers http.Header
	opened  time.Time
	ctx     context.Context // the connection's: ends when it closes
	running sync.WaitGroup  // its operations, and the close handshake

	mu          sync.Mutex
	initialised bool
	acked       bool
	ops         map[string]*socketOp
	closed      bool
	code        int
	reason      string
}

type socketOp struct{ cancel context.CancelFunc }

// serve reads the client's messages until the socket closes, then waits
// for its operations to end.
func (s *socket) serve(ctx context.Context) {
	ctx, cancel := context.WithCancel(ctx)
	ctx = context.WithValue(ctx, socketRefKey{}, &socketRef{close: s.close})
	s.ctx = ctx
	timeout := s.t.initTimeout
	if timeout <= 0 {
		timeout = DefaultInitTimeout
	}
	initTimer := time.AfterFunc(timeout, func() {
		s.mu.Lock()
		late := !s.initialised
		s.mu.Unlock()
		if late {
			s.close(CloseInitTimeout, "Connection initialisation timeout")
		}
	})
	var readErr error
	for {
		typ, data, err := s.conn.Read(ctx)
		if err != nil {
			readErr = err
			break
		}
		if typ != coderws.MessageText {
			s.close(CloseBadRequest, "Invalid message received: not a text frame")
			continue
		}
		if code, reason := s.handle(data); code != 0 {
			s.close(code, reason)
		}
	}
	initTimer.Stop()
	s.mu.Lock()
	byServer, code, reason := s.closed, s.code, s.reason
	s.closed = true // from here on nothing starts: running only shrinks
	s.mu.Unlock()
	cancel()
	s.endOps()
	s.running.Wait()
	if !byServer {
		code = int(coderws.CloseStatus(readErr))
		if code < 0 {
			code = 1006 // the connection dropped without a close frame
		}
		_ = s.conn.CloseNow()
	}
	lasted := time.Since(s.opened)
	if s.t.observer != nil {
		s.t.observer.SocketClosed(code, lasted)
	}
	who := ""
	if p, ok := domain.PrincipalFromContext(s.ctx); ok {
		who = p.UserID
	}
	s.t.logger.InfoContext(ctx, "graphql socket closed", "close_code", code, "close_reason", reason,
		"closed_by", map[bool]string{true: "server", false: "client"}[byServer], "user_id", who,
		"lasted_ms", lasted.Milliseconds())
}

// close closes the socket with code and reason, once; the first close
// wins. It is safe from any goroutine.
func (s *socket) close(code int, reason string) {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	s.closed, s.code, s.reason = true, code, closeReason(reason)
	s.running.Add(1)
	s.mu.Unlock()
	s.endOps()
	// Close sends the close frame and waits (a bounded while) for the
	// client's; the read loop then ends, and serve waits for this.
	go func() {
		defer s.running.Done()
		_ = s.conn.Close(coderws.StatusCode(code), closeReason(reason))
	}()
}

// endOps cancels every running operation.
func (s *socket) endOps() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for id, op := range s.ops {
		op.cancel()
		delete(s.ops, id)
	}
}

// clientMessage is a message of the client, its fields kept raw so that
// their types can be checked as the protocol says.
type clientMessage struct {
	Type    json.RawMessage `json:"type"`
	ID      json.RawMessage `json:"id"`
	Payload json.RawMessage `json:"payload"`
}

// subscribePayload is the payload of a subscribe message.
type subscribePayload struct {
	Query         json.RawMessage `json:"query"`
	OperationName json.RawMessage `json:"operationName"`
	Variables     json.RawMessage `json:"variables"`
	Extensions    json.RawMessage `json:"extensions"`
}

// handle acts on one message of the client; a non-zero code closes the
// socket with it.
func (s *socket) handle(data []byte) (int, string) {
	var m clientMessage
	if err := json.Unmarshal(data, &m); err != nil {
		return CloseBadRequest, "Invalid message received: not a JSON object"
	}
	var typ string
	if err := json.Unmarshal(m.Type, &typ); err != nil || typ == "" {
		return CloseBadRequest, "Invalid message received: 'type' must be a string"
	}
	switch typ {
	case "connection_init":
		if !objectOrNull(m.Payload) {
			return CloseBadRequest, `Invalid message received: "connection_init" payload must be an object`
		}
		return s.connectionInit(m.Payload)
	case "ping":
		if !objectOrNull(m.Payload) {
			return CloseBadRequest, `Invalid message received: "ping" payload must be an object`
		}
		pong := map[string]any{"type": "pong"}
		if !isNull(m.Payload) {
			pong["payload"] = m.Payload
		}
		s.write(pong)
	case "pong":
		if !objectOrNull(m.Payload) {
			return CloseBadRequest, `Invalid message received: "pong" payload must be an object`
		}
	case "subscribe":
		return s.subscribe(m)
	case "complete":
		id, ok := messageID(m.ID)
		if !ok {
			return CloseBadRequest, `Invalid message received: "complete" needs a non-empty string 'id'`
		}
		s.mu.Lock()
		if op := s.ops[id]; op != nil {
			op.cancel()
			delete(s.ops, id) // the client may reuse the id at once
		}
		s.mu.Unlock()
	default:
		return CloseBadRequest, fmt.Sprintf("Invalid message received: unknown type %q", typ)
	}
	return 0, ""
}

// connectionInit authenticates the connection and acknowledges it.
func (s *socket) connectionInit(raw json.RawMessage) (int, string) {
	s.mu.Lock()
	again := s.initialised
	s.initialised = true
	s.mu.Unlock()
	if again {
		return CloseTooManyInits, "Too many initialisation requests"
	}
	payload := map[string]any{}
	if !isNull(raw) {
		if err := json.Unmarshal(raw, &payload); err != nil {
			return CloseBadRequest, "Invalid message received: connection_init payload"
		}
	}
	if s.t.init != nil {
		ctx, err := s.t.init(s.ctx, payload)
		if err != nil {
			s.t.logger.InfoContext(s.ctx, "graphql socket refused", "err", domain.ErrorMessage(err))
			return CloseForbidden, "Forbidden"
		}
		s.mu.Lock()
		s.ctx = ctx
		s.mu.Unlock()
	}
	s.mu.Lock()
	s.acked = true
	s.mu.Unlock()
	s.write(map[string]any{"type": "connection_ack"})
	return 0, ""
}

// subscribe checks a subscribe message and starts its operation.
func (s *socket) subscribe(m clientMessage) (int, string) {
	id, ok := messageID(m.ID)
	if !ok {
		return CloseBadRequest, `Invalid message received: "subscribe" needs a non-empty string 'id'`
	}
	var p subscribePayload
	if !isObject(m.Payload) || json.Unmarshal(m.Payload, &p) != nil {
		return CloseBadRequest, `Invalid message received: "subscribe" payload must be an object`
	}
	params := &graphql.RawParams{Headers: s.headers}
	params.ReadTime.Start = graphql.Now()
	switch {
	case json.Unmarshal(p.Query, &params.Query) != nil:
		return CloseBadRequest, `Invalid message received: "subscribe" payload needs a string 'query'`
	case !isNull(p.OperationName) && json.Unmarshal(p.OperationName, &params.OperationName) != nil:
		return CloseBadRequest, `Invalid message received: 'operationName' must be a string`
	case !objectOrNull(p.Variables) || !isNull(p.Variables) && decodeNumbers(p.Variables, &params.Variables) != nil:
		return CloseBadRequest, `Invalid message received: 'variables' must be an object`
	case !objectOrNull(p.Extensions) || !isNull(p.Extensions) && decodeNumbers(p.Extensions, &params.Extensions) != nil:
		return CloseBadRequest, `Invalid message received: 'extensions' must be an object`
	}
	params.ReadTime.End = graphql.Now()

	s.mu.Lock()
	switch {
	case !s.acked:
		s.mu.Unlock()
		return CloseUnauthorized, "Unauthorized"
	case s.ops[id] != nil:
		s.mu.Unlock()
		return CloseSubscriberExists, "Subscriber for " + id + " already exists"
	case s.closed:
		s.mu.Unlock()
		return 0, ""
	}
	ctx, cancel := context.WithCancel(s.ctx)
	op := &socketOp{cancel: cancel}
	s.ops[id] = op
	s.running.Add(1)
	s.mu.Unlock()
	go s.run(ctx, id, op, params)
	return 0, ""
}

// run executes one operation and sends its results, then its end: error
// for a request the server refuses, complete otherwise, unless the client
// completed it first.
func (s *socket) run(ctx context.Context, id string, op *socketOp, params *graphql.RawParams) {
	defer s.running.Done()
	defer op.cancel()
	ctx = graphql.StartOperationTrace(ctx)
	rc, errs := s.exec.CreateOperationContext(ctx, params)
	if errs != nil {
		resp := s.exec.DispatchError(graphql.WithOperationContext(ctx, rc), errs)
		if s.finish(id, op) {
			s.write(map[string]any{"id": id, "type": "error", "payload": resp.Errors})
		}
		return
	}
	ctx = graphql.WithOperationContext(ctx, rc)
	who := ""
	if p, ok := domain.PrincipalFromContext(ctx); ok {
		who = p.UserID
	}
	s.t.logger.InfoContext(ctx, "graphql subscription started", "id", id, "operation", operationName(rc), "user_id", who)
	started := time.Now()
	func() {
		defer func() {
			if r := recover(); r != nil {
				err := rc.Recover(ctx, r)
				resp := s.exec.DispatchError(ctx, gqlerror.List{gqlerror.WrapIfUnwrapped(err)})
				if s.finish(id, op) {
					s.write(map[string]any{"id": id, "type": "error", "payload": resp.Errors})
				}
			}
		}()
		responses, ctx := s.exec.DispatchOperation(ctx, rc)
		for {
			resp := responses(ctx)
			if resp == nil {
				return
			}
			s.mu.Lock()
			current := s.ops[id] == op
			s.mu.Unlock()
			if !current {
				return // the client completed it: send nothing more
			}
			s.write(map[string]any{"id": id, "type": "next", "payload": resp})
		}
	}()
	if s.finish(id, op) {
		s.write(map[string]any{"id": id, "type": "complete"})
	}
	s.t.logger.InfoContext(ctx, "graphql subscription ended", "id", id, "operation", operationName(rc),
		"user_id", who, "lasted_ms", time.Since(started).Milliseconds())
}

// finish forgets op and reports whether the client still waits for its
// end (it did not complete it, and the socket is open).
func (s *socket) finish(id string, op *socketOp) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ops[id] != op {
		return false
	}
	delete(s.ops, id)
	return !s.closed
}

// write sends one message; a socket that cannot take it within
// socketWriteWait is closed.
func (s *socket) write(msg map[string]any) {
	b, err := json.Marshal(msg)
	if err != nil {
		s.t.logger.ErrorContext(s.ctx, "graphql socket: encode a message", "err", err)
		s.close(CloseInternal, "Internal server error")
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), socketWriteWait)
	defer cancel()
	if err := s.conn.Write(ctx, coderws.MessageText, b); err != nil && !errors.Is(err, context.Canceled) {
		s.close(CloseInternal, "the socket could not take a message in time")
	}
}

// operationName names an operation for logs: its name, or its type when
// it has none.
func operationName(rc *graphql.OperationContext) string {
	if rc == nil || rc.Operation == nil {
		return ""
	}
	if rc.Operation.Name != "" {
		return rc.Operation.Name
	}
	return string(rc.Operation.Operation)
}

func messageID(raw json.RawMessage) (string, bool) {
	var id string
	if err := json.Unmarshal(raw, &id); err != nil || id == "" {
		return "", false
	}
	return id, true
}

func isNull(raw json.RawMessage) bool {
	raw = bytes.TrimSpace(raw)
	return len(raw) == 0 || string(raw) == "null"
}

func isObject(raw json.RawMessage) bool {
	raw = bytes.TrimSpace(raw)
	return len(raw) > 0 && raw[0] == '{'
}

func objectOrNull(raw json.RawMessage) bool { return isNull(raw) || isObject(raw) }

// decodeNumbers decodes JSON keeping numbers as json.Number, as gqlgen's
// transports do.
func decodeNumbers(raw json.RawMessage, v any) error {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	return dec.Decode(v)
}
