#!/usr/bin/env bash
# The multi-machine deployment on one machine, as real processes on
# loopback: a Redis Cluster (scripts/redis-cluster.sh: 3 masters + 3
# replicas), a NATS cluster (scripts/nats-cluster.sh: 3 nodes, with a
# user and password, streams with FLASHLIVE_NATS_REPLICAS=3), PostgreSQL
# (FLASHLIVE_POSTGRES_URL, or scripts/services.sh's primary), its streaming
# replica (scripts/pg-replica.sh, FLASHLIVE_POSTGRES_READ_URL), three
# flashlive instances in prod mode and HAProxy in front of them
# (deploy/haproxy/haproxy.cfg).
# `make topology` runs `up`; the scale-out test (test/scaleout) drives it.
#
#   eval "$(scripts/topology.sh up [DIR])"   # prints export lines, FLASHLIVE_LB_URL first
#   scripts/topology.sh status [DIR]          # exit 0 when the balancer and every instance are ready
#   scripts/topology.sh down [DIR]            # stop everything up started in DIR (not PostgreSQL)
#   scripts/topology.sh start app2 [DIR]      # (re)start one instance (app1, app2, app3)
#   scripts/topology.sh lb disable app2 [DIR] # take an instance out of the balancer (enable: back in)
#
# DIR (default ${FLASHLIVE_TOPOLOGY_DIR:-$FLASHLIVE_DATA_DIR/topology}) holds
# everything: bin/flashlive (built once per up), secrets.env (the JWT secret
# and the NATS password, made on the first up and kept), appN/ (flashlive.pid,
# flashlive.log, the instance's data dir), redis/, nats/, haproxy.pid,
# haproxy.log and haproxy.sock (the balancer's runtime API).
#
# Ports, from FLASHLIVE_TOPOLOGY_PORT (default 18400) = P, all on 127.0.0.1:
#   P        the load balancer          P+1..P+3  app1..app3
#   P+10..15 Redis Cluster (bus +100)    P+20..22  NATS (routes +100, monitoring +200)
#   P+30     the PostgreSQL replica
#
# The instances run with FLASHLIVE_ENV=${FLASHLIVE_TOPOLOGY_ENV:-prod}, trust
# the balancer's forwarded headers (FLASHLIVE_TRUSTED_PROXIES=127.0.0.1/32),
# and inherit every other FLASHLIVE_* variable of the caller (limits, log
# level, timeouts). stdout carries only the export lines.
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$SCRIPT_DIR/.." && pwd)"
DATA_DIR="${FLASHLIVE_DATA_DIR:-$REPO/.data}"
CMD="${1:-}"
case "$CMD" in
start) NAME="${2:-}"; DIR_ARG="${3:-}" ;;
lb) LB_OP="${2:-}"; NAME="${3:-}"; DIR_ARG="${4:-}" ;;
*) DIR_ARG="${2:-}" ;;
esac
DIR="${DIR_ARG:-${FLASHLIVE_TOPOLOGY_DIR:-$DATA_DIR/topology}}"
PORT="${FLASHLIVE_TOPOLOGY_PORT:-18400}"
APP_ENV="${FLASHLIVE_TOPOLOGY_ENV:-prod}"
READY_TIMEOUT=90
APPS=(app1 app2 app3)

log() { printf '[topology] %s\n' "$*" >&2; }
die() { printf '[topology] ERROR: %s\n' "$*" >&2; exit 1; }

usage() {
	echo "usage: $0 up|down|status [DIR] | start app1|app2|app3 [DIR] | lb enable|disable app1|app2|app3 [DIR]" >&2
}

# shellcheck source=scripts/lib-proc.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib-proc.sh" # alive

# PID in pid file $1 when that process is alive
pid_of() {
	local pid
	[[ -f "$1" ]] || return 1
	pid="$(tr -dc '0-9' <"$1")"
	[[ -n "$pid" ]] && alive "$pid" || return 1
	echo "$pid"
}

