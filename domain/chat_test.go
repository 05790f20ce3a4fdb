package domain

import (
	"testing"
	"time"
)

func TestMuteDuration(t *testing.T) {
	for _, tc := range []struct {
		min  int
		want time.Duration
		code string
	}{{0, 0, EINVALID}, {1, time.Minute, ""}, {1440, 24 * time.Hour, ""}, {1441, 0, EINVALID}, {-5, 0, EINVALID}} {
		got, err := MuteDuration(tc.min)
		if ErrorCode(err) != tc.code || got != tc.want {
			t.Fatalf("MuteDuration(%d) = %v, %v; want %v, %q", tc.min, got, err, tc.want, tc.code)
		}
	}
}

func TestChatMessageID(t *testing.T) {
	id := ChatMessageID("room_01ABC", "1700000000000-3")
	room, seq, ok := ParseChatMessageID(id)
	if !ok || room != "room_01ABC" || seq != "1700000000000-3" {
		t.Fatalf("ParseChatMessageID(%q) = %q, %q, %v", id, room, seq, ok)
	}
	for _, bad := range []string{"", "chat_", "chat_01ABC", "chat_01ABC_x-1", "chat__1-1", "ord_1_1-1", "chat_a_1-"} {
		if _, _, ok := ParseChatMessageID(bad); ok {
			t.Fatalf("ParseChatMessageID(%q) ok", bad)
		}
	}
}

func TestSeqBefore(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		want bool
	}{{"", "1-0", true}, {"1-0", "", false}, {"", "", false}, {"9-0", "10-0", true}, {"10-0", "9-5", false}, {"5-9", "5-10", true}, {"5-1", "5-1", false}} {
		if got := SeqBefore(tc.a, tc.b); got != tc.want {
			t.Fatalf("SeqBefore(%q, %q) = %v", tc.a, tc.b, got)
		}
	}
}
