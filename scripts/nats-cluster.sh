#!/usr/bin/env bash
# Start/stop a NATS cluster of 3 local nats-server processes with JetStream
# and routes between them, for tests. The binary is built from the
# nats-server Go module at the version go.mod pins for the embedded server
# (`go build github.com/nats-io/nats-server/v2` inside this module), so the
# cluster runs the same server as a single-node flashlive.
#
#   eval "$(scripts/nats-cluster.sh up [DIR] [PORT])"  # prints `export FLASHLIVE_NATS_CLUSTER_URL=...`
#   scripts/nats-cluster.sh down [DIR]                   # stop the nodes of DIR by their PIDs
#
# DIR (default ${FLASHLIVE_NATS_CLUSTER_DIR:-$FLASHLIVE_DATA_DIR/nats-cluster})
# holds bin/nats-server and one directory per node (n0, n1, n2) with its
# JetStream store, nats.pid and nats.log. Clients listen on PORT..PORT+2
# (default ${FLASHLIVE_NATS_CLUSTER_PORT:-56500}), routes on +100, monitoring
# on +200. FLASHLIVE_NATS_USER / FLASHLIVE_NATS_PASSWORD, when set, are
# required of clients. `up` returns once every node's /healthz says ok with
# JetStream enabled and the meta group has a leader; stdout carries only the
# export line.
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$SCRIPT_DIR/.." && pwd)"
DATA_DIR="${FLASHLIVE_DATA_DIR:-$REPO/.data}"
CMD="${1:-}"
DIR="${2:-${FLASHLIVE_NATS_CLUSTER_DIR:-$DATA_DIR/nats-cluster}}"
PORT="${3:-${FLASHLIVE_NATS_CLUSTER_PORT:-56500}}"
READY_TIMEOUT=60

log() { printf '[nats-cluster] %s\n' "$*" >&2; }
die() { printf '[nats-cluster] ERROR: %s\n' "$*" >&2; exit 1; }

# shellcheck source=scripts/lib-proc.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib-proc.sh" # alive

node_pid() {
	local f="$DIR/n$1/nats.pid" pid
	[[ -f "$f" ]] || return 1
	pid="$(tr -dc '0-9' <"$f")"
	[[ -n "$pid" ]] && alive "$pid" || return 1
	echo "$pid"
}

healthy() {
	local i
	for i in 0 1 2; do
		curl -fsS "http://127.0.0.1:$((PORT + 200 + i))/healthz?js-enabled-only=true" >/dev/null 2>&1 || return 1
	done
	curl -fsS "http://127.0.0.1:$((PORT + 200))/jsz" 2>/dev/null | grep -q '"leader"'
}

build() {
	local version bin="$DIR/bin/nats-server"
	version="$(cd "$REPO" && go list -m -f '{{.Version}}' github.com/nats-io/nats-server/v2)"
	if [[ -x "$bin" && "$(cat "$DIR/bin/version" 2>/dev/null)" == "$version" ]]; then
		return 0
	fi
	log "building nats-server $version from its Go module (the embedded server's version)"
	mkdir -p "$DIR/bin"
	(cd "$REPO" && go build -o "$bin" github.com/nats-io/nats-server/v2) || die "go build nats-server failed"
	echo "$version" >"$DIR/bin/version"
}

cmd_down() {
	[[ -d "$DIR" ]] || return 0
	local i pid
	for i in 0 1 2; do
		if pid="$(node_pid "$i")"; then
			log "stopping node n$i (pid $pid)"
			kill -TERM "$pid" 2>/dev/null || true
			local deadline=$((SECONDS + 20))
			while alive "$pid"; do
				if ((SECONDS >= deadline)); then
					kill -KILL "$pid" 2>/dev/null || true
					break
				fi
				sleep 0.1
			done
		fi
		rm -f "$DIR/n$i/nats.pid"
	done
}

cmd_up() {
	command -v curl >/dev/null 2>&1 || die "curl is needed to wait for the nodes' /healthz"
	((PORT >= 1024 && PORT + 202 <= 65535)) || die "first port $PORT out of range"
	mkdir -p "$DIR"
	exec 9>"$DIR/.lock"
	flock -w 120 9 || die "could not lock $DIR/.lock"
	build
	cmd_down
	local i routes="" auth=() urls=()
	for i in 0 1 2; do routes+="${routes:+,}nats://127.0.0.1:$((PORT + 100 + i))"; done
	if [[ -n "${FLASHLIVE_NATS_USER:-}" ]]; then
		auth=(--user "$FLASHLIVE_NATS_USER" --pass "${FLASHLIVE_NATS_PASSWORD:-}")
	fi
	log "starting 3 nats-server nodes on 127.0.0.1:$PORT..$((PORT + 2)) (routes +100, monitoring +200), dir $DIR"
	for i in 0 1 2; do
		local d="$DIR/n$i"
		mkdir -p "$d"
		"$DIR/bin/nats-server" -n "n$i" -a 127.0.0.1 -p $((PORT + i)) -m $((PORT + 200 + i)) \
			-js -sd "$d/js" --cluster_name flashlive --cluster "nats://127.0.0.1:$((PORT + 100 + i))" \
			--routes "$routes" -P "$d/nats.pid" -l "$d/nats.log" "${auth[@]}" 9>&- </dev/null >/dev/null 2>&1 &
		urls+=("nats://127.0.0.1:$((PORT + i))")
	done
	local deadline=$((SECONDS + READY_TIMEOUT))
	until healthy; do
		((SECONDS < deadline)) || { tail -n 20 "$DIR"/n*/nats.log >&2 || true; die "cluster not healthy after ${READY_TIMEOUT}s"; }
		sleep 0.2
	done
	local url
	url="$(IFS=,; echo "${urls[*]}")"
	log "cluster ok: $url (stop with: $0 down $DIR)"
	printf "export FLASHLIVE_NATS_CLUSTER_URL='%s'\n" "$url"
}

case "$CMD" in
up) cmd_up ;;
down) cmd_down ;;
*) echo "usage: $0 up|down [DIR] [FIRST_PORT]" >&2; exit 2 ;;
esac
