package postgres

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"flashlive/domain"
)

// Read replica: the reads that may be slightly stale (the catalog, live
// rooms, flash event lookups and lists, order lookups and lists) go
// through DB.read, which sends them to a streaming replica when one is
// attached (DB.AttachReplica) and fit to serve them, and to the primary
// otherwise. Writes, the purchase path's reads (HotEventSource, the order
// writer, the jobs) and every read inside a transaction stay on the
// primary.
//
// Read-your-own-writes: after a caller's write (a principal's change of
// the catalog, a buyer's pay or cancel, the order writer's new orders for
// their buyers) the store records the primary's WAL insert position in
// WriteMarks, per user. A read by that user goes to the replica only once
// the replica's replayed position (sampled by the monitor, so never ahead
// of the truth) has passed the mark; until then it goes to the primary.
// With WriteMarks shared by the instances (Redis), that holds whichever
// instance serves the read.
//
// Fitness: a monitor samples the primary's WAL position and the replica's
// replay position every ReplicaOptions.Probe. The replica lags by how long
// ago the primary had written the oldest WAL the replica has not replayed
// yet; past MaxLag, or when the replica does not answer, reads go to the
// primary until a probe finds it fit again. A read the replica fails for
// its own sake (down, timeout, breaker open) is run again on the primary:
// a replica never fails a read.

// Route reasons: why a read went where it went (ReplicaOptions.OnRoute).
const (
	RouteReplica   = "replica"    // to the replica: fit, and past the reader's last write
	RouteOwnWrite  = "own_write"  // to the primary: the replica has not replayed the reader's last write
	RouteDown      = "down"       // to the primary: the replica does not answer
	RouteLagging   = "lagging"    // to the primary: the replica lags past MaxLag
	RouteFailed    = "failed"     // to the primary: the replica failed this read
	RouteMarkError = "mark_error" // to the primary: the reader's last write is unknown
	RoutePrimary   = "primary"    // to the primary: the caller asked (OnPrimary)
)

type onPrimaryKey struct{}

// OnPrimary returns ctx whose reads all go to the primary: for a reader
// that must see what was just written by anyone (the live feed, which
// reads an event's state when told that it changed).
func OnPrimary(ctx context.Context) context.Context {
	return context.WithValue(ctx, onPrimaryKey{}, true)
}

// Defaults of ReplicaOptions.
const (
	DefaultReplicaMaxLag = 5 * time.Second
	DefaultReplicaProbe  = 250 * time.Millisecond
)

// WriteMarks remembers, per user, the primary's WAL position after the
// user's last write. Mark keeps the greater of the stored and the given
// position; Last returns 0 for a user with no mark. A mark may be
// forgotten once every replica the router uses has replayed it: marks
// older than ReplicaOptions.MarkTTL are.
type WriteMarks interface {
	Mark(ctx context.Context, userID string, lsn uint64, ttl time.Duration) error
	Last(ctx context.Context, userID string) (uint64, error)
}

// ReplicaOptions tune the read replica. The zero value means the defaults.
type ReplicaOptions struct {
	// MaxLag is how far behind the primary the replica may be and still
	// serve reads.
	MaxLag time.Duration
	// Probe is how often the monitor samples the replica's replay.
	Probe time.Duration
	// Marks holds the users' write marks; required.
	Marks WriteMarks
	// Pool guards the calls to the replica (its own breaker and deadline).
	Pool Options
	// OnRoute, when set, is told where every routed read went and why
	// (RouteReplica, or the primary with one of the other reasons).
	OnRoute func(reason string)
	// OnHealth, when set, is told of every change of the replica's
	// fitness: "" when fit again, else RouteDown or RouteLagging with the
	// cause.
	OnHealth func(reason string, cause error)
	// OnMarkError, when set, is told of a write mark that could not be
	// recorded (the write stands; that user's next reads may be stale).
	OnMarkError func(error)
}

// MarkTTL is how long a write mark must be kept: past MaxLag (and two
// probes of margin), a replica that still lags that far is not used at
// all, so any replica the router uses has replayed the write.
func (o ReplicaOptions) MarkTTL() time.Duration {
	o = o.withDefaults()
	return o.MaxLag + 2*o.Probe + time.Second
}

func (o ReplicaOptions) withDefaults() ReplicaOptions {
	if o.MaxLag <= 0 {
		o.MaxLag = DefaultReplicaMaxLag
	}
	if o.Probe <= 0 {
		o.Probe = DefaultReplicaProbe
	}
	return o
}

