#!/usr/bin/env bash
# Start/stop a Redis Cluster of 6 local redis-server processes (Debian's
# package): 3 masters with a replica each, on loopback, no persistence (a
# test cluster). Called by scripts/services.sh when FLASHLIVE_REDIS_CLUSTER=1
# (scripts/test.sh sets it) and by the tests that need a cluster of their own
# (internal/testenv.StartRedisCluster), which kill its nodes.
#
#   eval "$(scripts/redis-cluster.sh up [DIR] [PORT])"  # prints `export FLASHLIVE_REDIS_CLUSTER_URL=...`
#   scripts/redis-cluster.sh status [DIR]                 # exit 0 if the cluster of DIR answers ok
#   scripts/redis-cluster.sh down [DIR]                   # stop the nodes of DIR by their PIDs
#   scripts/redis-cluster.sh start-node DIR PORT NODE_PORT # start a stopped node of DIR again
#
# DIR (default ${FLASHLIVE_REDIS_CLUSTER_DIR:-$FLASHLIVE_DATA_DIR/redis-cluster})
# holds one directory per node, named by its port, with redis.pid, redis.log
# and nodes.conf. The nodes listen on PORT..PORT+5 (default
# ${FLASHLIVE_REDIS_CLUSTER_PORT:-17400}, below Linux's ephemeral range 32768-60999,
# so a client socket never holds a node's port); their cluster bus on each port + 100
# (Redis's default, port + 10000, would pass 65535 for high ports).
# FLASHLIVE_REDIS_CLUSTER_NODE_TIMEOUT (ms, default 2000) is how long a master
# may be silent before its replica takes over: short, for tests.
#
# `up` reuses a cluster of DIR that answers cluster_state:ok on every node;
# else it stops what is left of it and creates it anew with
# `redis-cli --cluster create --cluster-replicas 1 --cluster-yes`. It returns
# once every node says cluster_state:ok and every replica's link to its master
# is up. stdout carries only the export line; messages go to stderr.
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$SCRIPT_DIR/.." && pwd)"
DATA_DIR="${FLASHLIVE_DATA_DIR:-$REPO/.data}"
CMD="${1:-}"
DIR="${2:-${FLASHLIVE_REDIS_CLUSTER_DIR:-$DATA_DIR/redis-cluster}}"
PORT="${3:-${FLASHLIVE_REDIS_CLUSTER_PORT:-17400}}"
NODE_TIMEOUT="${FLASHLIVE_REDIS_CLUSTER_NODE_TIMEOUT:-2000}"
BUS_OFFSET=100
READY_TIMEOUT=60

log() { printf '[redis-cluster] %s\n' "$*" >&2; }
die() { printf '[redis-cluster] ERROR: %s\n' "$*" >&2; exit 1; }

usage() {
	echo "usage: $0 up|down|status [DIR] [FIRST_PORT] | start-node DIR FIRST_PORT NODE_PORT" >&2
}

ports() { seq "$PORT" $((PORT + 5)); }

# shellcheck source=scripts/lib-proc.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib-proc.sh" # alive

# PID of the redis-server of node dir $1, if alive
node_pid() {
	local f="$1/redis.pid" pid
	[[ -f "$f" ]] || return 1
	pid="$(tr -dc '0-9' <"$f")"
	[[ -n "$pid" ]] && alive "$pid" || return 1
	grep -qa redis "/proc/$pid/cmdline" 2>/dev/null || return 1
	echo "$pid"
}

cli() { timeout 5 redis-cli -h 127.0.0.1 -p "$1" "${@:2}" 2>/dev/null; }

# every node of DIR (those its port range names) answers cluster_state:ok
cluster_ok() {
	local p
	for p in $(ports); do
		cli "$p" cluster info | tr -d '\r' | grep -qx 'cluster_state:ok' || return 1
	done
}

# every replica's link to its master is up, and there are three of them
replicas_synced() {
	local p n=0 info
	for p in $(ports); do
		info="$(cli "$p" info replication | tr -d '\r')" || return 1
		if grep -qx 'role:slave' <<<"$info"; then
			grep -qx 'master_link_status:up' <<<"$info" || return 1
			n=$((n + 1))
		fi
	done
	((n == 3))
}

ensure_redis() {
	command -v redis-server >/dev/null 2>&1 && command -v redis-cli >/dev/null 2>&1 && return 0
	[[ "$(id -u)" -eq 0 ]] || die "redis-server/redis-cli missing: sudo apt-get install -y redis-server"
	command -v apt-get >/dev/null 2>&1 || die "redis-server missing and no apt-get; install it by hand"
	log "installing redis-server with apt-get (one-time) ..."
	local policy=/usr/sbin/policy-rc.d created=0 rc=0
	if [[ ! -e "$policy" ]]; then
		# Debian's hook: exit 101 = do not start the system-wide service.
		printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod 755 "$policy" && created=1
	fi
	{ DEBIAN_FRONTEND=noninteractive apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y redis-server; } >&2 || rc=$?
	((created)) && rm -f "$policy"
	((rc == 0)) || die "apt-get install redis-server failed (exit $rc)"
}

