#!/usr/bin/env bash
# `make bench-scaleout`: purchase throughput through the load balancer
# with 1 and with 3 instances, in ONE run of one topology
# (scripts/topology.sh): the runs alternate, app2 and app3 taken out of
# HAProxy's rotation for the 1-instance runs and put back for the
# 3-instance ones, so both see the same machine and the same load from
# elsewhere. Each run is a whole sale of cmd/flashlive-bench against the
# balancer; the script prints each run's floor ({ serverTime }), rush
# (purchases while stock lasts) and sold-out phase, then the medians.
#   scripts/bench-scaleout.sh                   # 3 runs of each, 1,000 buyers, 1,000 viewers
#   RUNS=5 BUYERS=500 VIEWERS=3000 scripts/bench-scaleout.sh
#   OUT=/tmp/scaleout scripts/bench-scaleout.sh  # JSON reports /tmp/scaleout-<n>inst-<run>.json
# The topology of ${FLASHLIVE_TOPOLOGY_DIR:-.data/topology} is started when
# it is not ready, with the bench's limits (FLASHLIVE_MAX_UNPAID_ORDERS,
# FLASHLIVE_LIMIT_PURCHASE_USER as scripts/bench-sale.sh; no sign-up limit
# per address, as the bench signs up its buyers from a few hundred), and
# left up. A first, uncounted run with 3 instances signs the buyers up (the
# bench's state file keeps their sessions for the measured runs).
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO"
command -v jq >/dev/null 2>&1 || { echo "bench-scaleout.sh: jq is needed to read the bench's JSON reports (apt-get install -y jq)" >&2; exit 1; }

DIR="${FLASHLIVE_TOPOLOGY_DIR:-${FLASHLIVE_DATA_DIR:-$REPO/.data}/topology}"
RUNS="${RUNS:-3}"
out="${OUT:-$DIR/bench-scaleout}"

if ! scripts/topology.sh status "$DIR" 2>/dev/null; then
	FLASHLIVE_MAX_UNPAID_ORDERS="${MAX_UNPAID:-10000}" FLASHLIVE_LIMIT_PURCHASE_USER="${PURCHASE_USER_LIMIT:-50/s,burst=100}" \
		FLASHLIVE_LIMIT_REGISTER_IP=off scripts/topology.sh up "$DIR" >/dev/null
fi
url="http://127.0.0.1:${FLASHLIVE_TOPOLOGY_PORT:-18400}"
mkdir -p "$(dirname "$out")"
go build -o "$DIR/bin/flashlive-bench" ./cmd/flashlive-bench

backends() {
	local op=enable
	(($1 == 1)) && op=disable
	scripts/topology.sh lb "$op" app2 "$DIR" 2>/dev/null
	scripts/topology.sh lb "$op" app3 "$DIR" 2>/dev/null
}
trap 'backends 3' EXIT

median() { sort -n | awk '{a[NR]=$1} END {if (NR%2) print a[(NR+1)/2]; else printf "%.1f\n", (a[NR/2]+a[NR/2+1])/2}'; }
phase() { jq -r --arg p "$2" '.phases[] | select(.name == $p) | "\(.perSecond | floor) \(.p50Ms) \(.p99Ms)"' "$1"; }

bench() {
	# shellcheck disable=SC2086 # BENCH_FLAGS is a list of flags
	"$DIR/bin/flashlive-bench" -url "$url" -buyers "${BUYERS:-1000}" -viewers "${VIEWERS:-1000}" \
		-limit "${LIMIT:-10}" -phase "${PHASE:-10s}" -progress off -ips "${IPS:-1024}" -state "$DIR/bench-state.json" \
		-json "$1" ${BENCH_FLAGS:-} >"$1.log" 2>&1 || { cat "$1.log" >&2; echo "bench-scaleout.sh: bench run $1 failed" >&2; exit 1; }
}

echo "warm-up (3 instances, not counted): signs the buyers up" >&2
backends 3
bench "$out-warmup.json"

declare -A floor rush soldout
printf '%-5s %-4s %-28s %-28s %-28s\n' run inst 'floor /s (p50, p99 ms)' 'rush /s (p50, p99 ms)' 'sold-out /s (p50, p99 ms)'
for run in $(seq 1 "$RUNS"); do
	for n in 1 3; do
		backends "$n"
		f="$out-${n}inst-$run.json"
		bench "$f"
		read -r fl fp50 fp99 <<<"$(phase "$f" floor)"
		read -r ru rp50 rp99 <<<"$(phase "$f" rush)"
		read -r so sp50 sp99 <<<"$(phase "$f" sold-out)"
		floor[$n]+="$fl "
		rush[$n]+="$ru "
		soldout[$n]+="$so "
		printf '%-5s %-4s %-28s %-28s %-28s\n' "$run" "$n" "$fl ($fp50, $fp99)" "$ru ($rp50, $rp99)" "$so ($sp50, $sp99)"
	done
done
echo
printf 'medians of %s runs through %s:\n' "$RUNS" "$url"
for n in 1 3; do
	printf '  %s instance(s): floor %s/s, rush %s/s (%s of floor), sold-out %s/s\n' "$n" \
		"$(tr ' ' '\n' <<<"${floor[$n]}" | grep . | median)" \
		"$(tr ' ' '\n' <<<"${rush[$n]}" | grep . | median)" \
		"$(paste -d' ' <(tr ' ' '\n' <<<"${rush[$n]}" | grep .) <(tr ' ' '\n' <<<"${floor[$n]}" | grep .) | awk '{printf "%.2f\n", $1/$2}' | median)" \
		"$(tr ' ' '\n' <<<"${soldout[$n]}" | grep . | median)"
done
