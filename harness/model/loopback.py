"""Whether an address stays on this machine: then no TLS and no proxy is worth its cost."""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

LOOPBACK_IPV4 = "127.0.0.1"
# Container bridges whose gateway was found to be an address of this machine (see
# harness.containers.addressing): their containers' addresses stay on this machine too.
_LOCAL_BRIDGES: set[ipaddress.IPv4Network] = set()


def remember_local_bridge(network: ipaddress.IPv4Network) -> None:
    """Record a container network whose gateway is this machine's own."""
    _LOCAL_BRIDGES.add(network)


def on_this_machine(host: str) -> bool:
    """A loopback name or address (`localhost`, 127.0.0.0/8, ::1), or a container's address
    on a bridge of this machine."""
    if host == "localhost":
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    return address.is_loopback or any(address in bridge for bridge in _LOCAL_BRIDGES)


def url_on_this_machine(url: str) -> bool:
    """The same for a URL; the Docker SDK names a unix socket `http+docker://localhost`."""
    return on_this_machine(urlsplit(url).hostname or "")


def loopback_publish_ip(url: str) -> str | None:
    """The IPv4 loopback address an engine at `url` can publish ports on and be reached at,
    if it is reached on one: 127.0.0.1 for a unix socket (`http+docker://localhost`) or
    `localhost`, the address itself for 127.x.y.z (a TCP engine or proxy on this machine, which
    publishes on every interface by default). None elsewhere: a remote engine's ports must be
    published where this machine reaches them, and `[::1]` has no `ports:` spelling of its own."""
    host = urlsplit(url).hostname or ""
    if host == "localhost":
        return LOOPBACK_IPV4
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return None
    return host if address.version == 4 and address.is_loopback else None
