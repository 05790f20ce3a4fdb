#!/usr/bin/env bash
# Install the ecosystem's clients the conformance tests run
# (cmd/flashlive/conformance_test.go: the graphql-http audit and the
# graphql-ws client) into test/conformance/node_modules, exactly as
# test/conformance/package-lock.json pins them (npm ci), when they are
# missing or older than the lockfile.
#   scripts/ensure-conformance.sh
# Needs Node >= 20 and npm; fails, loudly, without them.
set -euo pipefail

DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/test/conformance"

for tool in node npm; do
	if ! command -v "$tool" >/dev/null 2>&1; then
		echo "ensure-conformance.sh: '$tool' is not on PATH; the conformance tests need Node >= 20 and npm (Debian: apt-get install nodejs npm)" >&2
		exit 1
	fi
done
major="$(node -p 'process.versions.node.split(".")[0]')"
if ((major < 20)); then
	echo "ensure-conformance.sh: Node $(node --version) is too old; the conformance tests need Node >= 20" >&2
	exit 1
fi

stamp="$DIR/node_modules/.package-lock.json"
if [[ -f "$stamp" && "$stamp" -nt "$DIR/package-lock.json" ]]; then
	exit 0
fi
echo "ensure-conformance.sh: npm ci in test/conformance" >&2
(cd "$DIR" && npm ci --no-audit --no-fund --loglevel=error)