# stop the process of pid file $1 (TERM, then KILL after 20s)
stop_pid() {
	local f="$1" what="$2" pid
	if pid="$(pid_of "$f")"; then
		log "stopping $what (pid $pid)"
		kill -TERM "$pid" 2>/dev/null || true
		local deadline=$((SECONDS + 20))
		while alive "$pid"; do
			if ((SECONDS >= deadline)); then
				log "$what (pid $pid) still up after 20s: SIGKILL"
				kill -KILL "$pid" 2>/dev/null || true
				break
			fi
			sleep 0.1
		done
	fi
	rm -f "$f"
}

app_port() { echo $((PORT + ${1#app})); }

ready() { curl -fsS -o /dev/null --max-time 3 "http://127.0.0.1:$1/readyz" 2>/dev/null; }

# the secrets of DIR: made once, kept between runs
secrets() {
	local f="$DIR/secrets.env"
	if [[ ! -s "$f" ]]; then
		umask 077
		{
			printf "FLASHLIVE_JWT_SECRET='%s'\n" "$(head -c 48 /dev/urandom | base64 | tr -d '\n')"
			printf "FLASHLIVE_NATS_USER='flashlive'\n"
			printf "FLASHLIVE_NATS_PASSWORD='%s'\n" "$(head -c 24 /dev/urandom | base64 | tr -d '/+=\n')"
		} >"$f"
	fi
	# shellcheck disable=SC1090
	source "$f"
	export FLASHLIVE_JWT_SECRET FLASHLIVE_NATS_USER FLASHLIVE_NATS_PASSWORD
}

# the URLs the instances use, from DIR/urls.env (written by up)
load_urls() {
	[[ -f "$DIR/urls.env" ]] || die "$DIR/urls.env missing: run $0 up $DIR first"
	# shellcheck disable=SC1091
	source "$DIR/urls.env"
}

start_app() {
	local name="$1" port d
	port="$(app_port "$name")"
	d="$DIR/$name"
	mkdir -p "$d/data"
	stop_pid "$d/flashlive.pid" "$name"
	log "starting $name on 127.0.0.1:$port (FLASHLIVE_ENV=$APP_ENV, log $d/flashlive.log)"
	local read=()
	[[ -z "$POSTGRES_READ_URL" ]] || read=("FLASHLIVE_POSTGRES_READ_URL=$POSTGRES_READ_URL")
	env FLASHLIVE_ENV="$APP_ENV" FLASHLIVE_HTTP_ADDR="127.0.0.1:$port" \
		FLASHLIVE_POSTGRES_URL="$POSTGRES_URL" "${read[@]}" \
		FLASHLIVE_REDIS_URL="$REDIS_URL" FLASHLIVE_NATS_URL="$NATS_URL" FLASHLIVE_NATS_REPLICAS=3 \
		FLASHLIVE_TRUSTED_PROXIES=127.0.0.1/32 FLASHLIVE_DATA_DIR="$d/data" FLASHLIVE_SEED=false \
		FLASHLIVE_LOG_LEVEL="${FLASHLIVE_LOG_LEVEL:-warn}" \
		FLASHLIVE_ALLOWED_ORIGINS="${FLASHLIVE_ALLOWED_ORIGINS:-http://127.0.0.1:$PORT,http://localhost:$PORT}" \
		setsid "$DIR/bin/flashlive" </dev/null >"$d/flashlive.log" 2>&1 9>&- &
	echo $! >"$d/flashlive.pid"
}

wait_app() {
	local name="$1" port d deadline=$((SECONDS + READY_TIMEOUT))
	port="$(app_port "$name")"
	d="$DIR/$name"
	until ready "$port"; do
		pid_of "$d/flashlive.pid" >/dev/null || { tail -n 30 "$d/flashlive.log" >&2 || true; die "$name exited at start (log: $d/flashlive.log)"; }
		((SECONDS < deadline)) || { tail -n 30 "$d/flashlive.log" >&2 || true; die "$name not ready after ${READY_TIMEOUT}s"; }
		sleep 0.2
	done
}

# the PostgreSQL streaming replica (FLASHLIVE_POSTGRES_READ_URL): the one
# given, else scripts/pg-replica.sh's of the primary; FLASHLIVE_TOPOLOGY_REPLICA=0:
# none, the instances read from the primary.
replica_up() {
	POSTGRES_READ_URL="${FLASHLIVE_POSTGRES_READ_URL:-}"
	if [[ -n "$POSTGRES_READ_URL" ]]; then
		log "PostgreSQL replica: FLASHLIVE_POSTGRES_READ_URL as given"
	elif [[ "${FLASHLIVE_TOPOLOGY_REPLICA:-1}" != 0 ]]; then
		local out
		out="$("$SCRIPT_DIR/pg-replica.sh" up "$DIR/pg-replica" $((PORT + 30)) "$POSTGRES_URL" 9>&-)" || die "scripts/pg-replica.sh up failed"
		POSTGRES_READ_URL="$(sed -n "s/^export FLASHLIVE_POSTGRES_READ_URL='\{0,1\}\([^']*\)'\{0,1\}$/\1/p" <<<"$out")"
		[[ -n "$POSTGRES_READ_URL" ]] || die "scripts/pg-replica.sh printed no FLASHLIVE_POSTGRES_READ_URL"
	else
		log "PostgreSQL replica: none (FLASHLIVE_TOPOLOGY_REPLICA=0); the instances read from the primary"
	fi
}

replica_down() {
	if [[ -d "$DIR/pg-replica" ]]; then
		"$SCRIPT_DIR/pg-replica.sh" down "$DIR/pg-replica" || true
	fi
}

start_lb() {
	stop_pid "$DIR/haproxy.pid" haproxy
	"$SCRIPT_DIR/ensure-haproxy.sh"
	log "starting haproxy on 127.0.0.1:$PORT (log $DIR/haproxy.log)"
	FLASHLIVE_LB_BIND="127.0.0.1:$PORT" FLASHLIVE_LB_ADMIN_SOCKET="$DIR/haproxy.sock" \
		FLASHLIVE_LB_APP1="127.0.0.1:$(app_port app1)" FLASHLIVE_LB_APP2="127.0.0.1:$(app_port app2)" \
		FLASHLIVE_LB_APP3="127.0.0.1:$(app_port app3)" \
		setsid /usr/sbin/haproxy -db -f "$REPO/deploy/haproxy/haproxy.cfg" </dev/null >"$DIR/haproxy.log" 2>&1 9>&- &
	echo $! >"$DIR/haproxy.pid"
	local deadline=$((SECONDS + READY_TIMEOUT))
	until ready "$PORT"; do
		pid_of "$DIR/haproxy.pid" >/dev/null || { cat "$DIR/haproxy.log" >&2; die "haproxy exited at start"; }
		((SECONDS < deadline)) || die "the balancer does not answer /readyz after ${READY_TIMEOUT}s"
		sleep 0.2
	done
}

cmd_up() {
	command -v curl >/dev/null 2>&1 || die "curl is needed to wait for /readyz"
	((PORT >= 1024 && PORT + 222 <= 65535)) || die "FLASHLIVE_TOPOLOGY_PORT $PORT out of range"
	mkdir -p "$DIR/bin"
	exec 9>"$DIR/.lock"
	flock -w 120 9 || die "could not lock $DIR/.lock"
	secrets

	local out
	out="$("$SCRIPT_DIR/redis-cluster.sh" up "$DIR/redis" $((PORT + 10)))" || die "Redis Cluster failed to start"
	REDIS_URL="$(sed -n "s/^export FLASHLIVE_REDIS_CLUSTER_URL='\(.*\)'$/\1/p" <<<"$out")"
	out="$("$SCRIPT_DIR/nats-cluster.sh" up "$DIR/nats" $((PORT + 20)))" || die "NATS cluster failed to start"
	NATS_URL="$(sed -n "s/^export FLASHLIVE_NATS_CLUSTER_URL='\(.*\)'$/\1/p" <<<"$out")"
	[[ -n "$REDIS_URL" && -n "$NATS_URL" ]] || die "a cluster script printed no URL"

	POSTGRES_URL="${FLASHLIVE_POSTGRES_URL:-}"
	if [[ -z "$POSTGRES_URL" ]]; then
		# services.sh uses a Redis URL that is set as it is: it starts PostgreSQL only.
		out="$(FLASHLIVE_REDIS_URL="$REDIS_URL" "$SCRIPT_DIR/services.sh" up 9>&-)" || die "scripts/services.sh up failed"
		POSTGRES_URL="$(sed -n "s/^export FLASHLIVE_POSTGRES_URL='\{0,1\}\([^']*\)'\{0,1\}$/\1/p" <<<"$out")"
		[[ -n "$POSTGRES_URL" ]] || die "scripts/services.sh printed no FLASHLIVE_POSTGRES_URL"
	fi
	replica_up
	{
		printf "POSTGRES_URL='%s'\nPOSTGRES_READ_URL='%s'\nREDIS_URL='%s'\nNATS_URL='%s'\n" \
			"$POSTGRES_URL" "$POSTGRES_READ_URL" "$REDIS_URL" "$NATS_URL"
	} >"$DIR/urls.env"

	log "building flashlive"
	(cd "$REPO" && go build -o "$DIR/bin/flashlive" ./cmd/flashlive) || die "go build ./cmd/flashlive failed"
	# The first instance applies the migrations and creates the streams
	# alone; the other two then start side by side.
	start_app app1
	wait_app app1
	start_app app2
	start_app app3
	wait_app app2
	wait_app app3
	start_lb
	log "up: the balancer at http://127.0.0.1:$PORT (stop with: $0 down $DIR)"
	printf "export FLASHLIVE_LB_URL='http://127.0.0.1:%s'\n" "$PORT"
	printf "export FLASHLIVE_TOPOLOGY_DIR='%s'\n" "$DIR"
	printf "export FLASHLIVE_TOPOLOGY_REDIS_URL='%s'\n" "$REDIS_URL"
	printf "export FLASHLIVE_TOPOLOGY_NATS_URL='%s'\n" "$NATS_URL"
	printf "export FLASHLIVE_TOPOLOGY_READ_URL='%s'\n" "$POSTGRES_READ_URL"
}

