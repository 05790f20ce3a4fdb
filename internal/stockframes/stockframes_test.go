package stockframes_test

import (
	"maps"
	"testing"

	"flashlive/internal/stockframes"
)

func TestRead(t *testing.T) {
	for _, tt := range []struct {
		name   string
		before stockframes.Levels
		frame  string
		read   bool
		after  stockframes.Levels
	}{
		{
			name:  "compact stock frame, as the hub encodes it",
			frame: `{"type":"stock","room":"room_1","eventId":"evt_a","remaining":42,"status":"LIVE","serverTime":"2030-01-02T12:00:00.123Z"}`,
			read:  true, after: stockframes.Levels{"evt_a": 42},
		},
		{
			name:   "a later stock frame wins; other events stay",
			before: stockframes.Levels{"evt_a": 42, "evt_b": 7},
			frame:  `{"type":"stock","room":"room_1","eventId":"evt_a","remaining":0,"status":"SOLD_OUT"}`,
			read:   true, after: stockframes.Levels{"evt_a": 0, "evt_b": 7},
		},
		{
			name:  "stock frame with its fields in another order",
			frame: `{"room":"room_1","remaining":5,"eventId":"evt_a","type":"stock"}`,
			read:  true, after: stockframes.Levels{"evt_a": 5},
		},
		{
			name:  "stock frame with spaces",
			frame: `{"type": "stock", "eventId": "evt_a", "remaining": 9}`,
			read:  true, after: stockframes.Levels{"evt_a": 9},
		},
		{
			name:   "stock frame without a number",
			before: stockframes.Levels{"evt_a": 3},
			frame:  `{"type":"stock","room":"room_1","eventId":"evt_a","remaining":null}`,
			read:   true, after: stockframes.Levels{"evt_a": 3},
		},
		{
			name:   "snapshot sets every event it lists",
			before: stockframes.Levels{"evt_a": 3, "evt_c": 1},
			frame: `{"type":"snapshot","room":"room_1","serverTime":"2030-01-02T12:00:00Z","events":[` +
				`{"eventId":"evt_a","status":"LIVE","remaining":10,"startsAt":"2030-01-02T12:00:00Z","endsAt":"2030-01-02T13:00:00Z"},` +
				`{"eventId":"evt_b","status":"SCHEDULED","remaining":50,"startsAt":"2030-01-02T14:00:00Z","endsAt":"2030-01-02T15:00:00Z"}],` +
				`"chat":[{"type":"chat","text":"\"type\":\"stock\""}],"rains":[]}`,
			read: true, after: stockframes.Levels{"evt_a": 10, "evt_b": 50, "evt_c": 1},
		},
		{
			name:   "countdown",
			before: stockframes.Levels{"evt_a": 3},
			frame:  `{"type":"countdown","room":"room_1","eventId":"evt_a","startsAt":"2030-01-02T12:00:00Z","serverTime":"2030-01-02T11:59:00Z","secondsLeft":60}`,
			read:   false, after: stockframes.Levels{"evt_a": 3},
		},
		{
			name:  "a chat message that quotes a stock frame",
			frame: `{"type":"chat","room":"room_1","text":"{\"type\":\"stock\",\"eventId\":\"evt_a\",\"remaining\":1}"}`,
			read:  false, after: stockframes.Levels{},
		},
		{
			name:  "not JSON",
			frame: `{"type":"stock","eventId":"evt_a","remaining":`,
			read:  false, after: stockframes.Levels{},
		},
	} {
		t.Run(tt.name, func(t *testing.T) {
			l := stockframes.Levels{}
			maps.Copy(l, tt.before)
			if got := l.Read([]byte(tt.frame)); got != tt.read {
				t.Errorf("Read = %v, want %v", got, tt.read)
			}
			if !maps.Equal(l, tt.after) {
				t.Errorf("levels = %v, want %v", l, tt.after)
			}
		})
	}
}

func TestOf(t *testing.T) {
	l := stockframes.Levels{"evt_a": 0, "evt_b": 7}
	for event, want := range map[string]int{"evt_a": 0, "evt_b": 7, "evt_none": -1} {
		if got := l.Of(event); got != want {
			t.Errorf("Of(%s) = %d, want %d", event, got, want)
		}
	}
}
