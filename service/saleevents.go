package service

import (
	"context"
	"log/slog"
	"time"

	"flashlive/domain"
)

// SaleEvents is the FlashEventService of a server that sells: it wraps the
// system of record so that an event created to start within PreheatWindow
// is loaded into the hot stock at once, and a closed event stops selling
// at once.
type SaleEvents struct {
	domain.FlashEventService
	Sale          *FlashSale
	PreheatWindow time.Duration
	Logger        *slog.Logger
}

// CreateFlashEvent implements domain.FlashEventService.
func (s *SaleEvents) CreateFlashEvent(ctx context.Context, c domain.FlashEventCreate) (*domain.FlashEvent, error) {
	e, err := s.FlashEventService.CreateFlashEvent(ctx, c)
	if err != nil {
		return nil, err
	}
	if e.StartsAt.Sub(s.Sale.Now()) <= s.PreheatWindow {
		if _, err := s.Sale.Preheat(ctx, []string{e.ID}); err != nil {
			// The preheat job will load it; the event exists either way.
			s.Logger.WarnContext(ctx, "preheat a new flash event", "event_id", e.ID, "err", err)
		}
	}
	return e, nil
}

// CloseFlashEvent implements domain.FlashEventService.
func (s *SaleEvents) CloseFlashEvent(ctx context.Context, id string) (*domain.FlashEvent, error) {
	e, err := s.FlashEventService.CloseFlashEvent(ctx, id)
	if err != nil && domain.ErrorCode(err) != domain.ECONFLICT {
		return nil, err
	}
	// Closed in PostgreSQL (now, or by an earlier call whose hot close
	// failed): make sure the hot stock stops selling too.
	if herr := s.Sale.Hot.Close(ctx, id); herr != nil {
		return nil, herr
	}
	s.Sale.Live.EventChanged(id)
	return e, err
}
