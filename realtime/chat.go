package realtime

import (
	"context"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"flashlive/domain"
)

// Chat is the room chat as the hub uses it: the log it reads, in order,
// and the service a viewer's chat frame goes to.
type Chat interface {
	// Recent and Since are domain.ChatLog's.
	Recent(ctx context.Context, roomID string, n int) ([]*domain.ChatMessage, string, error)
	Since(ctx context.Context, roomID, seq string, n int) ([]domain.ChatEntry, error)
	// SendChatMessage is domain.ChatService's, with the viewer's
	// principal in ctx.
	SendChatMessage(ctx context.Context, d domain.ChatDraft) (*domain.ChatMessage, error)
}

const (
	// subjectChat carries "the chat of room R grew"; data: the room ID.
	subjectChat = "fl.live.chat"
	// chatPoll is how often every room with members here is read even
	// without a notice: a lost notice delays its messages by this much.
	chatPoll = time.Second
	// chatBatch is the most entries read from a log at once.
	chatBatch = 256
	// A room's log is read, and its new entries sent, at most once per
	// chatInterval (what came meanwhile goes in one write per viewer); the
	// rooms held back are looked at every chatTick.
	chatInterval = 50 * time.Millisecond
	chatTick     = 10 * time.Millisecond
)

// chatFeeds follows the logs of the rooms with members here. A room's
// entries are read after its cursor and broadcast in log order, under the
// room's lock: so every member of every instance gets a room's chat in
// the log's one order, and a snapshot (read under the same lock) is
// followed by exactly the entries after it. A room's log is read at most
// once per chatInterval, and what it has new goes to each viewer in one
// write: a chat storm costs a viewer at most 20 writes a second, however
// many messages, leaving its socket and the cores to stock frames. Chat
// runs on its own goroutine, apart from the coalescer and the ticker that
// send stock, event and countdown frames, so it never holds them up.
type chatFeeds struct {
	h   *Hub
	log Chat

	mu    sync.Mutex
	rooms map[string]*chatRoom
	dirty map[string]struct{}
	read  map[string]time.Time // room → when its log was last read on a notice
	kick  chan struct{}
	conns atomic.Int64 // names connections as origins of their messages
}

// chatRoom is where the hub is in one room's log.
type chatRoom struct {
	mu     sync.Mutex // held from reading entries to having sent them
	cursor string     // the last entry sent here; "" for none yet
	known  bool       // cursor has been read from the log
}

func newChatFeeds(h *Hub, log Chat) *chatFeeds {
	return &chatFeeds{h: h, log: log, rooms: map[string]*chatRoom{}, dirty: map[string]struct{}{}, read: map[string]time.Time{}, kick: make(chan struct{}, 1)}
}

// ChatAppended implements domain.ChatNotifier: it tells every instance
// (this one too) to read the room's log.
func (h *Hub) ChatAppended(roomID string) {
	if h.chat == nil {
		return
	}
	h.chat.mark(roomID)
	if err := h.cfg.Broker.Publish(subjectChat, []byte(roomID)); err != nil {
		h.cfg.Logger.Warn("realtime: publish chat notice", "room", roomID, "err", err)
	}
}

func (f *chatFeeds) mark(roomID string) {
	f.mu.Lock()
	f.dirty[roomID] = struct{}{}
	f.mu.Unlock()
	select {
	case f.kick <- struct{}{}:
	default:
	}
}

// run reads the marked rooms on every notice, and every room with members
// here every chatPoll, until the hub stops.
func (f *chatFeeds) run() {
	defer f.h.wg.Done()
	poll := time.NewTicker(chatPoll)
	defer poll.Stop()
	tick := time.NewTicker(chatTick)
	defer tick.Stop()
	for {
		var rooms []string
		select {
		case <-f.h.stop:
			return
		case <-f.kick:
			rooms = f.due()
		case <-tick.C:
			rooms = f.due()
		case <-poll.C:
			f.h.mu.RLock()
			for r := range f.h.rooms {
				rooms = append(rooms, r)
			}
			f.h.mu.RUnlock()
			f.forget()
		}
		for _, r := range rooms {
			f.catchUp(r, nil, "")
		}
	}
}

// due takes the marked rooms whose log was last read chatInterval ago or
// more; the others stay marked.
func (f *chatFeeds) due() []string {
	now := time.Now()
	f.mu.Lock()
	defer f.mu.Unlock()
	var rooms []string
	for r := range f.dirty {
		if now.Sub(f.read[r]) >= chatInterval {
			rooms = append(rooms, r)
			f.read[r] = now
			delete(f.dirty, r)
		}
	}
	return rooms
}

