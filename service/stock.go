package service

import (
	"context"

	"flashlive/domain"
)

// HotStockReader is the StockReader of a server with a hot stock: the
// stock left of loaded events comes from it, that of the others from
// PostgreSQL's sold count.
type HotStockReader struct {
	Hot domain.HotStock
}

var _ domain.StockReader = HotStockReader{}

// RemainingStock implements domain.StockReader.
func (h HotStockReader) RemainingStock(ctx context.Context, events []*domain.FlashEvent) (map[string]int, error) {
	ids := make([]string, len(events))
	for i, e := range events {
		ids[i] = e.ID
	}
	hot, err := h.Hot.Remaining(ctx, ids)
	if err != nil {
		return nil, err
	}
	cold, _ := domain.SoldCountStock{}.RemainingStock(ctx, events)
	for id, n := range hot {
		cold[id] = n
	}
	return cold, nil
}
