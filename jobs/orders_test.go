package jobs

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"flashlive/domain"
	"flashlive/internal/memhot"
)

// The order writer lists the orders it writes in their purchase's place, and it
// and the expiry take the orders that stop being unpaid off their buyer's
// list (the cap on unpaid orders, service.UnpaidCap).

type unpaidStore struct{ written, refused []domain.Reservation }

func (s unpaidStore) WriteReservations(context.Context, []domain.Reservation) (written, refused []domain.Reservation, err error) {
	return s.written, s.refused, nil
}

type unpaidHot struct{}

func (unpaidHot) Forget(context.Context, []domain.Reservation) error   { return nil }
func (unpaidHot) Release(context.Context, *domain.Order) (bool, error) { return true, nil }

type unpaidExpirer struct{ o *domain.Order }

func (e unpaidExpirer) ExpireOrder(context.Context, string) (*domain.Order, error) { return e.o, nil }

var unpaidT0 = time.Date(2030, 1, 2, 12, 0, 0, 0, time.UTC)

// admits reports whether the buyer's list admits one more order under
// cap (and so lists it).
func admits(t *testing.T, u *memhot.UnpaidOrders, buyer, id string, cap int) bool {
	t.Helper()
	ok, err := u.Admit(context.Background(), buyer, id, unpaidT0.Add(time.Hour), unpaidT0, cap)
	if err != nil {
		t.Fatal(err)
	}
	return ok
}

func admitAll(t *testing.T, u *memhot.UnpaidOrders, buyer string, ids ...string) {
	t.Helper()
	for _, id := range ids {
		if ok, err := u.Admit(context.Background(), buyer, id, unpaidT0.Add(time.Hour), unpaidT0, 10); err != nil || !ok {
			t.Fatalf("admit %s = %v, %v", id, ok, err)
		}
	}
}

func TestOrderWriterListsWrittenAndDropsRefused(t *testing.T) {
	u := &memhot.UnpaidOrders{}
	admitAll(t, u, "usr_a", domain.PurchaseID("evt_1", "k1"), domain.PurchaseID("evt_1", "k2"))
	written := domain.Reservation{OrderID: "ord_written", BuyerID: "usr_a", EventID: "evt_1", Quantity: 1, IdempotencyKey: "k1"}
	refused := domain.Reservation{OrderID: "ord_refused", BuyerID: "usr_a", EventID: "evt_1", Quantity: 1, IdempotencyKey: "k2"}
	w := &OrderWriter{
		Orders: unpaidStore{written: []domain.Reservation{written}, refused: []domain.Reservation{refused}},
		Hot:    unpaidHot{}, Unpaid: u, Live: domain.NopNotifier{}, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	}
	if err := w.Handle(context.Background(), []domain.Reservation{written, refused}); err != nil {
		t.Fatal(err)
	}
	// Under a cap of 1: k1 is no longer listed but something is, and
	// that is ord_written (admitted as listed already).
	if admits(t, u, "usr_a", domain.PurchaseID("evt_1", "k1"), 1) || !admits(t, u, "usr_a", "ord_written", 1) {
		t.Fatalf("ord_written is not listed in place of its purchase")
	}
	// And it is the only one: the refused purchase left.
	if !admits(t, u, "usr_a", "ord_probe", 2) || admits(t, u, "usr_a", "ord_probe2", 2) {
		t.Fatalf("after the batch, usr_a's list does not hold exactly one entry")
	}
}

func TestExpiryDropsExpiredFromUnpaid(t *testing.T) {
	for _, tt := range []struct {
		status   domain.OrderStatus
		wantKept bool
	}{
		{domain.OrderExpired, false},
		// A payment came first: the pay path takes it off, not the expiry.
		{domain.OrderPaid, true},
	} {
		u := &memhot.UnpaidOrders{}
		admitAll(t, u, "usr_a", "ord_1")
		o := &domain.Order{ID: "ord_1", BuyerID: "usr_a", FlashEventID: "evt_1", Status: tt.status}
		e := &Expiry{Orders: unpaidExpirer{o}, Hot: unpaidHot{}, Unpaid: u, Live: domain.NopNotifier{}, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
		if err := e.Handle(context.Background(), "ord_1"); err != nil {
			t.Fatal(err)
		}
		// Under a cap of 1, another order is admitted only if ord_1 left.
		if kept := !admits(t, u, "usr_a", "ord_2", 1); kept != tt.wantKept {
			t.Fatalf("%s order: still listed = %v, want %v", tt.status, kept, tt.wantKept)
		}
	}
}

// TestOrderWriterLogsForgedReservation: a reservation whose message named
// another price or seller than PostgreSQL wrote is logged as an error with
// both values; one that agreed is not.
func TestOrderWriterLogsForgedReservation(t *testing.T) {
	honest := domain.Reservation{OrderID: "ord_honest", BuyerID: "usr_a", EventID: "evt_1", ProductID: "prd_1", SellerID: "usr_s", UnitPriceCents: 1999, Quantity: 1}
	forged := domain.Reservation{OrderID: "ord_forged", BuyerID: "usr_b", EventID: "evt_1", ProductID: "prd_1", SellerID: "usr_crook", UnitPriceCents: 1, Quantity: 1}
	wrote := forged
	wrote.SellerID, wrote.UnitPriceCents = "usr_s", 1999
	var logs strings.Builder
	w := &OrderWriter{
		Orders: unpaidStore{written: []domain.Reservation{honest, wrote}},
		Hot:    unpaidHot{}, Live: domain.NopNotifier{}, Logger: slog.New(slog.NewTextHandler(&logs, nil)),
	}
	if err := w.Handle(context.Background(), []domain.Reservation{honest, forged}); err != nil {
		t.Fatal(err)
	}
	out := logs.String()
	if got, want := strings.Count(out, "level=ERROR"), 1; got != want {
		t.Fatalf("%d errors logged, want %d:\n%s", got, want, out)
	}
	for _, w := range []string{"order_id=ord_forged", "sent_seller=usr_crook", "seller=usr_s", "sent_price_cents=1", "price_cents=1999"} {
		if !strings.Contains(out, w) {
			t.Errorf("log lacks %q:\n%s", w, out)
		}
	}
}
