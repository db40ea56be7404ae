# Shell helpers every database entrypoint shares (sourced, not run): the official images'
# log format and their `<VAR>_FILE` contract. Built into each database image's context.

log() { printf '%s [Entrypoint]: %s\n' "$(date --rfc-3339=seconds)" "$*"; }
error() { log "ERROR: $*" >&2; exit 1; }

# VAR_FILE=/path reads VAR from a file (Docker secrets); setting both is ambiguous.
file_env() {
    local var="$1" file_var="${1}_FILE" default="${2:-}"
    if [ -n "${!var:-}" ] && [ -n "${!file_var:-}" ]; then
        error "both $var and $file_var are set (but are exclusive)"
    fi
    local value="$default"
    if [ -n "${!var:-}" ]; then
        value="${!var}"
    elif [ -n "${!file_var:-}" ]; then
        value="$(< "${!file_var}")"
    fi
    export "$var"="$value"
    unset "$file_var"
}

# As the official images: the scripts in /docker-entrypoint-initdb.d run once, on the first
# initialisation, in name order. An executable .sh is run, any other .sh is sourced (so it sees
# the entrypoint's variables); SQL, plain or compressed, is piped into the function named by $1
# (the database's own client, reading SQL on stdin).
run_initdb_scripts() {
    local run_sql="$1" f
    for f in /docker-entrypoint-initdb.d/*; do
        case "$f" in
            *.sh)
                if [ -x "$f" ]; then log "running $f"; "$f"; else log "sourcing $f"; . "$f"; fi ;;
            *.sql)     log "running $f"; "$run_sql" < "$f" ;;
            *.sql.gz)  log "running $f"; gunzip -c "$f" | "$run_sql" ;;
            *.sql.bz2) log "running $f"; bunzip2 -c "$f" | "$run_sql" ;;
            *.sql.xz)  log "running $f"; xzcat "$f" | "$run_sql" ;;
            *.sql.zst) log "running $f"; zstd -dc "$f" | "$run_sql" ;;
            *)         if [ -e "$f" ]; then log "ignoring $f"; fi ;;
        esac
    done
}
