#!/bin/bash
# Entrypoint with the official mysql image's contract, for Debian's MariaDB.
set -eo pipefail

# log, error, file_env: shared with the other database images.
source /usr/local/lib/harness/entrypoint-lib.sh

sql_escape() { sed -e "s/\\\\/\\\\\\\\/g" -e "s/'/\\\\'/g" <<< "$1"; }

datadir_of() {
    "$@" --verbose --help 2>/dev/null | awk '$1 == "datadir" { print $2; exit }'
}

socket=/run/mysqld/mysqld.sock

# Credentials go through a file descriptor, never the command line (ps shows argv).
client() {
    mariadb --defaults-extra-file=<(printf '[client]\npassword="%s"\n' "${MYSQL_ROOT_PASSWORD}") \
        --protocol=socket --socket="$socket" -uroot --batch --skip-column-names "$@"
}

start_temporary_server() {
    "$@" --skip-networking --socket="$socket" &
    temp_pid=$!
    local i
    # Every 0.1 s: a server that is up waits no longer than that (0.5 s cost ~0.4 s per init).
    for i in $(seq 300); do
        if mariadb --protocol=socket --socket="$socket" -uroot -e 'SELECT 1' >/dev/null 2>&1; then
            return 0
        fi
        kill -0 "$temp_pid" 2>/dev/null || error "the temporary server failed to start"
        sleep 0.1
    done
    error "the temporary server did not answer within 30 s"
}

stop_temporary_server() {
    kill -TERM "$temp_pid"
    wait "$temp_pid" || true
}

