#!/usr/bin/env bash
# Make sure Debian's chromium is installed at /usr/bin/chromium; the browser
# test (cmd/flashlive/browser_test.go) drives it through chromedp.
#   scripts/ensure-chromium.sh
# Installs it with apt-get when missing; that needs root.
set -euo pipefail

CHROMIUM=/usr/bin/chromium

if [[ -x "$CHROMIUM" ]]; then
	exit 0
fi

if [[ "$(id -u)" != 0 ]]; then
	echo "ensure-chromium.sh: $CHROMIUM is missing and installing it needs root." >&2
	echo "ensure-chromium.sh: run as root, or: sudo apt-get install -y chromium" >&2
	exit 1
fi
if ! command -v apt-get >/dev/null 2>&1; then
	echo "ensure-chromium.sh: $CHROMIUM is missing and apt-get is not available; install chromium by hand" >&2
	exit 1
fi

echo "ensure-chromium.sh: installing chromium with apt-get (once)" >&2
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null

if [[ ! -x "$CHROMIUM" ]]; then
	echo "ensure-chromium.sh: apt-get finished but $CHROMIUM is still missing" >&2
	exit 1
fi
echo "ensure-chromium.sh: $("$CHROMIUM" --version 2>/dev/null || echo chromium installed)" >&2
