package domain_test

import (
	"context"
	"maps"
	"testing"
	"time"

	"flashlive/domain"
)

func TestFlashEventStatusAt(t *testing.T) {
	start := time.Date(2025, 6, 1, 20, 0, 0, 0, time.UTC)
	end := start.Add(time.Hour)
	closed := start.Add(10 * time.Minute)
	open := &domain.FlashEvent{ID: "evt_1", Stock: 10, StartsAt: start, EndsAt: end}
	shut := &domain.FlashEvent{ID: "evt_2", Stock: 10, StartsAt: start, EndsAt: end, ClosedAt: &closed}

	for _, tt := range []struct {
		name      string
		e         *domain.FlashEvent
		now       time.Time
		remaining int
		want      domain.FlashEventStatus
	}{
		{"long before start", open, start.Add(-24 * time.Hour), 10, domain.FlashEventScheduled},
		{"1ns before start", open, start.Add(-time.Nanosecond), 10, domain.FlashEventScheduled},
		{"before start with nothing left is still scheduled", open, start.Add(-time.Minute), 0, domain.FlashEventScheduled},
		{"exactly at StartsAt", open, start, 10, domain.FlashEventLive},
		{"during, one left", open, start.Add(30 * time.Minute), 1, domain.FlashEventLive},
		{"during, none left", open, start.Add(30 * time.Minute), 0, domain.FlashEventSoldOut},
		{"during, oversold", open, start.Add(30 * time.Minute), -3, domain.FlashEventSoldOut},
		{"exactly at StartsAt, none left", open, start, 0, domain.FlashEventSoldOut},
		{"1ns before EndsAt", open, end.Add(-time.Nanosecond), 10, domain.FlashEventLive},
		{"exactly at EndsAt", open, end, 10, domain.FlashEventEnded},
		{"exactly at EndsAt, none left", open, end, 0, domain.FlashEventEnded},
		{"after end, none left is ended not sold out", open, end.Add(time.Hour), 0, domain.FlashEventEnded},
		{"closed before start", shut, start.Add(-time.Hour), 10, domain.FlashEventClosed},
		{"closed during", shut, start.Add(30 * time.Minute), 10, domain.FlashEventClosed},
		{"closed and sold out", shut, start.Add(30 * time.Minute), 0, domain.FlashEventClosed},
		{"closed after end", shut, end.Add(time.Hour), 0, domain.FlashEventClosed},
		{"closed at an instant before ClosedAt", shut, closed.Add(-time.Minute), 10, domain.FlashEventClosed},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.e.StatusAt(tt.now, tt.remaining); got != tt.want {
				t.Fatalf("StatusAt(%s, %d) = %s, want %s", tt.now.Format(time.RFC3339Nano), tt.remaining, got, tt.want)
			}
		})
	}
}

func TestFlashEventStatusValid(t *testing.T) {
	for _, tt := range []struct {
		s    domain.FlashEventStatus
		want bool
	}{
		{domain.FlashEventScheduled, true},
		{domain.FlashEventLive, true},
		{domain.FlashEventSoldOut, true},
		{domain.FlashEventEnded, true},
		{domain.FlashEventClosed, true},
		{"", false},
		{"live", false},
		{"SOLDOUT", false},
	} {
		if got := tt.s.Valid(); got != tt.want {
			t.Errorf("FlashEventStatus(%q).Valid() = %v, want %v", tt.s, got, tt.want)
		}
	}
}

