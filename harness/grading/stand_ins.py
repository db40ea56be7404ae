"""The images that stand in for `mysql`, `mariadb` and `postgres` in a student's work.

A student types `docker run ... mysql` and `FROM mysql:8.0`; the grader runs the configured
image source instead (the local images where no registry is reachable: the version the stand-in
table gives for the typed tag) and says which image stood in, and when it is another major
version than the one typed, so a score never depends on what a registry happened to serve.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from harness.images.sources import ImageChoice, versioned_stand_ins
from harness.model.servers.stand_in_table import DATABASE_OF_NAME
from harness.model.spec import image_name

# A typed ref -> the local build of its table version and the other-major sentence (None: the
# database's chosen image stands in).
VersionedStandIn = Callable[[str], tuple[str, str | None] | None]

# `FROM [--platform=...] image [AS stage]`, keeping everything but the image.
_FROM = re.compile(r"^(?P<head>\s*FROM\s+(?:--\S+\s+)*)(?P<image>\S+)(?P<tail>.*)$", re.I | re.M)


@dataclass(frozen=True)
class StandIn:
    typed: str  # what the student wrote
    database: str
    ref: str  # the image that ran
    other_major: str | None = None  # said when the stand-in is not the typed major

    def describe(self) -> str:
        other = f"; {self.other_major}" if self.other_major else ""
        return f"{self.typed} ran as {self.ref}{other}"


@dataclass(frozen=True)
class StandIns:
    images: Mapping[str, str]  # database -> image reference
    by_version: VersionedStandIn | None = None

    def for_image(self, typed: str) -> StandIn | None:
        database = DATABASE_OF_NAME.get(image_name(typed))
        if database is None or database not in self.images:
            return None
        versioned = self.by_version(typed) if self.by_version else None
        ref, other_major = versioned or (self.images[database], None)
        return StandIn(typed, database, ref, other_major)

    def rewrite_dockerfile(self, text: str) -> tuple[str, list[StandIn]]:
        """The Dockerfile with each `FROM mysql|mariadb|postgres[:tag]` pointing at the stand-in,
        and the replacements made (in order)."""
        made: list[StandIn] = []

        def replace(match: re.Match[str]) -> str:
            stand_in = self.for_image(match["image"])
            if stand_in is None:
                return match[0]
            made.append(stand_in)
            return f"{match['head']}{stand_in.ref}{match['tail']}"

        return _FROM.sub(replace, text), made


def stand_ins_of(choices: list[ImageChoice], present: Callable[[str], bool]) -> StandIns:
    """The run's chosen images; for a local one, the table's version of each typed tag when
    `present` says its build is on the engine."""
    return StandIns({c.database: c.ref for c in choices}, versioned_stand_ins(choices, present))
