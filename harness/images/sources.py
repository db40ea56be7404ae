"""Which image each database runs: the official one, a locally built one, or the user's."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum

from harness.errors import ImageMissing, UsageError
from harness.images.recipes import DATABASE_IMAGES

OFFICIAL_REFS: dict[str, str] = {"mysql": "mysql:8.4", "postgres": "postgres:17"}
ENV_VARIABLE = "HARNESS_IMAGES"


class ImageSource(StrEnum):
    AUTO = "auto"
    OFFICIAL = "official"
    LOCAL = "local"


def resolve_source(option: str | None, environ: Mapping[str, str]) -> ImageSource:
    """The command-line option wins over HARNESS_IMAGES; `auto` when neither is set."""
    value = option or environ.get(ENV_VARIABLE) or ImageSource.AUTO.value
    try:
        return ImageSource(value.strip().lower())
    except ValueError:
        choices = ", ".join(s.value for s in ImageSource)
        origin = "--images" if option else ENV_VARIABLE
        raise UsageError(
            f"{origin}={value!r} is not an image source; use one of: {choices}."
        ) from None


@dataclass(frozen=True)
class ImageChoice:
    database: str
    ref: str
    origin: str  # "official", "local" or "override"

    def describe(self) -> str:
        return f"{self.database}={self.ref} ({self.origin})"


def choose_images(
    source: ImageSource,
    overrides: Mapping[str, str | None],
    official_available: Callable[[str], bool],
    databases: tuple[str, ...] = tuple(DATABASE_IMAGES),
) -> list[ImageChoice]:
    """One image per database.

    An override (`--mysql-image`) always wins. `auto` takes the official image where
    `official_available` says it is present or pullable, and the local build elsewhere.
    """
    choices = []
    for database in databases:
        override = overrides.get(database)
        if override:
            choices.append(ImageChoice(database, override, "override"))
            continue
        official = OFFICIAL_REFS[database]
        use_official = source is ImageSource.OFFICIAL or (
            source is ImageSource.AUTO and official_available(official)
        )
        if use_official:
            choices.append(ImageChoice(database, official, "official"))
        else:
            choices.append(ImageChoice(database, DATABASE_IMAGES[database].ref, "local"))
    return choices


def describe_choices(source: ImageSource, choices: list[ImageChoice]) -> str:
    """The one line that says which images a run uses."""
    return f"images ({source.value}): " + ", ".join(c.describe() for c in choices)


def override_option(database: str) -> str:
    """The command-line option that pins one database's image: `--mysql-image`."""
    return f"--{database}-image"


def missing_images_error(missing: list[ImageChoice]) -> ImageMissing:
    """One sentence: which images are absent and the command that gets them."""
    refs = ", ".join(c.ref for c in missing)
    if any(c.origin == "local" for c in missing):
        step = "`make images` (or `python -m harness images build --images local`)"
    elif any(c.origin == "official" for c in missing):
        step = "`python -m harness images build --images official` where a registry is reachable"
    else:
        step = "`docker pull` or build them"
    return ImageMissing(f"Image(s) {refs} are not on the engine; run {step}.")
