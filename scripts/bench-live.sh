#!/usr/bin/env bash
# The live feed's load test: build the server and the viewer tool, start the
# server (dev, a fresh Redis prefix) on 127.0.0.1:18080, run
# cmd/flashlive-viewers against it in a process of its own, stop the server.
#   scripts/bench-live.sh                                  # 10,000 viewers, 5 frames/s, 30 s
#   VIEWERS=1000 DURATION=10s scripts/bench-live.sh
#   RUNS=3 SERVERS="flashlive bare" scripts/bench-live.sh  # 3 rounds, each flashlive then the yardstick
#   TIMELINE=/tmp/live scripts/bench-live.sh               # each frame's delays to /tmp/live-<server>-<run>.csv
# SERVERS=bare measures cmd/flashlive-barehub, a bare gorilla broadcast
# server, with the same tool: the figure to beat.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO"

data="$(mktemp -d)"
dbs=()
drop_dbs() {
	for name in "${dbs[@]}"; do
		psql -q "$FLASHLIVE_POSTGRES_URL" -c "DROP DATABASE IF EXISTS $name" >/dev/null 2>&1 || true
	done
}
cleanup() { drop_dbs; rm -rf "$data"; }
if scripts/services.sh status >/dev/null 2>&1; then
	echo "bench-live.sh: services already running; they stay up afterwards" >&2
else
	cleanup() { drop_dbs; rm -rf "$data"; scripts/services.sh down || true; }
fi
trap cleanup EXIT
eval "$(FLASHLIVE_PG_FAST=1 FLASHLIVE_REDIS_EPHEMERAL=1 scripts/services.sh up)"

mkdir -p bin
go build -o bin/flashlive ./cmd/flashlive
go build -o bin/flashlive-barehub ./cmd/flashlive-barehub
go build -o bin/flashlive-viewers ./cmd/flashlive-viewers

addr=127.0.0.1:18080
debug=127.0.0.1:18090
for run in $(seq 1 "${RUNS:-1}"); do
	for server in ${SERVERS:-flashlive}; do
		case "$server" in
		flashlive)
			# A database of its own per run: orders of earlier runs expiring
			# in the background would add work that is not this run's.
			db="$FLASHLIVE_POSTGRES_URL"
			if command -v psql >/dev/null 2>&1; then
				name="flashlive_bench_$$_$run"
				psql -q "$FLASHLIVE_POSTGRES_URL" -c "CREATE DATABASE $name" >/dev/null
				dbs+=("$name")
				db="$(echo "$FLASHLIVE_POSTGRES_URL" | sed -E "s#/[^/?]+(\?|$)#/$name\1#")"
			fi
			FLASHLIVE_ENV=dev FLASHLIVE_HTTP_ADDR=$addr FLASHLIVE_DEBUG_ADDR=$debug FLASHLIVE_LOG_LEVEL=warn FLASHLIVE_POSTGRES_URL="$db" \
				FLASHLIVE_REDIS_PREFIX="bench-live-$$-$run:" FLASHLIVE_DATA_DIR="$data/$run" \
				bin/flashlive &
			flags=(-debug "http://$debug")
			;;
		bare)
			bin/flashlive-barehub -addr $addr &
			flags=(-bare -debug "http://$addr")
			;;
		*)
			echo "bench-live.sh: SERVERS takes flashlive and bare, not $server" >&2
			exit 2
			;;
		esac
		pid=$!
		# Up once it listens (it listens last, after migrations and wiring).
		for _ in $(seq 1 150); do
			(exec 3<>"/dev/tcp/${addr%:*}/${addr##*:}") 2>/dev/null && break
			kill -0 "$pid" 2>/dev/null || { echo "bench-live.sh: $server exited at start" >&2; exit 1; }
			sleep 0.2
		done
		echo "== $server, run $run of ${RUNS:-1}"
		status=0
		bin/flashlive-viewers "${flags[@]}" -url "http://$addr" -viewers "${VIEWERS:-10000}" -rate "${RATE:-5}" \
			-duration "${DURATION:-30s}" -loops "${LOOPS:-1}" ${TIMELINE:+-timeline "$TIMELINE-$server-$run.csv"} || status=$?
		kill "$pid"
		wait "$pid" || true
		[ "$status" = 0 ] || exit "$status"
	done
done