// replica is the read replica of a DB and its monitor.
type replica struct {
	pool    *Pool
	primary *Pool
	o       ReplicaOptions

	replayed atomic.Uint64 // the replay position the last good probe saw
	lagNanos atomic.Int64
	unfit    atomic.Value // string: "" fit, RouteDown or RouteLagging

	stop chan struct{}
	done chan struct{}
}

// AttachReplica connects db's stale-tolerant reads to the streaming
// replica at dsn and starts its monitor, stopped by Close. It runs no
// migration (a replica is read-only) and does not wait for the replica:
// one that is down at start is unfit until a probe reaches it, and reads
// go to the primary meanwhile.
func (db *DB) AttachReplica(ctx context.Context, dsn string, o ReplicaOptions) error {
	if o.Marks == nil {
		return errors.New("replica: no write marks")
	}
	o = o.withDefaults()
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return fmt.Errorf("parse postgres read url: %w", err)
	}
	raw, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return fmt.Errorf("open postgres read pool: %w", err)
	}
	r := &replica{pool: newPool(raw, o.Pool), primary: db.Pool, o: o, stop: make(chan struct{}), done: make(chan struct{})}
	r.unfit.Store(RouteDown)
	r.probe(ctx, nil)
	db.replica = r
	go r.monitor()
	return nil
}

// ReplicaLag returns how far behind the primary the replica was at the
// last probe, and whether the replica is attached and fit to serve reads.
func (db *DB) ReplicaLag() (lag time.Duration, fit bool) {
	if db.replica == nil {
		return 0, false
	}
	return time.Duration(db.replica.lagNanos.Load()), db.replica.unfit.Load().(string) == ""
}

// ReplicaState says how the replica is now: "" when none is attached,
// "ok" when fit to serve reads, else RouteDown or RouteLagging.
func (db *DB) ReplicaState() string {
	if db.replica == nil {
		return ""
	}
	if s := db.replica.unfit.Load().(string); s != "" {
		return s
	}
	return "ok"
}

// lsnSample is the primary's WAL position at a time.
type lsnSample struct {
	at  time.Time
	lsn uint64
}

// maxSamples bounds the monitor's memory of unreplayed positions; when it
// is full the newest are not kept, so the oldest, which the lag is
// measured from, stays.
const maxSamples = 4096

func (r *replica) monitor() {
	defer close(r.done)
	t := time.NewTicker(r.o.Probe)
	defer t.Stop()
	var samples []lsnSample
	for {
		select {
		case <-r.stop:
			return
		case <-t.C:
			ctx, cancel := context.WithTimeout(context.Background(), r.o.Probe*4)
			samples = r.probe(ctx, samples)
			cancel()
		}
	}
}

const lsnOf = `SELECT pg_wal_lsn_diff(%s, '0/0')::bigint`

// probe samples the primary's position and the replica's replay, updates
// the lag and fitness, and returns the samples not replayed yet.
func (r *replica) probe(ctx context.Context, samples []lsnSample) []lsnSample {
	now := time.Now()
	var p, rep int64
	if err := r.primary.QueryRow(ctx, fmt.Sprintf(lsnOf, "pg_current_wal_insert_lsn()")).Scan(&p); err == nil && len(samples) < maxSamples {
		samples = append(samples, lsnSample{at: now, lsn: uint64(p)})
	}
	if err := r.pool.QueryRow(ctx, fmt.Sprintf(lsnOf, "pg_last_wal_replay_lsn()")).Scan(&rep); err != nil {
		r.setFit(RouteDown, err)
		return samples
	}
	r.replayed.Store(uint64(rep))
	kept := samples[:0]
	for _, s := range samples {
		if s.lsn > uint64(rep) {
			kept = append(kept, s)
		}
	}
	var lag time.Duration
	if len(kept) > 0 {
		lag = now.Sub(kept[0].at)
	}
	r.lagNanos.Store(int64(lag))
	if lag > r.o.MaxLag {
		r.setFit(RouteLagging, fmt.Errorf("replay %s behind the primary, more than %s", lag.Round(time.Millisecond), r.o.MaxLag))
	} else {
		r.setFit("", nil)
	}
	return kept
}

func (r *replica) setFit(reason string, cause error) {
	if old := r.unfit.Swap(reason); old != reason && r.o.OnHealth != nil {
		r.o.OnHealth(reason, cause)
	}
}

func (r *replica) close() {
	close(r.stop)
	<-r.done
	r.pool.Close()
}

