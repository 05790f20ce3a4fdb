package postgres

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/sony/gobreaker/v2"

	"flashlive/domain"
)

// Defaults of Options.
const (
	// DefaultQueryTimeout bounds every call to PostgreSQL whose context has
	// no shorter deadline.
	DefaultQueryTimeout = 2 * time.Second
	// DefaultBreakerFailures consecutive failures open the breaker.
	DefaultBreakerFailures = 5
	// DefaultBreakerCooldown is how long the breaker stays open before it
	// lets one call through to probe.
	DefaultBreakerCooldown = 3 * time.Second
)

// Options tune how DB guards its calls to PostgreSQL. The zero value means
// the defaults.
type Options struct {
	// QueryTimeout is the deadline of every call (a query, or a whole
	// transaction) whose context has none shorter.
	QueryTimeout time.Duration
	// BreakerFailures is how many consecutive failures open the breaker.
	BreakerFailures int
	// BreakerCooldown is how long the breaker stays open before one call
	// may probe PostgreSQL again.
	BreakerCooldown time.Duration
	// OnBreakerChange, when set, is told of every change of the breaker's
	// state. It must not call the Pool.
	OnBreakerChange func(from, to BreakerState)
}

func (o Options) withDefaults() Options {
	if o.QueryTimeout <= 0 {
		o.QueryTimeout = DefaultQueryTimeout
	}
	if o.BreakerFailures <= 0 {
		o.BreakerFailures = DefaultBreakerFailures
	}
	if o.BreakerCooldown <= 0 {
		o.BreakerCooldown = DefaultBreakerCooldown
	}
	return o
}

// BreakerState is the state of the breaker in front of PostgreSQL.
type BreakerState int

// Breaker states. Closed lets every call through; Open refuses every call
// at once with UNAVAILABLE; HalfOpen lets one call probe whether
// PostgreSQL is back, and refuses the others.
const (
	BreakerClosed BreakerState = iota
	BreakerHalfOpen
	BreakerOpen
)

// String returns "closed", "half-open" or "open".
func (s BreakerState) String() string {
	return gobreaker.State(s).String()
}

// Errors of a sick PostgreSQL: what a call refused by the breaker returns,
// and what a call that failed for PostgreSQL's sake is marked with.
var (
	errUnavailable = domain.Errorf(domain.EUNAVAILABLE, "the order database is unavailable; retry shortly")
	errTooSlow     = domain.Errorf(domain.EUNAVAILABLE, "the database took too long; try again")
)

// marked returns err marked UNAVAILABLE when it says PostgreSQL is slow or
// gone (see unwell), with the cause kept for the logs; any other err as is.
func marked(err error) error {
	if !unwell(err) || domain.ErrorCode(err) == domain.EUNAVAILABLE {
		return err
	}
	if tooSlow(err) {
		return fmt.Errorf("%w: %w", errTooSlow, err)
	}
	return fmt.Errorf("%w: %w", errUnavailable, err)
}

// tooSlow reports whether err is a timeout: the call's deadline, or
// PostgreSQL's statement_timeout (SQLSTATE 57014).
func tooSlow(err error) bool {
	var pe *pgconn.PgError
	return errors.Is(err, context.DeadlineExceeded) || pgconn.Timeout(err) ||
		errors.As(err, &pe) && pe.Code == "57014"
}

// Pool is the connection pool as every store uses it. Each call goes
// through a circuit breaker and has a deadline: Options.QueryTimeout, or
// the caller's when it is shorter. A call that fails for PostgreSQL's sake
// returns an UNAVAILABLE error (wrapping the driver's). While PostgreSQL fails (timeouts, lost
// connections), the breaker opens and calls answer UNAVAILABLE at once
// instead of waiting for it; after a cooldown one call probes, and a
// success closes the breaker again. Answers are not failures: no rows, a
// constraint violation or a serialization conflict mean PostgreSQL works
// (see unwell).
// A call whose caller gave up (context cancelled) counts for nothing.
//
// A Row must be scanned and Rows closed (or read to the end): that ends
// the call for the breaker and releases its deadline.
type Pool struct {
	raw     *pgxpool.Pool
	cb      *gobreaker.TwoStepCircuitBreaker[struct{}]
	timeout time.Duration
	refused atomic.Int64
}

