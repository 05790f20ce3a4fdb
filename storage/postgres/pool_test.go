package postgres_test

import (
	"context"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"flashlive/domain"
	"flashlive/internal/testenv"
	"flashlive/storage/postgres"
)

// breakerLog records the breaker's changes of state.
type breakerLog struct {
	mu      sync.Mutex
	changes []string
}

func (l *breakerLog) record(from, to postgres.BreakerState) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.changes = append(l.changes, from.String()+" -> "+to.String())
}

func (l *breakerLog) get() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.changes...)
}

// openGuarded opens a fresh database whose pool has a deadline of a second and a
// breaker that opens after three failures.
func openGuarded(t *testing.T, cooldown time.Duration) (*postgres.DB, *breakerLog) {
	t.Helper()
	log := &breakerLog{}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	db, err := postgres.OpenWith(ctx, testenv.PostgresURL(t), postgres.Options{
		QueryTimeout:    time.Second,
		BreakerFailures: 3,
		BreakerCooldown: cooldown,
		OnBreakerChange: log.record,
	})
	if err != nil {
		t.Fatalf("OpenWith: %v", err)
	}
	t.Cleanup(db.Close)
	return db, log
}

// slowQuery outlasts the pool's deadline: PostgreSQL answers it too late.
const slowQuery = `SELECT pg_sleep(2.5)`

func wantState(t *testing.T, db *postgres.DB, want postgres.BreakerState) {
	t.Helper()
	if got := db.Pool.BreakerState(); got != want {
		t.Fatalf("breaker is %s, want %s", got, want)
	}
}

// TestPoolBreakerCountsOnlyFailures: answers that are errors (no rows, a
// unique violation, bad SQL, a store's NOT_FOUND) and calls the caller
// cancelled do not open the breaker; timeouts do, after BreakerFailures in
// a row, whatever the caller's context.
func TestPoolBreakerCountsOnlyFailures(t *testing.T) {
	db, log := openGuarded(t, time.Minute)
	ctx := context.Background()
	products := postgres.NewProductService(db)
	seller := as(domain.Principal{UserID: "usr_nobody", Role: domain.RoleSeller})
	if _, err := db.Pool.Exec(ctx, `CREATE TABLE t (id int PRIMARY KEY)`); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Pool.Exec(ctx, `INSERT INTO t VALUES (1)`); err != nil {
		t.Fatal(err)
	}
	for i := range 5 {
		var n int
		if err := db.Pool.QueryRow(ctx, `SELECT 1 WHERE false`).Scan(&n); err != pgx.ErrNoRows {
			t.Fatalf("no rows: err = %v", err)
		}
		if _, err := db.Pool.Exec(ctx, `INSERT INTO t VALUES (1)`); err == nil {
			t.Fatal("duplicate insert succeeded")
		}
		if _, err := db.Pool.Exec(ctx, `SELEKT 1`); err == nil {
			t.Fatal("bad SQL succeeded")
		}
		_, err := products.FindProductByID(ctx, "prd_missing")
		wantCode(t, err, domain.ENOTFOUND)
		// NOT_FOUND inside a transaction.
		_, err = products.UpdateProduct(seller, "prd_missing", domain.ProductUpdate{})
		wantCode(t, err, domain.ENOTFOUND)
		// The caller gives up while PostgreSQL works on it.
		cctx, cancel := context.WithCancel(ctx)
		stop := time.AfterFunc(10*time.Millisecond, cancel)
		if _, err := db.Pool.Exec(cctx, slowQuery); err == nil {
			t.Fatalf("round %d: a cancelled query succeeded", i)
		}
		stop.Stop()
		cancel()
		wantState(t, db, postgres.BreakerClosed)
	}

	// Timeouts are failures: the pool's own deadline, with or without one
	// of the caller's.
	for i := range 3 {
		qctx, cancel := context.WithTimeout(ctx, time.Duration(i)*time.Hour)
		if i == 0 {
			qctx = ctx
		}
		_, err := db.Pool.Exec(qctx, slowQuery)
		cancel()
		if !strings.Contains(err.Error(), "timeout") && !strings.Contains(err.Error(), "deadline") {
			t.Fatalf("slow query %d: err = %v, want a timeout", i, err)
		}
		wantCode(t, err, domain.EUNAVAILABLE)
		if got, want := domain.ErrorMessage(err), "the database took too long; try again"; got != want {
			t.Fatalf("slow query %d: message = %q, want %q", i, got, want)
		}
	}
	wantState(t, db, postgres.BreakerOpen)

	// Open: every call answers UNAVAILABLE at once, and says so plainly.
	refused := db.Pool.Refused()
	start := time.Now()
	_, err := products.FindProductByID(ctx, "prd_any")
	wantCode(t, err, domain.EUNAVAILABLE)
	if got, want := domain.ErrorMessage(err), "the order database is unavailable; retry shortly"; got != want {
		t.Fatalf("message = %q, want %q", got, want)
	}
	var n int
	if err := db.Pool.QueryRow(ctx, `SELECT 1`).Scan(&n); domain.ErrorCode(err) != domain.EUNAVAILABLE {
		t.Fatalf("QueryRow with the breaker open: err = %v", err)
	}
	if _, err := db.Pool.Query(ctx, `SELECT 1`); domain.ErrorCode(err) != domain.EUNAVAILABLE {
		t.Fatalf("Query with the breaker open: err = %v", err)
	}
	wantCode(t, db.Ping(ctx), domain.EUNAVAILABLE)
	if took := time.Since(start); took > 2*time.Second {
		t.Fatalf("four refused calls took %s", took)
	}
	if got, want := db.Pool.Refused()-refused, int64(4); got != want {
		t.Fatalf("refused %d calls, want %d", got, want)
	}
	if got, want := log.get(), []string{"closed -> open"}; !slices.Equal(got, want) {
		t.Fatalf("breaker changes = %q, want %q", got, want)
	}
}