cmd_down() {
	[[ -d "$DIR" ]] || return 0
	stop_pid "$DIR/haproxy.pid" haproxy
	local a
	for a in "${APPS[@]}"; do stop_pid "$DIR/$a/flashlive.pid" "$a"; done
	replica_down
	"$SCRIPT_DIR/nats-cluster.sh" down "$DIR/nats" || true
	"$SCRIPT_DIR/redis-cluster.sh" down "$DIR/redis" || true
	log "down (PostgreSQL stays up: scripts/services.sh down stops it)"
}

cmd_status() {
	local a rc=0
	for a in "${APPS[@]}"; do
		if ready "$(app_port "$a")"; then log "$a ready on 127.0.0.1:$(app_port "$a")"; else log "$a: not ready"; rc=3; fi
	done
	if ready "$PORT"; then log "balancer ready on http://127.0.0.1:$PORT"; else log "balancer: not ready"; rc=3; fi
	return "$rc"
}

cmd_start() {
	[[ " ${APPS[*]} " == *" $NAME "* ]] || { usage; exit 2; }
	[[ -x "$DIR/bin/flashlive" ]] || die "$DIR/bin/flashlive missing: run $0 up $DIR first"
	secrets
	load_urls
	start_app "$NAME"
	wait_app "$NAME"
	log "$NAME ready"
}

