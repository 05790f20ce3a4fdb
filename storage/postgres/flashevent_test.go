package postgres_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"flashlive/domain"
)

func TestFlashEventCreateTakesStock(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 0)
	seller := e.user(t, domain.RoleSeller)
	p := e.product(t, seller, 50)
	r := e.room(t, seller)

	in := e.eventInput(p.ID, 20)
	in.LiveRoomID = r.ID
	ev, err := e.events.CreateFlashEvent(as(seller), in)
	if err != nil {
		t.Fatalf("CreateFlashEvent: %v", err)
	}
	now := e.clock.Now()
	want := domain.FlashEvent{
		ID: ev.ID, ProductID: p.ID, LiveRoomID: r.ID, SellerID: seller.UserID, PriceCents: in.PriceCents,
		Stock: 20, Sold: 0, PerUserLimit: in.PerUserLimit, StartsAt: in.StartsAt, EndsAt: in.EndsAt, CreatedAt: now,
	}
	assertEvent(t, "created", ev, &want)
	if got, want := domain.KindOfID(ev.ID), domain.PrefixFlashEvent; got != want {
		t.Fatalf("ID kind = %q, want %q", got, want)
	}
	found, err := e.events.FindFlashEventByID(anonymous, ev.ID)
	if err != nil {
		t.Fatalf("FindFlashEventByID: %v", err)
	}
	assertEvent(t, "found", found, &want)
	if got, want := e.productStock(t, p.ID), 30; got != want {
		t.Fatalf("product stock = %d, want %d", got, want)
	}

	// More than the product has left: refused, nothing taken.
	_, err = e.events.CreateFlashEvent(as(seller), e.eventInput(p.ID, 31))
	wantCode(t, err, domain.ECONFLICT)
	if got, want := e.productStock(t, p.ID), 30; got != want {
		t.Fatalf("product stock after refused event = %d, want %d", got, want)
	}
	// Exactly what is left is fine, and not pinned to a room.
	all, err := e.events.CreateFlashEvent(as(seller), e.eventInput(p.ID, 30))
	if err != nil {
		t.Fatalf("CreateFlashEvent(all the stock): %v", err)
	}
	if all.LiveRoomID != "" {
		t.Fatalf("unpinned event has room %q", all.LiveRoomID)
	}
	if got, want := e.productStock(t, p.ID), 0; got != want {
		t.Fatalf("product stock = %d, want %d", got, want)
	}
	_, err = e.events.FindFlashEventByID(anonymous, "evt_unknown")
	wantCode(t, err, domain.ENOTFOUND)

	// An ADMIN may create an event for a seller's product: the event is the
	// seller's.
	p2 := e.product(t, seller, 5)
	byAdmin, err := e.events.CreateFlashEvent(as(e.user(t, domain.RoleAdmin)), e.eventInput(p2.ID, 5))
	if err != nil {
		t.Fatalf("CreateFlashEvent as admin: %v", err)
	}
	if got, want := byAdmin.SellerID, seller.UserID; got != want {
		t.Fatalf("admin-made event seller = %q, want %q", got, want)
	}
}

// assertEvent compares events field by field, times as instants.
func assertEvent(t *testing.T, what string, got, want *domain.FlashEvent) {
	t.Helper()
	g, w := *got, *want
	for _, pair := range [][2]*time.Time{{&g.StartsAt, &w.StartsAt}, {&g.EndsAt, &w.EndsAt}, {&g.CreatedAt, &w.CreatedAt}} {
		if pair[0].Equal(*pair[1]) {
			*pair[0] = *pair[1]
		}
	}
	if (g.ClosedAt == nil) != (w.ClosedAt == nil) || (g.ClosedAt != nil && !g.ClosedAt.Equal(*w.ClosedAt)) {
		t.Fatalf("%s event closed at %v, want %v", what, g.ClosedAt, w.ClosedAt)
	}
	g.ClosedAt, w.ClosedAt = nil, nil
	if g != w {
		t.Fatalf("%s event = %+v, want %+v", what, g, w)
	}
}

