package testenv

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// TestPostgresReplicaStreamsPausesAndRestarts proves the replica the
// helper makes is a real streaming hot standby: it is in recovery, it sees
// the primary's rows, a paused replay hides new ones until resumed, and
// after a stop and a start it catches up.
func TestPostgresReplicaStreamsPausesAndRestarts(t *testing.T) {
	admin := required(t, PostgresEnv)
	r := StartPostgresReplica(t, admin)
	db := PostgresURL(t)
	execSQL(t, db, "CREATE TABLE probe (n int); INSERT INTO probe VALUES (1)")
	rdb := r.Database(t, db)
	if !InRecovery(t, rdb) || InRecovery(t, db) {
		t.Fatalf("pg_is_in_recovery: replica %v, primary %v; want true, false", InRecovery(t, rdb), InRecovery(t, db))
	}
	if n := count(t, rdb); n != 1 {
		t.Fatalf("replica sees %d rows, want 1", n)
	}

	r.PauseReplay(t)
	execSQL(t, db, "INSERT INTO probe VALUES (2)")
	if n := count(t, rdb); n != 1 {
		t.Fatalf("paused replica sees %d rows, want 1 (the row before the pause)", n)
	}
	r.ResumeReplay(t)
	r.WaitReplayed(t)
	if n := count(t, rdb); n != 2 {
		t.Fatalf("resumed replica sees %d rows, want 2", n)
	}

	r.Stop(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if conn, err := pgx.Connect(ctx, rdb); err == nil {
		conn.Close(ctx)
		t.Fatal("the stopped replica still accepts connections")
	}
	execSQL(t, db, "INSERT INTO probe VALUES (3)")
	r.Start(t)
	r.WaitReplayed(t)
	if n := count(t, rdb); n != 3 {
		t.Fatalf("restarted replica sees %d rows, want 3", n)
	}
}

func execSQL(t *testing.T, dbURL, sql string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, sql); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

func count(t *testing.T, dbURL string) int {
	t.Helper()
	var n int
	(&PostgresReplica{}).query(t, dbURL, "SELECT count(*)::int FROM probe", &n)
	return n
}
