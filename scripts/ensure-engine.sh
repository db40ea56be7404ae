#!/usr/bin/env bash
# Ensure a Docker engine answers; start or install one when none does.
#
# Order: an engine that already answers (DOCKER_HOST or the default socket) ->
# an installed dockerd started in the background -> as root on Debian/Ubuntu,
# Debian's docker.io installed with apt, then started. Quiet when all is well.
# Exit 2 with one sentence when none of these is possible.
set -euo pipefail

log_file=${HARNESS_DOCKERD_LOG:-/var/log/harness-dockerd.log}
# How long a started dockerd gets to answer (HARNESS_ENGINE_WAIT is another wait: a run's for
# its engine to come back).
wait_seconds=${HARNESS_DOCKERD_WAIT:-60}

say() { printf 'engine: %s\n' "$*" >&2; }
fail() { say "$*"; exit 2; }

engine_answers() {
    command -v docker >/dev/null 2>&1 && docker version --format '{{.Server.Version}}' >/dev/null 2>&1
}

target() {
    if [ -n "${DOCKER_HOST:-}" ]; then echo "DOCKER_HOST=$DOCKER_HOST"; else echo "the socket /var/run/docker.sock"; fi
}

install_engine() {
    [ "$(id -u)" -eq 0 ] || fail "no Docker engine answers at $(target) and none is installed; install Docker (or run 'make engine' as root) and try again."
    command -v apt-get >/dev/null 2>&1 || fail "no Docker engine answers at $(target) and this is not a Debian/Ubuntu machine; install and start Docker, then try again."
    say "installing Debian's docker.io with apt (about 30 s)..."
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >/dev/null
    apt-get install -y -qq docker.io >/dev/null
}

# Alive and not a zombie: a killed process whose parent has not reaped it still has a pid.
pid_alive() {
    local state
    state=$(ps -o stat= -p "$1" 2>/dev/null) && [ "${state:0:1}" != Z ]
}

# A dockerd that was killed (not stopped) leaves its pid files behind, and a
# fresh dockerd refuses to start while they name a pid. Remove them only when
# no live process has that pid.
remove_stale_pid_files() {
    local pid_file pid
    for pid_file in /var/run/docker.pid /var/run/docker/containerd/containerd.pid; do
        [ -f "$pid_file" ] || continue
        pid=$(cat "$pid_file" 2>/dev/null || true)
        if [ -z "$pid" ] || ! pid_alive "$pid"; then
            rm -f "$pid_file"
        fi
    done
}

# A live dockerd (a killed one can linger a moment as a zombie, which counts as gone).
dockerd_alive() {
    ps -C dockerd -o stat= 2>/dev/null | grep -qv '^Z'
}

start_dockerd() {
    [ "$(id -u)" -eq 0 ] || fail "dockerd is installed but not running and starting it needs root; start the Docker service (e.g. 'sudo systemctl start docker') and try again."
    local deadline=$((SECONDS + wait_seconds)) launched=0
    until engine_answers; do
        if ! dockerd_alive; then
            if [ "$launched" -eq 1 ]; then
                fail "dockerd exited while starting; read $log_file for the reason."
            fi
            remove_stale_pid_files
            say "starting dockerd in the background (log: $log_file)..."
            mkdir -p "$(dirname "$log_file")"
            # setsid: the engine must outlive the make process that started it.
            setsid nohup dockerd >"$log_file" 2>&1 </dev/null &
            launched=1
        fi
        if [ "$SECONDS" -ge "$deadline" ]; then
            fail "dockerd did not answer within ${wait_seconds} s; read $log_file for the reason."
        fi
        sleep 0.5
    done
    say "dockerd answers ($(docker version --format '{{.Server.Version}}'))."
}

engine_answers && exit 0
# Somebody else's engine (a remote DOCKER_HOST) is not ours to start.
if [ -n "${DOCKER_HOST:-}" ] && [ "${DOCKER_HOST#unix://}" = "$DOCKER_HOST" ]; then
    fail "no Docker engine answers at DOCKER_HOST=$DOCKER_HOST; start that engine or unset DOCKER_HOST."
fi
command -v dockerd >/dev/null 2>&1 || install_engine
start_dockerd
