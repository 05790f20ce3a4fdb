#!/bin/sh
# Entry point of the postgres-replica service of docker-compose.yml: a hot
# standby that streams from the primary (service postgres).
#
# On first start (no cluster in $PGDATA) it creates the physical
# replication slot `flashlive_replica` on the primary if it is missing (the
# primary then keeps the WAL the replica has not received, however long it
# is away), copies the primary with `pg_basebackup -R` (which writes
# standby.signal and primary_conninfo) into a temporary directory and
# renames it into place, so that an interrupted copy is started over, never
# half used. Later starts reuse the copy and catch up from the slot.
#
# Environment: PGDATA; PRIMARY_HOST; PGUSER and PGPASSWORD (the primary's
# flashlive user, a superuser, so it may replicate). Runs as user postgres.
set -eu
: "${PGDATA:?}" "${PRIMARY_HOST:?}" "${PGUSER:?}" "${PGPASSWORD:?}"
slot=flashlive_replica

if [ ! -s "$PGDATA/PG_VERSION" ]; then
	echo "postgres-replica: copying the primary $PRIMARY_HOST with pg_basebackup -R (slot $slot)" >&2
	psql -h "$PRIMARY_HOST" -d flashlive -X -q -v ON_ERROR_STOP=1 -c \
		"select pg_create_physical_replication_slot('$slot') where not exists (select 1 from pg_replication_slots where slot_name = '$slot')" >/dev/null
	rm -rf "$PGDATA.tmp"
	pg_basebackup -h "$PRIMARY_HOST" -D "$PGDATA.tmp" -R -X stream -S "$slot" --checkpoint=fast
	rm -rf "$PGDATA"
	mv "$PGDATA.tmp" "$PGDATA"
fi
exec postgres -D "$PGDATA"
