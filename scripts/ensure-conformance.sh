#!/usr/bin/env bash
# Install the ecosystem's clients the conformance tests run
# (cmd/flashlive/conformance_test.go: the graphql-http audit and the
# graphql-ws client) into test/conformance/node_modules, exactly as
# test/conformance/package-lock.json pins them (npm ci), when they are
# missing or older than the lockfile.
#   scripts/ensure-conformance.sh
# Needs Node >= 18 (Debian 12's nodejs is 18.20; both clients pass on it and
# on Node 20) and npm; installs Debian's nodejs and npm with apt-get when
# they are missing (that needs root), and fails, loudly, otherwise.
set -euo pipefail

DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/test/conformance"

if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
	if [[ "$(id -u)" != 0 ]] || ! command -v apt-get >/dev/null 2>&1; then
		echo "ensure-conformance.sh: node or npm is not on PATH; the conformance tests need Node >= 18 and npm (Debian, as root: apt-get install nodejs npm)" >&2
		exit 1
	fi
	echo "ensure-conformance.sh: installing nodejs and npm with apt-get (once)" >&2
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm >/dev/null
fi
major="$(node -p 'process.versions.node.split(".")[0]')"
if ((major < 18)); then
	echo "ensure-conformance.sh: Node $(node --version) is too old; the conformance tests need Node >= 18" >&2
	exit 1
fi

stamp="$DIR/node_modules/.package-lock.json"
if [[ -f "$stamp" && "$stamp" -nt "$DIR/package-lock.json" ]]; then
	exit 0
fi
echo "ensure-conformance.sh: npm ci in test/conformance" >&2
(cd "$DIR" && npm ci --no-audit --no-fund --loglevel=error)