func newPool(raw *pgxpool.Pool, o Options) *Pool {
	o = o.withDefaults()
	failures := uint32(o.BreakerFailures)
	return &Pool{
		raw:     raw,
		timeout: o.QueryTimeout,
		cb: gobreaker.NewTwoStepCircuitBreaker[struct{}](gobreaker.Settings{
			Name:        "postgres",
			MaxRequests: 1,
			Timeout:     o.BreakerCooldown,
			ReadyToTrip: func(c gobreaker.Counts) bool { return c.ConsecutiveFailures >= failures },
			OnStateChange: func(_ string, from, to gobreaker.State) {
				if o.OnBreakerChange != nil {
					o.OnBreakerChange(BreakerState(from), BreakerState(to))
				}
			},
			IsSuccessful: func(err error) bool { return !unwell(err) },
			IsExcluded:   callerLeft,
		}),
	}
}

// callerLeft reports whether err says the caller gave up: that tells
// nothing about PostgreSQL.
func callerLeft(err error) bool {
	return errors.Is(err, context.Canceled)
}

// unwell reports whether err is a sign that PostgreSQL is slow or gone: a
// timeout, a lost or refused connection, a server shutting down or out of
// resources. Anything else is an answer of a working PostgreSQL, error or
// not: no rows, a constraint violation, a serialization conflict, a store's
// own verdict.
func unwell(err error) bool {
	if err == nil {
		return false
	}
	if tooSlow(err) {
		return true
	}
	var de *domain.Error
	if errors.As(err, &de) {
		// UNAVAILABLE is what translate makes of a timeout inside a
		// transaction; any other code is a verdict.
		return de.Code == domain.EUNAVAILABLE
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return serverUnwell(pe.Code)
	}
	var ce *pgconn.ConnectError
	var ne net.Error
	return errors.As(err, &ce) || errors.As(err, &ne) ||
		errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF)
}

// serverUnwell reports whether a SQLSTATE says the server, not the
// statement, is in trouble: connection exceptions (08), insufficient
// resources (53), operator intervention such as a statement timeout or a
// shutdown (57), system errors (58) and internal errors (XX).
func serverUnwell(code string) bool {
	if len(code) < 2 {
		return true
	}
	switch code[:2] {
	case "08", "53", "57", "58", "XX":
		return true
	}
	return false
}

// start asks the breaker for a call and gives it its deadline. end must
// be called with the call's outcome, once.
func (p *Pool) start(ctx context.Context) (context.Context, func(error), error) {
	if err := ctx.Err(); err != nil {
		// Spent before it started: no news about PostgreSQL.
		return ctx, nil, err
	}
	done, err := p.cb.Allow()
	if err != nil {
		p.refused.Add(1)
		return ctx, nil, errUnavailable
	}
	ctx, cancel := context.WithTimeout(ctx, p.timeout)
	return ctx, func(err error) {
		cancel()
		done(err)
	}, nil
}

// run runs fn as one call: through the breaker, with the deadline.
func (p *Pool) run(ctx context.Context, fn func(context.Context) error) error {
	ctx, end, err := p.start(ctx)
	if err != nil {
		return err
	}
	err = fn(ctx)
	end(err)
	return marked(err)
}

// Exec runs a statement that returns no rows.
func (p *Pool) Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error) {
	var tag pgconn.CommandTag
	err := p.run(ctx, func(ctx context.Context) error {
		var err error
		tag, err = p.raw.Exec(ctx, sql, args...)
		return err
	})
	return tag, err
}

