package redis

import (
	"context"
	_ "embed"
	"fmt"
	"strconv"
	"strings"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"flashlive/domain"
)

var (
	//go:embed chat_append.lua
	chatAppendLua string
	//go:embed chat_delete.lua
	chatDeleteLua string

	chatAppendScript = goredis.NewScript(chatAppendLua)
	chatDeleteScript = goredis.NewScript(chatDeleteLua)
)

// DefaultChatHistory is the entries a room's chat keeps by default.
const DefaultChatHistory = 1000

// ChatLog implements domain.ChatLog with one Redis stream per room: the
// stream's IDs are the room's one order (XADD gives them, one at a time,
// whoever appends), XRANGE reads it back in that order on every instance,
// MAXLEN trims old entries as it goes, and the log is Redis's, so it
// outlives the process. A stream was chosen over a JetStream subject per
// room because the mute is checked in the same script that appends (one
// round trip, no race with a mute), and a deletion is one script too:
// XDEL and the deletion's own entry. Keys, in the room's slot:
//
//	<prefix>{room:<id>}:chat            stream: the log (see chat_append.lua)
//	<prefix>{room:<id>}:chat:mute:<u>   string: u is muted while it exists
type ChatLog struct {
	c *Client
	// History is the most entries a room keeps (MAXLEN);
	// DefaultChatHistory when 0.
	History int
}

var _ domain.ChatLog = (*ChatLog)(nil)

// NewChatLog returns a ChatLog over c keeping history entries per room.
func NewChatLog(c *Client, history int) *ChatLog {
	if history <= 0 {
		history = DefaultChatHistory
	}
	return &ChatLog{c: c, History: history}
}

func (l *ChatLog) key(roomID string) string { return l.c.Prefix + "{room:" + roomID + "}:chat" }

func (l *ChatLog) muteKey(roomID, userID string) string { return l.key(roomID) + ":mute:" + userID }

// Append implements domain.ChatLog.
func (l *ChatLog) Append(ctx context.Context, d domain.ChatDraft) (*domain.ChatMessage, error) {
	res, err := chatAppendScript.Run(ctx, l.c.RDB, []string{l.key(d.RoomID), l.muteKey(d.RoomID, d.Author.ID)},
		l.History, d.Author.ID, d.Author.DisplayName, d.Text, d.Origin, d.Ref).Slice()
	if err != nil {
		return nil, fmt.Errorf("append chat: %w", err)
	}
	if len(res) != 2 {
		return nil, fmt.Errorf("append chat: unexpected reply %v", res)
	}
	if ok, _ := res[0].(int64); ok == 0 {
		ms, _ := res[1].(int64)
		if ms < 0 {
			return nil, domain.Errorf(domain.EFORBIDDEN, "you are muted in this room")
		}
		return nil, domain.Errorf(domain.EFORBIDDEN, "you are muted in this room for %s more", time.Duration(ms)*time.Millisecond)
	}
	seq, _ := res[1].(string)
	return &domain.ChatMessage{
		ID: domain.ChatMessageID(d.RoomID, seq), RoomID: d.RoomID, Author: d.Author, Text: d.Text,
		SentAt: seqTime(seq), Seq: seq,
	}, nil
}

// seqTime is the time a stream ID was given at (its milliseconds).
func seqTime(seq string) time.Time {
	ms, _, _ := strings.Cut(seq, "-")
	n, _ := strconv.ParseInt(ms, 10, 64)
	return time.UnixMilli(n).UTC()
}

// Delete implements domain.ChatLog.
func (l *ChatLog) Delete(ctx context.Context, roomID, seq string) (bool, error) {
	n, err := chatDeleteScript.Run(ctx, l.c.RDB, []string{l.key(roomID)}, seq, l.History).Int()
	if err != nil {
		return false, fmt.Errorf("delete chat message: %w", err)
	}
	return n == 1, nil
}

// Mute implements domain.ChatLog.
func (l *ChatLog) Mute(ctx context.Context, roomID, userID string, d time.Duration) error {
	if err := l.c.RDB.Set(ctx, l.muteKey(roomID, userID), "1", d).Err(); err != nil {
		return fmt.Errorf("mute chat author: %w", err)
	}
	return nil
}

// Recent implements domain.ChatLog.
func (l *ChatLog) Recent(ctx context.Context, roomID string, n int) ([]*domain.ChatMessage, string, error) {
	var newestFirst []*domain.ChatMessage
	last, end := "", "+"
	for len(newestFirst) < n {
		page, err := l.c.RDB.XRevRangeN(ctx, l.key(roomID), end, "-", int64(n-len(newestFirst)+8)).Result()
		if err != nil {
			return nil, "", fmt.Errorf("read chat: %w", err)
		}
		if len(page) == 0 {
			break
		}
		if last == "" {
			last = page[0].ID
		}
		for _, x := range page {
			if e := entryOf(roomID, x); e.Message != nil && len(newestFirst) < n {
				newestFirst = append(newestFirst, e.Message)
			}
		}
		end = "(" + page[len(page)-1].ID
	}
	out := make([]*domain.ChatMessage, len(newestFirst))
	for i, m := range newestFirst {
		out[len(out)-1-i] = m
	}
	return out, last, nil
}

// Since implements domain.ChatLog.
func (l *ChatLog) Since(ctx context.Context, roomID, seq string, n int) ([]domain.ChatEntry, error) {
	start := "-"
	if seq != "" {
		start = "(" + seq
	}
	page, err := l.c.RDB.XRangeN(ctx, l.key(roomID), start, "+", int64(n)).Result()
	if err != nil {
		return nil, fmt.Errorf("read chat: %w", err)
	}
	out := make([]domain.ChatEntry, len(page))
	for i, x := range page {
		out[i] = entryOf(roomID, x)
	}
	return out, nil
}

// entryOf reads one stream entry.
func entryOf(roomID string, x goredis.XMessage) domain.ChatEntry {
	f := func(k string) string { s, _ := x.Values[k].(string); return s }
	e := domain.ChatEntry{Seq: x.ID, RoomID: roomID, Origin: f("o"), Ref: f("r")}
	if f("k") == "d" {
		e.Deleted = domain.ChatMessageID(roomID, f("d"))
		return e
	}
	e.Message = &domain.ChatMessage{
		ID: domain.ChatMessageID(roomID, x.ID), RoomID: roomID,
		Author: domain.ChatAuthor{ID: f("a"), DisplayName: f("n")},
		Text:   f("t"), SentAt: seqTime(x.ID), Seq: x.ID,
	}
	return e
}
