package postgres_test

import (
	"context"
	"fmt"
	"os"
	"runtime/debug"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"flashlive/domain"
	"flashlive/internal/testenv"
	"flashlive/storage/postgres"
)

// schemaVersion returns the migration version recorded in db and whether it
// is dirty, and fails unless there is exactly one row.
func schemaVersion(t *testing.T, db *postgres.DB) (int64, bool) {
	t.Helper()
	ctx := context.Background()
	var n int
	if err := db.Pool.QueryRow(ctx, `SELECT count(*) FROM schema_migrations`).Scan(&n); err != nil {
		t.Fatalf("count schema_migrations: %v", err)
	}
	if n != 1 {
		t.Fatalf("schema_migrations has %d rows, want 1", n)
	}
	var v int64
	var dirty bool
	if err := db.Pool.QueryRow(ctx, `SELECT version, dirty FROM schema_migrations`).Scan(&v, &dirty); err != nil {
		t.Fatalf("read schema_migrations: %v", err)
	}
	return v, dirty
}

func TestOpenTwice(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	url := testenv.PostgresURL(t)

	db1, err := postgres.Open(ctx, url)
	if err != nil {
		t.Fatalf("first Open: %v", err)
	}
	defer db1.Close()
	v1, dirty := schemaVersion(t, db1)
	if dirty {
		t.Fatalf("schema dirty after first Open")
	}
	if _, err := db1.Pool.Exec(ctx, `INSERT INTO users (id, email, display_name, role, password_hash)
		VALUES ('usr_keep', 'keep@example.com', 'Keep', 'BUYER', 'x')`); err != nil {
		t.Fatalf("insert user: %v", err)
	}

	db2, err := postgres.Open(ctx, url)
	if err != nil {
		t.Fatalf("second Open on a migrated database: %v", err)
	}
	defer db2.Close()
	v2, dirty := schemaVersion(t, db2)
	if got, want := v2, v1; got != want || dirty {
		t.Fatalf("after second Open: version %d dirty %t, want %d clean", got, dirty, want)
	}
	var n int
	if err := db2.Pool.QueryRow(ctx, `SELECT count(*) FROM users WHERE id = 'usr_keep'`).Scan(&n); err != nil {
		t.Fatalf("count users: %v", err)
	}
	if got, want := n, 1; got != want {
		t.Fatalf("users kept after second Open = %d, want %d", got, want)
	}
	if err := db2.Ping(ctx); err != nil {
		t.Fatalf("Ping: %v", err)
	}
}

func TestOpenConcurrent(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	url := testenv.PostgresURL(t)

	const n = 4
	dbs := make([]*postgres.DB, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-start
			dbs[i], errs[i] = postgres.Open(ctx, url)
		})
	}
	close(start)
	wg.Wait()
	for i := range n {
		if errs[i] != nil {
			t.Errorf("Open #%d: %v", i, errs[i])
			continue
		}
		defer dbs[i].Close()
	}
	if t.Failed() {
		t.FailNow()
	}
	v, dirty := schemaVersion(t, dbs[0])
	if dirty || v < 1 {
		t.Fatalf("schema version %d dirty %t, want >= 1 and clean", v, dirty)
	}
	// Every table of the first migration exists and works from every pool.
	for i, db := range dbs {
		if _, err := db.Pool.Exec(ctx, `SELECT 1 FROM users, refresh_tokens, products, live_rooms, flash_events LIMIT 1`); err != nil {
			t.Fatalf("pool #%d: query the tables: %v", i, err)
		}
	}
}

// TestCloseReleasesConnections checks that an open DB holds only its
// pool's sessions on the server, and none once Close returns. Not parallel:
// it turns the garbage collector off, so that a connection Open forgets
// cannot be closed behind the test's back by a finalizer.
func TestCloseReleasesConnections(t *testing.T) {
	defer debug.SetGCPercent(debug.SetGCPercent(-1))
	ctx := context.Background()
	url := testenv.PostgresURL(t)
	admin, err := pgx.Connect(ctx, testenvAdminURL(t))
	if err != nil {
		t.Fatalf("connect admin: %v", err)
	}
	defer admin.Close(ctx)

	db, err := postgres.Open(ctx, url)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	var name string
	if err := db.Pool.QueryRow(ctx, `SELECT current_database()`).Scan(&name); err != nil {
		t.Fatalf("current_database: %v", err)
	}
	count := func() int {
		t.Helper()
		var n int
		if err := admin.QueryRow(ctx, `SELECT count(*) FROM pg_stat_activity WHERE datname = $1`, name).Scan(&n); err != nil {
			t.Fatalf("count sessions: %v", err)
		}
		return n
	}
	if got, want := count(), int(db.Pool.Stat().TotalConns()); got != want {
		t.Errorf("sessions on the database while open = %d, want %d (the pool's); sessions: %v", got, want, sessions(t, admin, name))
	}

	db.Close()
	// A backend leaves pg_stat_activity shortly after its client hangs up.
	testenv.WaitForCheck(t, 5*time.Second, "no session on the database after Close", func() error {
		if got, want := count(), 0; got != want {
			return fmt.Errorf("sessions = %d, want %d; left: %v", got, want, sessions(t, admin, name))
		}
		return nil
	})
}

// sessions describes the server sessions connected to database name.
func sessions(t *testing.T, admin *pgx.Conn, name string) []string {
	t.Helper()
	rows, err := admin.Query(context.Background(),
		`SELECT state || ': ' || query FROM pg_stat_activity WHERE datname = $1`, name)
	if err != nil {
		t.Fatalf("list sessions: %v", err)
	}
	out, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatalf("list sessions: %v", err)
	}
	return out
}

func testenvAdminURL(t *testing.T) string {
	t.Helper()
	u := os.Getenv(testenv.PostgresEnv)
	if u == "" {
		t.Fatalf("%s is not set", testenv.PostgresEnv)
	}
	return u
}

// TestTranslateNotFound checks the no-rows translation through a public
// method: an unknown ID is NOT_FOUND with the thing's name.
func TestTranslateNotFound(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 0)
	_, err := e.auth.FindUserByID(context.Background(), "usr_nobody")
	wantCode(t, err, domain.ENOTFOUND)
	if got, want := domain.ErrorMessage(err), "user not found"; got != want {
		t.Fatalf("message = %q, want %q", got, want)
	}
}
