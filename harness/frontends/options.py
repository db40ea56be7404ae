"""The image options, defined once for the command line and the pytest plugin."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from harness.images.recipes import DATABASE_IMAGES
from harness.images.sources import ImageSource, override_option, resolve_source


@dataclass(frozen=True)
class Option:
    flag: str
    dest: str
    help: str
    choices: tuple[str, ...] | None = None
    metavar: str | None = None

    def add_to(self, add: Callable[..., Any]) -> None:
        """Register with argparse's `add_argument` or pytest's `addoption` (same keywords)."""
        extra: dict[str, Any] = {"choices": list(self.choices)} if self.choices else {}
        if self.metavar:
            extra["metavar"] = self.metavar
        add(self.flag, dest=self.dest, default=None, help=self.help, **extra)


IMAGE_OPTIONS: tuple[Option, ...] = (
    Option(
        "--images",
        "images",
        "image source: official (mysql:8.4, postgres:17), local (built here from Debian "
        "packages) or auto (official when present); default: $HARNESS_IMAGES or auto. Tests "
        "never pull.",
        choices=tuple(s.value for s in ImageSource),
    ),
    *(
        Option(override_option(db), f"{db}_image", f"use this image for {db}", metavar="REF")
        for db in DATABASE_IMAGES
    ),
)


@dataclass(frozen=True)
class ImageRequest:
    """What the user asked for: a source and per-database overrides."""

    source: ImageSource
    overrides: Mapping[str, str | None]

    @classmethod
    def read(cls, value_of: Callable[[str], Any], environ: Mapping[str, str]) -> ImageRequest:
        """From parsed options (`value_of(dest)`); a bad source is a UsageError here."""
        source = resolve_source(value_of("images"), environ)
        return cls(source, {db: value_of(f"{db}_image") for db in DATABASE_IMAGES})
