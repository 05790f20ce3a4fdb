#!/usr/bin/env bash
# Run every test: the checks (scripts/check.sh: gofmt, go generate, go vet,
# staticcheck) + go test -race against local PostgreSQL/Redis.
#   scripts/test.sh                 # all packages
#   scripts/test.sh -run TestFoo    # extra arguments go to `go test`
# Tests get FLASHLIVE_TEST_POSTGRES_URL / FLASHLIVE_TEST_REDIS_URL (admin URLs;
# tests create their own databases) and FLASHLIVE_TEST_REDIS_CLUSTER_URL (a
# 6-node Redis Cluster, scripts/redis-cluster.sh). If those are already set,
# they are used as is and no local service is started for them. FLASHLIVE_POSTGRES_URL /
# FLASHLIVE_REDIS_URL (the app's own, maybe a dev database) are NOT used here.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO"

if ! command -v go >/dev/null 2>&1; then
	echo "test.sh: 'go' is not on PATH (expected Go >= $(sed -n 's/^go //p' go.mod) at /usr/local/go/bin)" >&2
	exit 1
fi

# Leave the services as we found them: stop them at exit only if none ran before.
if scripts/services.sh status >/dev/null 2>&1; then
	echo "test.sh: services already running; they stay up afterwards" >&2
else
	trap 'scripts/services.sh down || true' EXIT
fi

env_lines="$(
	FLASHLIVE_POSTGRES_URL="${FLASHLIVE_TEST_POSTGRES_URL:-}" \
		FLASHLIVE_REDIS_URL="${FLASHLIVE_TEST_REDIS_URL:-}" \
		FLASHLIVE_REDIS_CLUSTER_URL="${FLASHLIVE_TEST_REDIS_CLUSTER_URL:-}" \
		FLASHLIVE_PG_FAST=1 FLASHLIVE_REDIS_EPHEMERAL=1 FLASHLIVE_REDIS_CLUSTER=1 \
		scripts/services.sh up
)"
eval "$env_lines"
export FLASHLIVE_TEST_POSTGRES_URL="$FLASHLIVE_POSTGRES_URL"
export FLASHLIVE_TEST_REDIS_URL="$FLASHLIVE_REDIS_URL"
if [[ -z "${FLASHLIVE_REDIS_CLUSTER_URL:-}" ]]; then
	echo "test.sh: no Redis Cluster (scripts/redis-cluster.sh): the Redis adapter's suite needs one" >&2
	exit 1
fi
export FLASHLIVE_TEST_REDIS_CLUSTER_URL="$FLASHLIVE_REDIS_CLUSTER_URL"
echo "test.sh: FLASHLIVE_TEST_POSTGRES_URL=$FLASHLIVE_TEST_POSTGRES_URL" >&2
echo "test.sh: FLASHLIVE_TEST_REDIS_URL=$FLASHLIVE_TEST_REDIS_URL" >&2
echo "test.sh: FLASHLIVE_TEST_REDIS_CLUSTER_URL=$FLASHLIVE_TEST_REDIS_CLUSTER_URL" >&2

# The browser test (cmd/flashlive/browser_test.go) drives Debian's chromium.
scripts/ensure-chromium.sh
# The scale-out test (test/scaleout) puts Debian's haproxy in front of three
# instances.
scripts/ensure-haproxy.sh
# The conformance tests (cmd/flashlive/conformance_test.go) run the
# graphql-http audit and the graphql-ws client under Node.
scripts/ensure-conformance.sh

check_rc=0
scripts/check.sh || check_rc=$?

test_rc=0
echo "test.sh: go test -race -count=1 -timeout 14m $* ./..." >&2
go test -race -count=1 -timeout 14m "$@" ./... || test_rc=$?
# The Kubernetes manifests' check is a module of its own (kustomize and the
# Kubernetes API stay out of the server's go.mod); it needs no service.
echo "test.sh: go test ./... in deploy/k8s/check (the kustomize manifests)" >&2
(cd deploy/k8s/check && go test -count=1 ./...) || test_rc=$?

if ((test_rc != 0)); then
	echo "test.sh: go test FAILED (exit $test_rc)" >&2
	exit "$test_rc"
fi
if ((check_rc != 0)); then
	echo "test.sh: tests passed but the checks FAILED (scripts/check.sh, exit $check_rc)" >&2
	exit "$check_rc"
fi
echo "test.sh: all tests passed" >&2
