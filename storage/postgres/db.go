// Package postgres is flashlive's system of record, on PostgreSQL with
// pgx. Open connects and applies the migrations in migrations/ (under an
// advisory lock, so that several processes may start at once); every
// service is built on the DB it returns, and reads the time from DB.Now.
//
//   - AuthService (user.go): accounts and refresh tokens, as
//     domain.AuthService and domain.UserService.
//   - ProductService, LiveRoomService and FlashEventService: the catalog,
//     live rooms and flash events. Every method that changes a seller's
//     things checks that the caller may manage them.
//   - OrderStore: orders, both flash orders written from the order stream
//     (reservations.go) and cart orders (cart.go), through their lifecycle
//     (order_lifecycle.go). It keeps the units each order holds, in
//     flash_events.sold or products.stock, in the transaction that
//     changes the order's status: PostgreSQL is the last line against
//     overselling when the hot stock has lost its state.
//   - HotEventSource (hotevent.go): what the hot stock loads or rebuilds
//     a flash event from.
//   - jobs.go: what the background jobs of jobs/ ask of orders and flash
//     events (due orders, reconciliation, window crossings, pruning kept
//     answers). Preheating asks HotEventSource, and pruning refresh
//     tokens AuthService.
//
// Every call to PostgreSQL goes through DB.Pool (pool.go): a circuit
// breaker and a deadline, so that a slow or gone PostgreSQL costs callers
// UNAVAILABLE at once rather than a hang.
//
// Driver errors become domain errors in one place (translate): no rows is
// NOT_FOUND, a unique violation CONFLICT, a foreign-key violation
// NOT_FOUND, a timeout or a lost connection UNAVAILABLE; anything else
// stays internal.
package postgres

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/golang-migrate/migrate/v4"
	migratepgx "github.com/golang-migrate/migrate/v4/database/pgx/v5"
	"github.com/golang-migrate/migrate/v4/source/iofs"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/oklog/ulid/v2"

	"flashlive/domain"
	"flashlive/migrations"
)

// DB is a pool of connections to flashlive's PostgreSQL database.
type DB struct {
	// Pool is what every call to PostgreSQL goes through: the breaker and
	// the deadline of Options.
	Pool *Pool
	// Now is the clock of every service built on DB; tests may replace it
	// before use.
	Now func() time.Time

	replica *replica // nil: every read on the primary (replica.go)
}

// Open is OpenWith with the default Options.
func Open(ctx context.Context, dsn string) (*DB, error) {
	return OpenWith(ctx, dsn, Options{})
}

// OpenWith connects to the database at dsn (a postgres:// URL or a
// key=value string), applies pending migrations and returns the pool,
// guarded as o says. Several processes may call it at once: migrations run
// under an advisory lock.
func OpenWith(ctx context.Context, dsn string, o Options) (*DB, error) {
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("parse postgres url: %w", err)
	}
	if err := migrateUp(cfg.ConnConfig); err != nil {
		return nil, err
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("open postgres pool: %w", err)
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("ping postgres: %w", err)
	}
	return &DB{Pool: newPool(pool, o), Now: time.Now}, nil
}

// migrateUp applies every migration not applied yet.
func migrateUp(cc *pgx.ConnConfig) error {
	src, err := iofs.New(migrations.FS, ".")
	if err != nil {
		return fmt.Errorf("read migrations: %w", err)
	}
	sqlDB := stdlib.OpenDB(*cc)
	defer sqlDB.Close()
	drv, err := migratepgx.WithInstance(sqlDB, &migratepgx.Config{})
	if err != nil {
		return fmt.Errorf("migrations driver: %w", err)
	}
	m, err := migrate.NewWithInstance("iofs", src, "pgx5", drv)
	if err != nil {
		return fmt.Errorf("migrations: %w", err)
	}
	defer m.Close() // returns the migration connection (and its advisory lock session)
	if err := m.Up(); err != nil && !errors.Is(err, migrate.ErrNoChange) {
		return fmt.Errorf("apply migrations: %w", err)
	}
	return nil
}

// Close closes the pool after the queries in flight end.
func (db *DB) Close() {
	if db.replica != nil {
		db.replica.close()
	}
	db.Pool.Close()
}

// Ping reports an error when PostgreSQL does not answer, and at once
// while the breaker is open.
func (db *DB) Ping(ctx context.Context) error {
	return db.Pool.Ping(ctx)
}

// newID returns a new ID of the given kind (see domain.KindOfID).
func newID(prefix string) string {
	return prefix + strings.ToLower(ulid.Make().String())
}

// translate turns a driver error into a domain error where one fits: no
// rows is NOT_FOUND for what, a unique violation is CONFLICT, a timeout or
// a lost connection UNAVAILABLE. Other errors are wrapped with the
// operation and stay internal.
func translate(err error, op, what string) error {
	if err == nil {
		return nil
	}
	var de *domain.Error
	if errors.As(err, &de) {
		return err
	}
	if errors.Is(err, pgx.ErrNoRows) || errors.Is(err, sql.ErrNoRows) {
		return domain.Errorf(domain.ENOTFOUND, "%s not found", what)
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch pe.Code {
		case "23505":
			return domain.Errorf(domain.ECONFLICT, "%s already exists", what)
		case "23503":
			return domain.Errorf(domain.ENOTFOUND, "%s refers to something that does not exist", what)
		}
	}
	if unwell(err) { // a timeout (statement_timeout too), a lost connection
		return marked(err)
	}
	return fmt.Errorf("%s: %w", op, err)
}

// inTx runs fn in a transaction, committed when fn returns nil; a
// committed transaction is the caller's write (DB.wrote).
func (db *DB) inTx(ctx context.Context, fn func(pgx.Tx) error) error {
	if err := db.Pool.inTx(ctx, pgx.TxOptions{}, fn); err != nil {
		return err
	}
	db.wrote(ctx)
	return nil
}

// page cuts rows to the asked size and reports whether more follow.
func page[T any](rows []T, p domain.PageRequest) domain.Page[T] {
	if len(rows) > p.First {
		return domain.Page[T]{Items: rows[:p.First], HasNext: true}
	}
	return domain.Page[T]{Items: rows}
}
