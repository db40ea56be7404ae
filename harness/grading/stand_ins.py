"""The images that stand in for `mysql`, `mariadb` and `postgres` in a student's work.

A student types `docker run ... mysql` and `FROM mysql:8.0`; the grader runs the configured
image source instead (the local images where no registry is reachable) and says which image
stood in, so a score never depends on what a registry happened to serve.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from harness.model.spec import image_name

# The name a student types -> the database profile whose image stands in for it.
DATABASE_OF_NAME: Mapping[str, str] = {"mysql": "mysql", "mariadb": "mysql", "postgres": "postgres"}

# `FROM [--platform=...] image [AS stage]`, keeping everything but the image.
_FROM = re.compile(r"^(?P<head>\s*FROM\s+(?:--\S+\s+)*)(?P<image>\S+)(?P<tail>.*)$", re.I | re.M)


@dataclass(frozen=True)
class StandIn:
    typed: str  # what the student wrote
    database: str
    ref: str  # the image that ran

    def describe(self) -> str:
        return f"{self.typed} ran as {self.ref}"


@dataclass(frozen=True)
class StandIns:
    images: Mapping[str, str]  # database -> image reference

    def for_image(self, typed: str) -> StandIn | None:
        database = DATABASE_OF_NAME.get(image_name(typed))
        if database is None or database not in self.images:
            return None
        return StandIn(typed, database, self.images[database])

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
