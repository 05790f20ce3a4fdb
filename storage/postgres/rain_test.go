package postgres_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"flashlive/domain"
	"flashlive/storage/postgres"
)

// newRain stores a rain of the seller's new room, 10 packets of 10 cents
// less the last's 5, in the window [start, end).
func newRain(t *testing.T, e *env, store *postgres.RainStore, seller domain.Principal, start, end time.Time) *domain.RedPacketRain {
	t.Helper()
	room := e.room(t, seller)
	r := &domain.RedPacketRain{
		ID: fmt.Sprintf("%s%d", domain.PrefixRedPacketRain, time.Now().UnixNano()), RoomID: room.ID, SellerID: seller.UserID,
		TotalCents: 95, Amounts: []int64{10, 10, 10, 10, 10, 10, 10, 10, 10, 5},
		StartsAt: start, EndsAt: end, CreatedAt: e.clock.Now(),
	}
	if err := store.CreateRain(context.Background(), r); err != nil {
		t.Fatalf("CreateRain: %v", err)
	}
	return r
}

func TestRainGrabsAndRefundOnce(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 0)
	store := postgres.NewRainStore(e.db)
	ctx := context.Background()
	seller := e.user(t, domain.RoleSeller)
	now := e.clock.Now()
	r := newRain(t, e, store, seller, now, now.Add(time.Minute))

	got, err := store.FindRainByID(ctx, r.ID)
	if err != nil {
		t.Fatalf("FindRainByID: %v", err)
	}
	if got.PacketsLeft != 10 || got.Packets() != 10 || got.TotalCents != 95 || got.Refunded {
		t.Fatalf("new rain = %+v", got)
	}
	_, err = store.FindRainByID(ctx, "rain_nope")
	wantCode(t, err, domain.ENOTFOUND)

	b1, b2 := e.user(t, domain.RoleBuyer), e.user(t, domain.RoleBuyer)
	gs := []domain.RedPacketGrab{
		{ID: "grab_1", RainID: r.ID, BuyerID: b1.UserID, PacketIndex: 9, AmountCents: 5, IdempotencyKey: "k1", GrabbedAt: now},
		{ID: "grab_2", RainID: r.ID, BuyerID: b2.UserID, PacketIndex: 8, AmountCents: 10, IdempotencyKey: "k2", GrabbedAt: now},
	}
	for range 2 { // delivered twice: written once
		if err := store.WriteGrabs(ctx, gs); err != nil {
			t.Fatalf("WriteGrabs: %v", err)
		}
	}
	// Same buyer, another packet: skipped by the unique key.
	if err := store.WriteGrabs(ctx, []domain.RedPacketGrab{{ID: "grab_3", RainID: r.ID, BuyerID: b1.UserID, PacketIndex: 7, AmountCents: 10, IdempotencyKey: "k3", GrabbedAt: now}}); err != nil {
		t.Fatalf("WriteGrabs: %v", err)
	}
	written, err := store.RainGrabs(ctx, r.ID)
	if err != nil || len(written) != 2 {
		t.Fatalf("RainGrabs = %d grabs, %v; want 2", len(written), err)
	}
	pg, err := store.FindGrabsByBuyer(ctx, b1.UserID, domain.PageRequest{First: 10})
	if err != nil || len(pg.Items) != 1 || pg.Items[0].AmountCents != 5 {
		t.Fatalf("FindGrabsByBuyer = %+v, %v", pg, err)
	}

	due, err := store.RainsToRefund(ctx, now.Add(time.Minute))
	if err != nil || len(due) != 1 || due[0].ID != r.ID {
		t.Fatalf("RainsToRefund = %v, %v", due, err)
	}
	// Many refund runners at once: one refunds, all see the same figure.
	var wg sync.WaitGroup
	var mu sync.Mutex
	wins := 0
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cents, did, err := store.Refund(ctx, r.ID, now.Add(time.Minute))
			if err != nil || cents != 80 {
				t.Errorf("Refund = %d, %v; want 80", cents, err)
			}
			if did {
				mu.Lock()
				wins++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if wins != 1 {
		t.Fatalf("%d runners refunded, want 1", wins)
	}
	got, _ = store.FindRainByID(ctx, r.ID)
	if !got.Refunded || got.RefundedCents != 80 || got.PacketsLeft != 8 {
		t.Fatalf("refunded rain = %+v", got)
	}
	if due, _ := store.RainsToRefund(ctx, now.Add(time.Minute)); len(due) != 0 {
		t.Fatalf("refunded rain still due: %v", due)
	}
	around, err := store.RainsAround(ctx, now, time.Minute, 0)
	if err != nil || len(around) != 1 {
		t.Fatalf("RainsAround = %v, %v", around, err)
	}
	rs, err := store.FindRainsByRoom(ctx, r.RoomID)
	if err != nil || len(rs) != 1 {
		t.Fatalf("FindRainsByRoom = %v, %v", rs, err)
	}
}
