package postgres_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"flashlive/domain"
)

func TestFlashEventFindByStatus(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 0)
	ctx := context.Background()
	seller := e.user(t, domain.RoleSeller)
	p := e.product(t, seller, 100)
	t0 := e.clock.Now()

	create := func(start, end time.Duration, stock int) *domain.FlashEvent {
		t.Helper()
		in := e.eventInput(p.ID, stock)
		in.StartsAt, in.EndsAt = t0.Add(start), t0.Add(end)
		ev, err := e.events.CreateFlashEvent(as(seller), in)
		if err != nil {
			t.Fatalf("CreateFlashEvent: %v", err)
		}
		return ev
	}
	scheduled := create(time.Hour, 2*time.Hour, 5)
	live := create(0, time.Hour, 5)
	soldOut := create(0, time.Hour, 5)
	ended := create(0, 10*time.Minute, 5)
	closed := create(0, time.Hour, 5)
	if _, err := e.events.CloseFlashEvent(as(seller), closed.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := e.db.Pool.Exec(ctx, `UPDATE flash_events SET sold = stock WHERE id = $1`, soldOut.ID); err != nil {
		t.Fatalf("sell out: %v", err)
	}
	// Partly sold is still LIVE.
	if _, err := e.db.Pool.Exec(ctx, `UPDATE flash_events SET sold = stock - 1 WHERE id = $1`, live.ID); err != nil {
		t.Fatalf("sell some: %v", err)
	}
	everyID := []string{scheduled.ID, live.ID, soldOut.ID, ended.ID, closed.ID}

	// find returns the IDs FindFlashEvents gives for status, newest first.
	find := func(status domain.FlashEventStatus) []string {
		t.Helper()
		page, err := e.events.FindFlashEvents(anonymous, domain.FlashEventFilter{Status: status, PageRequest: domain.PageRequest{First: 10}})
		if err != nil {
			t.Fatalf("FindFlashEvents(%q): %v", status, err)
		}
		if page.HasNext {
			t.Fatalf("FindFlashEvents(%q): HasNext with 5 events", status)
		}
		return ids(page.Items, func(ev *domain.FlashEvent) string { return ev.ID })
	}

	e.clock.Set(t0.Add(30 * time.Minute))
	for status, want := range map[domain.FlashEventStatus]string{
		domain.FlashEventScheduled: scheduled.ID,
		domain.FlashEventLive:      live.ID,
		domain.FlashEventSoldOut:   soldOut.ID,
		domain.FlashEventEnded:     ended.ID,
		domain.FlashEventClosed:    closed.ID,
	} {
		if got := find(status); !slices.Equal(got, []string{want}) {
			t.Errorf("at t0+30m FindFlashEvents(%s) = %v, want [%s]", status, got, want)
		}
	}

	// At every instant, including the window edges, the SQL filter agrees
	// with domain.FlashEvent.StatusAt.
	for _, at := range []time.Duration{0, 10 * time.Minute, 30 * time.Minute, time.Hour - time.Microsecond, time.Hour, 2 * time.Hour} {
		now := t0.Add(at)
		e.clock.Set(now)
		evs, err := e.events.FindFlashEventsByIDs(anonymous, everyID)
		if err != nil {
			t.Fatalf("FindFlashEventsByIDs: %v", err)
		}
		if len(evs) != len(everyID) {
			t.Fatalf("FindFlashEventsByIDs = %d events, want %d", len(evs), len(everyID))
		}
		want := map[domain.FlashEventStatus][]string{}
		for _, ev := range evs {
			s := ev.StatusAt(now, ev.Stock-ev.Sold)
			want[s] = append(want[s], ev.ID)
		}
		for _, status := range []domain.FlashEventStatus{
			domain.FlashEventScheduled, domain.FlashEventLive, domain.FlashEventSoldOut, domain.FlashEventEnded, domain.FlashEventClosed,
		} {
			if got, want := sorted(find(status)), sorted(want[status]); !slices.Equal(got, want) {
				t.Errorf("at t0+%v FindFlashEvents(%s) = %v, want %v (StatusAt)", at, status, got, want)
			}
		}
	}
	if got, want := statusesAt(t, e, t0.Add(time.Hour), scheduled, live), []domain.FlashEventStatus{domain.FlashEventLive, domain.FlashEventEnded}; !slices.Equal(got, want) {
		t.Fatalf("at the edge t0+1h: scheduled/live events are %v, want %v", got, want)
	}

	_, err := e.events.FindFlashEvents(anonymous, domain.FlashEventFilter{Status: "PAUSED"})
	wantCode(t, err, domain.EINVALID)
	_, err = e.events.FindFlashEvents(anonymous, domain.FlashEventFilter{PageRequest: domain.PageRequest{First: -1}})
	wantCode(t, err, domain.EINVALID)
}

