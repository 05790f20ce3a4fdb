package service_test

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"flashlive/domain"
	"flashlive/service"
)

// fsEvents is the FlashEventService under SaleEvents.
type fsEvents struct {
	domain.FlashEventService
	create      func(domain.FlashEventCreate) (*domain.FlashEvent, error)
	close       func(id string) (*domain.FlashEvent, error)
	createCalls atomic.Int64
	closeCalls  atomic.Int64
}

func (f *fsEvents) CreateFlashEvent(_ context.Context, c domain.FlashEventCreate) (*domain.FlashEvent, error) {
	f.createCalls.Add(1)
	return f.create(c)
}

func (f *fsEvents) CloseFlashEvent(_ context.Context, id string) (*domain.FlashEvent, error) {
	f.closeCalls.Add(1)
	return f.close(id)
}

func TestSaleEventsCloseAlsoClosesTheHotStock(t *testing.T) {
	closedAt := fsT0
	closed := &domain.FlashEvent{ID: fsEventID, ClosedAt: &closedAt}
	already := domain.Errorf(domain.ECONFLICT, "the flash event is closed already")
	notFound := domain.Errorf(domain.ENOTFOUND, "no such flash event")
	forbidden := domain.Errorf(domain.EFORBIDDEN, "not your flash event")
	redisDown := errors.New("redis: connection refused")
	for _, tt := range []struct {
		name       string
		storeEvent *domain.FlashEvent
		storeErr   error
		hotErr     error
		wantEvent  *domain.FlashEvent
		wantErr    error
		wantCloses int64
	}{
		{"closed now: hot closed too", closed, nil, nil, closed, nil, 1},
		{"closed already (CONFLICT): hot closed too, CONFLICT returned", nil, already, nil, nil, already, 1},
		{"NOT_FOUND: hot untouched", nil, notFound, nil, nil, notFound, 0},
		{"FORBIDDEN: hot untouched", nil, forbidden, nil, nil, forbidden, 0},
		{"closed now, hot close fails: its error", closed, nil, redisDown, nil, redisDown, 1},
		{"closed already, hot close fails: its error", nil, already, redisDown, nil, redisDown, 1},
	} {
		t.Run(tt.name, func(t *testing.T) {
			h := fsNewHarness()
			h.hot.put(t, fsEvent(), 10, false)
			h.hot.closeErr = tt.hotErr
			store := &fsEvents{close: func(string) (*domain.FlashEvent, error) { return tt.storeEvent, tt.storeErr }}
			s := &service.SaleEvents{FlashEventService: store, Sale: h.sale, PreheatWindow: time.Hour, Logger: h.sale.Logger}

			got, err := s.CloseFlashEvent(fsCtx(domain.Principal{UserID: fsSellerID, Role: domain.RoleSeller}), fsEventID)
			if err != tt.wantErr {
				t.Fatalf("CloseFlashEvent error = %v, want %v", err, tt.wantErr)
			}
			if got != tt.wantEvent {
				t.Fatalf("CloseFlashEvent event = %+v, want %+v", got, tt.wantEvent)
			}
			fsWantCount(t, "store close calls", &store.closeCalls, 1)
			fsWantCount(t, "Hot.Close calls", &h.hot.closeCalls, tt.wantCloses)
			if tt.wantCloses == 1 && tt.hotErr == nil {
				h.hot.mu.Lock()
				ids := h.hot.closed
				h.hot.mu.Unlock()
				if got, want := strings.Join(ids, ","), fsEventID; got != want {
					t.Fatalf("hot closed %q, want %q", got, want)
				}
				snap, err := h.hot.Snapshot(context.Background(), fsEventID)
				if err != nil || !snap.Closed {
					t.Fatalf("hot snapshot = %+v, %v; want closed", snap, err)
				}
			}
		})
	}
}

