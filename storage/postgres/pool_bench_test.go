package postgres

import (
	"context"
	"testing"
	"time"

	"flashlive/internal/testenv"
)

// BenchmarkPoolQueryRow is the cost of the guard (breaker and deadline)
// on a one-row query, against the bare pgx pool; the guard alone, without
// a query; and how fast a call is refused while the breaker is open.
//
//	go test -run '^$' -bench BenchmarkPool ./storage/postgres/
func BenchmarkPoolQueryRow(b *testing.B) {
	ctx := context.Background()
	db, err := Open(ctx, testenv.PostgresURL(b))
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	var n int
	b.Run("bare", func(b *testing.B) {
		for b.Loop() {
			if err := db.Pool.raw.QueryRow(ctx, `SELECT 1`).Scan(&n); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("guarded", func(b *testing.B) {
		for b.Loop() {
			if err := db.Pool.QueryRow(ctx, `SELECT 1`).Scan(&n); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("guard-alone", func(b *testing.B) {
		for b.Loop() {
			if err := db.Pool.run(ctx, func(context.Context) error { return nil }); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("refused", func(b *testing.B) {
		open := newPool(db.Pool.raw, Options{BreakerFailures: 1, BreakerCooldown: time.Hour})
		for open.BreakerState() != BreakerOpen {
			qctx, cancel := context.WithTimeout(ctx, time.Millisecond)
			_, _ = open.Exec(qctx, `SELECT pg_sleep(1)`)
			cancel()
		}
		for b.Loop() {
			if err := open.QueryRow(ctx, `SELECT 1`).Scan(&n); err != errUnavailable {
				b.Fatalf("err = %v, want the breaker's", err)
			}
		}
	})
}