// route says where a read by the caller of ctx goes: the replica's pool,
// or the primary's with the reason.
func (r *replica) route(ctx context.Context) (*Pool, string) {
	if ctx.Value(onPrimaryKey{}) != nil {
		return r.primary, RoutePrimary
	}
	if reason := r.unfit.Load().(string); reason != "" {
		return r.primary, reason
	}
	if r.pool.BreakerState() == BreakerOpen {
		return r.primary, RouteDown
	}
	if me, ok := domain.PrincipalFromContext(ctx); ok && me.UserID != "" {
		last, err := r.o.Marks.Last(ctx, me.UserID)
		if err != nil {
			return r.primary, RouteMarkError
		}
		if last > r.replayed.Load() {
			return r.primary, RouteOwnWrite
		}
	}
	return r.pool, RouteReplica
}

func (r *replica) told(reason string) {
	if r.o.OnRoute != nil {
		r.o.OnRoute(reason)
	}
}

// read runs fn, a read that may be slightly stale, on the replica when it
// is fit and has replayed the caller's last write, else on the primary;
// fn runs again on the primary when the replica fails it for its own sake.
func (db *DB) read(ctx context.Context, fn func(q querier) error) error {
	r := db.replica
	if r == nil {
		return fn(db.Pool)
	}
	pool, reason := r.route(ctx)
	if pool == r.primary {
		r.told(reason)
		return fn(pool)
	}
	err := fn(pool)
	if err != nil && unwell(err) && ctx.Err() == nil {
		r.told(RouteFailed)
		return fn(r.primary)
	}
	r.told(RouteReplica)
	return err
}

// wrote records the write just committed by the caller of ctx (its
// principal) and by the users also named, so that their next reads wait
// for the replica to replay it. Without a replica it does nothing. A mark
// that cannot be recorded goes to ReplicaOptions.OnMarkError: the write
// itself stands.
func (db *DB) wrote(ctx context.Context, also ...string) {
	r := db.replica
	if r == nil {
		return
	}
	users := also
	if me, ok := domain.PrincipalFromContext(ctx); ok && me.UserID != "" {
		users = append([]string{me.UserID}, also...)
	}
	if len(users) == 0 {
		return
	}
	if err := r.mark(ctx, users); err != nil && r.o.OnMarkError != nil {
		r.o.OnMarkError(err)
	}
}

func (r *replica) mark(ctx context.Context, users []string) error {
	var lsn int64
	if err := r.primary.QueryRow(ctx, fmt.Sprintf(lsnOf, "pg_current_wal_insert_lsn()")).Scan(&lsn); err != nil {
		return fmt.Errorf("write mark: %w", err)
	}
	ttl := r.o.MarkTTL()
	seen := map[string]bool{}
	for _, u := range users {
		if seen[u] {
			continue
		}
		seen[u] = true
		if err := r.o.Marks.Mark(ctx, u, uint64(lsn), ttl); err != nil {
			return fmt.Errorf("write mark of %s: %w", u, err)
		}
	}
	return nil
}

// readWith is DB.read for a read that returns a value.
func readWith[T any](ctx context.Context, db *DB, fn func(q querier) (T, error)) (T, error) {
	var v T
	err := db.read(ctx, func(q querier) error {
		var err error
		v, err = fn(q)
		return err
	})
	return v, err
}

// LocalWriteMarks keeps write marks in this process's memory: enough for
// one instance; several instances behind a balancer share marks in Redis
// instead (redis.WriteMarks).
type LocalWriteMarks struct {
	mu    sync.Mutex
	marks map[string]localMark
	prune int // the size at which expired marks are dropped next
}

type localMark struct {
	lsn     uint64
	expires time.Time
}

// Mark implements WriteMarks.
func (m *LocalWriteMarks) Mark(_ context.Context, userID string, lsn uint64, ttl time.Duration) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.marks == nil {
		m.marks = map[string]localMark{}
	}
	now := time.Now()
	if len(m.marks) >= m.prune { // amortised: bounded by the users who wrote within a TTL
		for u, k := range m.marks {
			if now.After(k.expires) {
				delete(m.marks, u)
			}
		}
		m.prune = max(1024, 2*len(m.marks))
	}
	if old := m.marks[userID]; old.lsn > lsn {
		lsn = old.lsn
	}
	m.marks[userID] = localMark{lsn: lsn, expires: now.Add(ttl)}
	return nil
}

// Last implements WriteMarks.
func (m *LocalWriteMarks) Last(_ context.Context, userID string) (uint64, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	k := m.marks[userID]
	if time.Now().After(k.expires) {
		return 0, nil
	}
	return k.lsn, nil
}
