#!/usr/bin/env bash
# Start/stop a streaming read replica of a running PostgreSQL primary
# (Debian's packages): a physical copy taken with `pg_basebackup -R`, which
# then follows the primary's WAL as a hot standby. Used for
# FLASHLIVE_POSTGRES_READ_URL, and by the tests that need a replica of
# their own (internal/testenv.StartPostgresReplica), which stop it and
# pause its replay.
#
#   eval "$(scripts/pg-replica.sh up [DIR] [PORT] [PRIMARY_URL])"  # prints `export FLASHLIVE_POSTGRES_READ_URL=...`
#   scripts/pg-replica.sh status [DIR] [PORT]                       # exit 0 if the replica of DIR runs in recovery
#   scripts/pg-replica.sh down [DIR]                                # stop the replica of DIR by its PID
#
# PRIMARY_URL (default $FLASHLIVE_PG_PRIMARY_URL, else $FLASHLIVE_POSTGRES_URL,
# else postgres://flashlive@127.0.0.1:${FLASHLIVE_PG_PORT:-55432}/flashlive?sslmode=disable)
# is a postgres:// URL of the primary for a user that may replicate (the
# primary needs wal_level replica or logical, a free wal sender and a
# `replication` line in pg_hba.conf: scripts/services.sh's primary has all
# three). The printed read URL is PRIMARY_URL with its host and port replaced
# by the replica's: the same user and database.
# DIR (default ${FLASHLIVE_PG_REPLICA_DIR:-$FLASHLIVE_DATA_DIR/pg-replica})
# holds data/ (the replica's cluster) and replica.log. PORT (default
# ${FLASHLIVE_PG_REPLICA_PORT:-55442}) is where it listens, on 127.0.0.1 only
# (TCP, no unix socket). When run as root, PostgreSQL runs as the `postgres`
# user (or `flashlive`, as scripts/services.sh creates it), who must be able
# to reach DIR; DIR is made theirs.
#
# `up` reuses a replica of DIR that runs; restarts one whose data dir is
# there (a standby resumes from where it stopped, so a test can stop it and
# bring it back); else takes a new base backup. No replication slot, so a
# replica left behind never holds the primary's WAL: a restarted replica
# whose WAL the primary has recycled meanwhile is made anew from a new base
# backup. It returns once the
# replica accepts connections, says pg_is_in_recovery() and its WAL receiver
# is streaming. stdout carries only the export line; messages go to stderr.
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=scripts/lib-pg.sh
source "$SCRIPT_DIR/lib-pg.sh" # find_pg_bindir, alive
REPO="$(cd "$SCRIPT_DIR/.." && pwd)"
DATA_DIR="${FLASHLIVE_DATA_DIR:-$REPO/.data}"
CMD="${1:-}"
DIR="${2:-${FLASHLIVE_PG_REPLICA_DIR:-$DATA_DIR/pg-replica}}"
PORT="${3:-${FLASHLIVE_PG_REPLICA_PORT:-55442}}"
PRIMARY_URL="${4:-${FLASHLIVE_PG_PRIMARY_URL:-${FLASHLIVE_POSTGRES_URL:-postgres://flashlive@127.0.0.1:${FLASHLIVE_PG_PORT:-55432}/flashlive?sslmode=disable}}}"
READY_TIMEOUT=60
PGDATA_DIR="$DIR/data"
PG_LOG="$DIR/replica.log"

log() { printf '[pg-replica] %s\n' "$*" >&2; }
die() { printf '[pg-replica] ERROR: %s\n' "$*" >&2; exit 1; }
is_root() { [[ "$(id -u)" -eq 0 ]]; }

usage() {
	echo "usage: $0 up|down|status [DIR] [PORT] [PRIMARY_URL]" >&2
}

PG_BIN=""
PG_RUN_USER="" # empty: run as the current user

run_user() {
	PG_RUN_USER=""
	is_root || return 0
	if id postgres >/dev/null 2>&1; then
		PG_RUN_USER=postgres
	elif id flashlive >/dev/null 2>&1; then
		PG_RUN_USER=flashlive
	else
		die "running as root, and there is no 'postgres' user to run PostgreSQL as (apt-get install postgresql creates it)"
	fi
	command -v runuser >/dev/null 2>&1 || die "runuser (util-linux) is needed to run PostgreSQL as a non-root user"
}

