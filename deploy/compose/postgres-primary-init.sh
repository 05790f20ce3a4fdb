#!/bin/sh
# Run once by the postgres image when it creates the primary's database
# (docker-entrypoint-initdb.d): lets the streaming replica of
# docker-compose.yml (postgres-replica) connect for replication with the
# flashlive user's password. The image's own pg_hba.conf admits password
# logins for databases only, not for replication connections.
set -eu
echo "host replication all all scram-sha-256" >>"$PGDATA/pg_hba.conf"
