// Package stockframes keeps what a /ws viewer has seen of stock: the last
// `remaining` of each event, from `stock` frames (one event each) and the
// `snapshot` frame (every event of the room), as the realtime contract
// (realtime.md) defines them. It is for programs that watch flashlive as
// clients do (the bench, the scale-out test), so that they read frames
// alike.
//
// Stock frames, the most frequent, are read without a JSON decoder when
// they are compact, as the hub encodes them ({"type":"stock","room":R,
// "eventId":E,"remaining":N,...}); any other stock or snapshot frame is
// decoded. Frames of other types are passed over undecoded.
package stockframes

import (
	"bytes"
	"encoding/json"
	"strconv"
)

// Levels is the last stock level seen of each event, by event ID. It is
// a plain map: its owner guards it if several goroutines share it.
type Levels map[string]int

// Of returns the last level seen of event, or -1 when none was.
func (l Levels) Of(event string) int {
	n, ok := l[event]
	if !ok {
		return -1
	}
	return n
}

// Read takes in one /ws frame: a stock frame sets its event's level, a
// snapshot frame the level of each of its events; a later frame wins. It
// reports whether data was a stock or a snapshot frame. Any other frame,
// data that is not JSON, and a stock frame without a remaining number
// change nothing.
func (l Levels) Read(data []byte) bool {
	if event, n, ok := compactStock(data); ok {
		l[event] = n
		return true
	}
	// Neither word can stand quoted inside a JSON string (its quotes
	// would be escaped): a frame without them is neither.
	if !bytes.Contains(data, []byte(`"stock"`)) && !bytes.Contains(data, []byte(`"snapshot"`)) {
		return false
	}
	var f struct {
		Type      string `json:"type"`
		EventID   string `json:"eventId"`
		Remaining *int   `json:"remaining"`
		Events    []struct {
			EventID   string `json:"eventId"`
			Remaining int    `json:"remaining"`
		} `json:"events"`
	}
	if json.Unmarshal(data, &f) != nil {
		return false
	}
	switch f.Type {
	case "stock":
		if f.Remaining != nil {
			l[f.EventID] = *f.Remaining
		}
		return true
	case "snapshot":
		for _, e := range f.Events {
			l[e.EventID] = e.Remaining
		}
		return true
	}
	return false
}

// compactStock reads a compact stock frame and reports whether data is
// one.
func compactStock(data []byte) (event string, remaining int, ok bool) {
	if !bytes.HasPrefix(data, []byte(`{"type":"stock"`)) {
		return "", 0, false
	}
	_, rest, ok := bytes.Cut(data, []byte(`"eventId":"`))
	if !ok {
		return "", 0, false
	}
	id, rest, ok := bytes.Cut(rest, []byte(`"`))
	if !ok {
		return "", 0, false
	}
	_, rest, ok = bytes.Cut(rest, []byte(`"remaining":`))
	if !ok {
		return "", 0, false
	}
	end := bytes.IndexFunc(rest, func(r rune) bool { return r < '0' || r > '9' })
	if end <= 0 {
		return "", 0, false
	}
	n, err := strconv.Atoi(string(rest[:end]))
	return string(id), n, err == nil
}