# start the redis-server of node port $1 in its directory (its nodes.conf,
# if any, keeps its identity: a node restarted rejoins as it was told)
start_node() {
	local p="$1" d="$DIR/$1"
	redis-server --port "$p" --bind 127.0.0.1 --protected-mode yes \
		--cluster-enabled yes --cluster-port $((p + BUS_OFFSET)) \
		--cluster-config-file "$d/nodes.conf" --cluster-node-timeout "$NODE_TIMEOUT" \
		--cluster-replica-validity-factor 0 \
		--daemonize yes --pidfile "$d/redis.pid" --logfile "$d/redis.log" \
		--dir "$d" --appendonly no --save "" >&2 9>&- ||
		die "redis-server on port $p failed to start (log: $d/redis.log)"
}

# start-node DIR FIRST_PORT NODE_PORT: start again a node of DIR that was
# stopped or killed (a test's "machine back")
cmd_start_node() {
	local p="${4:-}"
	[[ -d "$DIR/$p" && -n "$p" ]] || die "start-node: no node $p in $DIR"
	node_pid "$DIR/$p" >/dev/null && die "start-node: node $p is running"
	start_node "$p"
}

cmd_down() {
	[[ -d "$DIR" ]] || return 0
	local d pid
	for d in "$DIR"/*/; do
		d="${d%/}"
		if pid="$(node_pid "$d")"; then
			log "stopping node ${d##*/} (pid $pid)"
			kill -TERM "$pid" 2>/dev/null || true
			local deadline=$((SECONDS + 20))
			while alive "$pid"; do
				if ((SECONDS >= deadline)); then
					log "node ${d##*/} (pid $pid) still up after 20s: SIGKILL"
					kill -KILL "$pid" 2>/dev/null || true
					break
				fi
				sleep 0.1
			done
		fi
		rm -f "$d/redis.pid"
	done
}

cmd_up() {
	ensure_redis
	((PORT >= 1024 && PORT + 5 + BUS_OFFSET <= 65535)) || die "first port $PORT out of range (1024..$((65535 - 5 - BUS_OFFSET)))"
	mkdir -p "$DIR"
	exec 9>"$DIR/.lock"
	flock -w 120 9 || die "could not lock $DIR/.lock"
	local url p addrs=()
	for p in $(ports); do addrs+=("127.0.0.1:$p"); done
	url="redis+cluster://$(IFS=,; echo "${addrs[*]}")"
	if cluster_ok && replicas_synced; then
		log "cluster of $DIR already ok on ports $PORT..$((PORT + 5)) (reused)"
		printf "export FLASHLIVE_REDIS_CLUSTER_URL='%s'\n" "$url"
		return 0
	fi
	cmd_down
	log "starting 6 redis-server nodes on 127.0.0.1:$PORT..$((PORT + 5)) (bus +$BUS_OFFSET), dir $DIR"
	for p in $(ports); do
		rm -rf "${DIR:?}/$p" && mkdir -p "$DIR/$p"
		start_node "$p"
	done
	local deadline=$((SECONDS + READY_TIMEOUT))
	for p in $(ports); do
		until [[ "$(cli "$p" ping)" == PONG ]]; do
			node_pid "$DIR/$p" >/dev/null || { tail -n 20 "$DIR/$p/redis.log" >&2 || true; die "node $p exited at start"; }
			((SECONDS < deadline)) || die "node $p does not answer after ${READY_TIMEOUT}s"
			sleep 0.1
		done
	done
	log "redis-cli --cluster create ${addrs[*]} --cluster-replicas 1"
	redis-cli --cluster create "${addrs[@]}" --cluster-replicas 1 --cluster-yes >&2 ||
		die "redis-cli --cluster create failed"
	until cluster_ok && replicas_synced; do
		if ((SECONDS >= deadline)); then
			for p in $(ports); do cli "$p" cluster info | head -n 1 >&2 || true; done
			die "cluster not ok (cluster_state:ok and every replica linked) after ${READY_TIMEOUT}s"
		fi
		sleep 0.2
	done
	log "cluster ok: $url (stop with: $0 down $DIR)"
	printf "export FLASHLIVE_REDIS_CLUSTER_URL='%s'\n" "$url"
}

cmd_status() {
	if cluster_ok; then
		log "cluster of $DIR ok on ports $PORT..$((PORT + 5))"
		return 0
	fi
	log "cluster of $DIR: not running (or not ok)"
	return 3
}

case "$CMD" in
up) cmd_up ;;
down) cmd_down ;;
status) cmd_status ;;
start-node) cmd_start_node "$@" ;;
-h | --help | help) usage ;;
*) usage; exit 2 ;;
esac
