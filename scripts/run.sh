#!/usr/bin/env bash
# `make run`: start PostgreSQL + Redis if needed, then run the server (dev mode).
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO"

if ! command -v go >/dev/null 2>&1; then
	echo "run.sh: 'go' is not on PATH (expected at /usr/local/go/bin)" >&2
	exit 1
fi

eval "$(scripts/services.sh up)"
# Unset, FLASHLIVE_ENV means prod (which needs a secret of its own): ask for dev.
export FLASHLIVE_ENV="${FLASHLIVE_ENV:-dev}"
export FLASHLIVE_DATA_DIR="${FLASHLIVE_DATA_DIR:-$REPO/.data}"

addr="${FLASHLIVE_HTTP_ADDR:-:8080}"
case "$addr" in
:*) url="http://localhost$addr" ;;
0.0.0.0:*) url="http://localhost:${addr##*:}" ;;
*) url="http://$addr" ;;
esac
echo "run.sh: starting flashlive ($FLASHLIVE_ENV); the server will be at $url (stop with Ctrl-C; 'make down' stops PostgreSQL/Redis)" >&2
exec go run ./cmd/flashlive
