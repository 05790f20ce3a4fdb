package jobs

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"flashlive/domain"
)

// refundStore lists the ended rains without a refund and refunds one,
// once (a conditional insert: one caller of many wins).
type refundStore interface {
	RainsToRefund(ctx context.Context, now time.Time) ([]*domain.RedPacketRain, error)
	Refund(ctx context.Context, rainID string, now time.Time) (cents int64, refunded bool, err error)
}

// rainTaken reads, in one step, how many packets Redis gave and the grabs
// it holds that are not known written.
type rainTaken interface {
	Taken(ctx context.Context, rainID string) (taken int, outbox []domain.RedPacketGrab, loaded bool, err error)
}

// RainRefund returns to each ended rain's seller the packets nobody
// grabbed, exactly once: only when every grab Redis gave is written to
// PostgreSQL (its outbox is empty and PostgreSQL has as many grabs as
// Redis gave; for a rain Redis no longer holds, once the grab stream has
// settled), so the refund is total less the grabbed amounts, and never
// counts a grab still on its way. The refund itself is a conditional
// insert, so any number of instances may run it at once.
type RainRefund struct {
	Rains   refundStore
	Hot     rainTaken
	Settled func(ctx context.Context) (bool, error)
	Logger  *slog.Logger
	Now     func() time.Time
}

// Run is the job body.
func (j *RainRefund) Run(ctx context.Context) error {
	now := j.Now()
	rs, err := j.Rains.RainsToRefund(ctx, now)
	if err != nil {
		return fmt.Errorf("rains to refund: %w", err)
	}
	for _, r := range rs {
		taken, outbox, loaded, err := j.Hot.Taken(ctx, r.ID)
		if err != nil {
			return err
		}
		written := r.Packets() - r.PacketsLeft
		if loaded && (len(outbox) > 0 || taken != written) {
			continue // grabs on their way: a later run refunds
		}
		if !loaded {
			if ok, err := j.Settled(ctx); err != nil || !ok {
				return err
			}
		}
		cents, did, err := j.Rains.Refund(ctx, r.ID, now)
		if err != nil {
			return fmt.Errorf("refund rain %s: %w", r.ID, err)
		}
		if did {
			j.Logger.InfoContext(ctx, "red-packet rain refunded", "rain_id", r.ID, "seller_id", r.SellerID, "cents", cents)
		}
	}
	return nil
}
