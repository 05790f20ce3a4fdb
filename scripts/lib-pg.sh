# shellcheck shell=bash
# Shared by scripts/services.sh and scripts/pg-replica.sh, which source it:
#
#   source "$(dirname "${BASH_SOURCE[0]}")/lib-pg.sh"
#
# It defines functions only (no variable, no side effect); alive comes
# from lib-proc.sh, which it sources. The caller defines die MSG (print
# MSG, exit non-zero).

# pg_bindir_ok DIR TOOL...: DIR holds every TOOL, executable.
pg_bindir_ok() {
	local dir="$1" tool
	shift
	[[ -n "$dir" ]] || return 1
	for tool in "$@"; do
		[[ -x "$dir/$tool" ]] || return 1
	done
}

# find_pg_bindir PGDATA TOOL...: prints the PostgreSQL bindir that holds
# every TOOL (e.g. initdb pg_ctl postgres), the first of: the
# FLASHLIVE_PG_BINDIR override (die when it lacks a TOOL); the bindir of
# PGDATA's own major version, as an existing cluster must keep running with
# it (PGDATA may be empty, or not initialised); the highest Debian version
# installed; what pg_config reports; the directory of the first TOOL found
# on the PATH, as a last resort (e.g. a non-Debian install). Returns 1
# when none holds them all.
find_pg_bindir() {
	local pgdata="$1" d ver dirs=()
	shift
	if [[ -n "${FLASHLIVE_PG_BINDIR:-}" ]]; then
		pg_bindir_ok "$FLASHLIVE_PG_BINDIR" "$@" && { echo "$FLASHLIVE_PG_BINDIR"; return 0; }
		die "FLASHLIVE_PG_BINDIR=$FLASHLIVE_PG_BINDIR has no $(IFS=/; echo "$*")"
	fi
	if [[ -n "$pgdata" && -f "$pgdata/PG_VERSION" ]]; then
		ver="$(cat "$pgdata/PG_VERSION" 2>/dev/null || true)"
		d="/usr/lib/postgresql/$ver/bin"
		pg_bindir_ok "$d" "$@" && { echo "$d"; return 0; }
	fi
	if compgen -G '/usr/lib/postgresql/*/bin' >/dev/null; then
		while IFS= read -r d; do dirs+=("$d"); done < <(printf '%s\n' /usr/lib/postgresql/*/bin | sort -Vr)
	fi
	if command -v pg_config >/dev/null 2>&1; then
		d="$(pg_config --bindir 2>/dev/null || true)"
		[[ -n "$d" ]] && dirs+=("$d")
	fi
	for d in "${dirs[@]}"; do
		pg_bindir_ok "$d" "$@" && { echo "$d"; return 0; }
	done
	if command -v "$1" >/dev/null 2>&1; then
		d="$(dirname "$(readlink -f "$(command -v "$1")")")"
		pg_bindir_ok "$d" "$@" && { echo "$d"; return 0; }
	fi
	return 1
}

# shellcheck source=scripts/lib-proc.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib-proc.sh" # alive
