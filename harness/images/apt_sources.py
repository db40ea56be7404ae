"""The apt sources a debootstrapped base image gets, and when apt may skip a Release's expiry.

A Debian `Release` file carries `Valid-Until`: apt refuses metadata past it, which protects
against a mirror replaying old (vulnerable) package lists. Some mirrors serve suites whose
Release has expired (measured here: sid and forky). For those suites only, and saying so in the
build's output, the sources line carries `[check-valid-until=no]`; every other suite keeps the
check.
"""

from __future__ import annotations

import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

from harness.errors import ImageBuildFailed

# sid (unstable) has no -updates or -security suites: its packages are fixed by new uploads.
_ROLLING = frozenset({"sid", "unstable"})


@dataclass(frozen=True)
class SuiteSource:
    """One `deb` line: a suite on a mirror, and whether its Release had expired when read."""

    mirror: str
    suite: str
    expired_on: datetime | None = None

    def line(self) -> str:
        option = "[check-valid-until=no] " if self.expired_on else ""
        return f"deb {option}{self.mirror} {self.suite} main"

    def notice(self) -> str | None:
        """What the build says when it switches the expiry check off for this suite."""
        if self.expired_on is None:
            return None
        return (
            f"{self.mirror} {self.suite}: its Release expired on {self.expired_on:%Y-%m-%d}; "
            "apt's Valid-Until check is off for this suite only"
        )


def valid_until(release_text: str) -> datetime | None:
    """The `Valid-Until` date of a Release file's header, or None when it has none."""
    for line in release_text.splitlines():
        if not line.strip():
            break  # the header ends at the first blank line
        key, _, value = line.partition(":")
        if key.strip() == "Valid-Until":
            try:
                return parsedate_to_datetime(value.strip()).astimezone(UTC)
            except (TypeError, ValueError):
                return None
    return None


def expired_on(release_text: str, now: datetime) -> datetime | None:
    """The expiry date when it has passed, else None."""
    until = valid_until(release_text)
    return until if until is not None and until < now else None


ReleaseReader = Callable[[str], str | None]


def read_release(url: str) -> str | None:
    """The Release file at `url`, or None when the mirror does not carry that suite."""
    try:
        with urllib.request.urlopen(url, timeout=30) as response:  # noqa: S310 - a mirror URL
            return str(response.read().decode("utf-8", errors="replace"))
    except urllib.error.HTTPError as error:
        if error.code == 404:
            return None
        raise ImageBuildFailed(
            f"Debian's mirror answered {error.code} for {url}; check the mirror and try again."
        ) from None
    except (urllib.error.URLError, OSError) as error:
        reason = getattr(error, "reason", error)
        raise ImageBuildFailed(
            f"Cannot read {url} ({reason}); check that Debian's mirror is reachable."
        ) from None


def suite_sources(
    suite: str,
    mirror: str,
    now: datetime,
    read: ReleaseReader = read_release,
) -> list[SuiteSource]:
    """The suite itself and, where the mirror carries them, its -updates and -security suites,
    each marked when its Release has expired."""
    security = mirror.replace("/debian", "/debian-security")
    candidates = [(mirror, suite)]
    if suite not in _ROLLING:
        candidates += [(mirror, f"{suite}-updates"), (security, f"{suite}-security")]
    sources = []
    for base, name in candidates:
        release = read(f"{base}/dists/{name}/Release")
        if release is None:
            continue
        sources.append(SuiteSource(base, name, expired_on(release, now)))
    return sources
