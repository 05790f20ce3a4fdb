package testenv

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// PostgresReplica is a streaming read replica of one test's own (a hot
// standby made with pg_basebackup -R by scripts/pg-replica.sh), on a free
// loopback port, which the test may stop, start again and whose replay it
// may pause, without hurting any other test. It is stopped, and its files
// removed, when the test ends.
type PostgresReplica struct {
	// URL is the primary URL StartPostgresReplica was given with the
	// replica's host and port: the same user and database, read-only.
	URL string

	path, dir, port, primary string
}

// StartPostgresReplica makes a replica of the running primary at
// primaryURL (a postgres:// URL of a user that may replicate, such as the
// test primary's FLASHLIVE_TEST_POSTGRES_URL) and waits until it is in
// recovery and streaming. The test fails when the PostgreSQL binaries are
// missing or the primary refuses replication.
func StartPostgresReplica(t testing.TB, primaryURL string) *PostgresReplica {
	t.Helper()
	r := &PostgresReplica{
		path:    filepath.Join(RepoRoot(t), "scripts", "pg-replica.sh"),
		port:    strconv.Itoa(freePortRun(t, 1)),
		primary: primaryURL,
	}
	dir, err := os.MkdirTemp("", "flashlive-pg-replica-")
	if err != nil {
		t.Fatalf("PostgreSQL replica: %v", err)
	}
	r.dir = dir
	t.Cleanup(func() {
		if out, err := exec.Command(r.path, "down", r.dir).CombinedOutput(); err != nil {
			t.Errorf("stop PostgreSQL replica: %v\n%s", err, out)
		}
		_ = os.RemoveAll(r.dir)
	})
	r.Start(t)
	return r
}

// Start starts the replica again after Stop (it resumes streaming where
// it stopped) and waits until it streams; a running replica is left as is.
func (r *PostgresReplica) Start(t testing.TB) {
	t.Helper()
	r.URL = scriptUp(t, "PostgreSQL replica", r.path, r.dir, r.port, r.primary)
}

// Stop stops the replica (a fast shutdown by its PID) and returns once
// its process is gone: connections to it are refused.
func (r *PostgresReplica) Stop(t testing.TB) {
	t.Helper()
	if out, err := exec.Command(r.path, "down", r.dir).CombinedOutput(); err != nil {
		t.Fatalf("stop PostgreSQL replica: %v\n%s", err, out)
	}
}

// Database returns the URL of the database of dbURL (a database on the
// primary, e.g. from PostgresURL) on the replica, once the replica has
// replayed the primary's WAL up to now: the database exists there.
func (r *PostgresReplica) Database(t testing.TB, dbURL string) string {
	t.Helper()
	u, err := url.Parse(dbURL)
	if err != nil {
		t.Fatalf("replica database: parse %q: %v", dbURL, err)
	}
	ru, err := url.Parse(r.URL)
	if err != nil {
		t.Fatalf("replica database: parse %q: %v", r.URL, err)
	}
	u.Host = ru.Host
	r.WaitReplayed(t)
	return u.String()
}

// WaitReplayed waits until the replica has replayed every WAL record the
// primary had inserted when it was called: its insert position, not its
// write position, which lags behind commits when synchronous_commit is
// off (as the test PostgreSQL runs).
func (r *PostgresReplica) WaitReplayed(t testing.TB) {
	t.Helper()
	var lsn string
	r.query(t, r.primary, "SELECT pg_current_wal_insert_lsn()::text", &lsn)
	WaitForCheck(t, 30*time.Second, "replica replayed up to "+lsn, func() error {
		var done bool
		if err := r.queryErr(r.URL, "SELECT pg_last_wal_replay_lsn() >= $1::pg_lsn", &done, lsn); err != nil {
			return err
		}
		if !done {
			return fmt.Errorf("replay behind %s", lsn)
		}
		return nil
	})
}

// PauseReplay stops the replica from applying the WAL it receives (it
// keeps answering, with what it had): the replica lags from now on.
func (r *PostgresReplica) PauseReplay(t testing.TB) {
	t.Helper()
	var ignored string
	r.query(t, r.URL, "SELECT pg_wal_replay_pause()::text", &ignored)
	WaitFor(t, 10*time.Second, "replica replay paused", func() bool {
		var state string
		return r.queryErr(r.URL, "SELECT pg_get_wal_replay_pause_state()", &state) == nil && state == "paused"
	})
}

// ResumeReplay lets the replica apply WAL again after PauseReplay.
func (r *PostgresReplica) ResumeReplay(t testing.TB) {
	t.Helper()
	var ignored string
	r.query(t, r.URL, "SELECT pg_wal_replay_resume()::text", &ignored)
}

// InRecovery reports what pg_is_in_recovery() says on a connection to
// dbURL: true on the replica, false on the primary.
func InRecovery(t testing.TB, dbURL string) bool {
	t.Helper()
	var in bool
	if err := (&PostgresReplica{}).queryErr(dbURL, "SELECT pg_is_in_recovery()", &in); err != nil {
		t.Fatalf("pg_is_in_recovery on %s: %v", dbURL, err)
	}
	return in
}

func (r *PostgresReplica) query(t testing.TB, dbURL, sql string, dest any, args ...any) {
	t.Helper()
	if err := r.queryErr(dbURL, sql, dest, args...); err != nil {
		t.Fatalf("%s on %s: %v", sql, dbURL, err)
	}
}

func (r *PostgresReplica) queryErr(dbURL, sql string, dest any, args ...any) error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	return conn.QueryRow(ctx, sql, args...).Scan(dest)
}
