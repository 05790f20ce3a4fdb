package domain

import "strings"

// ID prefixes name the kind of thing an ID points at, so that
// Query.node(id) knows where to look without a read. An ID is its prefix
// followed by a ULID, so IDs sort by creation time.
const (
	PrefixUser       = "usr_"
	PrefixProduct    = "prd_"
	PrefixLiveRoom   = "room_"
	PrefixFlashEvent = "evt_"
	PrefixOrder      = "ord_"
)

// KindOfID returns the prefix of id, or "" when it has no known prefix.
func KindOfID(id string) string {
	for _, p := range []string{PrefixUser, PrefixProduct, PrefixLiveRoom, PrefixFlashEvent, PrefixOrder, PrefixRedPacketRain} {
		if strings.HasPrefix(id, p) {
			return p
		}
	}
	return ""
}

// FlashOrderID returns the ID of a flash order: the order's own unique,
// time-sortable part, then the event's. Carrying the event lets the hot
// stock find a reservation by order ID alone, in the event's slot, with no
// index of its own.
func FlashOrderID(unique, eventID string) string {
	return PrefixOrder + unique + "_" + strings.TrimPrefix(eventID, PrefixFlashEvent)
}

// EventOfFlashOrder returns the event ID carried by a flash order ID, and
// reports whether id is one.
func EventOfFlashOrder(id string) (string, bool) {
	rest, ok := strings.CutPrefix(id, PrefixOrder)
	if !ok {
		return "", false
	}
	_, ev, ok := strings.Cut(rest, "_")
	if !ok || ev == "" || strings.Contains(ev, "_") {
		return "", false
	}
	return PrefixFlashEvent + ev, true
}
