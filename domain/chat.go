package domain

import (
	"context"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// PrefixChatMessage starts a chat message's ID: ChatMessageID.
const PrefixChatMessage = "chat_"

// Chat limits (live-extras.graphql).
const (
	MaxChatRunes     = 500
	MinMuteMinutes   = 1
	MaxMuteMinutes   = 1440
	MaxChatHistory   = 200 // the most chatMessages returns
	ChatSnapshotSize = 20  // the messages a /ws snapshot carries
	MaxChatRefLen    = 64
)

// ChatAuthor is a chat message's author as other viewers see them: never
// an e-mail.
type ChatAuthor struct {
	ID          string
	DisplayName string
}

// ChatMessage is one accepted message of a room's chat. Seq is its place
// in the room's one order (see ChatLog): every viewer gets a room's
// messages in Seq order.
type ChatMessage struct {
	ID     string
	RoomID string
	Author ChatAuthor
	Text   string // as shown: trimmed, cleaned, filtered words masked
	SentAt time.Time
	Seq    string
}

// ChatMessageID returns the ID of the message at seq in roomID's log: the
// room rides in the ID, so a message is found (and deleted) by ID alone,
// in the room's key slot.
func ChatMessageID(roomID, seq string) string {
	return PrefixChatMessage + strings.TrimPrefix(roomID, PrefixLiveRoom) + "_" + seq
}

// ParseChatMessageID returns the room and seq of a chat message ID, and
// reports whether id is one.
func ParseChatMessageID(id string) (roomID, seq string, ok bool) {
	rest, ok := strings.CutPrefix(id, PrefixChatMessage)
	if !ok {
		return "", "", false
	}
	room, seq, ok := strings.Cut(rest, "_")
	if !ok || room == "" || !validSeq(seq) {
		return "", "", false
	}
	return PrefixLiveRoom + room, seq, true
}

// validSeq reports whether s looks like a log sequence "<ms>-<n>".
func validSeq(s string) bool {
	a, b, ok := strings.Cut(s, "-")
	digits := func(x string) bool {
		return x != "" && len(x) <= 20 && strings.IndexFunc(x, func(r rune) bool { return r < '0' || r > '9' }) < 0
	}
	return ok && digits(a) && digits(b)
}

// ChatEntry is one entry of a room's log, in order: a message, or the
// deletion of one (Deleted names it; Message is nil).
type ChatEntry struct {
	Seq     string
	RoomID  string
	Message *ChatMessage
	Deleted string
	// Origin and Ref are the sending connection and the reference it
	// chose, to echo in that connection's copy; "" for none.
	Origin, Ref string
}

// ChatDraft is a message to append to a room's log, already checked.
type ChatDraft struct {
	RoomID string
	Author ChatAuthor
	Text   string
	// Origin and Ref: see ChatEntry.
	Origin, Ref string
}

// ChatLog is a room's chat in one order shared by every instance, the
// recent part kept (older entries trimmed).
type ChatLog interface {
	// Append adds the message unless its author is muted in the room
	// (FORBIDDEN then), and returns it with its ID, Seq and SentAt.
	Append(ctx context.Context, d ChatDraft) (*ChatMessage, error)
	// Delete removes a message and appends its deletion; false when it
	// was not in the log.
	Delete(ctx context.Context, roomID, seq string) (bool, error)
	// Mute stops userID writing in the room for d.
	Mute(ctx context.Context, roomID, userID string, d time.Duration) error
	// Recent returns the room's last n messages, oldest first, and the Seq
	// of the log's last entry ("" when empty): entries after it are new.
	Recent(ctx context.Context, roomID string, n int) ([]*ChatMessage, string, error)
	// Since returns up to n entries after seq ("" for the start), in order.
	Since(ctx context.Context, roomID, seq string, n int) ([]ChatEntry, error)
}

// ChatService is the room chat. Authors are signed in (UNAUTHENTICATED);
// the room must exist (NOT_FOUND) and be LIVE to write (CONFLICT).
type ChatService interface {
	// SendChatMessage appends text, cleaned (CleanChatText), as the caller:
	// INVALID for bad text, FORBIDDEN while muted, RATE_LIMITED (with
	// RetryAfter) past the author's or the room's rate.
	SendChatMessage(ctx context.Context, d ChatDraft) (*ChatMessage, error)
	// DeleteChatMessage removes a message: the room's seller or an ADMIN
	// (FORBIDDEN otherwise); false when there was no such message.
	DeleteChatMessage(ctx context.Context, id string) (bool, error)
	// MuteChatUser keeps userID from writing in the room for minutes
	// (INVALID outside 1 to 1440): the room's seller or an ADMIN.
	MuteChatUser(ctx context.Context, roomID, userID string, minutes int) (bool, error)
	// ChatMessages returns the room's last n messages (1 to 200), oldest
	// first, in the order everyone received them.
	ChatMessages(ctx context.Context, roomID string, n int) ([]*ChatMessage, error)
}

// ChatNotifier tells the realtime feed that a room's log grew. It never
// blocks or fails the caller: a lost notice is found by the feed's poll.
type ChatNotifier interface {
	ChatAppended(roomID string)
}

// ChatMasker masks words in chat text that is already cleaned; service
// holds the word filter (it needs Unicode folding from golang.org/x/text,
// which domain does not import).
type ChatMasker interface {
	Mask(s string) string
}

// stripped reports whether r is taken out of chat text: control
// characters other than newline, format characters (bidi overrides and
// isolates, zero-width joiners), and the byte-order mark.
func stripped(r rune) bool {
	if r == '\n' {
		return false
	}
	return unicode.IsControl(r) || unicode.Is(unicode.Cf, r)
}

// CleanChatText returns text as shown: control and bidi-control
// characters stripped, trimmed, words masked by m (nil: none). INVALID
// when it is not UTF-8, or not 1 to MaxChatRunes characters once cleaned.
func CleanChatText(text string, m ChatMasker) (string, error) {
	if !utf8.ValidString(text) {
		return "", Errorf(EINVALID, "text is not valid UTF-8")
	}
	s := strings.TrimSpace(strings.Map(func(r rune) rune {
		if stripped(r) {
			return -1
		}
		return r
	}, text))
	switch n := utf8.RuneCountInString(s); {
	case n == 0:
		return "", Errorf(EINVALID, "text must not be empty")
	case n > MaxChatRunes:
		return "", Errorf(EINVALID, "text must have at most %d characters", MaxChatRunes)
	}
	if m == nil {
		return s, nil
	}
	return m.Mask(s), nil
}

// MuteDuration returns minutes as a mute's length: INVALID outside 1 to
// 1440.
func MuteDuration(minutes int) (time.Duration, error) {
	if minutes < MinMuteMinutes || minutes > MaxMuteMinutes {
		return 0, Errorf(EINVALID, "minutes must be between %d and %d", MinMuteMinutes, MaxMuteMinutes)
	}
	return time.Duration(minutes) * time.Minute, nil
}

// RoomExtra is a live room's extra as a listener is handed it (the
// liveRoomExtras subscription): ChatPosted, ChatDeleted and, from the
// red-packet rain, its own type. An extra is a LiveUpdate of its room.
type RoomExtra interface {
	LiveUpdate
	roomExtra()
}

// ChatPosted: a message was accepted in the room.
type ChatPosted struct{ Message *ChatMessage }

// ChatDeleted: a message of the room was deleted.
type ChatDeleted struct {
	RoomID    string
	MessageID string
}

func (ChatPosted) liveUpdate()  {}
func (ChatDeleted) liveUpdate() {}
func (ChatPosted) roomExtra()   {}
func (ChatDeleted) roomExtra()  {}

// IsRoomExtra makes a type a RoomExtra (and a LiveUpdate) by embedding:
// the hook for extras of other features, such as the red-packet rain's.
type IsRoomExtra struct{}

func (IsRoomExtra) liveUpdate() {}
func (IsRoomExtra) roomExtra()  {}

// SeqBefore reports whether log sequence a comes before b ("" comes
// before everything).
func SeqBefore(a, b string) bool {
	if a == "" || b == "" {
		return a == "" && b != ""
	}
	am, an, _ := strings.Cut(a, "-")
	bm, bn, _ := strings.Cut(b, "-")
	if len(am) != len(bm) {
		return len(am) < len(bm)
	}
	if am != bm {
		return am < bm
	}
	if len(an) != len(bn) {
		return len(an) < len(bn)
	}
	return an < bn
}