# a command to HAProxy's runtime API (a unix socket), through python3 or socat
lb_api() {
	local sock="$DIR/haproxy.sock"
	[[ -S "$sock" ]] || die "no balancer socket at $sock"
	if command -v socat >/dev/null 2>&1; then
		echo "$1" | socat - "UNIX-CONNECT:$sock"
	elif command -v python3 >/dev/null 2>&1; then
		python3 -c 'import socket,sys
s=socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); s.sendall((sys.argv[2]+"\n").encode())
while True:
    b=s.recv(4096)
    if not b: break
    sys.stdout.write(b.decode())' "$sock" "$1"
	else
		die "socat or python3 is needed to talk to HAProxy's runtime API"
	fi
}

cmd_lb() {
	[[ " ${APPS[*]} " == *" $NAME "* ]] || { usage; exit 2; }
	case "$LB_OP" in
	enable | disable) lb_api "$LB_OP server flashlive/$NAME" >&2 ;;
	*) usage; exit 2 ;;
	esac
	log "$NAME: ${LB_OP}d in the balancer"
}

case "$CMD" in
up) cmd_up ;;
down) cmd_down ;;
status) cmd_status ;;
start) cmd_start ;;
lb) cmd_lb ;;
-h | --help | help) usage ;;
*) usage; exit 2 ;;
esac
