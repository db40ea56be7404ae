"""When a server refuses to start: its own words, the fix in one sentence, and the refusals the
harness can foresee from a configuration before anything runs.

A refusal is an outcome, not a harness failure: the configuration does not start on the server
the user named, and the data (if any) stays where it was. Two kinds are known before a run:
PostgreSQL 18's image over a mount at its old data directory, and MySQL 8.4 and later given an
option they removed. The rest are read from the server's log when it exits before answering.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from harness.model.servers.stand_in_table import tag_version

# How servers word a refusal to start, most telling first: the entrypoints' "ERROR:" (the
# official images' own checks), PostgreSQL's FATAL (and the DETAIL that names both versions),
# MariaDB's and MySQL's [ERROR].
_REFUSAL_MARKERS = ("FATAL:", "[ERROR]", "ERROR:", "Error:")


def refusal_reason(log: str) -> str:
    """The server's own words for why it would not start, from its log: the first line with the
    most telling marker, and the DETAIL line after it, without their timestamps; else the log's
    last line."""
    lines = [" ".join(line.split()) for line in log.splitlines() if line.strip()]
    for marker in _REFUSAL_MARKERS:
        for index, line in enumerate(lines):
            if marker in line:
                reason = line[line.index(marker) :]
                following = lines[index + 1] if index + 1 < len(lines) else ""
                if "DETAIL:" in following:
                    reason += " " + following[following.index("DETAIL:") :]
                return reason
    return lines[-1] if lines else "(the server wrote nothing to its log)"


def says_refusal(log: str) -> bool:
    """Whether the log holds a server's or an entrypoint's refusal (not just an exit)."""
    return any(marker in log for marker in _REFUSAL_MARKERS)


@dataclass(frozen=True)
class KnownRefusal:
    """A refusal recognised by the words in the log, and its fix."""

    words: str  # a part of the server's sentence
    fix: str


# The fixes for the refusals users meet most, by the server's own words.
KNOWN_REFUSALS: tuple[KnownRefusal, ...] = (
    KnownRefusal(
        "appears to be PostgreSQL data in",
        "mount the volume at /var/lib/postgresql (PostgreSQL 18's images keep the data in "
        "/var/lib/postgresql/18/docker), and move data an older major wrote with pg_upgrade or "
        "a dump and restore",
    ),
    KnownRefusal(
        "unknown variable",
        "remove or correct the option the server names (MySQL 8.4 removed "
        "default-authentication-plugin and 9.0 mysql-native-password: the default, "
        "caching_sha2_password, is what clients speak now)",
    ),
    KnownRefusal("unknown option", "remove or correct the option the server names"),
    KnownRefusal(
        "database files are incompatible with server",
        "move the data to the new major with pg_upgrade or a dump and restore before bumping "
        "the image",
    ),
    KnownRefusal(
        "password option is not specified",
        "set the image's root password variable (MYSQL_ROOT_PASSWORD for mysql:*, "
        "MARIADB_ROOT_PASSWORD for mariadb:*)",
    ),
)


def refusal_fix(reason: str) -> str:
    """The fix for a refusal, from its words; else: read the server's sentence."""
    for known in KNOWN_REFUSALS:
        if known.words in reason:
            return known.fix
    return "change the configuration the server's sentence names"


def refused_sentence(reason: str) -> str:
    """`the server refused to start: <its words>; fix: <one sentence>`."""
    return f"the server refused to start: {reason.rstrip('.')}; fix: {refusal_fix(reason)}"


# --- refusals foreseen from a configuration ---

# PostgreSQL 18's images (docker-library/postgres#1259): with PGDATA left at the major-version
# directory, a mount at the old data directory is refused as unused.
POSTGRES_OLD_DATA_DIR = "/var/lib/postgresql/data"


def postgres_layout_refusal(
    image_env: Mapping[str, str], container_env: Mapping[str, str], mount_targets: Iterable[str]
) -> str | None:
    """The refusal PostgreSQL 18's entrypoint gives before it starts, foreseen: its PGDATA is the
    image's own major-version directory (not one the user set) and a mount sits exactly at
    /var/lib/postgresql/data. None when the configuration starts."""
    major = image_env.get("PG_MAJOR", "").split(".", 1)[0]
    if not major.isdigit() or int(major) < 18:
        return None
    pgdata = container_env.get("PGDATA") or image_env.get("PGDATA", "")
    if pgdata != f"/var/lib/postgresql/{major}/docker":
        return None
    # The entrypoint asks only whether that directory is a mount point: a second mount at
    # /var/lib/postgresql does not save it.
    if POSTGRES_OLD_DATA_DIR not in (t.rstrip("/") for t in mount_targets):
        return None
    return (
        f"PostgreSQL {major}'s image keeps its data in {pgdata} and refuses to start over a "
        f"mount at {POSTGRES_OLD_DATA_DIR} (an unused mount: the data would go elsewhere); fix: "
        "mount the volume at /var/lib/postgresql instead"
    )


# Options MySQL 8.4 and 9 removed that tutorials still put on command lines, by the version that
# stopped reading them.
REMOVED_MYSQL_OPTIONS: Mapping[str, str] = {
    "default-authentication-plugin": "8.4",
    "mysql-native-password": "9.0",
}


def _version(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in text.split(".") if part.isdigit())


def removed_option(command: Iterable[str], mysql_version: str) -> str | None:
    """The first option of a MySQL command line that `mysql_version` no longer reads."""
    for part in command:
        name = str(part).lstrip("-").split("=", 1)[0].replace("_", "-")
        removed_in = REMOVED_MYSQL_OPTIONS.get(name)
        if removed_in and _version(mysql_version) >= _version(removed_in):
            return str(part)
    return None


def mysql_option_refusal(database: str, typed_image: str, command: object) -> str | None:
    """The refusal a MySQL server of the typed tag's version gives an option it removed,
    foreseen from the command line; None when none applies or the tag names no version."""
    version = tag_version(typed_image) if database == "mysql" else None
    if version is None or not command:
        return None
    parts = command if isinstance(command, list) else str(command).split()
    option = removed_option([str(p) for p in parts], version)
    if option is None:
        return None
    name = option.lstrip("-").split("=", 1)[0]
    return (
        f"MySQL {version} stops at start on `{option}`: it removed {name} in "
        f"{REMOVED_MYSQL_OPTIONS[name.replace('_', '-')]} (`[ERROR] unknown variable`); fix: "
        "remove the option (the default, caching_sha2_password, is what clients speak now)"
    )
