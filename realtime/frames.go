package realtime

import (
	"encoding/json"
	"time"

	"flashlive/domain"
)

// timeLayout is how times go on the wire: RFC 3339, UTC, milliseconds.
const timeLayout = "2006-01-02T15:04:05.000Z07:00"

// wireTime marshals as timeLayout.
type wireTime time.Time

// MarshalJSON implements json.Marshaler.
func (t wireTime) MarshalJSON() ([]byte, error) {
	return []byte(`"` + time.Time(t).UTC().Format(timeLayout) + `"`), nil
}

// EventState is what a viewer is shown of one flash event.
type EventState struct {
	EventID   string
	RoomID    string // "" when the event is pinned to no room
	Status    string // a FlashEventStatus name
	Remaining int
	StartsAt  time.Time
	EndsAt    time.Time
	// Event is the event these figures are of, as read with them; a
	// listener is handed it with each of its status changes
	// (domain.LiveEventChanged), so the hub never reads it again.
	Event *domain.FlashEvent
}

type snapshotEvent struct {
	EventID   string   `json:"eventId"`
	Status    string   `json:"status"`
	Remaining int      `json:"remaining"`
	StartsAt  wireTime `json:"startsAt"`
	EndsAt    wireTime `json:"endsAt"`
}

type snapshotFrame struct {
	Type       string          `json:"type"`
	Room       string          `json:"room"`
	ServerTime wireTime        `json:"serverTime"`
	Events     []snapshotEvent `json:"events"`
	// Chat is the room's last messages, oldest first (absent without chat).
	Chat  *[]chatFrame `json:"chat,omitempty"`
	Rains []rainFrame  `json:"rains"` // SCHEDULED and LIVE rains (rain.go)
}

type countdownFrame struct {
	Type        string   `json:"type"`
	Room        string   `json:"room"`
	EventID     string   `json:"eventId"`
	StartsAt    wireTime `json:"startsAt"`
	ServerTime  wireTime `json:"serverTime"`
	SecondsLeft int      `json:"secondsLeft"`
}

// stockFrame adds serverTime to the contract's fields (clients ignore
// fields they do not know): when the frame was built, so a client can tell
// how fresh the figure is and a load test how long the broadcast took.
type stockFrame struct {
	Type       string   `json:"type"`
	Room       string   `json:"room"`
	EventID    string   `json:"eventId"`
	Remaining  int      `json:"remaining"`
	Status     string   `json:"status"`
	ServerTime wireTime `json:"serverTime"`
}

type eventFrame struct {
	Type    string `json:"type"`
	Room    string `json:"room"`
	EventID string `json:"eventId"`
	Status  string `json:"status"`
}

type viewersFrame struct {
	Type  string `json:"type"`
	Room  string `json:"room"`
	Count int    `json:"count"`
}

type orderFrame struct {
	Type    string `json:"type"`
	OrderID string `json:"orderId"`
	EventID string `json:"eventId,omitempty"`
	Status  string `json:"status"`
}

type pongFrame struct {
	Type       string   `json:"type"`
	ServerTime wireTime `json:"serverTime"`
}

type errorFrame struct {
	Type string `json:"type"`
	// Code is set for frames refused by a limit (RATE_LIMITED, with
	// RetryAfterMs) and for a session that ended (UNAUTHENTICATED).
	Code         string `json:"code,omitempty"`
	Message      string `json:"message"`
	RetryAfterMs int    `json:"retryAfterMs,omitempty"`
	// Ref is the ref of the chat frame refused.
	Ref string `json:"ref,omitempty"`
}

// clientFrame is any frame a viewer sends.
type clientFrame struct {
	Type  string `json:"type"`
	Room  string `json:"room"`
	Token string `json:"token"`
	Text  string `json:"text"` // chat
	Ref   string `json:"ref"`  // chat
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic("realtime: encode frame: " + err.Error()) // only our own structs are encoded
	}
	return b
}
