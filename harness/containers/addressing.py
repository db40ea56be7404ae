"""A running container's own address, checked to be reachable from this machine."""

from __future__ import annotations

import socket
from collections.abc import Callable, Mapping
from typing import Any

from harness.containers.engine import Engine
from harness.errors import HarnessError
from harness.model.addressing import CONNECT_VARIABLE, container_addresses
from harness.model.loopback import LOOPBACK_IPV4, remember_local_bridge

# Gateways found to be this machine's (an interface, once up, keeps its address for the run).
_GATEWAYS_HERE: set[str] = set()


def gateway_is_here(gateway: str) -> bool:
    """Whether `gateway` is an address of this machine: only then can a socket bind to it.

    The bridge the engine puts its containers on has its gateway on this machine's side (docker0,
    podman0, a compose project's bridge) when the engine shares this machine's network; a
    rootless engine's or a VM's bridge does not."""
    if gateway in _GATEWAYS_HERE:
        return True
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
            probe.bind((gateway, 0))
    except OSError:
        return False
    _GATEWAYS_HERE.add(gateway)
    return True


def compose_ports_entry(engine: Engine, port: int) -> str | None:
    """The `ports:` entry of a compose service the harness runs: none when the container is
    reached at its own address, `127.0.0.1::PORT` (a free port on loopback) on another engine
    reached at a loopback address, else `PORT` (wherever the engine publishes)."""
    if engine.reaches_by_address:
        return None
    return f"{engine.publish_ip}::{port}" if engine.publish_ip else str(port)


def endpoint_of(
    network_settings: Mapping[str, Any],
    port: int,
    engine: Engine,
    container: str,
    remote_host: Callable[[], str | None],
) -> tuple[str, int]:
    """Where `port` of a running container is reached from here, from its inspect
    `NetworkSettings`: its own address when nothing is published for it (an engine of this
    machine), the loopback address it was published on (`Engine.publish_ip`), else the port at
    `remote_host()` (a TCP engine's address, a docker-in-docker gateway)."""
    bindings = (network_settings.get("Ports") or {}).get(f"{port}/tcp") or []
    if not bindings and engine.reaches_by_address:
        return reachable_address(network_settings, container), port
    if not bindings:
        raise HarnessError(f"Container {container} publishes no host port for {port}/tcp.")
    host_port = int(bindings[0]["HostPort"])
    if engine.publish_ip:
        return engine.publish_ip, host_port
    return remote_host() or LOOPBACK_IPV4, host_port


def reachable_address(network_settings: Mapping[str, Any], container: str) -> str:
    """The address of `container` on its first network whose gateway is this machine's."""
    for candidate in container_addresses(network_settings):
        if gateway_is_here(candidate.gateway):
            remember_local_bridge(candidate.network)
            return candidate.address
    raise HarnessError(
        f"Container {container} has no address this machine reaches (no network of it has its "
        f"gateway here); set {CONNECT_VARIABLE}=published to reach it at a published port."
    )
