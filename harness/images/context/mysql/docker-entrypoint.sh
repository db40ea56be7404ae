#!/bin/bash
# Entrypoint with the official mysql image's contract, for Oracle MySQL as Debian packages it.
# The variables it reads are the rows of harness/model/servers/image_variables.py's mysql table;
# a contract test holds the two together.
set -eo pipefail

# log, error, file_env, run_initdb_scripts: shared with the other database images.
source /usr/local/lib/harness/entrypoint-lib.sh

sql_escape() { sed -e "s/\\\\/\\\\\\\\/g" -e "s/'/\\\\'/g" <<< "$1"; }

# As the official image: the server reads its configuration first (one `--verbose --help`, whose
# table gives the data directory and socket). An option it does not know (one a newer major
# removed, such as default-authentication-plugin in 8.4 and 9) stops the container with the
# server's own words, before any data is touched.
read_config() {
    local errors config
    errors="$(mktemp)"
    if ! config="$("$@" --verbose --help --log-bin-index="$(mktemp -u)" 2>"$errors")"; then
        cat "$errors" >&2
        rm -f "$errors"
        error "mysqld refused its configuration (the server's words are above); remove or fix the option it names"
    fi
    rm -f "$errors"
    # The values table follows a line of dashes; the option descriptions above it use the
    # same words ("socket creation.").
    datadir="$(awk 'table && $1 == "datadir" { print $2; exit } /^-{10}/ { table = 1 }' <<< "$config")"
    socket="$(awk 'table && $1 == "socket" { print $2; exit } /^-{10}/ { table = 1 }' <<< "$config")"
    datadir="${datadir%/}"
    [ -n "$datadir" ] || error "could not determine the server's data directory from its configuration"
    case "$socket" in
        /*/*) ;;
        *) error "could not determine the server's socket from its configuration (read: '${socket}')" ;;
    esac
}

# Credentials go through a file descriptor, never the command line (ps shows argv).
client_as_root() {
    mysql --defaults-extra-file=<(printf '[client]\npassword="%s"\n' "${root_password}") \
        --protocol=socket --socket="$socket" -uroot --batch --skip-column-names "$@"
}

start_temporary_server() {
    "$@" --skip-networking --default-time-zone=SYSTEM --socket="$socket" &
    temp_pid=$!
    local i
    # Every 0.1 s: a server that is up waits no longer than that.
    for i in $(seq 600); do
        if mysql --protocol=socket --socket="$socket" -uroot -e 'SELECT 1' >/dev/null 2>&1; then
            return 0
        fi
        kill -0 "$temp_pid" 2>/dev/null || error "the temporary server failed to start"
        sleep 0.1
    done
    error "the temporary server did not answer within 60 s"
}

stop_temporary_server() {
    kill -TERM "$temp_pid"
    wait "$temp_pid" || true
}

# The SQL of /docker-entrypoint-initdb.d, on stdin, runs against MYSQL_DATABASE.
initdb_sql() { client_as_root ${MYSQL_DATABASE:+"$MYSQL_DATABASE"}; }

# The official mysql image reads MYSQL_* only (each also from its _FILE); MARIADB_* are
# ignored, so a file written for mariadb:* gets the same refusal as from the real image.
setup_env() {
    file_env MYSQL_ROOT_HOST '%'
    file_env MYSQL_DATABASE
    file_env MYSQL_USER
    file_env MYSQL_PASSWORD
    file_env MYSQL_ROOT_PASSWORD
    root_password="$MYSQL_ROOT_PASSWORD"
}

verify_env() {
    if [ -z "$MYSQL_ROOT_PASSWORD" ] && [ -z "${MYSQL_ALLOW_EMPTY_PASSWORD:-}" ] \
        && [ -z "${MYSQL_RANDOM_ROOT_PASSWORD:-}" ]; then
        error "Database is uninitialized and password option is not specified
    You need to specify one of the following as an environment variable:
    - MYSQL_ROOT_PASSWORD
    - MYSQL_ALLOW_EMPTY_PASSWORD
    - MYSQL_RANDOM_ROOT_PASSWORD"
    fi
    if [ "$MYSQL_USER" = root ]; then
        error "MYSQL_USER=\"root\", MYSQL_USER and MYSQL_PASSWORD are for configuring a regular user and cannot be used for the root user
    Remove MYSQL_USER=\"root\" and use one of the following to control the root user password:
    - MYSQL_ROOT_PASSWORD
    - MYSQL_ALLOW_EMPTY_PASSWORD
    - MYSQL_RANDOM_ROOT_PASSWORD"
    fi
    if [ -n "$MYSQL_USER" ] && [ -z "$MYSQL_PASSWORD" ]; then
        log "Warning: MYSQL_USER specified, but missing MYSQL_PASSWORD; MYSQL_USER will not be created"
    elif [ -z "$MYSQL_USER" ] && [ -n "$MYSQL_PASSWORD" ]; then
        log "Warning: MYSQL_PASSWORD specified, but missing MYSQL_USER; MYSQL_PASSWORD will be ignored"
    fi
}

# The accounts and the database, as the official image's setup does.
setup_sql() {
    local root_pw host
    root_pw="$(sql_escape "$root_password")"
    host="$(sql_escape "$MYSQL_ROOT_HOST")"
    # Binary logging off for the session: these statements are the server's own setup.
    echo "SET @@SESSION.SQL_LOG_BIN=0;"
    echo "ALTER USER 'root'@'localhost' IDENTIFIED BY '${root_pw}';"
    if [ -n "$MYSQL_ROOT_HOST" ] && [ "$MYSQL_ROOT_HOST" != localhost ]; then
        echo "CREATE USER 'root'@'${host}' IDENTIFIED BY '${root_pw}';"
        echo "GRANT ALL ON *.* TO 'root'@'${host}' WITH GRANT OPTION;"
    fi
    if [ -n "$MYSQL_DATABASE" ]; then
        log "Creating database ${MYSQL_DATABASE}" >&2
        echo "CREATE DATABASE IF NOT EXISTS \`${MYSQL_DATABASE//\`/\`\`}\`;"
    fi
    if [ -n "$MYSQL_USER" ] && [ -n "$MYSQL_PASSWORD" ]; then
        log "Creating user ${MYSQL_USER}" >&2
        echo "CREATE USER '$(sql_escape "$MYSQL_USER")'@'%' IDENTIFIED BY '$(sql_escape "$MYSQL_PASSWORD")';"
        if [ -n "$MYSQL_DATABASE" ]; then
            log "Giving user ${MYSQL_USER} access to schema ${MYSQL_DATABASE}" >&2
            echo "GRANT ALL ON \`${MYSQL_DATABASE//\`/\`\`}\`.* TO '$(sql_escape "$MYSQL_USER")'@'%';"
        fi
    fi
}

initialise() {
    local datadir="$1"; shift
    verify_env
    log "Initializing database files"
    "$@" --initialize-insecure --default-time-zone=SYSTEM
    log "Database files initialized"

    log "Starting temporary server"
    start_temporary_server "$@"
    log "Temporary server started."

    if [ -z "${MYSQL_INITDB_SKIP_TZINFO:-}" ]; then
        mysql_tzinfo_to_sql /usr/share/zoneinfo 2>/dev/null \
            | sed 's/Local time zone must be set--see zic manual page/FCTY/' \
            | mysql --protocol=socket --socket="$socket" -uroot mysql
    fi
    # As the official image: a random password replaces one that is also given.
    if [ -n "${MYSQL_RANDOM_ROOT_PASSWORD:-}" ]; then
        # (A bounded read: `tr < /dev/urandom | head` dies of SIGPIPE, fatal under pipefail.)
        root_password="$(head -c 32 /dev/urandom | base64 | tr -dc 'A-Za-z0-9')"
        log "GENERATED ROOT PASSWORD: $root_password"
    fi
    setup_sql | mysql --protocol=socket --socket="$socket" -uroot

    run_initdb_scripts initdb_sql
    # After the scripts, which run as root with its password: the root password expires at
    # the first login, as MYSQL_ONETIME_PASSWORD asks.
    if [ -n "${MYSQL_ONETIME_PASSWORD:-}" ]; then
        echo "ALTER USER 'root'@'%' PASSWORD EXPIRE;" | client_as_root
    fi

    log "Stopping temporary server"
    stop_temporary_server
    log "Temporary server stopped"
    echo
    log "MySQL init process done. Ready for start up."
    echo
}

# `docker run image --some-option` means options for the server.
if [ "${1:0:1}" = '-' ]; then
    set -- mysqld "$@"
fi

if [ "$1" = mysqld ]; then
    read_config "$@"
    if [ "$(id -u)" = 0 ]; then
        log "Switching to dedicated user 'mysql'"
        mkdir -p "$datadir" "${socket%/*}"
        # As the official image: take back files another user's container left (find touches
        # only those, unlike chown -R on a large data directory).
        find "$datadir" "${socket%/*}" \! -user mysql -exec chown mysql:mysql '{}' +
        exec gosu mysql "$BASH_SOURCE" "$@"
    fi
    setup_env
    if [ -d "$datadir/mysql" ]; then
        log "Database directory appears to contain a database; Skipping initialization"
    else
        initialise "$datadir" "$@"
    fi
    # Init variables must not leak into the server's environment.
    unset MYSQL_ROOT_PASSWORD MYSQL_PASSWORD root_password
fi

exec "$@"
