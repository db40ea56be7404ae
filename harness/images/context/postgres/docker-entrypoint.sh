#!/bin/bash
# Entrypoint with the official postgres image's contract, for Debian's PostgreSQL.
set -eo pipefail

# log, error, file_env: shared with the other database images.
source /usr/local/lib/harness/entrypoint-lib.sh

psql_local() {
    psql -v ON_ERROR_STOP=1 --no-password --no-psqlrc --username "$POSTGRES_USER" "$@"
}

# The SQL of /docker-entrypoint-initdb.d, on stdin, runs against POSTGRES_DB
# (entrypoint-lib's run_initdb_scripts runs the folder as the official image does).
initdb_sql() { psql_local --dbname "$POSTGRES_DB"; }

initialise() {
    file_env POSTGRES_PASSWORD
    file_env POSTGRES_USER postgres
    file_env POSTGRES_DB "$POSTGRES_USER"
    file_env POSTGRES_INITDB_ARGS
    local auth="${POSTGRES_HOST_AUTH_METHOD:-scram-sha-256}"
    if [ -z "$POSTGRES_PASSWORD" ] && [ "$auth" != trust ]; then
        error "Database is uninitialized and superuser password is not specified.
       You must specify POSTGRES_PASSWORD to a non-empty value for the
       superuser. For example, \"-e POSTGRES_PASSWORD=password\" on \"docker run\".
       To allow all connections without a password, set POSTGRES_HOST_AUTH_METHOD=trust."
    fi

    # The password reaches initdb through a pipe, never the command line.
    # (With `trust` and no password, the superuser gets none: initdb refuses an empty file.)
    local options=()
    [ -z "${POSTGRES_INITDB_WALDIR:-}" ] || options+=(--waldir "$POSTGRES_INITDB_WALDIR")
    if [ -n "$POSTGRES_PASSWORD" ]; then
        # shellcheck disable=SC2086
        initdb --username="$POSTGRES_USER" --pwfile=<(printf '%s\n' "$POSTGRES_PASSWORD") \
            "${options[@]}" $POSTGRES_INITDB_ARGS
    else
        # shellcheck disable=SC2086
        initdb --username="$POSTGRES_USER" "${options[@]}" $POSTGRES_INITDB_ARGS
    fi
    printf '\nhost all all all %s\n' "$auth" >> "$PGDATA/pg_hba.conf"

    # The temporary server listens on no TCP address: nobody can connect before init is done.
    pg_ctl -D "$PGDATA" -o "-c listen_addresses='' -p 5432" -w start
    if [ "$POSTGRES_DB" != postgres ]; then
        psql_local --dbname postgres --set db="$POSTGRES_DB" <<< 'CREATE DATABASE :"db";'
    fi
    run_initdb_scripts initdb_sql
    pg_ctl -D "$PGDATA" -m fast -w stop
    echo
    echo 'PostgreSQL init process complete; ready for start up.'
    echo
}

# PostgreSQL 18's layout (docker-library/postgres#1259): with PGDATA left at the image's own
# major-version directory and nothing there yet, data found where an older image kept it means
# an image bump without pg_upgrade, and a mount at /var/lib/postgresql/data is one that the
# server would never use (the data would go to the VOLUME above it). Both refuse to start,
# naming what was found and the fix, instead of initialising an empty cluster beside the data.
refuse_old_layouts() {
    [ "$PGDATA" = "/var/lib/postgresql/$PG_MAJOR/docker" ] || return 0
    [ ! -s "$PGDATA/PG_VERSION" ] || return 0
    local found=() d
    for d in /var/lib/postgresql /var/lib/postgresql/data /var/lib/postgresql/*/docker; do
        [ ! -s "$d/PG_VERSION" ] || found+=("$d")
    done
    if [ "${#found[@]}" -eq 0 ] && [ "$PG_MAJOR" -ge 18 ] \
        && awk '$5 == "/var/lib/postgresql/data" { found = 1 } END { exit !found }' /proc/self/mountinfo; then
        found+=("/var/lib/postgresql/data (unused mount/volume)")
    fi
    [ "${#found[@]}" -gt 0 ] || return 0
    error "in 18+, this image keeps its data in $PGDATA (a major-version directory under the VOLUME /var/lib/postgresql), but there appears to be PostgreSQL data in: ${found[*]}
       Mount the volume at /var/lib/postgresql, not /var/lib/postgresql/data; data written by an
       older major version must be moved with pg_upgrade (both versions) or a dump and restore."
}

# `docker run image -c setting=value` means options for the server.
if [ "${1:0:1}" = '-' ]; then
    set -- postgres "$@"
fi

if [ "$1" = postgres ]; then
    : "${PGDATA:=/var/lib/postgresql/data}"
    export PGDATA
    # As root where it starts as root (the official image checks before dropping privileges):
    # data another major's server user wrote is not readable by this one's.
    refuse_old_layouts
    if [ "$(id -u)" = 0 ]; then
        mkdir -p "$PGDATA" /var/run/postgresql
        chmod 700 "$PGDATA"
        # As the official image: initdb puts the WAL here and links it from the data directory.
        if [ -n "${POSTGRES_INITDB_WALDIR:-}" ]; then
            mkdir -p "$POSTGRES_INITDB_WALDIR"
            find "$POSTGRES_INITDB_WALDIR" \! -user postgres -exec chown postgres:postgres '{}' +
            chmod 700 "$POSTGRES_INITDB_WALDIR"
        fi
        # As the official image: only files not yet the server's are changed.
        find "$PGDATA" /var/run/postgresql \! -user postgres -exec chown postgres:postgres '{}' +
        exec gosu postgres "$BASH_SOURCE" "$@"
    fi
    if [ -s "$PGDATA/PG_VERSION" ]; then
        echo
        echo 'PostgreSQL Database directory appears to contain a database; Skipping initialization'
        echo
    else
        initialise
    fi
    # Init variables must not leak into the server's environment.
    unset POSTGRES_PASSWORD
fi

exec "$@"
