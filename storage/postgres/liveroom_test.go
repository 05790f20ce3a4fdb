package postgres_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"flashlive/domain"
)

func TestLiveRoomCreate(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 0)
	seller := e.user(t, domain.RoleSeller)

	_, err := e.rooms.CreateLiveRoom(anonymous, domain.LiveRoomCreate{Title: "Show"})
	wantCode(t, err, domain.EUNAUTHENTICATED)
	_, err = e.rooms.CreateLiveRoom(as(e.user(t, domain.RoleBuyer)), domain.LiveRoomCreate{Title: "Show"})
	wantCode(t, err, domain.EFORBIDDEN)
	for _, title := range []string{"", strings.Repeat("x", domain.MaxNameLen+1), "bell\a"} {
		_, err = e.rooms.CreateLiveRoom(as(seller), domain.LiveRoomCreate{Title: title})
		wantCode(t, err, domain.EINVALID)
	}

	r, err := e.rooms.CreateLiveRoom(as(seller), domain.LiveRoomCreate{Title: "Show"})
	if err != nil {
		t.Fatalf("CreateLiveRoom: %v", err)
	}
	if r.SellerID != seller.UserID || r.Title != "Show" || r.Status != domain.LiveRoomScheduled ||
		r.StartedAt != nil || r.EndedAt != nil || !r.CreatedAt.Equal(e.clock.Now()) {
		t.Fatalf("new room = %+v, want a SCHEDULED room of %s created at %v", r, seller.UserID, e.clock.Now())
	}
	if got, want := domain.KindOfID(r.ID), domain.PrefixLiveRoom; got != want {
		t.Fatalf("ID kind = %q, want %q", got, want)
	}
	got, err := e.rooms.FindLiveRoomByID(anonymous, r.ID)
	if err != nil {
		t.Fatalf("FindLiveRoomByID: %v", err)
	}
	if got.ID != r.ID || got.Status != domain.LiveRoomScheduled || got.Title != "Show" {
		t.Fatalf("found room = %+v, want %+v", got, r)
	}
	_, err = e.rooms.FindLiveRoomByID(anonymous, "room_unknown")
	wantCode(t, err, domain.ENOTFOUND)
}

func TestLiveRoomLifecycle(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 0)
	seller := e.user(t, domain.RoleSeller)
	other := e.user(t, domain.RoleSeller)
	r := e.room(t, seller)

	_, err := e.rooms.SetLiveRoomStatus(as(other), r.ID, domain.LiveRoomLive)
	wantCode(t, err, domain.EFORBIDDEN)
	_, err = e.rooms.SetLiveRoomStatus(as(seller), "room_unknown", domain.LiveRoomLive)
	wantCode(t, err, domain.ENOTFOUND)
	_, err = e.rooms.SetLiveRoomStatus(anonymous, r.ID, domain.LiveRoomLive)
	wantCode(t, err, domain.EUNAUTHENTICATED)
	_, err = e.rooms.SetLiveRoomStatus(as(seller), r.ID, domain.LiveRoomScheduled)
	wantCode(t, err, domain.ECONFLICT)

	startAt := e.clock.Add(time.Minute)
	live, err := e.rooms.SetLiveRoomStatus(as(seller), r.ID, domain.LiveRoomLive)
	if err != nil {
		t.Fatalf("start: %v", err)
	}
	if live.Status != domain.LiveRoomLive || live.StartedAt == nil || !live.StartedAt.Equal(startAt) || live.EndedAt != nil {
		t.Fatalf("started room = %+v, want LIVE started at %v", live, startAt)
	}
	_, err = e.rooms.SetLiveRoomStatus(as(seller), r.ID, domain.LiveRoomLive)
	wantCode(t, err, domain.ECONFLICT)
	_, err = e.rooms.SetLiveRoomStatus(as(other), r.ID, domain.LiveRoomEnded)
	wantCode(t, err, domain.EFORBIDDEN)

	endAt := e.clock.Add(time.Hour)
	ended, err := e.rooms.SetLiveRoomStatus(as(seller), r.ID, domain.LiveRoomEnded)
	if err != nil {
		t.Fatalf("end: %v", err)
	}
	if ended.Status != domain.LiveRoomEnded || ended.StartedAt == nil || !ended.StartedAt.Equal(startAt) ||
		ended.EndedAt == nil || !ended.EndedAt.Equal(endAt) {
		t.Fatalf("ended room = %+v, want ENDED, started %v, ended %v", ended, startAt, endAt)
	}
	_, err = e.rooms.SetLiveRoomStatus(as(seller), r.ID, domain.LiveRoomLive)
	wantCode(t, err, domain.ECONFLICT)
	_, err = e.rooms.SetLiveRoomStatus(as(seller), r.ID, domain.LiveRoomEnded)
	wantCode(t, err, domain.ECONFLICT)

	stored, err := e.rooms.FindLiveRoomByID(anonymous, r.ID)
	if err != nil {
		t.Fatalf("FindLiveRoomByID: %v", err)
	}
	if stored.Status != domain.LiveRoomEnded || stored.StartedAt == nil || !stored.StartedAt.Equal(startAt) ||
		stored.EndedAt == nil || !stored.EndedAt.Equal(endAt) {
		t.Fatalf("stored room = %+v, want ENDED, started %v, ended %v", stored, startAt, endAt)
	}

	// A scheduled room may end without starting; an ADMIN may end any room.
	r2 := e.room(t, seller)
	ended, err = e.rooms.SetLiveRoomStatus(as(e.user(t, domain.RoleAdmin)), r2.ID, domain.LiveRoomEnded)
	if err != nil {
		t.Fatalf("end scheduled room as admin: %v", err)
	}
	if ended.Status != domain.LiveRoomEnded || ended.StartedAt != nil || ended.EndedAt == nil {
		t.Fatalf("room ended before starting = %+v", ended)
	}
}

