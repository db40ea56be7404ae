"""Which local server version stands in for an official image ref, and whether it is the ref's
major version.

Offline, a `mysql:8.4` line or a `postgres:16` service runs on a locally built server. Each tag
goes to the nearest local version at or above it, else the newest (`mysql:5.7`, `mysql:8.4`,
`mysql:9`, `mysql` -> MySQL 9.7; `mariadb:10.6` -> 10.11; `postgres:14` -> 15, `postgres:16`
-> 17, `postgres:18.1` -> 18). Whether the data survives a storage mode and an action does not
depend on the server's version, so those verdicts stand across versions; a refusal to start
does, so a refusal is judged only when the stand-in is the ref's own major.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import PurePosixPath

from harness.model.servers.versions import (
    OFFICIAL_DEFAULT,
    ServerVersion,
    versions_of,
)
from harness.model.spec import image_name

# The official image names the harness knows -> the database whose versions stand in for them.
DATABASE_OF_NAME = {"mysql": "mysql", "mariadb": "mariadb", "postgres": "postgres"}
# Tags that mean the image's current default version.
_DEFAULT_TAGS = frozenset({"", "latest"})
_NUMBERS = re.compile(r"^(\d+(?:\.\d+)*)")


def image_tag(ref: str) -> str:
    """`postgres:18.1-alpine` -> `18.1-alpine`; `mysql` -> ``; a digest is dropped."""
    last = PurePosixPath(ref.split("@", 1)[0]).name
    return last.partition(":")[2]


def _numbers(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in text.split("."))


def tag_version(ref: str) -> str | None:
    """The version a ref's tag names (`18.1`, `8.4.3`, `9`); for an untagged or `latest` ref the
    image's current default major; None when the tag names none (`lts`, `alpine`)."""
    tag = image_tag(ref)
    database = DATABASE_OF_NAME.get(image_name(ref))
    if tag in _DEFAULT_TAGS and database:
        return OFFICIAL_DEFAULT[database]
    found = _NUMBERS.match(tag)
    return found[1] if found else None


def _same_major(asked: tuple[int, ...], local: tuple[int, ...]) -> bool:
    """`9` and `9.7.4` are MySQL 9.7's; `18.1` is PostgreSQL 18's; `9.1` is not MySQL 9.7's."""
    width = min(len(asked), len(local))
    return asked[:width] == local[:width]


@dataclass(frozen=True)
class StandInVersion:
    """The local version that runs for a ref the user typed."""

    typed: str
    version: ServerVersion
    asked: str | None  # the version the ref names (None: its tag names none)

    @property
    def same_major(self) -> bool:
        return self.asked is not None and _same_major(
            _numbers(self.asked), _numbers(self.version.version)
        )

    def other_major(self) -> str | None:
        """The sentence every report carries when the stand-in is another major (None: it is
        the ref's own)."""
        if self.same_major:
            return None
        named = f"version {self.asked}" if self.asked else "no version in its tag"
        return (
            f"{self.typed} ({named}) ran on {self.version.label}, the nearest version built "
            "here: its verdicts on storage stand, a refusal to start would not"
        )


def stand_in_for(typed: str) -> StandInVersion | None:
    """The local version for an official ref: the nearest at or above the tag's, else the
    newest; None for an image the harness does not know by name, or a database with no local
    version."""
    database = DATABASE_OF_NAME.get(image_name(typed))
    local = versions_of(database, local=True) if database else []
    if not local:
        return None
    asked = tag_version(typed)
    if asked is None:
        return StandInVersion(typed, local[-1], None)
    wanted = _numbers(asked)
    for version in local:  # oldest first
        numbers = _numbers(version.version)
        if numbers[: len(wanted)] >= wanted[: len(numbers)]:
            return StandInVersion(typed, version, asked)
    return StandInVersion(typed, local[-1], asked)


__all__ = ["DATABASE_OF_NAME", "StandInVersion", "image_tag", "stand_in_for"]