func TestFlashEventCreateValidate(t *testing.T) {
	now := time.Date(2025, 6, 1, 20, 0, 0, 0, time.UTC)
	valid := func() domain.FlashEventCreate {
		return domain.FlashEventCreate{
			ProductID: "prd_1", LiveRoomID: "room_1", PriceCents: 990, Stock: 100, PerUserLimit: 2,
			StartsAt: now.Add(10 * time.Minute), EndsAt: now.Add(time.Hour),
		}
	}
	for _, tt := range []struct {
		name     string
		edit     func(c *domain.FlashEventCreate)
		wantCode string
		words    []string
	}{
		{"valid", func(c *domain.FlashEventCreate) {}, "", nil},
		{"valid without a room", func(c *domain.FlashEventCreate) { c.LiveRoomID = "" }, "", nil},

		{"productId missing", func(c *domain.FlashEventCreate) { c.ProductID = "" }, domain.EINVALID, []string{"productId", "required"}},

		{"price zero", func(c *domain.FlashEventCreate) { c.PriceCents = 0 }, "", nil},
		{"price negative", func(c *domain.FlashEventCreate) { c.PriceCents = -1 }, domain.EINVALID, []string{"priceCents", "must not be negative"}},
		{"price above MaxPriceCents", func(c *domain.FlashEventCreate) { c.PriceCents = domain.MaxPriceCents + 1 }, domain.EINVALID, []string{"priceCents", "at most"}},

		{"stock 1", func(c *domain.FlashEventCreate) { c.Stock = 1 }, "", nil},
		{"stock 0", func(c *domain.FlashEventCreate) { c.Stock = 0 }, domain.EINVALID, []string{"stock", "at least 1"}},
		{"stock negative", func(c *domain.FlashEventCreate) { c.Stock = -1 }, domain.EINVALID, []string{"stock", "at least 1"}},
		{"stock above MaxStock", func(c *domain.FlashEventCreate) { c.Stock = domain.MaxStock + 1 }, domain.EINVALID, []string{"stock", "at most"}},

		{"perUserLimit 1", func(c *domain.FlashEventCreate) { c.PerUserLimit = 1 }, "", nil},
		{"perUserLimit 0", func(c *domain.FlashEventCreate) { c.PerUserLimit = 0 }, domain.EINVALID, []string{"perUserLimit", "at least 1"}},
		{"perUserLimit negative", func(c *domain.FlashEventCreate) { c.PerUserLimit = -2 }, domain.EINVALID, []string{"perUserLimit", "at least 1"}},
		{"perUserLimit at MaxPerUserLimit", func(c *domain.FlashEventCreate) { c.PerUserLimit = domain.MaxPerUserLimit }, "", nil},
		{"perUserLimit above MaxPerUserLimit", func(c *domain.FlashEventCreate) { c.PerUserLimit = domain.MaxPerUserLimit + 1 }, domain.EINVALID, []string{"perUserLimit", "at most 1000"}},

		{"startsAt == endsAt", func(c *domain.FlashEventCreate) { c.EndsAt = c.StartsAt }, domain.EINVALID, []string{"startsAt", "before endsAt"}},
		{"startsAt after endsAt", func(c *domain.FlashEventCreate) { c.StartsAt, c.EndsAt = c.EndsAt, c.StartsAt }, domain.EINVALID, []string{"startsAt", "before endsAt"}},
		{"both times zero", func(c *domain.FlashEventCreate) { c.StartsAt, c.EndsAt = time.Time{}, time.Time{} }, domain.EINVALID, []string{"startsAt", "before endsAt"}},

		{"startsAt now", func(c *domain.FlashEventCreate) { c.StartsAt = now }, "", nil},
		{"startsAt within StartGrace", func(c *domain.FlashEventCreate) { c.StartsAt = now.Add(-domain.StartGrace / 2) }, "", nil},
		{"startsAt exactly StartGrace ago", func(c *domain.FlashEventCreate) { c.StartsAt = now.Add(-domain.StartGrace) }, "", nil},
		{"startsAt 1ns beyond StartGrace", func(c *domain.FlashEventCreate) { c.StartsAt = now.Add(-domain.StartGrace - time.Nanosecond) }, domain.EINVALID, []string{"startsAt", "past"}},
		{"startsAt an hour ago", func(c *domain.FlashEventCreate) { c.StartsAt = now.Add(-time.Hour) }, domain.EINVALID, []string{"startsAt", "past"}},
		{"startsAt zero", func(c *domain.FlashEventCreate) { c.StartsAt = time.Time{} }, domain.EINVALID, []string{"startsAt", "past"}},
		// The contract: "events may not end in the past". startsAt inside the
		// grace and endsAt after it but already gone is such an event.
		{"endsAt in the past within StartGrace", func(c *domain.FlashEventCreate) {
			c.StartsAt, c.EndsAt = now.Add(-50*time.Second), now.Add(-10*time.Second)
		}, domain.EINVALID, []string{"endsAt"}},

		{"lasting exactly MaxEventLength", func(c *domain.FlashEventCreate) { c.EndsAt = c.StartsAt.Add(domain.MaxEventLength) }, "", nil},
		{"lasting 1ns longer than MaxEventLength", func(c *domain.FlashEventCreate) { c.EndsAt = c.StartsAt.Add(domain.MaxEventLength + time.Nanosecond) }, domain.EINVALID, []string{"at most 30 days"}},
		{"lasting a year", func(c *domain.FlashEventCreate) { c.EndsAt = c.StartsAt.AddDate(1, 0, 0) }, domain.EINVALID, []string{"at most 30 days"}},

		{"first bad field named: productId before stock", func(c *domain.FlashEventCreate) { c.ProductID, c.Stock = "", 0 }, domain.EINVALID, []string{"productId"}},
		{"first bad field named: stock before perUserLimit", func(c *domain.FlashEventCreate) { c.Stock, c.PerUserLimit = 0, 0 }, domain.EINVALID, []string{"stock"}},
		{"first bad field named: perUserLimit before times", func(c *domain.FlashEventCreate) { c.PerUserLimit, c.EndsAt = 0, c.StartsAt }, domain.EINVALID, []string{"perUserLimit"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c := valid()
			tt.edit(&c)
			wantError(t, c.Validate(now), tt.wantCode, tt.words...)
		})
	}
}

func TestSoldCountStock(t *testing.T) {
	for _, tt := range []struct {
		name   string
		events []*domain.FlashEvent
		want   map[string]int
	}{
		{"no events", nil, map[string]int{}},
		{
			"stock minus sold, clamped at zero",
			[]*domain.FlashEvent{
				{ID: "evt_none_sold", Stock: 100, Sold: 0},
				{ID: "evt_some_sold", Stock: 100, Sold: 37},
				{ID: "evt_sold_out", Stock: 5, Sold: 5},
				{ID: "evt_oversold", Stock: 5, Sold: 8},
			},
			map[string]int{"evt_none_sold": 100, "evt_some_sold": 63, "evt_sold_out": 0, "evt_oversold": 0},
		},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := domain.SoldCountStock{}.RemainingStock(context.Background(), tt.events)
			if err != nil {
				t.Fatalf("RemainingStock: %v", err)
			}
			if got == nil {
				t.Fatal("RemainingStock returned a nil map")
			}
			if !maps.Equal(got, tt.want) {
				t.Fatalf("RemainingStock = %v, want %v", got, tt.want)
			}
		})
	}
}