func TestLiveRoomFindByStatus(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 0)
	seller := e.user(t, domain.RoleSeller)
	ctx := as(seller)
	scheduled := e.room(t, seller)
	live := e.room(t, seller)
	if _, err := e.rooms.SetLiveRoomStatus(ctx, live.ID, domain.LiveRoomLive); err != nil {
		t.Fatal(err)
	}
	ended := e.room(t, seller)
	if _, err := e.rooms.SetLiveRoomStatus(ctx, ended.ID, domain.LiveRoomLive); err != nil {
		t.Fatal(err)
	}
	if _, err := e.rooms.SetLiveRoomStatus(ctx, ended.ID, domain.LiveRoomEnded); err != nil {
		t.Fatal(err)
	}
	scheduled2 := e.room(t, seller)

	for status, want := range map[domain.LiveRoomStatus][]string{
		"":                       {scheduled2.ID, ended.ID, live.ID, scheduled.ID},
		domain.LiveRoomScheduled: {scheduled2.ID, scheduled.ID},
		domain.LiveRoomLive:      {live.ID},
		domain.LiveRoomEnded:     {ended.ID},
	} {
		page, err := e.rooms.FindLiveRooms(anonymous, domain.LiveRoomFilter{Status: status, PageRequest: domain.PageRequest{First: 10}})
		if err != nil {
			t.Fatalf("FindLiveRooms(%q): %v", status, err)
		}
		if got := ids(page.Items, func(r *domain.LiveRoom) string { return r.ID }); !slices.Equal(got, want) || page.HasNext {
			t.Fatalf("FindLiveRooms(%q) = %v HasNext %t, want %v false", status, got, page.HasNext, want)
		}
		for _, r := range page.Items {
			if status != "" && r.Status != status {
				t.Fatalf("FindLiveRooms(%q) returned a %s room", status, r.Status)
			}
		}
	}
	page, err := e.rooms.FindLiveRooms(anonymous, domain.LiveRoomFilter{
		Status: domain.LiveRoomScheduled, PageRequest: domain.PageRequest{First: 1},
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := ids(page.Items, func(r *domain.LiveRoom) string { return r.ID }); !slices.Equal(got, []string{scheduled2.ID}) || !page.HasNext {
		t.Fatalf("first SCHEDULED = %v HasNext %t, want [%s] true", got, page.HasNext, scheduled2.ID)
	}
	page, err = e.rooms.FindLiveRooms(anonymous, domain.LiveRoomFilter{
		Status: domain.LiveRoomScheduled, PageRequest: domain.PageRequest{First: 1, After: scheduled2.ID},
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := ids(page.Items, func(r *domain.LiveRoom) string { return r.ID }); !slices.Equal(got, []string{scheduled.ID}) || page.HasNext {
		t.Fatalf("second SCHEDULED = %v HasNext %t, want [%s] false", got, page.HasNext, scheduled.ID)
	}

	_, err = e.rooms.FindLiveRooms(anonymous, domain.LiveRoomFilter{Status: "PAUSED"})
	wantCode(t, err, domain.EINVALID)
	_, err = e.rooms.FindLiveRooms(anonymous, domain.LiveRoomFilter{PageRequest: domain.PageRequest{First: -1}})
	wantCode(t, err, domain.EINVALID)

	rs, err := e.rooms.FindLiveRoomsByIDs(anonymous, []string{live.ID, "room_unknown", ended.ID})
	if err != nil {
		t.Fatalf("FindLiveRoomsByIDs: %v", err)
	}
	if got, want := sorted(ids(rs, func(r *domain.LiveRoom) string { return r.ID })), sorted([]string{live.ID, ended.ID}); !slices.Equal(got, want) {
		t.Fatalf("FindLiveRoomsByIDs = %v, want %v", got, want)
	}
}
