#!/bin/bash
# Entrypoint with the official mariadb image's contract, for Debian's MariaDB.
set -eo pipefail

# log, error, file_env: shared with the other database images.
source /usr/local/lib/harness/entrypoint-lib.sh

sql_escape() { sed -e "s/\\\\/\\\\\\\\/g" -e "s/'/\\\\'/g" <<< "$1"; }

datadir_of() {
    "$@" --verbose --help 2>/dev/null | awk '$1 == "datadir" { print $2; exit }'
}

socket=/run/mysqld/mysqld.sock

# Credentials go through a file descriptor, never the command line (ps shows argv).
client_as_root() {
    mariadb --defaults-extra-file=<(printf '[client]\npassword="%s"\n' "${root_password}") \
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

# The SQL of /docker-entrypoint-initdb.d, on stdin, runs against the database variable's database
# (entrypoint-lib's run_initdb_scripts runs the folder as the official image does).
initdb_sql() { client_as_root ${database:+"$database"}; }

# The official mariadb image's variables: MARIADB_* and, where one is unset, its MYSQL_* alias.
# The harness's variables table (harness/model/servers/image_variables.py) has the same rows; a
# contract test holds them together.
# As the official mariadb image: MARIADB_X, else MYSQL_X (each also from its _FILE), and both
# end up the same so that init scripts may read either.
mariadb_file_env() {
    local var="$1"; shift
    local maria="MARIADB_${var#MYSQL_}"
    file_env "$var" "$@"
    file_env "$maria" "${!var}"
    if [ -n "${!maria:-}" ]; then export "$var"="${!maria}"; fi
}

setup_env() {
    local refused
    for refused in MARIADB_REPLICATION_USER MARIADB_REPLICATION_PASSWORD \
        MARIADB_REPLICATION_PASSWORD_HASH MARIADB_MASTER_HOST; do
        local file_var="${refused}_FILE"
        if [ -n "${!refused:-}" ] || [ -n "${!file_var:-}" ]; then
            error "$refused is not supported by this stand-in: replication needs a second server, and the harness checks one server's own data; run the primary without it"
        fi
    done
    if [ -n "${MARIADB_HEALTHCHECK_GRANTS:-}" ]; then
        error "MARIADB_HEALTHCHECK_GRANTS is not supported by this stand-in: it ships no healthcheck.sh, so a healthcheck user would check nothing; drop it or use your own image"
    fi
    mariadb_file_env MYSQL_ROOT_HOST '%'
    mariadb_file_env MYSQL_DATABASE
    mariadb_file_env MYSQL_USER
    mariadb_file_env MYSQL_PASSWORD
    mariadb_file_env MYSQL_ROOT_PASSWORD
    file_env MARIADB_PASSWORD_HASH
    file_env MARIADB_ROOT_PASSWORD_HASH
    : "${MARIADB_ALLOW_EMPTY_ROOT_PASSWORD:=${MYSQL_ALLOW_EMPTY_PASSWORD:-}}"
    : "${MARIADB_RANDOM_ROOT_PASSWORD:=${MYSQL_RANDOM_ROOT_PASSWORD:-}}"
    : "${MARIADB_INITDB_SKIP_TZINFO:=${MYSQL_INITDB_SKIP_TZINFO:-}}"
    export MYSQL_ALLOW_EMPTY_PASSWORD="$MARIADB_ALLOW_EMPTY_ROOT_PASSWORD" MARIADB_ALLOW_EMPTY_ROOT_PASSWORD
    export MYSQL_RANDOM_ROOT_PASSWORD="$MARIADB_RANDOM_ROOT_PASSWORD" MARIADB_RANDOM_ROOT_PASSWORD
    export MYSQL_INITDB_SKIP_TZINFO="$MARIADB_INITDB_SKIP_TZINFO" MARIADB_INITDB_SKIP_TZINFO
    root_password="$MARIADB_ROOT_PASSWORD"
    root_password_hash="$MARIADB_ROOT_PASSWORD_HASH"
    allow_empty="$MARIADB_ALLOW_EMPTY_ROOT_PASSWORD"
    random_root="$MARIADB_RANDOM_ROOT_PASSWORD"
    root_host="$MARIADB_ROOT_HOST"
    database="$MARIADB_DATABASE"
    user="$MARIADB_USER"
    password="$MARIADB_PASSWORD"
    password_hash="$MARIADB_PASSWORD_HASH"
    skip_tzinfo="$MARIADB_INITDB_SKIP_TZINFO"
    # Unset or 0: only log that an upgrade is needed, as the official image does.
    auto_upgrade="${MARIADB_AUTO_UPGRADE:-}"
    [ "$auto_upgrade" != 0 ] || auto_upgrade=
    localhost_user="${MARIADB_MYSQL_LOCALHOST_USER:-}"
    localhost_grants="${MARIADB_MYSQL_LOCALHOST_GRANTS:-}"
    root_options="MARIADB_ROOT_PASSWORD, MARIADB_ROOT_PASSWORD_HASH, MARIADB_ALLOW_EMPTY_ROOT_PASSWORD and MARIADB_RANDOM_ROOT_PASSWORD"
}

check_config() {
    if [ -z "$root_password" ] && [ -z "$root_password_hash" ] && [ -z "$allow_empty" ] && [ -z "$random_root" ]; then
        error "Database is uninitialized and password option is not specified
    You need to specify one of $root_options"
    fi
    if [ -n "$root_password_hash" ] && { [ -n "$root_password" ] || [ -n "$allow_empty" ] || [ -n "$random_root" ]; }; then
        error "Cannot specify MARIADB_ROOT_PASSWORD_HASH and another MARIADB_ROOT_PASSWORD* option."
    fi
    if [ -n "$password" ] && [ -n "$password_hash" ]; then
        error "Cannot specify MARIADB_PASSWORD_HASH and MARIADB_PASSWORD option."
    fi
    if [ "$user" = root ]; then
        error "the user variable is root, but it configures a regular user; use the root password variables for root"
    fi
    if [ -n "$user" ] && [ -z "$password" ] && [ -z "$password_hash" ]; then
        log "Warning: a user is named but has no password; it will not be created"
    fi
}

# The SQL that sets up the accounts and the database, as the official image's docker_setup_db.
setup_sql() {
    local root_pw user_pw host
    root_pw="$(sql_escape "$root_password")"
    host="$(sql_escape "$root_host")"
    # mariadb-install-db creates anonymous and per-host root accounts; the official image
    # keeps only root@localhost and root@ROOT_HOST.
    echo "DELETE FROM mysql.global_priv WHERE User = '' OR Host NOT IN ('localhost');"
    echo "DELETE FROM mysql.proxies_priv WHERE Host NOT IN ('localhost');"
    if [ -n "$root_host" ] && [ "$root_host" != localhost ]; then
        if [ -n "$root_password_hash" ]; then
            echo "CREATE USER 'root'@'${host}' IDENTIFIED BY PASSWORD '$(sql_escape "$root_password_hash")';"
        else
            echo "CREATE USER 'root'@'${host}' IDENTIFIED BY '${root_pw}';"
        fi
        echo "GRANT ALL ON *.* TO 'root'@'${host}' WITH GRANT OPTION;"
        echo "GRANT PROXY ON ''@'%' TO 'root'@'${host}' WITH GRANT OPTION;"
    fi
    if [ -n "$localhost_user" ]; then
        echo "CREATE USER mysql@localhost IDENTIFIED VIA unix_socket;"
        if [ -n "$localhost_grants" ]; then
            echo "GRANT ${localhost_grants} ON *.* TO mysql@localhost;"
        fi
    fi
    # With a hash, root@localhost gets it after the init scripts (they run as root, passwordless).
    [ -n "$root_password_hash" ] || echo "ALTER USER 'root'@'localhost' IDENTIFIED BY '${root_pw}';"
    if [ -n "$database" ]; then
        log "Creating database ${database}" >&2
        echo "CREATE DATABASE IF NOT EXISTS \`${database//\`/\`\`}\`;"
    fi
    if [ -n "$user" ] && { [ -n "$password" ] || [ -n "$password_hash" ]; }; then
        log "Creating user ${user}" >&2
        if [ -n "$password_hash" ]; then
            user_pw="PASSWORD '$(sql_escape "$password_hash")'"
        else
            user_pw="'$(sql_escape "$password")'"
        fi
        echo "CREATE USER '$(sql_escape "$user")'@'%' IDENTIFIED BY ${user_pw};"
        if [ -n "$database" ]; then
            log "Giving user ${user} access to schema ${database}" >&2
            echo "GRANT ALL ON \`${database//\`/\`\`}\`.* TO '$(sql_escape "$user")'@'%';"
        fi
    fi
    echo "FLUSH PRIVILEGES;"
}

# After the init scripts: what would lock them out (a hash nobody knows, an expired password).
finish_sql() {
    if [ -n "$root_password_hash" ]; then
        echo "SET PASSWORD FOR 'root'@'localhost' = '$(sql_escape "$root_password_hash")';"
    fi
}

initialise() {
    local datadir="$1"; shift
    check_config

    log "Initializing database files"
    mariadb-install-db --datadir="$datadir" --skip-test-db --skip-name-resolve \
        --auth-root-authentication-method=normal --rpm >/dev/null
    log "Database files initialized"

    log "Starting temporary server"
    start_temporary_server "$@"
    log "Temporary server started."

    if [ -z "$skip_tzinfo" ]; then
        mariadb-tzinfo-to-sql --skip-write-binlog /usr/share/zoneinfo 2>/dev/null \
            | mariadb --protocol=socket --socket="$socket" -uroot mysql
    fi
    # As the official images: a random password replaces one that is also given.
    if [ -n "$random_root" ]; then
        # (A bounded read: `tr < /dev/urandom | head` dies of SIGPIPE, fatal under pipefail.)
        root_password="$(head -c 32 /dev/urandom | base64 | tr -dc 'A-Za-z0-9')"
        log "GENERATED ROOT PASSWORD: $root_password"
    fi
    setup_sql | mariadb --protocol=socket --socket="$socket" -uroot

    # As root with its password (with only a hash, root@localhost has none until finish_sql).
    run_initdb_scripts initdb_sql
    finish_sql | client_as_root

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
    if [ -z "$auto_upgrade" ]; then
        log "MariaDB upgrade (mariadb-upgrade) required from ${data:-an unknown version} to $server, but skipped: MARIADB_AUTO_UPGRADE is not set"
        return 0
    fi
    # (The official image backs up the system tables first unless MARIADB_DISABLE_UPGRADE_BACKUP
    # is set; the stand-ins take no backup, so that variable has nothing to disable.)
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
    setup_env
    if [ -d "$datadir/mysql" ]; then
        log "Database directory appears to contain a database; Skipping initialization"
        upgrade_if_needed "$datadir" "$@"
    else
        initialise "$datadir" "$@"
    fi
    # Init variables must not leak into the server's environment.
    unset MYSQL_ROOT_PASSWORD MYSQL_PASSWORD MARIADB_ROOT_PASSWORD MARIADB_PASSWORD \
        MARIADB_ROOT_PASSWORD_HASH MARIADB_PASSWORD_HASH root_password password
fi

exec "$@"
