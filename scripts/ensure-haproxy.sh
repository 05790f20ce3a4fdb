#!/usr/bin/env bash
# Make sure Debian's haproxy is installed at /usr/sbin/haproxy; the
# scale-out test (test/scaleout) and scripts/topology.sh run it in front of
# three flashlive instances with deploy/haproxy/haproxy.cfg.
#   scripts/ensure-haproxy.sh
# Installs it with apt-get when missing (without starting Debian's
# system-wide service); that needs root.
set -euo pipefail

HAPROXY=/usr/sbin/haproxy

if [[ -x "$HAPROXY" ]]; then
	exit 0
fi

if [[ "$(id -u)" != 0 ]]; then
	echo "ensure-haproxy.sh: $HAPROXY is missing and installing it needs root." >&2
	echo "ensure-haproxy.sh: run as root, or: sudo apt-get install -y haproxy" >&2
	exit 1
fi
if ! command -v apt-get >/dev/null 2>&1; then
	echo "ensure-haproxy.sh: $HAPROXY is missing and apt-get is not available; install haproxy (>= 2.2) by hand" >&2
	exit 1
fi

echo "ensure-haproxy.sh: installing haproxy with apt-get (once)" >&2
policy=/usr/sbin/policy-rc.d created=0 rc=0
if [[ ! -e "$policy" ]]; then
	# Debian's hook: exit 101 = do not start the system-wide service.
	printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod 755 "$policy" && created=1
fi
{ apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq haproxy >/dev/null; } || rc=$?
((created)) && rm -f "$policy"
if ((rc != 0)); then
	echo "ensure-haproxy.sh: apt-get install haproxy failed (exit $rc)" >&2
	exit 1
fi

if [[ ! -x "$HAPROXY" ]]; then
	echo "ensure-haproxy.sh: apt-get finished but $HAPROXY is still missing" >&2
	exit 1
fi
echo "ensure-haproxy.sh: $("$HAPROXY" -v 2>/dev/null | head -n 1 || echo haproxy installed)" >&2