func TestFlashEventCreateRefused(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 0)
	seller := e.user(t, domain.RoleSeller)
	other := e.user(t, domain.RoleSeller)
	p := e.product(t, seller, 50)
	otherProduct := e.product(t, other, 50)
	room := e.room(t, seller)
	otherRoom := e.room(t, other)
	ended := e.room(t, seller)
	if _, err := e.rooms.SetLiveRoomStatus(as(seller), ended.ID, domain.LiveRoomEnded); err != nil {
		t.Fatal(err)
	}
	now := e.clock.Now()

	for _, tc := range []struct {
		name string
		ctx  context.Context
		mod  func(c *domain.FlashEventCreate)
		code string
	}{
		{"anonymous", anonymous, nil, domain.EUNAUTHENTICATED},
		{"buyer", as(e.user(t, domain.RoleBuyer)), nil, domain.EFORBIDDEN},
		{"another seller's product", as(seller), func(c *domain.FlashEventCreate) { c.ProductID = otherProduct.ID }, domain.EFORBIDDEN},
		{"another seller's room", as(seller), func(c *domain.FlashEventCreate) { c.LiveRoomID = otherRoom.ID }, domain.EFORBIDDEN},
		{"ended room", as(seller), func(c *domain.FlashEventCreate) { c.LiveRoomID = ended.ID }, domain.ECONFLICT},
		{"unknown product", as(seller), func(c *domain.FlashEventCreate) { c.ProductID = "prd_unknown" }, domain.ENOTFOUND},
		{"unknown room", as(seller), func(c *domain.FlashEventCreate) { c.LiveRoomID = "room_unknown" }, domain.ENOTFOUND},
		{"too much stock", as(seller), func(c *domain.FlashEventCreate) { c.Stock = 51 }, domain.ECONFLICT},
		{"no product", as(seller), func(c *domain.FlashEventCreate) { c.ProductID = "" }, domain.EINVALID},
		{"starts in the past", as(seller), func(c *domain.FlashEventCreate) {
			c.StartsAt = now.Add(-domain.StartGrace - time.Second)
		}, domain.EINVALID},
		{"ends before it starts", as(seller), func(c *domain.FlashEventCreate) { c.EndsAt = c.StartsAt }, domain.EINVALID},
		{"too long", as(seller), func(c *domain.FlashEventCreate) {
			c.EndsAt = c.StartsAt.Add(domain.MaxEventLength + time.Second)
		}, domain.EINVALID},
		{"zero stock", as(seller), func(c *domain.FlashEventCreate) { c.Stock = 0 }, domain.EINVALID},
		{"zero per-user limit", as(seller), func(c *domain.FlashEventCreate) { c.PerUserLimit = 0 }, domain.EINVALID},
		{"huge per-user limit", as(seller), func(c *domain.FlashEventCreate) { c.PerUserLimit = domain.MaxPerUserLimit + 1 }, domain.EINVALID},
		{"negative price", as(seller), func(c *domain.FlashEventCreate) { c.PriceCents = -1 }, domain.EINVALID},
	} {
		in := e.eventInput(p.ID, 20)
		in.LiveRoomID = room.ID
		if tc.mod != nil {
			tc.mod(&in)
		}
		_, err := e.events.CreateFlashEvent(tc.ctx, in)
		if got := domain.ErrorCode(err); got != tc.code {
			t.Errorf("%s: code = %q, want %q (err: %v)", tc.name, got, tc.code, err)
		}
	}
	if got, want := e.productStock(t, p.ID), 50; got != want {
		t.Fatalf("product stock after refused events = %d, want %d", got, want)
	}
	if got, want := e.productStock(t, otherProduct.ID), 50; got != want {
		t.Fatalf("other product stock after refused events = %d, want %d", got, want)
	}
	var n int
	if err := e.db.Pool.QueryRow(context.Background(), `SELECT count(*) FROM flash_events`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Fatalf("flash events after refused creates = %d, want 0", n)
	}

	// Inside the grace period a start in the past is accepted; a LIVE room
	// takes events.
	if _, err := e.rooms.SetLiveRoomStatus(as(seller), room.ID, domain.LiveRoomLive); err != nil {
		t.Fatal(err)
	}
	in := e.eventInput(p.ID, 1)
	in.LiveRoomID = room.ID
	in.StartsAt = now.Add(-domain.StartGrace + time.Second)
	if _, err := e.events.CreateFlashEvent(as(seller), in); err != nil {
		t.Fatalf("CreateFlashEvent starting within the grace period in a LIVE room: %v", err)
	}
}