# run a PostgreSQL binary as the user that owns the replica
pg_as() {
	if [[ -n "$PG_RUN_USER" ]]; then
		runuser -u "$PG_RUN_USER" -- "$@"
	else
		"$@"
	fi
}

psql_bin() {
	if [[ -x "$PG_BIN/psql" ]]; then echo "$PG_BIN/psql"; else command -v psql || true; fi
}

# PID of the replica's postmaster, if alive
replica_pid() {
	local f="$PGDATA_DIR/postmaster.pid" pid
	[[ -f "$f" ]] || return 1
	pid="$(head -n 1 "$f" | tr -dc '0-9')"
	[[ -n "$pid" ]] && alive "$pid" || return 1
	grep -qa postgres "/proc/$pid/cmdline" 2>/dev/null || return 1
	echo "$pid"
}

# PRIMARY_URL with host:port replaced by the replica's
replica_url() {
	[[ "$PRIMARY_URL" =~ ^postgres(ql)?:// ]] || die "PRIMARY_URL must be a postgres:// URL, got: $PRIMARY_URL"
	printf '%s' "$PRIMARY_URL" | sed -E "s#^(postgres(ql)?://([^@/]*@)?)[^/?]*#\\1127.0.0.1:$PORT#"
}

# the replica's answer to sql, on its postgres database
replica_sql() {
	local url
	url="$(replica_url | sed -E 's#^(postgres(ql)?://[^/?]*)(/[^?]*)?#\1/postgres#')"
	PGCONNECT_TIMEOUT=3 timeout 5 "$(psql_bin)" "$url" -XtAc "$1" 2>/dev/null
}

# accepts connections, is in recovery and streams from the primary
replica_ready() {
	[[ "$(replica_sql 'select pg_is_in_recovery()')" == t ]] || return 1
	[[ "$(replica_sql "select count(*) from pg_stat_wal_receiver where status = 'streaming'")" == 1 ]]
}

write_conf() {
	pg_as tee "$PGDATA_DIR/flashlive-replica.conf" >/dev/null <<CONF
# Written by scripts/pg-replica.sh on every start; edits are overwritten.
# Included last by postgresql.conf, so it wins over the primary's settings
# the base backup copied (max_connections and the other limits a hot
# standby must keep at least as high as its primary's are left as copied).
listen_addresses = '127.0.0.1'
port = $PORT
unix_socket_directories = ''
hot_standby = on
hot_standby_feedback = off
shared_buffers = 32MB
fsync = off
logging_collector = off
log_min_messages = warning
log_line_prefix = '%m [%p] replica %d '
CONF
	if ! grep -q "flashlive-replica.conf" "$PGDATA_DIR/postgresql.conf"; then
		printf "\ninclude_if_exists = 'flashlive-replica.conf'\n" | pg_as tee -a "$PGDATA_DIR/postgresql.conf" >/dev/null
	fi
}

base_backup() {
	log "pg_basebackup -R from ${PRIMARY_URL%%\?*} into $PGDATA_DIR"
	pg_as rm -rf "$PGDATA_DIR"
	pg_as "$PG_BIN/pg_basebackup" -d "$PRIMARY_URL" -D "$PGDATA_DIR" -R -X stream -c fast --no-sync \
		>"$DIR/basebackup.log" 2>&1 || {
		tail -n 20 "$DIR/basebackup.log" >&2 || true
		die "pg_basebackup failed (does the primary allow replication connections in pg_hba.conf, with wal_level replica?)"
	}
	[[ -f "$PGDATA_DIR/standby.signal" ]] || die "pg_basebackup -R wrote no standby.signal"
}

start_replica() {
	write_conf
	log "starting the replica on 127.0.0.1:$PORT ($("$PG_BIN/postgres" --version))"
	pg_as "$PG_BIN/pg_ctl" start -W -D "$PGDATA_DIR" -l "$PG_LOG" >&2 9>&- || {
		tail -n 20 "$PG_LOG" >&2 2>/dev/null || true
		die "pg_ctl start failed (log: $PG_LOG)"
	}
}

cmd_up() {
	((PORT >= 1024 && PORT <= 65535)) || die "port $PORT out of range (1024..65535)"
	PG_BIN="$(find_pg_bindir "$PGDATA_DIR" pg_ctl pg_basebackup postgres || true)"
	[[ -n "$PG_BIN" ]] || die "PostgreSQL server binaries (pg_basebackup, pg_ctl, postgres) not found: apt-get install postgresql"
	[[ -n "$(psql_bin)" ]] || die "psql not found: apt-get install postgresql-client"
	run_user
	local url
	url="$(replica_url)"
	mkdir -p "$DIR"
	exec 9>"$DIR/.lock"
	flock -w 120 9 || die "could not lock $DIR/.lock"
	if [[ -n "$PG_RUN_USER" ]]; then
		chown "$PG_RUN_USER:" "$DIR"
		runuser -u "$PG_RUN_USER" -- test -x "$DIR" ||
			die "$PG_RUN_USER cannot reach $DIR (a parent directory is closed to it); use a DIR under /tmp or /var/tmp"
	fi
	chmod 700 "$DIR"
	if replica_pid >/dev/null && replica_ready; then
		log "replica of $DIR already streaming on 127.0.0.1:$PORT (reused)"
		printf "export FLASHLIVE_POSTGRES_READ_URL='%s'\n" "$url"
		return 0
	fi
	local resumed=0 log_from=0
	if replica_pid >/dev/null; then
		log "replica of $DIR runs but is not ready; waiting"
	else
		if [[ -f "$PGDATA_DIR/PG_VERSION" && -f "$PGDATA_DIR/standby.signal" ]]; then
			log "restarting the replica of $DIR (it resumes streaming where it stopped)"
			resumed=1
			log_from=$(($(stat -c %s "$PG_LOG" 2>/dev/null || echo 0) + 1))
		else
			base_backup
		fi
		start_replica
	fi
	local started=$SECONDS deadline=$((SECONDS + READY_TIMEOUT))
	until replica_ready; do
		# Without a replication slot (none is left behind on the primary),
		# the primary may have recycled the WAL a stopped replica needs:
		# then it starts over from a new base backup.
		if ((resumed)) && tail -c "+$log_from" "$PG_LOG" 2>/dev/null | grep -q 'has already been removed'; then
			log "the primary no longer has the WAL the replica stopped at: a new base backup"
			resumed=0
			cmd_down
			base_backup
			start_replica
			started=$SECONDS deadline=$((SECONDS + READY_TIMEOUT))
		fi
		if ((SECONDS - started >= 3)) && ! replica_pid >/dev/null; then
			tail -n 20 "$PG_LOG" >&2 2>/dev/null || true
			die "the replica exited during start-up (log: $PG_LOG)"
		fi
		if ((SECONDS >= deadline)); then
			tail -n 20 "$PG_LOG" >&2 2>/dev/null || true
			die "the replica is not in recovery and streaming after ${READY_TIMEOUT}s (log: $PG_LOG)"
		fi
		sleep 0.2
	done
	log "replica streaming: $url pid $(replica_pid) (stop with: $0 down $DIR)"
	printf "export FLASHLIVE_POSTGRES_READ_URL='%s'\n" "$url"
}

cmd_down() {
	local pid
	pid="$(replica_pid)" || return 0
	log "stopping the replica of $DIR (pid $pid)"
	kill -INT "$pid" 2>/dev/null || true # fast shutdown
	local deadline=$((SECONDS + 30))
	while alive "$pid"; do
		if ((SECONDS >= deadline)); then
			log "replica (pid $pid) still up after 30s: SIGKILL"
			kill -KILL "$pid" 2>/dev/null || true
			break
		fi
		sleep 0.1
	done
}

cmd_status() {
	local pid
	PG_BIN="$(find_pg_bindir "$PGDATA_DIR" pg_ctl pg_basebackup postgres || true)"
	if pid="$(replica_pid)" && [[ -n "$PG_BIN" ]] && replica_ready; then
		log "replica of $DIR streaming on 127.0.0.1:$PORT, pid $pid, log $PG_LOG"
		return 0
	fi
	log "replica of $DIR: not running (or not streaming)"
	return 3
}

case "$CMD" in
up) cmd_up ;;
down) cmd_down ;;
status) cmd_status ;;
-h | --help | help) usage ;;
*) usage; exit 2 ;;
esac
