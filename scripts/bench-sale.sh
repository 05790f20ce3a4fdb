#!/usr/bin/env bash
# `make bench-sale`: a whole flash sale against a freshly started server.
# Builds the server and cmd/flashlive-bench, starts the server (dev, a
# fresh Redis prefix, the database flashlive_bench_sale kept between runs
# so the bench signs its buyers in again instead of signing up new ones)
# on 127.0.0.1:18080, runs the bench in a process of its own, stops the
# server. The bench's exit code is the script's: 1 when an invariant fails.
#   scripts/bench-sale.sh                                  # 1,000 buyers, 5,000 viewers
#   BUYERS=200 VIEWERS=500 scripts/bench-sale.sh
#   OUT=/tmp/sale scripts/bench-sale.sh                    # reports: /tmp/sale.json, /tmp/sale.html
#   BENCH_FLAGS="-bots 2000 -phase 5s" scripts/bench-sale.sh
#   ADDR=127.0.0.1:18181 scripts/bench-sale.sh           # the server elsewhere than 127.0.0.1:18080
# With FLASHLIVE_POSTGRES_URL and FLASHLIVE_REDIS_URL both set, those are
# used and scripts/services.sh is not called.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO"

data="$(mktemp -d)"
cleanup() { rm -rf "$data"; }
if [ -n "${FLASHLIVE_POSTGRES_URL:-}" ] && [ -n "${FLASHLIVE_REDIS_URL:-}" ]; then
	:
else
	if scripts/services.sh status >/dev/null 2>&1; then
		echo "bench-sale.sh: services already running; they stay up afterwards" >&2
	else
		cleanup() { rm -rf "$data"; scripts/services.sh down || true; }
	fi
	eval "$(FLASHLIVE_PG_FAST=1 FLASHLIVE_REDIS_EPHEMERAL=1 scripts/services.sh up)"
fi
trap cleanup EXIT

mkdir -p bin
go build -o bin/flashlive ./cmd/flashlive
go build -o bin/flashlive-bench ./cmd/flashlive-bench

# A database of the bench's own, kept between runs: its buyers are signed
# in again next time (the bench's state file remembers them by server URL).
db="$FLASHLIVE_POSTGRES_URL"
if command -v psql >/dev/null 2>&1; then
	name=flashlive_bench_sale
	if ! psql -qtA "$FLASHLIVE_POSTGRES_URL" -c "SELECT 1 FROM pg_database WHERE datname = '$name'" | grep -q 1; then
		psql -q "$FLASHLIVE_POSTGRES_URL" -c "CREATE DATABASE $name" >/dev/null
	fi
	db="$(echo "$FLASHLIVE_POSTGRES_URL" | sed -E "s#/[^/?]+(\?|$)#/$name\1#")"
fi

addr="${ADDR:-127.0.0.1:18080}"
# The server runs with its default limits but two: the unpaid-order cap
# is on but high, and the per-buyer purchase limit is 50/s, so that 1,000
# buyers can load the server at 64 requests in flight through the rush
# and the sold-out phase. Per-address limits and the blocklist stay as
# they are: the bots (one account, one address) still meet them.
FLASHLIVE_ENV=dev FLASHLIVE_HTTP_ADDR=$addr FLASHLIVE_LOG_LEVEL=warn FLASHLIVE_POSTGRES_URL="$db" \
	FLASHLIVE_REDIS_PREFIX="bench-sale-$$:" FLASHLIVE_DATA_DIR="$data" \
	FLASHLIVE_MAX_UNPAID_ORDERS="${MAX_UNPAID:-10000}" FLASHLIVE_LIMIT_PURCHASE_USER="${PURCHASE_USER_LIMIT:-50/s,burst=100}" \
	${DEBUG_ADDR:+FLASHLIVE_DEBUG_ADDR=$DEBUG_ADDR} \
	bin/flashlive &
pid=$!
stop_server() { kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; }
trap 'stop_server; cleanup' EXIT
for _ in $(seq 1 150); do
	(exec 3<>"/dev/tcp/${addr%:*}/${addr##*:}") 2>/dev/null && break
	kill -0 "$pid" 2>/dev/null || { echo "bench-sale.sh: the server exited at start" >&2; exit 1; }
	sleep 0.2
done

out="${OUT:-bin/bench-sale}"
status=0
# shellcheck disable=SC2086 # BENCH_FLAGS is a list of flags
bin/flashlive-bench -url "http://$addr" -buyers "${BUYERS:-1000}" -viewers "${VIEWERS:-5000}" \
	-limit "${LIMIT:-10}" -bots "${BOTS:-1000}" -json "$out.json" -html "$out.html" ${BENCH_FLAGS:-} || status=$?
exit "$status"
