"""Which image each database runs: the official one, a locally built one, or the user's."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from harness.errors import ImageMissing, UsageError
from harness.images.recipes import DATABASE_IMAGES, VERSION_IMAGES
from harness.model.servers.stand_in_table import stand_in_for
from harness.model.servers.versions import (
    ServerVersion,
    UpgradePair,
    default_version,
    find_version,
    upgrade_line,
    upgrade_pair,
)

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


def versioned_stand_ins(
    choices: list[ImageChoice], present: Callable[[str], bool]
) -> Callable[[str], tuple[str, str | None] | None]:
    """For a database whose chosen image is a local build: a typed official ref -> the local
    build of the version the stand-in table gives it (when that build is on the engine), and
    the sentence that says when it is another major. None elsewhere: the chosen image runs."""
    local = {c.database for c in choices if c.origin == "local"}

    def resolve(typed: str) -> tuple[str, str | None] | None:
        table = stand_in_for(typed)
        if table is None or table.version.database not in local:
            return None
        ref = image_of(table.version, "local")
        return (ref, table.other_major()) if present(ref) else None

    return resolve


def image_of(version: ServerVersion, origin: str) -> str:
    """The ref that runs `version`: its official image, or the local build of it."""
    if origin == "official":
        return version.official_ref
    return VERSION_IMAGES[version.database, version.version].ref


@dataclass(frozen=True)
class UpgradeImages:
    """The two images of one upgrade: rows written by `old_ref`, read by `new_ref`."""

    old_ref: str
    new_ref: str
    # The versions, when the harness knows them (None: a user's own images, `upgrade-check`).
    pair: UpgradePair | None = None

    @property
    def line(self) -> str | None:
        return upgrade_line(self.pair) if self.pair else None


@dataclass(frozen=True)
class ImageChoice:
    database: str
    ref: str
    origin: str  # "official", "local" or "override"
    # The server version the ref runs (None for an override: the harness cannot know it).
    version: ServerVersion | None = None

    def describe(self) -> str:
        version = f" {self.version.label}" if self.version else ""
        return f"{self.database}={self.ref} ({self.origin}{version})"

    def upgrade(self) -> UpgradeImages | None:
        """The upgrade step around this version, in the same origin's images (None: there is
        none, or the image is the user's own)."""
        if self.version is None or self.origin == "override":
            return None
        pair = upgrade_pair(self.version, local=self.origin == "local")
        if pair is None:
            return None
        return UpgradeImages(image_of(pair.old, self.origin), image_of(pair.new, self.origin), pair)


def no_next_version(ref: str) -> str:
    """Why an image's upgrade cells cannot run, for the CLI and pytest alike: a local build whose
    line has one version offline (MySQL: Debian packages 9.7 alone), or an image of the user's."""
    local = next((k for k, image in VERSION_IMAGES.items() if image.ref == ref), None)
    if local and len([key for key in VERSION_IMAGES if key[0] == local[0]]) == 1:
        return (
            f"{ref} runs the only {local[0]} major built offline (Debian packages no other), so "
            "there is no upgrade to check here; with official images (HARNESS_IMAGES=official) "
            f"the column runs {local[0]}'s previous major against this one."
        )
    return (
        f"{ref} has no next major version known to the harness; check an upgrade of your own "
        "images with `python -m harness upgrade-check --from IMAGE --to IMAGE`."
    )


def with_upgrade_images(choices: list[ImageChoice]) -> list[ImageChoice]:
    """The chosen images and both images of each one's upgrade step, each ref once: what a run
    with upgrade cells needs on the engine."""
    needed = {c.ref: c for c in choices}
    for choice in choices:
        upgrade = choice.upgrade()
        if upgrade is None or upgrade.pair is None:
            continue
        for version, ref in (
            (upgrade.pair.old, upgrade.old_ref),
            (upgrade.pair.new, upgrade.new_ref),
        ):
            needed.setdefault(ref, ImageChoice(choice.database, ref, choice.origin, version))
    return list(needed.values())


def version_variable(database: str) -> str:
    """The environment variable that picks a database's version: HARNESS_MYSQL_VERSION."""
    return f"HARNESS_{database.upper()}_VERSION"


def requested_version(
    database: str, option: str | None, environ: Mapping[str, str], *, local: bool
) -> ServerVersion:
    """`--mysql-version` wins over HARNESS_MYSQL_VERSION; neither: the source's default."""
    value = option or environ.get(version_variable(database))
    if not value:
        return default_version(database, local=local)
    try:
        return find_version(database, value, local=local)
    except ValueError as error:
        origin = f"--{database}-version" if option else version_variable(database)
        raise UsageError(f"{origin}: {error}.") from None


def choose_images(
    source: ImageSource,
    overrides: Mapping[str, str | None],
    official_available: Callable[[str], bool],
    *,
    databases: tuple[str, ...] = tuple(DATABASE_IMAGES),
    versions: Mapping[str, str | None] | None = None,
    environ: Mapping[str, str] | None = None,
) -> list[ImageChoice]:
    """One image per database.

    An override (`--mysql-image`) always wins. `auto` takes the official image where
    `official_available` says it is present or pullable, and the local build elsewhere; the
    version is the one asked for (`--mysql-version`, `HARNESS_MYSQL_VERSION`), else the official
    default or the newest local build.
    """
    choices = []
    for database in databases:
        override = overrides.get(database)
        if override:
            choices.append(ImageChoice(database, override, "override"))
            continue
        asked, env = (versions or {}).get(database), environ or {}
        if source is not ImageSource.LOCAL:
            official = requested_version(database, asked, env, local=False)
            if source is ImageSource.OFFICIAL or official_available(official.official_ref):
                choices.append(ImageChoice(database, official.official_ref, "official", official))
                continue
        local = requested_version(database, asked, env, local=True)
        choices.append(ImageChoice(database, image_of(local, "local"), "local", local))
    return choices


@dataclass(frozen=True)
class ImageRequest:
    """What the user asked for: a source, per-database overrides and versions."""

    source: ImageSource
    overrides: Mapping[str, str | None]
    versions: Mapping[str, str | None]
    environ: Mapping[str, str]

    @classmethod
    def read(cls, value_of: Callable[[str], Any], environ: Mapping[str, str]) -> ImageRequest:
        """From parsed options (`value_of(dest)`); a bad source is a UsageError here."""
        source = resolve_source(value_of("images"), environ)
        return cls(
            source,
            {db: value_of(f"{db}_image") for db in DATABASE_IMAGES},
            {db: value_of(f"{db}_version") for db in DATABASE_IMAGES},
            dict(environ),
        )


def describe_choices(source: ImageSource, choices: list[ImageChoice]) -> str:
    """The one line that says which images a run uses."""
    return f"images ({source.value}): " + ", ".join(c.describe() for c in choices)


def override_option(database: str) -> str:
    """The command-line option that pins one database's image: `--mysql-image`."""
    return f"--{database}-image"


def missing_images_error(missing: list[ImageChoice]) -> ImageMissing:
    """One sentence: which images are absent and the command that gets them."""
    if any(c.origin == "local" for c in missing):
        step = "`make images` (or `python -m harness images build --images local`)"
    elif any(c.origin == "official" for c in missing):
        step = "`python -m harness images build --images official` where a registry is reachable"
    else:
        step = "`docker pull` or build them"
    return images_missing([c.ref for c in missing], f"run {step}")


def images_missing(refs: Sequence[str], step: str) -> ImageMissing:
    """The one sentence for images that are not on the engine, and what gets them."""
    return ImageMissing(f"Image(s) {', '.join(refs)} are not on the engine; {step}.")
