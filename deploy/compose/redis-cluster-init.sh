#!/bin/sh
# The one-shot redis-cluster-init service of docker-compose.yml: makes the
# six Redis nodes (redis-1..6, cluster mode, empty) one Redis Cluster of
# three masters with a replica each, `redis-cli --cluster create
# --cluster-replicas 1`, then waits until every node says cluster_state:ok.
# Idempotent: nodes that already know each other (a restart of the stack,
# nodes.conf on their volumes) are left as they are, and it only waits.
#
# Arguments: the nodes, host:port each (static addresses: a Redis Cluster
# remembers its peers by IP). Environment: REDISCLI_AUTH, the nodes'
# password.
set -eu
[ "$#" -eq 6 ] || { echo "redis-cluster-init: want the 6 nodes as host:port, got $#" >&2; exit 2; }

info() { redis-cli -h "${1%:*}" -p "${1##*:}" cluster info; }
known_nodes() { info "$1" | sed -n 's/^cluster_known_nodes:\([0-9]*\).*/\1/p'; }

if [ "$(known_nodes "$1")" -le 1 ]; then
	echo "redis-cluster-init: creating the cluster of $*" >&2
	redis-cli --cluster create "$@" --cluster-replicas 1 --cluster-yes
else
	echo "redis-cluster-init: $1 already knows $(known_nodes "$1") nodes: the cluster exists" >&2
fi

tries=0
for node in "$@"; do
	until info "$node" | grep -q '^cluster_state:ok'; do
		tries=$((tries + 1))
		[ "$tries" -le 120 ] || { echo "redis-cluster-init: $node not cluster_state:ok after 60 s" >&2; exit 1; }
		sleep 0.5
	done
done
echo "redis-cluster-init: cluster_state:ok on all $# nodes" >&2
