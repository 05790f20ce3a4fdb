#!/usr/bin/env bash
# Run the Go benchmarks against local PostgreSQL/Redis (no -race).
#   scripts/bench.sh                              # BenchmarkPurchase, 3 runs of 3s each
#   COUNT=5 BENCHTIME=5s scripts/bench.sh          # more, longer runs
#   BENCH=. PKG=./... scripts/bench.sh             # every benchmark
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO"

if scripts/services.sh status >/dev/null 2>&1; then
	echo "bench.sh: services already running; they stay up afterwards" >&2
else
	trap 'scripts/services.sh down || true' EXIT
fi
eval "$(FLASHLIVE_POSTGRES_URL="${FLASHLIVE_TEST_POSTGRES_URL:-}" FLASHLIVE_REDIS_URL="${FLASHLIVE_TEST_REDIS_URL:-}" \
	FLASHLIVE_PG_FAST=1 FLASHLIVE_REDIS_EPHEMERAL=1 scripts/services.sh up)"
export FLASHLIVE_TEST_POSTGRES_URL="$FLASHLIVE_POSTGRES_URL"
export FLASHLIVE_TEST_REDIS_URL="$FLASHLIVE_REDIS_URL"

set -x
go test -run '^$' -bench "${BENCH:-BenchmarkPurchase}" -benchtime "${BENCHTIME:-3s}" -count "${COUNT:-3}" "${PKG:-./cmd/flashlive}"