// statusesAt returns the statuses of evs at now, per StatusAt, read fresh.
func statusesAt(t *testing.T, e *env, now time.Time, evs ...*domain.FlashEvent) []domain.FlashEventStatus {
	t.Helper()
	var out []domain.FlashEventStatus
	for _, ev := range evs {
		fresh, err := e.events.FindFlashEventByID(anonymous, ev.ID)
		if err != nil {
			t.Fatalf("FindFlashEventByID: %v", err)
		}
		out = append(out, fresh.StatusAt(now, fresh.Stock-fresh.Sold))
	}
	return out
}

// TestFlashEventFindAll lists events without a status filter: every event,
// newest first, paged, and by room.
func TestFlashEventFindAll(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 0)
	seller := e.user(t, domain.RoleSeller)
	p := e.product(t, seller, 100)
	room := e.room(t, seller)
	var created []string
	for i := range 5 {
		in := e.eventInput(p.ID, 1)
		if i%2 == 0 {
			in.LiveRoomID = room.ID
		}
		ev, err := e.events.CreateFlashEvent(as(seller), in)
		if err != nil {
			t.Fatal(err)
		}
		created = append(created, ev.ID)
	}
	slices.Reverse(created)

	page, err := e.events.FindFlashEvents(anonymous, domain.FlashEventFilter{PageRequest: domain.PageRequest{First: 3}})
	if err != nil {
		t.Fatalf("FindFlashEvents without a status: %v", err)
	}
	if got, want := ids(page.Items, func(ev *domain.FlashEvent) string { return ev.ID }), created[:3]; !slices.Equal(got, want) || !page.HasNext {
		t.Fatalf("first page = %v HasNext %t, want %v true", got, page.HasNext, want)
	}
	page, err = e.events.FindFlashEvents(anonymous, domain.FlashEventFilter{PageRequest: domain.PageRequest{First: 3, After: created[2]}})
	if err != nil {
		t.Fatalf("FindFlashEvents page 2: %v", err)
	}
	if got, want := ids(page.Items, func(ev *domain.FlashEvent) string { return ev.ID }), created[3:]; !slices.Equal(got, want) || page.HasNext {
		t.Fatalf("second page = %v HasNext %t, want %v false", got, page.HasNext, want)
	}
	page, err = e.events.FindFlashEvents(anonymous, domain.FlashEventFilter{LiveRoomID: room.ID, PageRequest: domain.PageRequest{First: 10}})
	if err != nil {
		t.Fatalf("FindFlashEvents by room: %v", err)
	}
	if got, want := ids(page.Items, func(ev *domain.FlashEvent) string { return ev.ID }), []string{created[0], created[2], created[4]}; !slices.Equal(got, want) {
		t.Fatalf("room events = %v, want %v", got, want)
	}
}

func TestFlashEventFindByRoomIDs(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 0)
	seller := e.user(t, domain.RoleSeller)
	p := e.product(t, seller, 100)
	r1, r2, empty := e.room(t, seller), e.room(t, seller), e.room(t, seller)
	t0 := e.clock.Now()
	create := func(room string, start time.Duration) string {
		t.Helper()
		in := e.eventInput(p.ID, 1)
		in.LiveRoomID = room
		in.StartsAt, in.EndsAt = t0.Add(start), t0.Add(start+time.Hour)
		ev, err := e.events.CreateFlashEvent(as(seller), in)
		if err != nil {
			t.Fatal(err)
		}
		return ev.ID
	}
	// Created out of start order, to check the ordering.
	r1late := create(r1.ID, 2*time.Hour)
	r1early := create(r1.ID, time.Hour)
	r2only := create(r2.ID, 90*time.Minute)
	create("", 0) // pinned nowhere

	evs, err := e.events.FindFlashEventsByRoomIDs(anonymous, []string{r1.ID, r2.ID, empty.ID, "room_unknown"})
	if err != nil {
		t.Fatalf("FindFlashEventsByRoomIDs: %v", err)
	}
	byRoom := map[string][]string{}
	for i, ev := range evs {
		byRoom[ev.LiveRoomID] = append(byRoom[ev.LiveRoomID], ev.ID)
		if i > 0 && ev.StartsAt.Before(evs[i-1].StartsAt) {
			t.Fatalf("events not oldest start first: %v after %v", ev.StartsAt, evs[i-1].StartsAt)
		}
	}
	want := map[string][]string{r1.ID: {r1early, r1late}, r2.ID: {r2only}}
	if len(byRoom) != len(want) {
		t.Fatalf("rooms in result = %v, want %v", byRoom, want)
	}
	for room, w := range want {
		if got := byRoom[room]; !slices.Equal(got, w) {
			t.Fatalf("room %s events = %v, want %v", room, got, w)
		}
	}

	evs, err = e.events.FindFlashEventsByRoomIDs(anonymous, []string{empty.ID})
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) != 0 {
		t.Fatalf("events of a room without events = %d, want 0", len(evs))
	}
}
