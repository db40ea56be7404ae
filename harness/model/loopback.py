"""Whether an address stays on this machine: then no TLS and no proxy is worth its cost."""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit


def on_this_machine(host: str) -> bool:
    """A loopback name or address (`localhost`, 127.0.0.0/8, ::1)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def url_on_this_machine(url: str) -> bool:
    """The same for a URL; the Docker SDK names a unix socket `http+docker://localhost`."""
    return on_this_machine(urlsplit(url).hostname or "")
