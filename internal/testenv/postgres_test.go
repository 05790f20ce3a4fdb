//go:build linux

package testenv

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// TestStartPostgresPauseResume: the private server answers; paused, a
// query on an open connection waits until its deadline; resumed, the same
// connection answers again.
func TestStartPostgresPauseResume(t *testing.T) {
	pg := StartPostgres(t)
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, pg.URL)
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	defer conn.Close(ctx)
	one := func(ctx context.Context) error {
		var n int
		if err := conn.QueryRow(ctx, `SELECT 1`).Scan(&n); err != nil {
			return err
		}
		if n != 1 {
			t.Fatalf("SELECT 1 = %d", n)
		}
		return nil
	}
	if err := one(ctx); err != nil {
		t.Fatalf("SELECT 1: %v", err)
	}

	pg.Pause(t)
	qctx, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
	err = one(qctx)
	cancel()
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("SELECT 1 on a paused server: err = %v, want the deadline", err)
	}
	pg.Resume(t)
	// The timed-out query broke that connection; a new one answers.
	conn2, err := pgx.Connect(ctx, pg.URL)
	if err != nil {
		t.Fatalf("connect after resume: %v", err)
	}
	defer conn2.Close(ctx)
	conn = conn2
	if err := one(ctx); err != nil {
		t.Fatalf("SELECT 1 after resume: %v", err)
	}
}
