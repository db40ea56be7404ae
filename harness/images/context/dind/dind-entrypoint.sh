#!/bin/bash
# dind-entrypoint.sh BRIDGE CIDR ADDRESS: a bridge of its own (the host's docker0 is the host
# engine's), then dockerd on tcp://ADDRESS:2375 publishing ports on ADDRESS. With host
# networking the bridge lives in the host's namespace, so it is removed again on exit.
set -euo pipefail
bridge="$1" cidr="$2" address="$3"
ip link add "$bridge" type bridge 2>/dev/null || true
ip addr replace "$cidr" dev "$bridge"
ip link set "$bridge" up
trap 'ip link del "$bridge" 2>/dev/null || true' EXIT
# cgroup v1 hosts: dockerd wants the hierarchies it finds mounted; nothing to do on v2.
# Docker 25+ disables IPv6 on each container's interface and fails the container when it cannot
# (this kernel's sysctl is not writable from here); the variable makes that a warning. 20.10
# ignores it.
export DOCKER_ALLOW_IPV6_ON_IPV4_INTERFACE=1
dockerd -H "tcp://${address}:2375" --ip "$address" -b "$bridge" --iptables=false \
    --storage-driver overlay2 --pidfile "/run/dockerd-${bridge}.pid" \
    --exec-root "/run/docker-${bridge}" &
pid=$!
trap 'kill -TERM "$pid" 2>/dev/null; wait "$pid"; ip link del "$bridge" 2>/dev/null || true' TERM INT
wait "$pid"
