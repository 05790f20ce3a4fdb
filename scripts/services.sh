#!/usr/bin/env bash
# Start/stop the backing services (PostgreSQL + Redis) for flashlive.
#
#   eval "$(scripts/services.sh up)"   # prints `export FLASHLIVE_...=...` lines on stdout
#   scripts/services.sh status          # exit 0 if something of ours runs, 3 otherwise
#   scripts/services.sh down            # stop what `up` started (no-op if nothing runs)
#
# Strategy for `up`, per service:
#   1. FLASHLIVE_POSTGRES_URL / FLASHLIVE_REDIS_URL already set: used as is.
#   2. A working Docker engine + `docker compose`: `docker compose up -d --wait`.
#      (FLASHLIVE_NO_DOCKER=1 skips this.)
#   3. Project-local instances from the Debian packages (installed with apt-get
#      when missing and running as root), data under ${FLASHLIVE_DATA_DIR:-.data}.
#
# Knobs: FLASHLIVE_DATA_DIR, FLASHLIVE_PG_PORT (55432), FLASHLIVE_REDIS_PORT (56379),
#        FLASHLIVE_PG_FAST=1 (fsync=off, for tests), FLASHLIVE_REDIS_EPHEMERAL=1
#        (no persistence, for tests), FLASHLIVE_PG_BINDIR (force a PostgreSQL bindir),
#        FLASHLIVE_REDIS_CLUSTER=1 (also a 6-node Redis Cluster, scripts/redis-cluster.sh,
#        exported as FLASHLIVE_REDIS_CLUSTER_URL unless that is set already).
#
# stdout carries only the export lines; every human message goes to stderr.
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=scripts/lib-pg.sh
source "$SCRIPT_DIR/lib-pg.sh" # find_pg_bindir, alive
REPO="$(cd "$SCRIPT_DIR/.." && pwd)"
DATA_DIR="${FLASHLIVE_DATA_DIR:-$REPO/.data}"
PG_PORT="${FLASHLIVE_PG_PORT:-55432}"
REDIS_PORT="${FLASHLIVE_REDIS_PORT:-56379}"
PG_DB=flashlive
PG_SUPERUSER=flashlive
COMPOSE_FILE="$REPO/docker-compose.yml"
COMPOSE_MARKER="$DATA_DIR/compose.active"
REDIS_DIR="$DATA_DIR/redis"
REDIS_PIDFILE="$REDIS_DIR/redis.pid"
REDIS_LOG="$REDIS_DIR/redis.log"
READY_TIMEOUT=30

log() { printf '[services] %s\n' "$*" >&2; }
die() { printf '[services] ERROR: %s\n' "$*" >&2; exit 1; }
is_root() { [[ "$(id -u)" -eq 0 ]]; }

usage() {
	cat >&2 <<USAGE
usage: $0 up|down|status
  up      start PostgreSQL + Redis if needed; prints export lines on stdout
  down    stop the instances started by 'up'
  status  show what runs
USAGE
}

# ---------------------------------------------------------------- helpers

ensure_data_dir() {
	mkdir -p "$DATA_DIR"
}

take_lock() {
	ensure_data_dir
	# fd 9 is closed (9>&-) for every daemon we start, or it would hold the lock.
	exec 9>"$DATA_DIR/.services.lock"
	if ! flock -w 120 9; then
		die "could not lock $DATA_DIR/.services.lock within 120 s (another 'services.sh' still running?)"
	fi
}

docker_compose_usable() {
	[[ "${FLASHLIVE_NO_DOCKER:-0}" == 1 ]] && return 1
	command -v docker >/dev/null 2>&1 || return 1
	[[ -f "$COMPOSE_FILE" ]] || return 1
	docker info >/dev/null 2>&1 || return 1
	docker compose version >/dev/null 2>&1 || return 1
}

# The dev profile holds the single dev Redis (docker-compose.yml), so that
# `down` stops it too.
compose() { docker compose --profile dev -f "$COMPOSE_FILE" --project-directory "$REPO" "$@"; }

