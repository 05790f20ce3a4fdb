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
	for _, p := range []string{PrefixUser, PrefixProduct, PrefixLiveRoom, PrefixFlashEvent, PrefixOrder} {
		if strings.HasPrefix(id, p) {
			return p
		}
	}
	return ""
}