// Query runs a query; the call lasts until the rows are closed or read to
// the end.
func (p *Pool) Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error) {
	ctx, end, err := p.start(ctx)
	if err != nil {
		return nil, err
	}
	rows, err := p.raw.Query(ctx, sql, args...)
	if err != nil {
		end(err)
		return nil, marked(err)
	}
	return &guardedRows{Rows: rows, end: end}, nil
}

// QueryRow runs a query of at most one row; the call lasts until the row
// is scanned.
func (p *Pool) QueryRow(ctx context.Context, sql string, args ...any) pgx.Row {
	ctx, end, err := p.start(ctx)
	if err != nil {
		return errRow{err}
	}
	return &guardedRow{row: p.raw.QueryRow(ctx, sql, args...), end: end}
}

// inTx runs fn in a transaction with opts, committed when fn returns nil;
// the whole transaction is one call, and each statement of fn has the
// call's deadline whatever context fn gives it.
func (p *Pool) inTx(ctx context.Context, opts pgx.TxOptions, fn func(pgx.Tx) error) error {
	return p.run(ctx, func(ctx context.Context) error {
		deadline, _ := ctx.Deadline()
		return pgx.BeginTxFunc(ctx, p.raw, opts, func(tx pgx.Tx) error {
			return fn(guardedTx{Tx: tx, deadline: deadline})
		})
	})
}

// Ping reports an error when PostgreSQL does not answer, or at once when
// the breaker is open.
func (p *Pool) Ping(ctx context.Context) error {
	return p.run(ctx, p.raw.Ping)
}

// Close closes the pool after the queries in flight end.
func (p *Pool) Close() { p.raw.Close() }

// Stat returns the pool's connection statistics.
func (p *Pool) Stat() *pgxpool.Stat { return p.raw.Stat() }

// BreakerState returns the breaker's state now.
func (p *Pool) BreakerState() BreakerState { return BreakerState(p.cb.State()) }

// Refused returns how many calls the breaker refused so far.
func (p *Pool) Refused() int64 { return p.refused.Load() }

// guardedRows ends its call when the rows are closed or read to the end.
type guardedRows struct {
	pgx.Rows
	end  func(error)
	once sync.Once
}

func (r *guardedRows) finish() {
	r.once.Do(func() { r.end(r.Rows.Err()) })
}

func (r *guardedRows) Next() bool {
	if r.Rows.Next() {
		return true
	}
	r.finish()
	return false
}

func (r *guardedRows) Close() {
	r.Rows.Close()
	r.finish()
}

func (r *guardedRows) Err() error { return marked(r.Rows.Err()) }

// guardedRow ends its call when it is scanned.
type guardedRow struct {
	row pgx.Row
	end func(error)
}

func (r *guardedRow) Scan(dest ...any) error {
	err := r.row.Scan(dest...)
	r.end(err)
	return marked(err)
}

// guardedTx gives each statement of a transaction the transaction's
// deadline.
type guardedTx struct {
	pgx.Tx
	deadline time.Time
}

func (tx guardedTx) Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error) {
	ctx, cancel := context.WithDeadline(ctx, tx.deadline)
	defer cancel()
	return tx.Tx.Exec(ctx, sql, args...)
}

func (tx guardedTx) Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error) {
	ctx, cancel := context.WithDeadline(ctx, tx.deadline)
	rows, err := tx.Tx.Query(ctx, sql, args...)
	if err != nil {
		cancel()
		return nil, err
	}
	return &guardedRows{Rows: rows, end: func(error) { cancel() }}, nil
}

func (tx guardedTx) QueryRow(ctx context.Context, sql string, args ...any) pgx.Row {
	ctx, cancel := context.WithDeadline(ctx, tx.deadline)
	return &guardedRow{row: tx.Tx.QueryRow(ctx, sql, args...), end: func(error) { cancel() }}
}

// errRow is a row whose query never ran.
type errRow struct{ err error }

func (r errRow) Scan(...any) error { return r.err }