func TestSaleEventsCreatePreheatsOnlyWithinTheWindow(t *testing.T) {
	const window = 10 * time.Minute
	storeDown := errors.New("pg: connection refused")
	for _, tt := range []struct {
		name        string
		startsIn    time.Duration
		storeErr    error
		preloaded   bool
		wantErr     error
		wantLoads   int64
		wantLoaded  bool
		wantWarning bool
	}{
		{"starts in half the window: preheated", window / 2, nil, false, nil, 1, true, false},
		{"starts exactly at the window: preheated", window, nil, false, nil, 1, true, false},
		{"started 30s ago: preheated", -30 * time.Second, nil, false, nil, 1, true, false},
		{"starts 1ns past the window: not preheated", window + time.Nanosecond, nil, false, nil, 0, false, false},
		{"starts in a day: not preheated", 24 * time.Hour, nil, false, nil, 0, false, false},
		{"loaded already: not loaded again", window / 2, nil, true, nil, 0, true, false},
		{"preheat fails (hot stock down): event returned, warning logged", window / 2, nil, false, nil, 1, false, true},
		{"store fails: its error, nothing preheated", window / 2, storeDown, false, storeDown, 0, false, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			h := fsNewHarness()
			if tt.wantWarning {
				h.hot.loadErr = errors.New("redis: connection refused")
			}
			hev := fsEvent()
			hev.StartsAt = fsT0.Add(tt.startsIn)
			h.source.Put(hev)
			if tt.preloaded {
				h.hot.put(t, hev, 500, false)
			}
			created := &domain.FlashEvent{ID: fsEventID, StartsAt: hev.StartsAt, EndsAt: hev.EndsAt, Stock: 500, PerUserLimit: 5}
			store := &fsEvents{create: func(domain.FlashEventCreate) (*domain.FlashEvent, error) {
				if tt.storeErr != nil {
					return nil, tt.storeErr
				}
				return created, nil
			}}
			s := &service.SaleEvents{FlashEventService: store, Sale: h.sale, PreheatWindow: window, Logger: h.sale.Logger}

			got, err := s.CreateFlashEvent(fsCtx(domain.Principal{UserID: fsSellerID, Role: domain.RoleSeller}), domain.FlashEventCreate{ProductID: "prd_phone"})
			if err != tt.wantErr {
				t.Fatalf("CreateFlashEvent error = %v, want %v", err, tt.wantErr)
			}
			if tt.wantErr == nil && got != created {
				t.Fatalf("CreateFlashEvent event = %+v, want %+v", got, created)
			}
			if tt.wantErr != nil && got != nil {
				t.Fatalf("CreateFlashEvent event = %+v, want nil", got)
			}
			fsWantCount(t, "Hot.Load calls", &h.hot.loadCalls, tt.wantLoads)
			if tt.wantLoads > 0 && !tt.preloaded {
				// A new event: marked before its first load (so that a
				// failed load is retried as a rebuild), no wait for Settled.
				fsWantCount(t, "Source.MarkLoaded calls", &h.source.markCalls, 1)
			} else {
				fsWantCount(t, "Source.MarkLoaded calls", &h.source.markCalls, 0)
			}
			fsWantCount(t, "Settled calls", &h.settledCalls, 0)
			if got, want := h.hot.isLoaded(fsEventID), tt.wantLoaded; got != want {
				t.Fatalf("loaded = %v, want %v", got, want)
			}
			if tt.startsIn > window || tt.wantErr != nil {
				// Not even asked.
				fsWantCount(t, "Hot.IsLoaded calls", &h.hot.isLoadedCalls, 0)
				fsWantCount(t, "Source.HotEvent calls", &h.source.calls, 0)
			}
			logs := h.logs.String()
			if got, want := strings.Contains(logs, "preheat a new flash event"), tt.wantWarning; got != want {
				t.Fatalf("warning logged = %v, want %v: %q", got, want, logs)
			}
			if tt.wantWarning {
				for _, w := range []string{"level=WARN", "event_id=" + fsEventID, "redis: connection refused"} {
					if !strings.Contains(logs, w) {
						t.Fatalf("log %q does not contain %q", logs, w)
					}
				}
			}
		})
	}
}
