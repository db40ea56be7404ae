"""The image options, defined once for the command line and the pytest plugin."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from harness.errors import UsageError
from harness.images.recipes import DATABASE_IMAGES
from harness.images.sources import ImageRequest, ImageSource, override_option, version_variable
from harness.model.servers.databases import DATABASES, DEFAULT_DATABASES
from harness.model.servers.versions import versions_of


@dataclass(frozen=True)
class Option:
    flag: str
    dest: str
    help: str
    choices: tuple[str, ...] | None = None
    metavar: str | None = None
    repeatable: bool = False

    def add_to(self, add: Callable[..., Any]) -> None:
        """Register with argparse's `add_argument` or pytest's `addoption` (same keywords)."""
        extra: dict[str, Any] = {"choices": list(self.choices)} if self.choices else {}
        if self.metavar:
            extra["metavar"] = self.metavar
        if self.repeatable:
            extra["action"] = "append"
        add(self.flag, dest=self.dest, default=None, help=self.help, **extra)


def _local_versions(database: str) -> list[str]:
    return [v.version for v in versions_of(database, local=True)]


IMAGE_OPTIONS: tuple[Option, ...] = (
    Option(
        "--images",
        "images",
        "image source: official (mysql:9.7, postgres:18), local (built here from Debian "
        "packages) or auto (official when present); default: $HARNESS_IMAGES or auto. Tests "
        "never pull.",
        choices=tuple(s.value for s in ImageSource),
    ),
    *(
        Option(override_option(db), f"{db}_image", f"use this image for {db}", metavar="REF")
        for db in DATABASE_IMAGES
    ),
    *(
        Option(
            f"--{db}-version",
            f"{db}_version",
            f"{db} server version to run (local: {', '.join(_local_versions(db))}; default: "
            f"${version_variable(db)}, else the newest)",
            metavar="VERSION",
        )
        for db in DATABASE_IMAGES
    ),
)


DATABASES_VARIABLE = "HARNESS_DATABASES"


def database_option(dest: str) -> Option:
    """`--database`, repeatable: which databases a run checks (pytest's dest differs from the
    command line's, where compose-check's `--database` names one service's)."""
    return Option(
        "--database",
        dest,
        f"a database to check, repeatable (default: ${DATABASES_VARIABLE}, comma-separated, "
        f"else {' and '.join(DEFAULT_DATABASES)}; mariadb joins when named)",
        choices=tuple(DATABASES),
        repeatable=True,
    )


def chosen_databases(option: list[str] | None, environ: Mapping[str, str]) -> tuple[str, ...]:
    """`--database` (each time given), else HARNESS_DATABASES, else the default two; in the
    table's order."""
    asked = option or [
        name.strip() for name in environ.get(DATABASES_VARIABLE, "").split(",") if name.strip()
    ]
    unknown = [name for name in asked if name not in DATABASES]
    if unknown:
        raise UsageError(
            f"{DATABASES_VARIABLE} names {', '.join(unknown)}, which is not a database the "
            f"harness checks; use {', '.join(DATABASES)}."
        )
    wanted = set(asked or DEFAULT_DATABASES)
    return tuple(name for name in DATABASES if name in wanted)


REUSE_INIT_VARIABLE = "HARNESS_REUSE_INIT"
REUSE_INIT_OPTION = Option(
    "--reuse-init",
    "reuse_init",
    "start the cells whose storage takes its first content from the image (named, anonymous, "
    "layer) from one initialisation per run instead of each initialising its own data "
    "directory: on, off, or auto (where a database has enough such cells for it to pay); the "
    f"verdicts are the same (default: ${REUSE_INIT_VARIABLE}, else auto)",
    choices=("auto", "on", "off"),
)


def reuse_init(option: str | None, environ: Mapping[str, str]) -> str:
    """`--reuse-init`'s mode: the option, else the variable, else auto."""
    value = option or environ.get(REUSE_INIT_VARIABLE) or "auto"
    if value not in ("auto", "on", "off"):
        raise UsageError(f"{REUSE_INIT_VARIABLE} is {value!r}; set it to auto, on or off.")
    return value


__all__ = [
    "IMAGE_OPTIONS",
    "REUSE_INIT_OPTION",
    "ImageRequest",
    "Option",
    "chosen_databases",
    "database_option",
    "reuse_init",
]
