package jobs

import (
	"context"
	"log/slog"

	"flashlive/domain"
)

// grabStore writes grabs to PostgreSQL, skipping those written already.
type grabStore interface {
	WriteGrabs(ctx context.Context, gs []domain.RedPacketGrab) error
}

// grabOutbox forgets the outbox records of written grabs.
type grabOutbox interface {
	Forget(ctx context.Context, gs []domain.RedPacketGrab) error
}

// GrabWriter is the grab stream's batch handler, as OrderWriter is the
// order stream's: one statement writes the batch (idempotently: a batch
// that comes back after a crash writes nothing twice), then the outbox
// records are forgotten (a failure there only leaves work for
// reconciliation, never a lost grab).
type GrabWriter struct {
	Grabs  grabStore
	Hot    grabOutbox
	Logger *slog.Logger
}

// Handle writes one batch; an error leaves the whole batch to be handled
// again.
func (w *GrabWriter) Handle(ctx context.Context, gs []domain.RedPacketGrab) error {
	if err := w.Grabs.WriteGrabs(ctx, gs); err != nil {
		return err
	}
	if err := w.Hot.Forget(ctx, gs); err != nil {
		w.Logger.WarnContext(ctx, "forget written grabs; reconciliation will", "err", err)
	}
	return nil
}
