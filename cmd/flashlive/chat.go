package main

import (
	"os"
	"strconv"
	"strings"
	"time"

	"flashlive/domain"
	"flashlive/service"
	"flashlive/storage/redis"
)

// ChatConfig configures the room chat (FLASHLIVE_CHAT_*).
type ChatConfig struct {
	// FilterWords are masked in messages: FLASHLIVE_CHAT_FILTER_WORDS
	// (comma-separated) and the lines of FLASHLIVE_CHAT_FILTER_FILE.
	FilterWords []string
	// History is the entries each room's log keeps (FLASHLIVE_CHAT_HISTORY).
	History int
	// AuthorLimit and RoomLimit: FLASHLIVE_CHAT_LIMIT_USER and
	// FLASHLIVE_CHAT_LIMIT_ROOM, in FLASHLIVE_LIMIT_*'s syntax.
	AuthorLimit, RoomLimit domain.Limit
}

// DefaultChat is the chat of a server configured with nothing: a person
// writes a message a second at most, with a burst of 5; a room frames at
// most 20 messages a second (a burst of 40), which its viewers can read
// and which leaves their sockets room for stock frames.
var DefaultChat = ChatConfig{
	History:     redis.DefaultChatHistory,
	AuthorLimit: domain.Limit{Rate: 1, Burst: 5, Period: time.Second},
	RoomLimit:   domain.Limit{Rate: 20, Burst: 40, Period: time.Second},
}

// loadChat reads FLASHLIVE_CHAT_*, reporting bad values through bad.
func loadChat(get func(string) string, bad func(string, ...any)) ChatConfig {
	c := DefaultChat
	if v := get("FLASHLIVE_CHAT_FILTER_WORDS"); v != "" {
		c.FilterWords = append(c.FilterWords, splitWords(strings.Split(v, ","))...)
	}
	if p := get("FLASHLIVE_CHAT_FILTER_FILE"); p != "" {
		b, err := os.ReadFile(p)
		if err != nil {
			bad("FLASHLIVE_CHAT_FILTER_FILE %q cannot be read: %v", p, err)
		} else {
			c.FilterWords = append(c.FilterWords, splitWords(strings.Split(string(b), "\n"))...)
		}
	}
	if v := get("FLASHLIVE_CHAT_HISTORY"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < domain.MaxChatHistory || n > 100_000 {
			bad("FLASHLIVE_CHAT_HISTORY %q is not a whole number from %d to 100000", v, domain.MaxChatHistory)
		} else {
			c.History = n
		}
	}
	for _, r := range []struct {
		name string
		to   *domain.Limit
	}{{"FLASHLIVE_CHAT_LIMIT_USER", &c.AuthorLimit}, {"FLASHLIVE_CHAT_LIMIT_ROOM", &c.RoomLimit}} {
		if v := get(r.name); v != "" {
			lim, err := parseLimit(v)
			if err != nil {
				bad("%s %q: %v", r.name, v, err)
				continue
			}
			*r.to = lim
		}
	}
	return c
}

// splitWords trims words and drops blank ones and #-comments.
func splitWords(ws []string) []string {
	var out []string
	for _, w := range ws {
		if w = strings.TrimSpace(w); w != "" && !strings.HasPrefix(w, "#") {
			out = append(out, w)
		}
	}
	return out
}

// chatSide is the chat as the hub uses it: the log's reads, the service's
// send.
type chatSide struct {
	*redis.ChatLog
	*service.Chat
}

// openChat builds the chat service over its Redis log; the hub, built
// after it, becomes its notifier.
func (m *Main) openChat() *chatSide {
	cfg := m.Config.Chat
	log := redis.NewChatLog(m.Redis, cfg.History)
	svc := &service.Chat{
		Log: log, Rooms: m.stores.rooms, Users: m.Auth,
		Filter:  service.NewChatFilter(cfg.FilterWords),
		Limits:  service.ChatLimits{Author: cfg.AuthorLimit, Room: cfg.RoomLimit},
		Limiter: m.rateLimiter(),
		Notify:  nopChat{},
		Logger:  m.Logger,
	}
	return &chatSide{ChatLog: log, Chat: svc}
}

// nopChat is the notifier until the hub is up.
type nopChat struct{}

func (nopChat) ChatAppended(string) {}