# apt-get install the given packages (as root), without letting the packages'
# maintainer scripts start the system-wide services on 5432/6379.
apt_install() {
	local pkgs=("$@")
	if ! is_root; then
		log "missing: ${pkgs[*]}"
		log "install them first, e.g.:  sudo apt-get update && sudo apt-get install -y ${pkgs[*]}"
		log "(or point FLASHLIVE_POSTGRES_URL / FLASHLIVE_REDIS_URL at existing servers)"
		exit 1
	fi
	command -v apt-get >/dev/null 2>&1 || die "missing ${pkgs[*]} and no apt-get on this machine; install them by hand"
	log "installing ${pkgs[*]} with apt-get (one-time) ..."
	local policy=/usr/sbin/policy-rc.d created_policy=0
	if [[ ! -e "$policy" ]]; then
		# Debian's standard hook: exit 101 = "do not start services from postinst".
		printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod 755 "$policy" && created_policy=1
	fi
	local rc=0
	{
		DEBIAN_FRONTEND=noninteractive apt-get update &&
			DEBIAN_FRONTEND=noninteractive apt-get install -y "${pkgs[@]}"
	} >&2 || rc=$?
	if [[ $created_policy == 1 ]]; then rm -f "$policy"; fi
	[[ $rc -eq 0 ]] || die "apt-get install ${pkgs[*]} failed (exit $rc)"
}

# ---------------------------------------------------------------- PostgreSQL

PG_BIN=""
PG_RUN_USER=""   # empty: run as the current user
PG_BASE=""       # holds data/, run/ (socket) and postgres.log; owned by PG_RUN_USER
PGDATA_DIR=""
PG_SOCK_DIR=""
PG_LOG=""

# run a PostgreSQL server-side binary as the user that owns the cluster
pg_as() {
	if [[ -n "$PG_RUN_USER" ]]; then
		runuser -u "$PG_RUN_USER" -- "$@"
	else
		"$@"
	fi
}

# Decide who runs postgres and where its files live. Sets PG_* globals.
pg_layout() {
	PG_RUN_USER=""
	if is_root; then
		if id postgres >/dev/null 2>&1; then
			PG_RUN_USER=postgres
		else
			PG_RUN_USER=flashlive
		fi
	fi
	PG_BASE="$DATA_DIR/postgres"
	# The cluster's user must be able to reach the data dir (e.g. a repo under
	# /root is not reachable for 'postgres'); otherwise use a place under /var/tmp.
	if [[ -n "$PG_RUN_USER" ]] && id "$PG_RUN_USER" >/dev/null 2>&1 &&
		! runuser -u "$PG_RUN_USER" -- test -x "$DATA_DIR" 2>/dev/null; then
		PG_BASE="/var/tmp/flashlive-pg-$(printf '%s' "$DATA_DIR" | cksum | cut -d' ' -f1)"
	fi
	PGDATA_DIR="$PG_BASE/data"
	PG_SOCK_DIR="$PG_BASE/run"
	PG_LOG="$PG_BASE/postgres.log"
}

pg_ensure_user() {
	[[ -z "$PG_RUN_USER" ]] && return 0
	id "$PG_RUN_USER" >/dev/null 2>&1 && return 0
	log "creating system user '$PG_RUN_USER' to run PostgreSQL (initdb refuses to run as root)"
	useradd --system --no-create-home --shell /usr/sbin/nologin "$PG_RUN_USER" >&2 ||
		die "useradd $PG_RUN_USER failed"
	# re-check reachability now that the user exists
	pg_layout
}

pg_running() {
	[[ -n "$PG_BIN" && -f "$PGDATA_DIR/postmaster.pid" ]] || return 1
	pg_as "$PG_BIN/pg_ctl" status -D "$PGDATA_DIR" >/dev/null 2>&1
}