// forget drops the rooms nobody here follows any more: a member who comes
// back starts from the log's end, with a snapshot.
func (f *chatFeeds) forget() {
	f.h.mu.RLock()
	defer f.h.mu.RUnlock()
	f.mu.Lock()
	defer f.mu.Unlock()
	for r := range f.rooms {
		if len(f.h.rooms[r]) == 0 {
			delete(f.rooms, r)
		}
	}
	for r, at := range f.read {
		if time.Since(at) > time.Minute {
			delete(f.read, r)
		}
	}
}

func (f *chatFeeds) room(roomID string) *chatRoom {
	f.mu.Lock()
	defer f.mu.Unlock()
	r := f.rooms[roomID]
	if r == nil {
		r = &chatRoom{}
		f.rooms[roomID] = r
	}
	return r
}

// track starts following a room from the log's end, unless followed
// already (a listener's Listen: it reads no history).
func (f *chatFeeds) track(roomID string) {
	r := f.room(roomID)
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.known {
		f.trackLocked(r, roomID)
	}
}

// trackLocked reads where the room's log ends into r; r.mu is held.
func (f *chatFeeds) trackLocked(r *chatRoom, roomID string) {
	ctx, cancel := context.WithTimeout(context.Background(), sourceTimeout)
	defer cancel()
	if _, last, err := f.log.Recent(ctx, roomID, 1); err == nil {
		r.cursor, r.known = last, true
	} else {
		f.h.cfg.Logger.Warn("realtime: read chat", "room", roomID, "err", err)
	}
}

// snapshot returns the room's last ChatSnapshotSize messages for c's
// snapshot, and sends it with send, under the room's lock; the entries
// after it go to c as frames, those before only to the others.
func (f *chatFeeds) snapshot(c *client, roomID string, send func(chat []chatFrame)) {
	r := f.room(roomID)
	r.mu.Lock()
	defer r.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), sourceTimeout)
	msgs, last, err := f.log.Recent(ctx, roomID, domain.ChatSnapshotSize)
	cancel()
	chat := make([]chatFrame, 0, len(msgs))
	if err != nil {
		f.h.cfg.Logger.Warn("realtime: read chat snapshot", "room", roomID, "err", err)
		last = ""
	}
	for _, m := range msgs {
		chat = append(chat, chatFrameOf(m, "", ""))
	}
	send(chat)
	if err != nil {
		return
	}
	if !r.known {
		r.cursor, r.known = last, true
	}
	f.catchUpLocked(r, roomID, c, last)
}

// catchUp sends the room's entries after its cursor to the room's members
// here, in order; skip (when not nil) is not sent those up to skipUntil,
// which its snapshot had.
func (f *chatFeeds) catchUp(roomID string, skip *client, skipUntil string) {
	r := f.room(roomID)
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.known {
		// Members here without a snapshot (it could not be read): they
		// start from now, not from the whole history.
		f.trackLocked(r, roomID)
		return
	}
	f.catchUpLocked(r, roomID, skip, skipUntil)
}

// catchUpLocked is catchUp with r.mu held.
func (f *chatFeeds) catchUpLocked(r *chatRoom, roomID string, skip *client, skipUntil string) {
	for {
		ctx, cancel := context.WithTimeout(context.Background(), sourceTimeout)
		entries, err := f.log.Since(ctx, roomID, r.cursor, chatBatch)
		cancel()
		if err != nil {
			f.h.cfg.Logger.Warn("realtime: read chat", "room", roomID, "err", err)
			return
		}
		if len(entries) > 0 {
			f.send(roomID, entries, skip, skipUntil)
			r.cursor = entries[len(entries)-1].Seq
		}
		if len(entries) < chatBatch {
			return
		}
	}
}

