# shellcheck shell=bash
# Process helpers shared by the scripts that start and stop daemons
# (lib-pg.sh, nats-cluster.sh, redis-cluster.sh, topology.sh), which source it:
#
#   source "$(dirname "${BASH_SOURCE[0]}")/lib-proc.sh"
#
# It defines functions only (no variable, no side effect).

# alive PID: the process exists and is not a zombie.
alive() {
	kill -0 "$1" 2>/dev/null || return 1
	[[ "$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null || true)" != Z ]]
}