pg_ready() {
	local isready="$PG_BIN/pg_isready"
	[[ -x "$isready" ]] || isready="$(command -v pg_isready || true)"
	if [[ -n "$isready" ]]; then
		"$isready" -q -h 127.0.0.1 -p "$PG_PORT" -U "$PG_SUPERUSER" -d postgres >/dev/null 2>&1
	else
		(exec 3<>"/dev/tcp/127.0.0.1/$PG_PORT") 2>/dev/null
	fi
}

psql_bin() {
	if [[ -x "$PG_BIN/psql" ]]; then echo "$PG_BIN/psql"; else command -v psql || true; fi
}

pg_write_conf() {
	local sock="$PG_SOCK_DIR"
	# unix socket paths are limited to ~107 bytes; fall back to TCP only
	if (( ${#sock} + 20 > 100 )); then
		log "socket dir path too long, PostgreSQL will listen on TCP only"
		sock=""
	fi
	pg_as tee "$PGDATA_DIR/flashlive.conf" >/dev/null <<CONF
# Written by scripts/services.sh on every start; edits are overwritten.
listen_addresses = '127.0.0.1'
port = $PG_PORT
unix_socket_directories = '$sock'
max_connections = 300
shared_buffers = 128MB
dynamic_shared_memory_type = mmap
max_parallel_workers_per_gather = 0
log_min_messages = warning
log_line_prefix = '%m [%p] %d '
CONF
	if ! grep -q "flashlive.conf" "$PGDATA_DIR/postgresql.conf"; then
		printf "\ninclude_if_exists = 'flashlive.conf'\n" | pg_as tee -a "$PGDATA_DIR/postgresql.conf" >/dev/null
	fi
}

pg_up() {
	pg_layout
	PG_BIN="$(find_pg_bindir "$PGDATA_DIR" initdb pg_ctl postgres || true)"
	if [[ -z "$PG_BIN" ]]; then
		apt_install postgresql
		PG_BIN="$(find_pg_bindir "$PGDATA_DIR" initdb pg_ctl postgres || true)"
		[[ -n "$PG_BIN" ]] || die "PostgreSQL was installed but initdb/pg_ctl/postgres are nowhere to be found"
		pg_layout
	fi
	if is_root; then
		command -v runuser >/dev/null 2>&1 || die "runuser (util-linux) is needed to run PostgreSQL as a non-root user"
		pg_ensure_user
	fi

	if pg_running; then
		log "PostgreSQL already running (reused): $PGDATA_DIR"
	else
		mkdir -p "$PG_BASE"
		if [[ -n "$PG_RUN_USER" ]]; then chown "$PG_RUN_USER:" "$PG_BASE"; fi
		chmod 700 "$PG_BASE"
		if [[ ! -f "$PGDATA_DIR/PG_VERSION" ]]; then
			# leftover of an interrupted initdb: start over
			rm -rf "$PGDATA_DIR"
			log "initdb $PGDATA_DIR ($("$PG_BIN/postgres" --version))"
			pg_as "$PG_BIN/initdb" -D "$PGDATA_DIR" -U "$PG_SUPERUSER" --auth=trust \
				-E UTF8 --no-locale >"$PG_BASE/initdb.log" 2>&1 || {
				tail -n 30 "$PG_BASE/initdb.log" >&2
				die "initdb failed (full log: $PG_BASE/initdb.log)"
			}
		fi
		pg_as mkdir -p "$PG_SOCK_DIR"
		pg_write_conf
		local opts=""
		if [[ "${FLASHLIVE_PG_FAST:-0}" == 1 ]]; then
			opts="-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
		fi
		if pg_ready; then
			die "something else already answers on 127.0.0.1:$PG_PORT; set FLASHLIVE_PG_PORT to a free port"
		fi
		log "starting PostgreSQL on 127.0.0.1:$PG_PORT${opts:+ (fast: fsync=off)}"
		pg_as "$PG_BIN/pg_ctl" start -W -D "$PGDATA_DIR" -l "$PG_LOG" ${opts:+-o "$opts"} >&2 9>&- || {
			tail -n 30 "$PG_LOG" >&2 2>/dev/null || true
			die "pg_ctl start failed (log: $PG_LOG)"
		}
	fi

	local started=$SECONDS deadline=$((SECONDS + READY_TIMEOUT))
	until pg_ready; do
		if ((SECONDS - started >= 3)) && ! pg_running; then
			log "PostgreSQL exited during start-up; last lines of $PG_LOG:"
			tail -n 30 "$PG_LOG" >&2 2>/dev/null || true
			die "PostgreSQL did not start"
		fi
		if ((SECONDS >= deadline)); then
			log "PostgreSQL not ready after ${READY_TIMEOUT}s; last lines of $PG_LOG:"
			tail -n 30 "$PG_LOG" >&2 2>/dev/null || true
			die "PostgreSQL did not become ready"
		fi
		sleep 0.3
	done

	local psql
	psql="$(psql_bin)"
	[[ -n "$psql" ]] || die "psql not found (apt-get install postgresql-client)"
	local url_admin="postgres://$PG_SUPERUSER@127.0.0.1:$PG_PORT/postgres?sslmode=disable"
	if [[ "$("$psql" "$url_admin" -XtAc "select 1 from pg_database where datname = '$PG_DB'")" != 1 ]]; then
		log "creating database $PG_DB"
		"$psql" "$url_admin" -Xq -v ON_ERROR_STOP=1 -c "create database $PG_DB" >&2 ||
			die "could not create database $PG_DB"
	fi
	PG_URL="postgres://$PG_SUPERUSER@127.0.0.1:$PG_PORT/$PG_DB?sslmode=disable"
}

pg_down() {
	pg_layout
	[[ -f "$PGDATA_DIR/PG_VERSION" ]] || return 0
	PG_BIN="$(find_pg_bindir "$PGDATA_DIR" initdb pg_ctl postgres || true)"
	[[ -n "$PG_BIN" ]] || return 0
	if is_root && [[ -n "$PG_RUN_USER" ]] && ! id "$PG_RUN_USER" >/dev/null 2>&1; then return 0; fi
	if pg_running; then
		log "stopping PostgreSQL ($PGDATA_DIR)"
		pg_as "$PG_BIN/pg_ctl" stop -D "$PGDATA_DIR" -m fast -w -t 60 >&2 ||
			die "pg_ctl stop failed (log: $PG_LOG)"
	fi
}

pg_status() {
	pg_layout
	if [[ ! -f "$PGDATA_DIR/PG_VERSION" ]]; then
		log "PostgreSQL: not initialised ($PGDATA_DIR)"
		return 1
	fi
	PG_BIN="$(find_pg_bindir "$PGDATA_DIR" initdb pg_ctl postgres || true)"
	if [[ -n "$PG_BIN" ]] && pg_running; then
		log "PostgreSQL: running on 127.0.0.1:$PG_PORT, pid $(head -n1 "$PGDATA_DIR/postmaster.pid"), data $PGDATA_DIR, log $PG_LOG"
		return 0
	fi
	log "PostgreSQL: stopped (data $PGDATA_DIR)"
	return 1
}

# ---------------------------------------------------------------- Redis

redis_ping() {
	if command -v redis-cli >/dev/null 2>&1; then
		[[ "$(timeout 3 redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping 2>/dev/null)" == PONG ]]
	else
		local reply
		reply="$(
			exec 2>/dev/null
			exec 3<>"/dev/tcp/127.0.0.1/$REDIS_PORT" || exit 1
			printf 'PING\r\n' >&3
			IFS= read -r -t 2 line <&3 && printf '%s' "$line"
		)" || return 1
		[[ "$reply" == +PONG* ]]
	fi
}

# PID from our pidfile, only if that process is alive and is a redis-server
redis_pid() {
	[[ -f "$REDIS_PIDFILE" ]] || return 1
	local pid
	pid="$(tr -dc '0-9' <"$REDIS_PIDFILE")"
	[[ -n "$pid" ]] && alive "$pid" || return 1
	grep -qa redis "/proc/$pid/cmdline" 2>/dev/null || grep -qa redis "/proc/$pid/comm" 2>/dev/null || return 1
	echo "$pid"
}

redis_up() {
	if redis_ping; then
		log "Redis already answering on 127.0.0.1:$REDIS_PORT (reused)"
	else
		if ! command -v redis-server >/dev/null 2>&1; then
			apt_install redis-server
			command -v redis-server >/dev/null 2>&1 || die "redis-server still not found after apt-get install"
		fi
		mkdir -p "$REDIS_DIR"
		local persist=(--appendonly yes --appendfsync everysec --save "")
		if [[ "${FLASHLIVE_REDIS_EPHEMERAL:-0}" == 1 ]]; then
			persist=(--appendonly no --save "")
		fi
		log "starting Redis on 127.0.0.1:$REDIS_PORT ($([[ "${FLASHLIVE_REDIS_EPHEMERAL:-0}" == 1 ]] && echo ephemeral || echo "appendonly, data $REDIS_DIR"))"
		rm -f "$REDIS_PIDFILE"
		redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --protected-mode yes \
			--daemonize yes --pidfile "$REDIS_PIDFILE" --logfile "$REDIS_LOG" \
			--dir "$REDIS_DIR" "${persist[@]}" >&2 9>&- ||
			{
				tail -n 20 "$REDIS_LOG" >&2 2>/dev/null || true
				die "redis-server failed to start (log: $REDIS_LOG)"
			}
		local started=$SECONDS deadline=$((SECONDS + READY_TIMEOUT))
		until redis_ping; do
			if ((SECONDS - started >= 2)) && ! redis_pid >/dev/null; then
				log "Redis exited during start-up; last lines of $REDIS_LOG:"
				tail -n 20 "$REDIS_LOG" >&2 2>/dev/null || true
				die "Redis did not start"
			fi
			if ((SECONDS >= deadline)); then
				log "Redis not ready after ${READY_TIMEOUT}s; last lines of $REDIS_LOG:"
				tail -n 30 "$REDIS_LOG" >&2 2>/dev/null || true
				die "Redis did not become ready"
			fi
			sleep 0.2
		done
	fi
	REDIS_URL="redis://127.0.0.1:$REDIS_PORT/0"
}

redis_down() {
	local pid
	if pid="$(redis_pid)"; then
		log "stopping Redis (pid $pid)"
		kill -TERM "$pid" 2>/dev/null || true
		local deadline=$((SECONDS + 20))
		while alive "$pid"; do
			if ((SECONDS >= deadline)); then
				log "Redis pid $pid did not exit after 20s, sending SIGKILL"
				kill -KILL "$pid" 2>/dev/null || true
				break
			fi
			sleep 0.1
		done
		rm -f "$REDIS_PIDFILE"
	elif [[ -f "$REDIS_PIDFILE" ]]; then
		rm -f "$REDIS_PIDFILE" # stale
	fi
}

redis_status() {
	local pid
	if pid="$(redis_pid)"; then
		log "Redis: running on 127.0.0.1:$REDIS_PORT, pid $pid, dir $REDIS_DIR, log $REDIS_LOG"
		return 0
	fi
	if redis_ping; then
		log "Redis: something answers on 127.0.0.1:$REDIS_PORT but it was not started by this script"
		return 1
	fi
	log "Redis: stopped"
	return 1
}

# ---------------------------------------------------------------- commands

# export line, single-quoted so that any POSIX shell can eval it
print_export() {
	local q="'\\''"
	printf "export %s='%s'\n" "$1" "${2//\'/$q}"
}

cmd_up() {
	take_lock
	PG_URL="${FLASHLIVE_POSTGRES_URL:-}"
	REDIS_URL="${FLASHLIVE_REDIS_URL:-}"
	local need_pg=0 need_redis=0
	if [[ -n "$PG_URL" ]]; then log "PostgreSQL: using FLASHLIVE_POSTGRES_URL from the environment"; else need_pg=1; fi
	if [[ -n "$REDIS_URL" ]]; then log "Redis: using FLASHLIVE_REDIS_URL from the environment"; else need_redis=1; fi

	if ((need_pg || need_redis)) && docker_compose_usable; then
		local svcs=()
		((need_pg)) && svcs+=(postgres)
		((need_redis)) && svcs+=(redis)
		log "Docker engine found: docker compose up -d --wait ${svcs[*]}"
		compose up -d --wait "${svcs[@]}" >&2 9>&- || die "docker compose up failed"
		touch "$COMPOSE_MARKER"
		((need_pg)) && PG_URL="postgres://flashlive:flashlive@127.0.0.1:$PG_PORT/$PG_DB?sslmode=disable"
		((need_redis)) && REDIS_URL="redis://127.0.0.1:$REDIS_PORT/0"
		log "stop with: make down   (docker compose down)"
	else
		((need_pg)) && pg_up
		((need_redis)) && redis_up
		if ((need_pg || need_redis)); then
			log "data dir: $DATA_DIR"
			((need_pg)) && log "PostgreSQL: 127.0.0.1:$PG_PORT  data $PGDATA_DIR  log $PG_LOG"
			((need_redis)) && log "Redis:      127.0.0.1:$REDIS_PORT  dir $REDIS_DIR  log $REDIS_LOG"
			log "stop with: make down   (scripts/services.sh down)"
		fi
	fi
	print_export FLASHLIVE_POSTGRES_URL "$PG_URL"
	print_export FLASHLIVE_REDIS_URL "$REDIS_URL"
	if [[ "${FLASHLIVE_REDIS_CLUSTER:-0}" == 1 ]]; then
		if [[ -n "${FLASHLIVE_REDIS_CLUSTER_URL:-}" ]]; then
			log "Redis Cluster: using FLASHLIVE_REDIS_CLUSTER_URL from the environment"
			print_export FLASHLIVE_REDIS_CLUSTER_URL "$FLASHLIVE_REDIS_CLUSTER_URL"
		else
			FLASHLIVE_DATA_DIR="$DATA_DIR" "$SCRIPT_DIR/redis-cluster.sh" up 9>&- || die "the Redis Cluster did not start"
		fi
	fi
}

cmd_down() {
	[[ -d "$DATA_DIR" ]] || return 0
	take_lock
	if [[ -f "$COMPOSE_MARKER" ]]; then
		if command -v docker >/dev/null 2>&1 && docker info >/dev/null 2>&1; then
			log "docker compose down"
			compose down >&2 || die "docker compose down failed"
		fi
		rm -f "$COMPOSE_MARKER"
	fi
	pg_down
	redis_down
	FLASHLIVE_DATA_DIR="$DATA_DIR" "$SCRIPT_DIR/redis-cluster.sh" down 9>&-
}

cmd_status() {
	[[ -d "$DATA_DIR" ]] || { log "nothing set up yet ($DATA_DIR does not exist)"; return 3; }
	local any=0
	if [[ -f "$COMPOSE_MARKER" ]] && docker_compose_usable; then
		log "docker compose services:"
		compose ps >&2 || true
		any=1
	fi
	pg_status && any=1
	redis_status && any=1
	FLASHLIVE_DATA_DIR="$DATA_DIR" "$SCRIPT_DIR/redis-cluster.sh" status 9>&- && any=1
	((any)) && return 0
	return 3
}

case "${1:-}" in
up) cmd_up ;;
down) cmd_down ;;
status) cmd_status ;;
-h | --help | help) usage ;;
*) usage; exit 2 ;;
esac
