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
