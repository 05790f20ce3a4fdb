package postgres_test

import (
	"testing"

	"flashlive/domain"
	"flashlive/internal/hoteventsourcetest"
)

// TestHotEventSourceContract runs the hot event source's contract over
// PostgreSQL: the suite that internal/memsource, the service tests'
// source, passes too. Seed creates the event as a seller does, at its
// start on the database's clock, and closes it when asked.
func TestHotEventSourceContract(t *testing.T) {
	t.Parallel()
	hoteventsourcetest.Run(t, func(t *testing.T) (domain.HotEventSource, hoteventsourcetest.Seed) {
		e := newOrderEnv(t)
		seller := e.user(t, domain.RoleSeller)
		return e.hot, func(t *testing.T, ev domain.HotEvent) domain.HotEvent {
			t.Helper()
			e.clock.Set(ev.StartsAt)
			p := e.product(t, seller, ev.Stock)
			created, err := e.events.CreateFlashEvent(as(seller), domain.FlashEventCreate{
				ProductID: p.ID, PriceCents: ev.PriceCents, Stock: ev.Stock, PerUserLimit: ev.PerUserLimit,
				StartsAt: ev.StartsAt, EndsAt: ev.EndsAt,
			})
			if err != nil {
				t.Fatalf("CreateFlashEvent: %v", err)
			}
			if ev.Closed {
				if _, err := e.events.CloseFlashEvent(as(seller), created.ID); err != nil {
					t.Fatalf("CloseFlashEvent: %v", err)
				}
			}
			ev.ID, ev.ProductID, ev.SellerID = created.ID, p.ID, seller.UserID
			return ev
		}
	})
}
