package service_test

import (
	"context"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"

	"flashlive/domain"
	"flashlive/service"
)

// chatReads counts the PostgreSQL reads a message costs.
type chatReads struct {
	domain.LiveRoomService
	domain.UserService
	rooms, users atomic.Int64
}

func (r *chatReads) FindLiveRoomByID(_ context.Context, id string) (*domain.LiveRoom, error) {
	r.rooms.Add(1)
	return &domain.LiveRoom{ID: id, Status: domain.LiveRoomLive}, nil
}

func (r *chatReads) FindUserByID(_ context.Context, id string) (*domain.User, error) {
	r.users.Add(1)
	return &domain.User{ID: id, DisplayName: "Ann"}, nil
}

// refuseAll is a limiter whose every check refuses.
type refuseAll struct{ calls atomic.Int64 }

func (l *refuseAll) Allow(context.Context, ...domain.LimitCheck) (domain.Verdict, error) {
	l.calls.Add(1)
	return domain.Verdict{RetryAfter: time.Second, Refused: "chat-user"}, nil
}

func TestChatFloodCostsNoDatabaseRead(t *testing.T) {
	reads := &chatReads{}
	lim := &refuseAll{}
	s := &service.Chat{Rooms: reads, Users: reads, Limiter: lim, Logger: slog.New(slog.DiscardHandler)}
	ctx := fsCtx(domain.Principal{UserID: "user_1", Role: domain.RoleBuyer})
	for range 50 {
		_, err := s.SendChatMessage(ctx, domain.ChatDraft{RoomID: domain.PrefixLiveRoom + "1", Text: "hi"})
		if domain.ErrorCode(err) != domain.ERATELIMITED {
			t.Fatalf("send = %v, want RATE_LIMITED", err)
		}
	}
	if got := lim.calls.Load(); got != 50 {
		t.Fatalf("limiter asked %d times, want 50", got)
	}
	if r, u := reads.rooms.Load(), reads.users.Load(); r != 0 || u != 0 {
		t.Fatalf("50 refused messages read %d rooms and %d users, want none", r, u)
	}
	// An ID that is no room's is refused before the limiter.
	if _, err := s.SendChatMessage(ctx, domain.ChatDraft{RoomID: "order_1", Text: "hi"}); domain.ErrorCode(err) != domain.ENOTFOUND {
		t.Fatalf("send to a non-room = %v, want NOT_FOUND", err)
	}
	if got := lim.calls.Load(); got != 50 {
		t.Fatalf("a non-room ID was charged to the limiter (%d calls)", got)
	}
}
