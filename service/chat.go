package service

import (
	"context"
	"log/slog"
	"strings"

	"flashlive/domain"
)

// ChatLimits are the chat's rates: per author (across rooms), and per
// room (all authors together). The room's budget is what keeps a chat
// storm from crowding out a room's stock and status frames: at most
// Room messages a period are framed for its viewers, however many write.
type ChatLimits struct {
	Author, Room domain.Limit
}

// Chat is the domain.ChatService: it checks the rules (text, room LIVE,
// roles, rates) and leaves the order, the mutes and the history to Log,
// then tells Notify so that every instance's feed reads what was added.
type Chat struct {
	Log     domain.ChatLog
	Rooms   domain.LiveRoomService
	Users   domain.UserService
	Filter  ChatFilter
	Limits  ChatLimits
	Limiter domain.RateLimiter
	Notify  domain.ChatNotifier
	// Observer hears of refusals by a limit (nil: nobody).
	Observer LimitObserver
	Logger   *slog.Logger
}

var _ domain.ChatService = (*Chat)(nil)

func (s *Chat) lim() *limiter {
	return &limiter{Limiter: s.Limiter, Observer: s.Observer, Logger: s.Logger}
}

// errNoRoom answers an ID that is no live room's.
var errNoRoom = domain.Errorf(domain.ENOTFOUND, "live room not found")

// isRoomID reports whether id has the shape of a live room's ID.
func isRoomID(id string) bool {
	return strings.HasPrefix(id, domain.PrefixLiveRoom) && len(id) <= 64
}

// room returns the live room; NOT_FOUND for an ID that is not one.
func (s *Chat) room(ctx context.Context, id string) (*domain.LiveRoom, error) {
	if !isRoomID(id) {
		return nil, errNoRoom
	}
	return s.Rooms.FindLiveRoomByID(ctx, id)
}

// SendChatMessage implements domain.ChatService. d.Author is the caller's
// (whatever d says); d.Origin and d.Ref are kept for the sender's copy.
func (s *Chat) SendChatMessage(ctx context.Context, d domain.ChatDraft) (*domain.ChatMessage, error) {
	me, err := domain.RequirePrincipal(ctx)
	if err != nil {
		return nil, err
	}
	if len(d.Ref) > domain.MaxChatRefLen {
		return nil, domain.Errorf(domain.EINVALID, "ref must have at most %d characters", domain.MaxChatRefLen)
	}
	text, err := domain.CleanChatText(d.Text, s.Filter)
	if err != nil {
		return nil, err
	}
	if !isRoomID(d.RoomID) {
		return nil, errNoRoom
	}
	// The limits come before any PostgreSQL read, so that a flood of
	// messages costs the limiter's one Redis call each, nothing more.
	if wait := s.lim().allow(ctx,
		domain.LimitCheck{Name: "chat-user", Key: me.UserID, Limit: s.Limits.Author},
		domain.LimitCheck{Name: "chat-room", Key: d.RoomID, Limit: s.Limits.Room},
	); wait > 0 {
		return nil, domain.RateLimited(wait, "too many messages; retry in %s", roundUp(wait))
	}
	room, err := s.room(ctx, d.RoomID)
	if err != nil {
		return nil, err
	}
	if room.Status != domain.LiveRoomLive {
		return nil, domain.Errorf(domain.ECONFLICT, "the room is %s: chat is open while it is LIVE", room.Status)
	}
	u, err := s.Users.FindUserByID(ctx, me.UserID)
	if err != nil {
		return nil, err
	}
	d.RoomID, d.Text = room.ID, text
	d.Author = domain.ChatAuthor{ID: u.ID, DisplayName: u.DisplayName}
	m, err := s.Log.Append(ctx, d)
	if err != nil {
		return nil, err
	}
	s.Notify.ChatAppended(room.ID)
	return m, nil
}

// manage returns the room when the caller is its seller or an ADMIN.
func (s *Chat) manage(ctx context.Context, roomID string) (*domain.LiveRoom, error) {
	me, err := domain.RequirePrincipal(ctx)
	if err != nil {
		return nil, err
	}
	room, err := s.room(ctx, roomID)
	if err != nil {
		return nil, err
	}
	if !me.CanManage(room.SellerID) {
		return nil, domain.Errorf(domain.EFORBIDDEN, "only the room's seller or an ADMIN may do this")
	}
	return room, nil
}

// DeleteChatMessage implements domain.ChatService. An ID that is no chat
// message's is false, once the caller is known to be signed in.
func (s *Chat) DeleteChatMessage(ctx context.Context, id string) (bool, error) {
	if _, err := domain.RequirePrincipal(ctx); err != nil {
		return false, err
	}
	roomID, seq, ok := domain.ParseChatMessageID(id)
	if !ok {
		return false, nil
	}
	room, err := s.manage(ctx, roomID)
	if domain.ErrorCode(err) == domain.ENOTFOUND {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	found, err := s.Log.Delete(ctx, room.ID, seq)
	if err != nil {
		return false, err
	}
	if found {
		s.Notify.ChatAppended(room.ID)
	}
	return found, nil
}

// MuteChatUser implements domain.ChatService.
func (s *Chat) MuteChatUser(ctx context.Context, roomID, userID string, minutes int) (bool, error) {
	room, err := s.manage(ctx, roomID)
	if err != nil {
		return false, err
	}
	d, err := domain.MuteDuration(minutes)
	if err != nil {
		return false, err
	}
	if _, err := s.Users.FindUserByID(ctx, userID); err != nil {
		return false, err
	}
	if err := s.Log.Mute(ctx, room.ID, userID, d); err != nil {
		return false, err
	}
	return true, nil
}

// ChatMessages implements domain.ChatService; n is held to 1..200.
func (s *Chat) ChatMessages(ctx context.Context, roomID string, n int) ([]*domain.ChatMessage, error) {
	if n < 1 || n > domain.MaxChatHistory {
		return nil, domain.Errorf(domain.EINVALID, "last must be between 1 and %d", domain.MaxChatHistory)
	}
	room, err := s.room(ctx, roomID)
	if err != nil {
		return nil, err
	}
	msgs, _, err := s.Log.Recent(ctx, room.ID, n)
	return msgs, err
}
