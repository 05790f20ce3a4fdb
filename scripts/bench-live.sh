#!/usr/bin/env bash
# The live feed's load test: build the server and the viewer tool, start the
# server (dev, a fresh Redis prefix) on 127.0.0.1:18080, run
# cmd/flashlive-viewers against it in a process of its own, stop the server.
#   scripts/bench-live.sh                                  # 10,000 viewers, 5 frames/s, 30 s
#   VIEWERS=1000 DURATION=10s scripts/bench-live.sh
#   RUNS=3 SERVERS="flashlive bare" scripts/bench-live.sh  # 3 rounds, each flashlive then the yardstick
# SERVERS=bare measures cmd/flashlive-barehub, a bare gorilla broadcast
# server, with the same tool: the figure to beat.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO"

data="$(mktemp -d)"
cleanup() { rm -rf "$data"; }
if scripts/services.sh status >/dev/null 2>&1; then
	echo "bench-live.sh: services already running; they stay up afterwards" >&2
else
	cleanup() { rm -rf "$data"; scripts/services.sh down || true; }
fi
trap cleanup EXIT
eval "$(FLASHLIVE_PG_FAST=1 FLASHLIVE_REDIS_EPHEMERAL=1 scripts/services.sh up)"

mkdir -p bin
go build -o bin/flashlive ./cmd/flashlive
go build -o bin/flashlive-barehub ./cmd/flashlive-barehub
go build -o bin/flashlive-viewers ./cmd/flashlive-viewers

addr=127.0.0.1:18080
for run in $(seq 1 "${RUNS:-1}"); do
	for server in ${SERVERS:-flashlive}; do
		case "$server" in
		flashlive)
			FLASHLIVE_ENV=dev FLASHLIVE_HTTP_ADDR=$addr FLASHLIVE_LOG_LEVEL=warn \
				FLASHLIVE_REDIS_PREFIX="bench-live-$$-$run:" FLASHLIVE_DATA_DIR="$data/$run" \
				bin/flashlive &
			flags=()
			;;
		bare)
			bin/flashlive-barehub -addr $addr &
			flags=(-bare)
			;;
		*)
			echo "bench-live.sh: SERVERS takes flashlive and bare, not $server" >&2
			exit 2
			;;
		esac
		pid=$!
		for _ in $(seq 1 100); do
			curl -fs "http://$addr/metrics" >/dev/null 2>&1 && break
			sleep 0.2
		done
		echo "== $server, run $run of ${RUNS:-1}"
		status=0
		bin/flashlive-viewers "${flags[@]}" -url "http://$addr" -viewers "${VIEWERS:-10000}" -rate "${RATE:-5}" \
			-duration "${DURATION:-30s}" -loops "${LOOPS:-1}" || status=$?
		kill "$pid"
		wait "$pid" || true
		[ "$status" = 0 ] || exit "$status"
	done
done
