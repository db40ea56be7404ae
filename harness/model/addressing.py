"""How the harness reaches a database container: at the container's own address, or at a port
the engine publishes on this machine's loopback.

An engine that runs on this machine's own kernel and network (rootful Docker or Podman on
Linux) puts its containers on a bridge whose gateway is an address of this machine, so a
container's address answers from here with nothing published. Publishing costs every start a
port the engine must pick and bind (Podman picks it at create and binds it only at start, so
containers created at once can take each other's: containers/podman#19048) and, on Docker, a
proxy process and firewall rules. Elsewhere (rootless engines, Docker Desktop's VM, a socket
mounted into a job container, any TCP engine) a container's address is not reachable from
here, and the port is published as before.

`HARNESS_CONNECT` overrides the choice: `published` always publishes, `address` never does.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum
from typing import Any

from harness.errors import UsageError

CONNECT_VARIABLE = "HARNESS_CONNECT"


class ConnectMode(Enum):
    AUTO = "auto"
    ADDRESS = "address"
    PUBLISHED = "published"


def connect_mode(environ: Mapping[str, str]) -> ConnectMode:
    """The mode `HARNESS_CONNECT` asks for (unset or empty: auto)."""
    value = environ.get(CONNECT_VARIABLE, "").strip().lower() or ConnectMode.AUTO.value
    try:
        return ConnectMode(value)
    except ValueError:
        choices = ", ".join(mode.value for mode in ConnectMode)
        raise UsageError(
            f"{CONNECT_VARIABLE}={value} is not one of {choices}; unset it or pick one."
        ) from None


@dataclass(frozen=True)
class EngineHost:
    """What decides whether an engine's containers are reachable at their own addresses."""

    local: bool  # reached on a unix socket of this machine, no testcontainers host override
    linux: bool  # this machine runs Linux (Docker Desktop's socket leads into a VM)
    engine_name: str  # the engine's host name from its `/info` (`Name`)
    hostname: str  # this machine's host name
    rootless: bool  # the engine says `name=rootless` (its bridge lives in a namespace of its own)

    @classmethod
    def from_info(
        cls, info: Mapping[str, Any], *, local: bool, linux: bool, hostname: str
    ) -> EngineHost:
        options = [str(option) for option in info.get("SecurityOptions") or []]
        return cls(
            local=local,
            linux=linux,
            engine_name=str(info.get("Name") or ""),
            hostname=hostname,
            rootless=any("name=rootless" in option for option in options),
        )


def reaches_by_address(mode: ConnectMode, host: EngineHost) -> bool:
    """Whether containers are reached at their own addresses (nothing published).

    Auto says yes only for an engine on this very machine: a unix socket here, Linux, not
    rootless, and the engine's host name is this machine's (a socket mounted into a job
    container, or forwarded from a VM, leads to an engine of another name)."""
    if mode is ConnectMode.PUBLISHED:
        return False
    if mode is ConnectMode.ADDRESS:
        return True
    return (
        host.local
        and host.linux
        and not host.rootless
        and bool(host.engine_name)
        and host.engine_name == host.hostname
    )


@dataclass(frozen=True)
class ContainerAddress:
    """A container's IPv4 address on one of its networks, and that network's gateway."""

    address: str
    gateway: str
    prefix_length: int

    @property
    def network(self) -> ipaddress.IPv4Network:
        return ipaddress.IPv4Network(f"{self.gateway}/{self.prefix_length}", strict=False)


def container_addresses(network_settings: Mapping[str, Any]) -> list[ContainerAddress]:
    """Every network's IPv4 address of a container, from its inspect `NetworkSettings`, in the
    engine's order; a network without an address or gateway (`host`, `none`) is skipped."""
    networks = network_settings.get("Networks") or {}
    found: list[ContainerAddress] = []
    for settings in networks.values():
        address = str((settings or {}).get("IPAddress") or "")
        gateway = str((settings or {}).get("Gateway") or "")
        if address and gateway:
            prefix = int((settings or {}).get("IPPrefixLen") or 32)
            candidate = ContainerAddress(address, gateway, prefix)
            if candidate not in found:
                found.append(candidate)
    return found
