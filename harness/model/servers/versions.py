"""Database server versions as data: which exist, which image runs each, and what an upgrade
from one major version to the next does to a data directory.

A *line* is one server product (MariaDB, MySQL, PostgreSQL); upgrades go from a version to the
next one of the same line. Each database runs its own line: `mysql` is Oracle MySQL, `mariadb`
MariaDB, `postgres` PostgreSQL. Adding a version is one new `ServerVersion` in `VERSIONS` (its
local image follows from its Debian suite).
"""

from __future__ import annotations

from dataclasses import dataclass

from harness.model.outcomes import Outcome, Promise


@dataclass(frozen=True)
class DataLayout:
    """Where an image keeps its data and the directory it declares as its VOLUME, when they are
    not the database's defaults."""

    data_dir: str
    volume: str


# PostgreSQL 18's official image (docker-library/postgres#1259): data in a major-version
# directory, and the VOLUME one level up so that `pg_upgrade --link` works across majors.
POSTGRES_18_LAYOUT = DataLayout("/var/lib/postgresql/18/docker", "/var/lib/postgresql")


@dataclass(frozen=True)
class ServerVersion:
    database: str  # the profile it speaks for: "mysql", "mariadb" or "postgres"
    line: str  # the server product: "mariadb", "mysql" or "postgres"
    version: str  # the major version as its project numbers it: "10.11", "17"
    official_ref: str  # the official image of that version
    # The Debian suite whose packages build the local image; None: no local image.
    debian_suite: str | None = None
    # None: the database's default data directory and VOLUME.
    layout: DataLayout | None = None

    @property
    def label(self) -> str:
        return f"{LINE_NAMES[self.line]} {self.version}"


LINE_NAMES = {"mariadb": "MariaDB", "mysql": "MySQL", "postgres": "PostgreSQL"}

# Oldest first within each line.
VERSIONS: tuple[ServerVersion, ...] = (
    ServerVersion("mysql", "mysql", "8.0", "mysql:8.0"),
    ServerVersion("mysql", "mysql", "8.4", "mysql:8.4"),
    # Oracle MySQL as Debian packages it: sid only (not bookworm, trixie or forky).
    ServerVersion("mysql", "mysql", "9.7", "mysql:9.7", "sid"),
    ServerVersion("mariadb", "mariadb", "10.11", "mariadb:10.11", "bookworm"),
    ServerVersion("mariadb", "mariadb", "11.8", "mariadb:11.8", "trixie"),
    ServerVersion("postgres", "postgres", "15", "postgres:15", "bookworm"),
    ServerVersion("postgres", "postgres", "17", "postgres:17", "trixie"),
    ServerVersion("postgres", "postgres", "18", "postgres:18", "forky", POSTGRES_18_LAYOUT),
)

# What `--images official` and `--images local` run when no version is asked for: the official
# default images, and the newest version Debian packages.
OFFICIAL_DEFAULT = {"mysql": "9.7", "mariadb": "11.8", "postgres": "18"}


def versions_of(database: str, *, local: bool) -> list[ServerVersion]:
    return [
        v for v in VERSIONS if v.database == database and (v.debian_suite is not None or not local)
    ]


def default_version(database: str, *, local: bool) -> ServerVersion:
    if local:
        return versions_of(database, local=True)[-1]
    return find_version(database, OFFICIAL_DEFAULT[database], local=False)


def find_version(database: str, version: str, *, local: bool) -> ServerVersion:
    """The version of `database` named `version`; a ValueError lists the ones there are."""
    known = versions_of(database, local=local)
    for candidate in known:
        if candidate.version == version.strip():
            return candidate
    where = "built locally" if local else "known"
    raise ValueError(
        f"{database} {version!r} is not a version {where}; use one of: "
        + ", ".join(v.version for v in known)
    )


@dataclass(frozen=True)
class UpgradePair:
    old: ServerVersion
    new: ServerVersion

    @property
    def label(self) -> str:
        return f"{self.old.label} -> {self.new.version}"


def upgrade_pair(chosen: ServerVersion, *, local: bool) -> UpgradePair | None:
    """The major-version step around `chosen`: from the previous version of its line to it,
    else from it to the next (the oldest has no previous); None when the line has one version."""
    line = [v for v in versions_of(chosen.database, local=local) if v.line == chosen.line]
    index = line.index(chosen)
    if index > 0:
        return UpgradePair(line[index - 1], chosen)
    if index + 1 < len(line):
        return UpgradePair(chosen, line[index + 1])
    return None


# What the next major version does on a data directory the previous one wrote, per line. Each
# was observed on the engine with the local images (see the README's "Upgrades" section) and
# agrees with the project's documentation.
UPGRADE_PROMISES: dict[str, Promise] = {
    "postgres": Promise(
        Outcome.REFUSED,
        "a PostgreSQL data directory works only with the major version that wrote it; the new "
        "server refuses to start on it (pg_upgrade or a dump and restore moves the data), and "
        "the data stays on disk for the old version.",
    ),
    "mariadb": Promise(
        Outcome.SURVIVES,
        "MariaDB starts on an older major version's data directory; mariadb-upgrade "
        "(MARIADB_AUTO_UPGRADE=1) brings its system tables up to date.",
    ),
    "mysql": Promise(
        Outcome.SURVIVES,
        "MySQL upgrades the previous LTS release's data directory in place when it starts "
        "(unless the configuration uses an option the new version removed).",
    ),
}
# Images of the user's own, whose versions the harness does not know: a version bump is safe
# only if the new image reads the rows (what `upgrade-check` gates on).
UNKNOWN_LINE_PROMISE = Promise(
    Outcome.SURVIVES,
    "an image bump is safe only when the new image reads every row the old one wrote.",
)


# Said after the line when the next version's image declares its VOLUME elsewhere (PostgreSQL
# 17 -> 18): storage that only the image's VOLUME gave is not handed on to the new path.
MOVED_VOLUME = "+moved-volume"


def upgrade_line(pair: UpgradePair) -> str:
    """The line whose promise an upgrade cell holds, marked when the VOLUME moves."""
    moved = pair.old.layout != pair.new.layout
    return pair.new.line + (MOVED_VOLUME if moved else "")


def upgrade_promise(line: str | None) -> Promise:
    """What the next version does to the data, for a known line; else the gate's demand."""
    return UPGRADE_PROMISES.get((line or "").removesuffix(MOVED_VOLUME), UNKNOWN_LINE_PROMISE)
