package domain

import (
	"context"
	"time"
)

// LiveRoomStatus is where a live room is in its life: SCHEDULED, then LIVE,
// then ENDED. It never goes back.
type LiveRoomStatus string

// The live room statuses.
const (
	LiveRoomScheduled LiveRoomStatus = "SCHEDULED"
	LiveRoomLive      LiveRoomStatus = "LIVE"
	LiveRoomEnded     LiveRoomStatus = "ENDED"
)

// Valid reports whether s is a known status.
func (s LiveRoomStatus) Valid() bool {
	return s == LiveRoomScheduled || s == LiveRoomLive || s == LiveRoomEnded
}

// LiveRoom is a seller's live stream, where flash events are pinned.
type LiveRoom struct {
	ID        string
	SellerID  string
	Title     string
	Status    LiveRoomStatus
	CreatedAt time.Time
	StartedAt *time.Time
	EndedAt   *time.Time
}

// LiveRoomCreate is the input of LiveRoomService.CreateLiveRoom.
type LiveRoomCreate struct {
	Title string
}

// Validate returns an INVALID error naming the first bad field, or nil.
func (c *LiveRoomCreate) Validate() error {
	return validateText("title", c.Title, 1, MaxNameLen)
}

// NextStatus returns the status a room in status from moves to on start
// (to LIVE) or end (to ENDED), or a CONFLICT error when the move is not
// allowed: a room starts once, from SCHEDULED, and ends once.
func (from LiveRoomStatus) NextStatus(to LiveRoomStatus) (LiveRoomStatus, error) {
	switch {
	case to == LiveRoomLive && from == LiveRoomScheduled:
		return to, nil
	case to == LiveRoomEnded && from != LiveRoomEnded:
		return to, nil
	case from == LiveRoomEnded:
		return from, Errorf(ECONFLICT, "the live room has ended")
	case from == to:
		return from, Errorf(ECONFLICT, "the live room is already %s", from)
	default:
		return from, Errorf(ECONFLICT, "a %s live room cannot become %s", from, to)
	}
}

// LiveRoomFilter selects live rooms.
type LiveRoomFilter struct {
	// Status, when set, keeps rooms in that status only.
	Status LiveRoomStatus
	PageRequest
}

// LiveRoomService manages live rooms. Rooms are public.
type LiveRoomService interface {
	// FindLiveRoomByID returns the room; NOT_FOUND when there is none.
	FindLiveRoomByID(ctx context.Context, id string) (*LiveRoom, error)

	// FindLiveRoomsByIDs returns the rooms among ids that exist, in no order.
	FindLiveRoomsByIDs(ctx context.Context, ids []string) ([]*LiveRoom, error)

	// FindLiveRooms returns a page of rooms, newest first.
	FindLiveRooms(ctx context.Context, f LiveRoomFilter) (Page[*LiveRoom], error)

	// CreateLiveRoom creates a SCHEDULED room owned by the calling SELLER.
	CreateLiveRoom(ctx context.Context, c LiveRoomCreate) (*LiveRoom, error)

	// SetLiveRoomStatus starts (LIVE) or ends (ENDED) a room of the calling
	// seller. NOT_FOUND, FORBIDDEN, CONFLICT (see NextStatus).
	SetLiveRoomStatus(ctx context.Context, id string, to LiveRoomStatus) (*LiveRoom, error)
}
