package jobs

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"testing"
	"time"
)

// TestPrune: the job asks for what is older than age, at the job's now,
// and passes a failure on.
func TestPrune(t *testing.T) {
	now := time.Date(2030, 1, 2, 12, 0, 0, 0, time.UTC)
	var cutoff time.Time
	fail := error(nil)
	job := &Prune{What: "things", Age: 24 * time.Hour, Store: PrunerFunc(func(_ context.Context, c time.Time) (int64, error) {
		cutoff = c
		return 3, fail
	}), Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Now: func() time.Time { return now }}
	if err := job.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	if want := now.Add(-24 * time.Hour); !cutoff.Equal(want) {
		t.Fatalf("cutoff = %s, want %s", cutoff, want)
	}
	fail = errors.New("database down")
	if err := job.Run(context.Background()); !errors.Is(err, fail) {
		t.Fatalf("job = %v, want the deleter's error", err)
	}
}