// TestPoolBreakerProbesAfterCooldown: once the cooldown is over, one call
// probes; a failing probe opens the breaker again, a good one closes it.
func TestPoolBreakerProbesAfterCooldown(t *testing.T) {
	const cooldown = time.Second
	db, log := openGuarded(t, cooldown)
	ctx := context.Background()
	for range 3 {
		_, _ = db.Pool.Exec(ctx, slowQuery)
	}
	wantState(t, db, postgres.BreakerOpen)
	waitHalfOpen := func() {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for db.Pool.BreakerState() != postgres.BreakerHalfOpen {
			if time.Now().After(deadline) {
				t.Fatalf("the breaker stayed %s past its cooldown", db.Pool.BreakerState())
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	waitHalfOpen()
	if _, err := db.Pool.Exec(ctx, slowQuery); domain.ErrorCode(err) == domain.EUNAVAILABLE && strings.Contains(err.Error(), "retry shortly") {
		t.Fatalf("the probe was refused: %v", err)
	}
	wantState(t, db, postgres.BreakerOpen)
	waitHalfOpen()
	var n int
	if err := db.Pool.QueryRow(ctx, `SELECT 1`).Scan(&n); err != nil || n != 1 {
		t.Fatalf("good probe: %d, %v", n, err)
	}
	wantState(t, db, postgres.BreakerClosed)
	// Rows read to the end end their call too.
	rows, err := db.Pool.Query(ctx, `SELECT generate_series(1, 3)`)
	if err != nil {
		t.Fatal(err)
	}
	got, err := pgx.CollectRows(rows, pgx.RowTo[int])
	if err != nil || len(got) != 3 {
		t.Fatalf("rows: %v, %v", got, err)
	}
	wantState(t, db, postgres.BreakerClosed)
	want := []string{
		"closed -> open", "open -> half-open", "half-open -> open",
		"open -> half-open", "half-open -> closed",
	}
	if got := log.get(); !slices.Equal(got, want) {
		t.Fatalf("breaker changes = %q, want %q", got, want)
	}
}