# As the official image: scripts in /docker-entrypoint-initdb.d run once, on first
# initialisation, in name order; SQL runs against MYSQL_DATABASE; an executable .sh is run, any
# other .sh is sourced (so it sees the variables above).
run_initdb_scripts() {
    local f
    for f in /docker-entrypoint-initdb.d/*; do
        case "$f" in
            *.sh)
                if [ -x "$f" ]; then log "running $f"; "$f"; else log "sourcing $f"; . "$f"; fi ;;
            *.sql)     log "running $f"; client ${MYSQL_DATABASE:+"$MYSQL_DATABASE"} < "$f" ;;
            *.sql.gz)  log "running $f"; gunzip -c "$f" | client ${MYSQL_DATABASE:+"$MYSQL_DATABASE"} ;;
            *.sql.bz2) log "running $f"; bunzip2 -c "$f" | client ${MYSQL_DATABASE:+"$MYSQL_DATABASE"} ;;
            *.sql.xz)  log "running $f"; xzcat "$f" | client ${MYSQL_DATABASE:+"$MYSQL_DATABASE"} ;;
            *.sql.zst) log "running $f"; zstd -dc "$f" | client ${MYSQL_DATABASE:+"$MYSQL_DATABASE"} ;;
            *)         if [ -e "$f" ]; then log "ignoring $f"; fi ;;
        esac
    done
}

initialise() {
    local datadir="$1"; shift
    file_env MYSQL_ROOT_PASSWORD
    file_env MYSQL_DATABASE
    file_env MYSQL_USER
    file_env MYSQL_PASSWORD
    file_env MYSQL_ALLOW_EMPTY_PASSWORD
    file_env MYSQL_RANDOM_ROOT_PASSWORD
    if [ -z "$MYSQL_ROOT_PASSWORD" ] && [ -z "$MYSQL_ALLOW_EMPTY_PASSWORD" ] && [ -z "$MYSQL_RANDOM_ROOT_PASSWORD" ]; then
        error "Database is uninitialized and password option is not specified
    You need to specify one of the following as an environment variable:
    - MYSQL_ROOT_PASSWORD
    - MYSQL_ALLOW_EMPTY_PASSWORD
    - MYSQL_RANDOM_ROOT_PASSWORD"
    fi
    if [ "$MYSQL_USER" = root ]; then
        error "MYSQL_USER=root is not allowed; use MYSQL_ROOT_PASSWORD for the root user"
    fi
    if [ -n "$MYSQL_USER" ] && [ -z "$MYSQL_PASSWORD" ]; then
        error "MYSQL_USER is set but MYSQL_PASSWORD is not"
    fi

    log "Initializing database files"
    mariadb-install-db --datadir="$datadir" --skip-test-db --skip-name-resolve \
        --auth-root-authentication-method=normal --rpm >/dev/null
    log "Database files initialized"

    log "Starting temporary server"
    start_temporary_server "$@"
    log "Temporary server started."

    if [ -n "$MYSQL_RANDOM_ROOT_PASSWORD" ]; then
        MYSQL_ROOT_PASSWORD="$(tr -dc 'A-Za-z0-9' < /dev/urandom | head -c 32)"
        log "GENERATED ROOT PASSWORD: $MYSQL_ROOT_PASSWORD"
    fi
    local root_pw user_pw
    root_pw="$(sql_escape "$MYSQL_ROOT_PASSWORD")"
    {
        # mariadb-install-db creates anonymous and per-host root accounts; the official image
        # has only root@localhost and root@'%'.
        echo "DELETE FROM mysql.global_priv WHERE User = '' OR Host NOT IN ('localhost', '%');"
        echo "DELETE FROM mysql.proxies_priv WHERE Host NOT IN ('localhost', '%');"
        echo "CREATE USER IF NOT EXISTS 'root'@'%' IDENTIFIED BY '${root_pw}';"
        echo "GRANT ALL ON *.* TO 'root'@'%' WITH GRANT OPTION;"
        echo "ALTER USER 'root'@'localhost' IDENTIFIED BY '${root_pw}';"
        if [ -n "$MYSQL_DATABASE" ]; then
            log "Creating database ${MYSQL_DATABASE}" >&2
            echo "CREATE DATABASE IF NOT EXISTS \`${MYSQL_DATABASE//\`/\`\`}\`;"
        fi
        if [ -n "$MYSQL_USER" ]; then
            log "Creating user ${MYSQL_USER}" >&2
            user_pw="$(sql_escape "$MYSQL_PASSWORD")"
            echo "CREATE USER '$(sql_escape "$MYSQL_USER")'@'%' IDENTIFIED BY '${user_pw}';"
            if [ -n "$MYSQL_DATABASE" ]; then
                log "Giving user ${MYSQL_USER} access to schema ${MYSQL_DATABASE}" >&2
                echo "GRANT ALL ON \`${MYSQL_DATABASE//\`/\`\`}\`.* TO '$(sql_escape "$MYSQL_USER")'@'%';"
            fi
        fi
        echo "FLUSH PRIVILEGES;"
    } | mariadb --protocol=socket --socket="$socket" -uroot

    run_initdb_scripts

    log "Stopping temporary server"
    stop_temporary_server
    log "Temporary server stopped"
    echo
    log "MySQL init process done. Ready for start up."
    echo
    # Which version wrote the system tables, as mariadb-upgrade records it.
    local info
    info="$datadir/$(upgrade_info_name)"
    [ -e "$info" ] || server_version > "$info"
}

server_version() { mariadbd --version | awk '{ print $3 }'; }
major_minor() { grep -oE '^[0-9]+\.[0-9]+' <<< "$1" || true; }

# mariadb-upgrade records the version in mysql_upgrade_info up to 10.x and in
# mariadb_upgrade_info in 11.x: the name this server's tool writes.
upgrade_info_name() {
    if grep -qa mariadb_upgrade_info "$(command -v mariadb-upgrade)"; then
        echo mariadb_upgrade_info
    else
        echo mysql_upgrade_info
    fi
}

# The version that last wrote the system tables (the newer name first), major.minor.
data_version() {
    local name
    for name in mariadb_upgrade_info mysql_upgrade_info; do
        if [ -s "$1/$name" ]; then
            major_minor "$(< "$1/$name")"
            return
        fi
    done
}

# As the official mariadb image: a data directory written by another major version needs
# mariadb-upgrade for its system tables; it runs only when MARIADB_AUTO_UPGRADE is set (the
# server starts either way, and the user's tables are readable).
upgrade_if_needed() {
    local datadir="$1"; shift
    local server data
    server="$(major_minor "$(server_version)")"
    data="$(data_version "$datadir")"
    [ "$data" != "$server" ] || return 0
    if [ -z "${MARIADB_AUTO_UPGRADE:-}" ]; then
        log "MariaDB upgrade (mariadb-upgrade) required from ${data:-an unknown version} to $server, but skipped: MARIADB_AUTO_UPGRADE is not set"
        return 0
    fi
    log "Upgrading the system tables from ${data:-an unknown version} to $server"
    # No password is known here (the init variables are ignored on a data directory that
    # exists): the temporary server skips the grant tables and listens on its socket only.
    start_temporary_server "$@" --skip-grant-tables
    mariadb-upgrade --protocol=socket --socket="$socket" -uroot --upgrade-system-tables
    stop_temporary_server
    log "Upgrade done"
}

# `docker run image --some-option` means options for the server.
if [ "${1:0:1}" = '-' ]; then
    set -- mariadbd "$@"
fi

if [ "$1" = mariadbd ] || [ "$1" = mysqld ]; then
    datadir="$(datadir_of "$@")"
    [ -n "$datadir" ] || error "could not determine the server's data directory from its configuration"
    if [ "$(id -u)" = 0 ]; then
        log "Switching to dedicated user 'mysql'"
        mkdir -p "$datadir" /run/mysqld
        # As the official image: take back files another user's container left (find touches
        # only those, unlike chown -R on a large data directory).
        find "$datadir" /run/mysqld \! -user mysql -exec chown mysql:mysql '{}' +
        exec gosu mysql "$BASH_SOURCE" "$@"
    fi
    if [ -d "$datadir/mysql" ]; then
        log "Database directory appears to contain a database; Skipping initialization"
        upgrade_if_needed "$datadir" "$@"
    else
        initialise "$datadir" "$@"
    fi
    # Init variables must not leak into the server's environment.
    unset MYSQL_ROOT_PASSWORD MYSQL_PASSWORD
fi

exec "$@"