func TestFlashEventClose(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 0)
	seller := e.user(t, domain.RoleSeller)
	other := e.user(t, domain.RoleSeller)
	ev, err := e.events.CreateFlashEvent(as(seller), e.eventInput(e.product(t, seller, 10).ID, 10))
	if err != nil {
		t.Fatal(err)
	}

	_, err = e.events.CloseFlashEvent(as(other), ev.ID)
	wantCode(t, err, domain.EFORBIDDEN)
	_, err = e.events.CloseFlashEvent(as(e.user(t, domain.RoleBuyer)), ev.ID)
	wantCode(t, err, domain.EFORBIDDEN)
	_, err = e.events.CloseFlashEvent(anonymous, ev.ID)
	wantCode(t, err, domain.EUNAUTHENTICATED)
	_, err = e.events.CloseFlashEvent(as(seller), "evt_unknown")
	wantCode(t, err, domain.ENOTFOUND)

	closeAt := e.clock.Add(5 * time.Minute)
	closed, err := e.events.CloseFlashEvent(as(seller), ev.ID)
	if err != nil {
		t.Fatalf("CloseFlashEvent: %v", err)
	}
	want := *ev
	want.ClosedAt = &closeAt
	assertEvent(t, "closed", closed, &want)
	stored, err := e.events.FindFlashEventByID(anonymous, ev.ID)
	if err != nil {
		t.Fatal(err)
	}
	assertEvent(t, "stored", stored, &want)

	e.clock.Add(time.Minute)
	_, err = e.events.CloseFlashEvent(as(seller), ev.ID)
	wantCode(t, err, domain.ECONFLICT)
	stored, err = e.events.FindFlashEventByID(anonymous, ev.ID)
	if err != nil {
		t.Fatal(err)
	}
	assertEvent(t, "stored after second close", stored, &want)

	// An ADMIN may close any seller's event.
	ev2, err := e.events.CreateFlashEvent(as(seller), e.eventInput(e.product(t, seller, 1).ID, 1))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.events.CloseFlashEvent(as(e.user(t, domain.RoleAdmin)), ev2.ID); err != nil {
		t.Fatalf("CloseFlashEvent as admin: %v", err)
	}
}

func TestFlashEventCreateConcurrent(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 0)
	seller := e.user(t, domain.RoleSeller)
	p := e.product(t, seller, 100)

	const n, each = 20, 10
	errs := make([]error, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			<-start
			_, errs[i] = e.events.CreateFlashEvent(as(seller), e.eventInput(p.ID, each))
		})
	}
	close(start)
	wg.Wait()

	created, conflicts := 0, 0
	for i, err := range errs {
		switch domain.ErrorCode(err) {
		case "":
			created++
		case domain.ECONFLICT:
			conflicts++
		default:
			t.Errorf("create #%d: %v", i, err)
		}
	}
	if created != 10 || conflicts != 10 {
		t.Fatalf("created %d, conflicts %d; want 10 and 10", created, conflicts)
	}
	if got, want := e.productStock(t, p.ID), 0; got != want {
		t.Fatalf("product stock = %d, want %d", got, want)
	}
	var events, units int
	err := e.db.Pool.QueryRow(context.Background(),
		`SELECT count(*), coalesce(sum(stock), 0) FROM flash_events WHERE product_id = $1`, p.ID).Scan(&events, &units)
	if err != nil {
		t.Fatal(err)
	}
	if events != 10 || units != 100 {
		t.Fatalf("flash events = %d holding %d units, want 10 holding 100", events, units)
	}
}

func TestFlashEventSoldCheck(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 0)
	seller := e.user(t, domain.RoleSeller)
	ev, err := e.events.CreateFlashEvent(as(seller), e.eventInput(e.product(t, seller, 10).ID, 10))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for _, tc := range []struct {
		set  string
		code string // SQLSTATE, "" for success
	}{
		{"stock", ""},
		{"stock + 1", "23514"},
		{"-1", "23514"},
	} {
		_, err := e.db.Pool.Exec(ctx, fmt.Sprintf(`UPDATE flash_events SET sold = %s WHERE id = $1`, tc.set), ev.ID)
		var pe *pgconn.PgError
		switch {
		case tc.code == "" && err != nil:
			t.Fatalf("SET sold = %s: %v", tc.set, err)
		case tc.code != "" && (!errors.As(err, &pe) || pe.Code != tc.code):
			t.Fatalf("SET sold = %s: err %v, want SQLSTATE %s (check violation)", tc.set, err, tc.code)
		}
	}
	stored, err := e.events.FindFlashEventByID(anonymous, ev.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := stored.Sold, 10; got != want {
		t.Fatalf("sold = %d, want %d", got, want)
	}
}
