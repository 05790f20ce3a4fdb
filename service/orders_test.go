package service_test

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync/atomic"
	"testing"

	"flashlive/domain"
	"flashlive/service"
)

// fsOrderStore is the OrderService under Orders.
type fsOrderStore struct {
	domain.OrderService
	find, pay, cancel func(id string) (*domain.Order, error)
}

func (s *fsOrderStore) FindOrderByID(_ context.Context, id string) (*domain.Order, error) {
	return s.find(id)
}

func (s *fsOrderStore) PayOrder(_ context.Context, id string) (*domain.Order, error) {
	return s.pay(id)
}

func (s *fsOrderStore) CancelOrder(_ context.Context, id string) (*domain.Order, error) {
	return s.cancel(id)
}

// fsPendingID is the flash order that fsOrders reserves and does not
// write: its outbox record is all there is of it.
var fsPendingID = domain.FlashOrderID("pending", fsEventID)

// fsOrders returns Orders over a hot stock holding the outbox record of
// fsPendingID (2 units of usr_buyer at 1999).
func fsOrders(t *testing.T, store *fsOrderStore) (*service.Orders, *fsHot, *fsLogBuffer) {
	t.Helper()
	hot := fsNewHot()
	hot.put(t, fsEvent(), 500, false)
	rsv := domain.Reservation{OrderID: fsPendingID, BuyerID: fsBuyerID, EventID: fsEventID, Quantity: 2, CreatedAt: fsT0}
	if res, err := hot.HotStock.Reserve(context.Background(), rsv, "key-pending", fsT0); err != nil || res.Outcome != domain.OutcomeReserved {
		t.Fatalf("reserve %s = %+v, %v; want RESERVED", fsPendingID, res, err)
	}
	logs := &fsLogBuffer{}
	return &service.Orders{Store: store, Hot: hot, Logger: slog.New(slog.NewTextHandler(logs, nil)), Live: domain.NopNotifier{}}, hot, logs
}

func TestOrdersFindOrderByIDFallsBackToTheOutbox(t *testing.T) {
	written := &domain.Order{ID: "ord_written", BuyerID: fsBuyerID, Status: domain.OrderAwaitingPayment}
	notFound := domain.Errorf(domain.ENOTFOUND, "no such order")
	pgDown := errors.New("pg: connection refused")
	redisDown := errors.New("redis: connection refused")
	buyer := fsBuyer(fsBuyerID)
	for _, tt := range []struct {
		name      string
		ctx       context.Context
		id        string
		storeErr  error
		findErr   error
		wantOrder string // "" for none
		wantErr   error
		wantFinds int64
	}{
		{"written order: from the store, outbox not read", buyer, "ord_written", nil, nil, "ord_written", nil, 0},
		{"pending order of the caller: PENDING", buyer, fsPendingID, notFound, nil, fsPendingID, nil, 1},
		{"pending order of another buyer: NOT_FOUND", fsBuyer("usr_other"), fsPendingID, notFound, nil, "", notFound, 1},
		{"pending order, caller is the seller: NOT_FOUND", fsCtx(domain.Principal{UserID: fsSellerID, Role: domain.RoleSeller}), fsPendingID, notFound, nil, "", notFound, 1},
		{"pending order, caller is an ADMIN: PENDING", fsCtx(domain.Principal{UserID: "usr_admin", Role: domain.RoleAdmin}), fsPendingID, notFound, nil, fsPendingID, nil, 1},
		{"pending order, anonymous: NOT_FOUND, outbox not read", context.Background(), fsPendingID, notFound, nil, "", notFound, 0},
		{"no reservation either: the store's NOT_FOUND", buyer, "ord_nothing", notFound, nil, "", notFound, 1},
		{"store fails otherwise: its error, outbox not read", buyer, fsPendingID, pgDown, nil, "", pgDown, 0},
		{"outbox read fails: its error", buyer, fsPendingID, notFound, redisDown, "", redisDown, 1},
		// The writer wrote the order and forgot its reservation between
		// the store's NOT_FOUND and the outbox read.
		{"written between the two reads: the written order", buyer, "ord_written", notFound, nil, "ord_written", nil, 1},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var reads atomic.Int64
			store := &fsOrderStore{find: func(id string) (*domain.Order, error) {
				n := reads.Add(1)
				if tt.storeErr != nil && !(id == "ord_written" && n > 1) {
					return nil, tt.storeErr
				}
				return written, nil
			}}
			o, hot, _ := fsOrders(t, store)
			hot.findErr = tt.findErr

			got, err := o.FindOrderByID(tt.ctx, tt.id)
			if err != tt.wantErr {
				t.Fatalf("FindOrderByID error = %v, want %v", err, tt.wantErr)
			}
			fsWantCount(t, "Hot.FindReservation calls", &hot.findCalls, tt.wantFinds)
			if tt.wantOrder == "" {
				if got != nil {
					t.Fatalf("FindOrderByID = %+v, want nil", got)
				}
				return
			}
			if got == nil {
				t.Fatalf("FindOrderByID = nil, want %s", tt.wantOrder)
			}
			if got, want := got.ID, tt.wantOrder; got != want {
				t.Fatalf("Order.ID = %q, want %q", got, want)
			}
			if tt.wantOrder == "ord_written" {
				if got != written {
					t.Fatalf("FindOrderByID = %+v, want the store's %+v", got, written)
				}
				return
			}
			if got, want := got.Status, domain.OrderPending; got != want {
				t.Fatalf("Order.Status = %s, want %s", got, want)
			}
			if got, want := got.BuyerID, fsBuyerID; got != want {
				t.Fatalf("Order.BuyerID = %q, want %q", got, want)
			}
			if got, want := got.FlashEventID, fsEventID; got != want {
				t.Fatalf("Order.FlashEventID = %q, want %q", got, want)
			}
			if got, want := got.TotalCents, int64(2*1999); got != want {
				t.Fatalf("Order.TotalCents = %d, want %d", got, want)
			}
			if got, want := got.Quantity(), 2; got != want {
				t.Fatalf("Order.Quantity() = %d, want %d", got, want)
			}
		})
	}
}