// send broadcasts entries, in order, to the room's members here. Each
// entry is framed once; a viewer is written every entry's frame in one
// write (so a busy chat costs a viewer one system call per catch-up, not
// one per message), a listener handed each update. The sender of an
// entry gets the copy with its ref instead; skip is not sent the entries
// up to skipUntil, which its snapshot had.
func (f *chatFeeds) send(roomID string, entries []domain.ChatEntry, skip *client, skipUntil string) {
	msgs := make([]*message, len(entries))
	own := make([][]byte, len(entries)) // the sender's copy, or nil
	origins := map[string]struct{}{}
	var all []byte
	for i, e := range entries {
		if e.Message != nil {
			msgs[i] = newMessage(mustJSON(chatFrameOf(e.Message, "chat", "")), domain.ChatPosted{Message: e.Message})
			if e.Ref != "" && e.Origin != "" {
				own[i] = wsFrame(opText, mustJSON(chatFrameOf(e.Message, "chat", e.Ref)))
				origins[e.Origin] = struct{}{}
			}
		} else {
			msgs[i] = newMessage(mustJSON(chatDeletedFrame{Type: "chat_deleted", Room: e.RoomID, ID: e.Deleted}),
				domain.ChatDeleted{RoomID: e.RoomID, MessageID: e.Deleted})
		}
		all = append(all, msgs[i].wire...)
	}
	everyone := &message{wire: all}
	// custom is what c is written when it is skip or a sender.
	custom := func(c *client) *message {
		var b []byte
		for i, e := range entries {
			switch {
			case c == skip && !domain.SeqBefore(skipUntil, e.Seq):
			case own[i] != nil && e.Origin == c.chatOrigin:
				b = append(b, own[i]...)
			default:
				b = append(b, msgs[i].wire...)
			}
		}
		return &message{wire: b}
	}
	f.h.mu.RLock()
	ms := list(f.h.rooms[roomID])
	f.h.mu.RUnlock()
	fanout(ms, func(m member) {
		c, ok := m.(*client)
		if !ok {
			for _, msg := range msgs {
				m.deliver(msg)
			}
			return
		}
		if _, sender := origins[c.chatOrigin]; c == skip || (sender && c.chatOrigin != "") {
			if b := custom(c); len(b.wire) > 0 {
				c.deliver(b)
			}
			return
		}
		c.deliver(everyone)
	})
}

// origin names a new connection as the origin of its messages, unique
// among every instance's.
func (f *chatFeeds) origin() string {
	return f.h.cfg.Instance + "." + strconv.FormatInt(f.conns.Add(1), 36)
}

// chat handles a viewer's chat frame: signed in, in the room, and then
// the service's rules. A refusal is an error frame with the code and the
// frame's ref; an accepted message comes back as the sender's copy.
func (c *client) chat(f clientFrame) {
	h := c.hub
	if h.chat == nil {
		c.send(errorFrame{Type: "error", Code: domain.EUNAVAILABLE, Message: "this server has no chat", Ref: f.Ref})
		return
	}
	if len(f.Ref) > domain.MaxChatRefLen {
		c.send(errorFrame{Type: "error", Code: domain.EINVALID, Message: "ref must have at most 64 characters"})
		return
	}
	h.mu.RLock()
	s := c.at
	_, joined := s.rooms[f.Room]
	h.mu.RUnlock()
	switch {
	case s.user == "":
		c.send(errorFrame{Type: "error", Code: domain.EUNAUTHENTICATED, Message: "sign in to write in the chat", Ref: f.Ref})
		return
	case !joined:
		c.send(errorFrame{Type: "error", Code: domain.EINVALID, Message: "join the room before writing in its chat", Ref: f.Ref})
		return
	}
	ctx := domain.NewContextWithPrincipal(context.Background(), domain.Principal{UserID: s.user, SessionID: s.session, ExpiresAt: s.expires})
	ctx, cancel := context.WithTimeout(ctx, sourceTimeout)
	defer cancel()
	_, err := h.chat.log.SendChatMessage(ctx, domain.ChatDraft{RoomID: f.Room, Text: f.Text, Origin: c.chatOrigin, Ref: f.Ref})
	if err != nil {
		ef := errorFrame{Type: "error", Code: domain.ErrorCode(err), Message: domain.ErrorMessage(err), Ref: f.Ref}
		if ef.Code == domain.ERATELIMITED {
			ef.RetryAfterMs = retryAfterMs(err)
		}
		c.send(ef)
	}
}

// retryAfterMs is a RATE_LIMITED error's wait, in whole milliseconds.
func retryAfterMs(err error) int {
	return int((domain.RetryAfter(err) + time.Millisecond - 1) / time.Millisecond)
}

// chatAuthor is a chat frame's author.
type chatAuthor struct {
	ID          string `json:"id"`
	DisplayName string `json:"displayName"`
}

// chatFrame is a message as /ws shows it; without type in a snapshot.
type chatFrame struct {
	Type   string     `json:"type,omitempty"`
	Room   string     `json:"room"`
	ID     string     `json:"id"`
	Author chatAuthor `json:"author"`
	Text   string     `json:"text"`
	SentAt wireTime   `json:"sentAt"`
	Ref    string     `json:"ref,omitempty"`
}

type chatDeletedFrame struct {
	Type string `json:"type"`
	Room string `json:"room"`
	ID   string `json:"id"`
}

func chatFrameOf(m *domain.ChatMessage, typ, ref string) chatFrame {
	return chatFrame{
		Type: typ, Room: m.RoomID, ID: m.ID, Author: chatAuthor{ID: m.Author.ID, DisplayName: m.Author.DisplayName},
		Text: m.Text, SentAt: wireTime(m.SentAt), Ref: ref,
	}
}