func TestOrdersCancelAndPay(t *testing.T) {
	flash := &domain.Order{ID: "ord_flash", BuyerID: fsBuyerID, FlashEventID: fsEventID, Status: domain.OrderCancelled,
		Items: []domain.OrderItem{{ProductID: "prd_phone", Quantity: 2, UnitPriceCents: 1999}}}
	cart := &domain.Order{ID: "ord_cart", BuyerID: fsBuyerID, Status: domain.OrderCancelled,
		Items: []domain.OrderItem{{ProductID: "prd_case", Quantity: 1, UnitPriceCents: 500}}}
	paid := &domain.Order{ID: "ord_flash", BuyerID: fsBuyerID, FlashEventID: fsEventID, Status: domain.OrderPaid}
	notFound := domain.Errorf(domain.ENOTFOUND, "no such order")
	conflict := domain.Errorf(domain.ECONFLICT, "the order is paid already")
	redisDown := errors.New("redis: connection refused")
	byID := func(id string) (*domain.Order, error) {
		switch id {
		case "ord_flash":
			return flash, nil
		case "ord_cart":
			return cart, nil
		case "ord_paid":
			return nil, conflict
		}
		return nil, notFound
	}

	for _, tt := range []struct {
		name         string
		ctx          context.Context
		id           string
		releaseErr   error
		wantOrder    *domain.Order
		wantCode     string
		wantErr      error // identity, when set
		wantWords    []string
		wantReleases int64
		wantLog      bool
	}{
		{"flash order: hot stock released", fsBuyer(fsBuyerID), "ord_flash", nil, flash, "", nil, nil, 1, false},
		{"cart order: hot stock untouched", fsBuyer(fsBuyerID), "ord_cart", nil, cart, "", nil, nil, 0, false},
		{"release fails: cancelled anyway, logged", fsBuyer(fsBuyerID), "ord_flash", redisDown, flash, "", nil, nil, 1, true},
		{"store CONFLICT: returned, nothing released", fsBuyer(fsBuyerID), "ord_paid", nil, nil, domain.ECONFLICT, conflict, nil, 0, false},
		{"pending order of the caller: CONFLICT still being written", fsBuyer(fsBuyerID), fsPendingID, nil, nil, domain.ECONFLICT, nil, []string{"still being written"}, 0, false},
		{"pending order of another buyer: NOT_FOUND", fsBuyer("usr_other"), fsPendingID, nil, nil, domain.ENOTFOUND, notFound, nil, 0, false},
		{"unknown order: NOT_FOUND", fsBuyer(fsBuyerID), "ord_nothing", nil, nil, domain.ENOTFOUND, notFound, nil, 0, false},
	} {
		t.Run("cancel: "+tt.name, func(t *testing.T) {
			o, hot, logs := fsOrders(t, &fsOrderStore{cancel: byID})
			hot.releaseErr = tt.releaseErr

			got, err := o.CancelOrder(tt.ctx, tt.id)
			fsWantCode(t, err, tt.wantCode, tt.wantWords...)
			if tt.wantErr != nil && err != tt.wantErr {
				t.Fatalf("CancelOrder error = %v, want %v", err, tt.wantErr)
			}
			if got != tt.wantOrder {
				t.Fatalf("CancelOrder = %+v, want %+v", got, tt.wantOrder)
			}
			fsWantCount(t, "Hot.Release calls", &hot.releaseCalls, tt.wantReleases)
			if tt.wantReleases == 1 && tt.releaseErr == nil {
				hot.mu.Lock()
				released := hot.released
				hot.mu.Unlock()
				if len(released) != 1 || released[0] != flash {
					t.Fatalf("released %+v, want [%+v]", released, flash)
				}
			}
			logged := logs.String()
			if got, want := strings.Contains(logged, "release hot stock"), tt.wantLog; got != want {
				t.Fatalf("release failure logged = %v, want %v: %q", got, want, logged)
			}
			if tt.wantLog {
				for _, w := range []string{"level=ERROR", "order_id=ord_flash", "redis: connection refused"} {
					if !strings.Contains(logged, w) {
						t.Fatalf("log %q does not contain %q", logged, w)
					}
				}
			}
		})
	}

	payByID := func(id string) (*domain.Order, error) {
		switch id {
		case "ord_flash":
			return paid, nil
		case "ord_paid":
			return nil, conflict
		}
		return nil, notFound
	}
	for _, tt := range []struct {
		name      string
		ctx       context.Context
		id        string
		wantOrder *domain.Order
		wantCode  string
		wantErr   error
		wantWords []string
	}{
		{"written order: paid", fsBuyer(fsBuyerID), "ord_flash", paid, "", nil, nil},
		{"pending order of the caller: CONFLICT still being written", fsBuyer(fsBuyerID), fsPendingID, nil, domain.ECONFLICT, nil, []string{"still being written", "try again"}},
		{"pending order of another buyer: NOT_FOUND", fsBuyer("usr_other"), fsPendingID, nil, domain.ENOTFOUND, notFound, nil},
		{"pending order, anonymous: NOT_FOUND", context.Background(), fsPendingID, nil, domain.ENOTFOUND, notFound, nil},
		{"store CONFLICT: returned", fsBuyer(fsBuyerID), "ord_paid", nil, domain.ECONFLICT, conflict, nil},
		{"unknown order: NOT_FOUND", fsBuyer(fsBuyerID), "ord_nothing", nil, domain.ENOTFOUND, notFound, nil},
	} {
		t.Run("pay: "+tt.name, func(t *testing.T) {
			o, hot, _ := fsOrders(t, &fsOrderStore{pay: payByID})
			got, err := o.PayOrder(tt.ctx, tt.id)
			fsWantCode(t, err, tt.wantCode, tt.wantWords...)
			if tt.wantErr != nil && err != tt.wantErr {
				t.Fatalf("PayOrder error = %v, want %v", err, tt.wantErr)
			}
			if got != tt.wantOrder {
				t.Fatalf("PayOrder = %+v, want %+v", got, tt.wantOrder)
			}
			fsWantCount(t, "Hot.Release calls", &hot.releaseCalls, 0)
		})
	}
}
