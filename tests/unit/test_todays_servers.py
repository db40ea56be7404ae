"""Today's servers without an engine: which local version stands in for an official ref, the
refusals the harness foresees or reads from a log, the apt sources of a suite whose Release has
expired, and which databases a run checks."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from harness.errors import UsageError
from harness.frontends.options import chosen_databases
from harness.images.apt_sources import expired_on, suite_sources, valid_until
from harness.model.cells import Cell, ScenarioResult
from harness.model.outcomes import Outcome
from harness.model.servers.refusals import (
    mysql_option_refusal,
    postgres_layout_refusal,
    refusal_fix,
    refusal_reason,
    says_refusal,
)
from harness.model.servers.stand_in_table import image_tag, stand_in_for, tag_version
from harness.persistence.fault_causes import not_across_majors
from harness.persistence.scenario import refused_at_start

# The table: each tag to the nearest local major at or above it, else the newest.
STAND_INS = [
    ("mysql", "MySQL 9.7", True),
    ("mysql:latest", "MySQL 9.7", True),
    ("mysql:5.7", "MySQL 9.7", False),
    ("mysql:8.0.40", "MySQL 9.7", False),
    ("mysql:8.4", "MySQL 9.7", False),
    ("mysql:9", "MySQL 9.7", True),
    ("mysql:9.7.4-oracle", "MySQL 9.7", True),
    ("mysql:9.1", "MySQL 9.7", False),
    ("mysql:lts", "MySQL 9.7", False),  # the tag names no version: never the same major
    ("mariadb:10.6", "MariaDB 10.11", False),
    ("mariadb:10.11", "MariaDB 10.11", True),
    ("mariadb:11.4", "MariaDB 11.8", False),
    ("mariadb:11", "MariaDB 11.8", True),
    ("mariadb:12", "MariaDB 11.8", False),  # above every local version: the newest
    ("postgres", "PostgreSQL 18", True),
    ("postgres:latest", "PostgreSQL 18", True),
    ("postgres:18.1-alpine", "PostgreSQL 18", True),
    ("docker.io/library/postgres:18@sha256:0123", "PostgreSQL 18", True),
    ("postgres:16", "PostgreSQL 17", False),
    ("postgres:17-bookworm", "PostgreSQL 17", True),
    ("postgres:14", "PostgreSQL 15", False),
    ("postgres:9.6", "PostgreSQL 15", False),
]


@pytest.mark.parametrize(("typed", "label", "same_major"), STAND_INS)
def test_each_official_tag_runs_on_the_nearest_local_major_at_or_above_it(
    typed: str, label: str, same_major: bool
) -> None:
    stand_in = stand_in_for(typed)
    assert stand_in is not None
    assert stand_in.version.label == label
    assert stand_in.same_major is same_major
    sentence = stand_in.other_major()
    if same_major:
        assert sentence is None
    else:
        assert sentence is not None
        assert sentence.startswith(f"{typed} (")
        assert f"ran on {label}" in sentence


def test_an_image_the_harness_does_not_know_by_name_has_no_stand_in() -> None:
    assert stand_in_for("redis:7") is None
    assert stand_in_for("myorg/db:1.4") is None


def test_tags_are_read_without_the_registry_or_the_digest() -> None:
    assert image_tag("registry:5000/library/postgres:18.1@sha256:ab") == "18.1"
    assert image_tag("mysql") == ""
    assert tag_version("mysql") == "9.7"  # untagged means the image's current default
    assert tag_version("mariadb:lts") is None


def test_the_table_never_crosses_postgres_17_to_18_where_the_layout_changed() -> None:
    """Storage verdicts stand across versions only if the data directory and VOLUME are the
    same: every tag up to 17 runs a version with the old layout, every 18 tag the new one."""
    for typed in ("postgres:13", "postgres:15", "postgres:16", "postgres:17"):
        stand_in = stand_in_for(typed)
        assert stand_in is not None
        assert stand_in.version.layout is None
    stand_in = stand_in_for("postgres:18")
    assert stand_in is not None
    assert stand_in.version.layout is not None


# --- refusals ---

PG18 = {"PG_MAJOR": "18", "PGDATA": "/var/lib/postgresql/18/docker"}
PG17 = {"PG_MAJOR": "17", "PGDATA": "/var/lib/postgresql/data"}


@pytest.mark.parametrize(
    ("image_env", "container_env", "targets", "refused"),
    [
        (PG18, {}, ["/var/lib/postgresql/data"], True),
        (PG18, {}, ["/var/lib/postgresql/data/"], True),
        (PG18, {}, ["/var/lib/postgresql", "/var/lib/postgresql/data"], True),  # still a mount
        (PG18, {}, ["/var/lib/postgresql"], False),
        (PG18, {}, [], False),
        (PG18, {"PGDATA": "/var/lib/postgresql/data"}, ["/var/lib/postgresql/data"], False),
        (PG17, {}, ["/var/lib/postgresql/data"], False),
        ({"PG_MAJOR": "18"}, {}, ["/var/lib/postgresql/data"], False),  # PGDATA unknown
    ],
)
def test_postgres_18_refuses_a_mount_at_its_old_data_directory_unless_pgdata_is_set(
    image_env: dict[str, str], container_env: dict[str, str], targets: list[str], refused: bool
) -> None:
    refusal = postgres_layout_refusal(image_env, container_env, targets)
    assert (refusal is not None) is refused
    if refusal:
        assert refusal.endswith("fix: mount the volume at /var/lib/postgresql instead")


@pytest.mark.parametrize(
    ("typed", "command", "foreseen"),
    [
        ("mysql:8.4", "--default-authentication-plugin=mysql_native_password", True),
        ("mysql:8.0", "--default-authentication-plugin=mysql_native_password", False),
        ("mysql:8.4", ["--mysql-native-password=ON"], False),  # 8.4 still reads it
        ("mysql:9.7", ["--mysql_native_password=ON"], True),
        ("mysql", "--mysql-native-password=ON --port=3307", True),
        ("mysql:lts", "--mysql-native-password=ON", False),  # no version: nothing foreseen
        ("mysql:9.7", None, False),
    ],
)
def test_options_a_mysql_version_removed_are_foreseen_from_its_tag(
    typed: str, command: object, foreseen: bool
) -> None:
    refusal = mysql_option_refusal("mysql", typed, command)
    assert (refusal is not None) is foreseen
    assert mysql_option_refusal("mariadb", "mariadb:11", command) is None


MYSQL_LOG = """\
2026-12-07T17:27:52.073597Z 0 [System] [MY-015017] [Server] MySQL Server Initialization - start.
2026-12-07T17:27:52Z 0 [ERROR] [MY-000067] [Server] unknown variable 'mysql-native-password=ON'.
2026-12-07T17:27:52.074343Z 0 [ERROR] [MY-010119] [Server] Aborting
"""
PG18_LOG = """\
2026-12-07 17:28:22+00:00 [Entrypoint]: ERROR: in 18+, this image keeps its data in \
/var/lib/postgresql/18/docker, but there appears to be PostgreSQL data in: \
/var/lib/postgresql/data (unused mount/volume)
       Mount the volume at /var/lib/postgresql, not /var/lib/postgresql/data
"""


def test_a_refusal_is_read_in_the_servers_words_with_its_fix() -> None:
    assert refusal_reason(MYSQL_LOG) == (
        "[ERROR] [MY-000067] [Server] unknown variable 'mysql-native-password=ON'."
    )
    assert refusal_fix(refusal_reason(MYSQL_LOG)).startswith("remove or correct the option")
    assert refusal_reason(PG18_LOG).startswith("ERROR: in 18+, this image keeps its data")
    assert refusal_fix(refusal_reason(PG18_LOG)).startswith(
        "mount the volume at /var/lib/postgresql"
    )
    assert not says_refusal("LOG: database system is ready to accept connections\n")


@pytest.mark.parametrize(
    ("state", "log", "refused"),
    [
        ({"Status": "exited", "ExitCode": 1}, MYSQL_LOG, True),
        ({"Status": "exited", "ExitCode": 1}, PG18_LOG, True),
        ({"Status": "exited", "ExitCode": 137}, MYSQL_LOG, False),  # killed: not the server
        # Stopped from outside: PostgreSQL's fast shutdown logs a FATAL and exits 0.
        ({"Status": "exited", "ExitCode": 0}, "FATAL: terminating connection\n", False),
        ({"Status": "exited", "ExitCode": 1, "OOMKilled": True}, MYSQL_LOG, False),
        ({"Status": "running", "ExitCode": 0}, MYSQL_LOG, False),  # slow, not refusing
        ({"Status": "exited", "ExitCode": 1}, "segfault at 0x0\n", False),  # no refusal said
    ],
)
def test_only_a_server_that_exited_saying_why_has_refused_to_start(
    state: dict[str, object], log: str, refused: bool
) -> None:
    observation = refused_at_start(state, log)
    assert (observation is not None) is refused
    if observation:
        assert observation.outcome is Outcome.REFUSED
        assert observation.detail
        assert observation.detail.startswith("the server refused to start: ")
        assert "; fix: " in observation.detail


def _refused_result() -> ScenarioResult:
    result = ScenarioResult(Cell("mysql", "named", "down-up", "compose"), Outcome.SURVIVES, "r")
    result.observed, result.detail = Outcome.REFUSED, "the server refused to start: [ERROR] x"
    return result


def test_a_refusal_on_a_stand_in_of_another_major_is_no_verdict() -> None:
    crossed = _refused_result()
    not_across_majors(crossed, "mysql:8.4 (version 8.4) ran on MySQL 9.7")
    assert "mysql:8.4 (version 8.4) ran on MySQL 9.7" in crossed.error
    same = _refused_result()
    not_across_majors(same, None)
    assert not same.error
    assert same.observed is Outcome.REFUSED


# --- apt sources ---

RELEASE = "Origin: Debian\nSuite: unstable\nValid-Until: Fri, 06 Nov 2026 08:08:01 UTC\n\nMD5Sum:\n"
NOW = datetime(2026, 12, 7, tzinfo=UTC)


def test_a_release_past_its_valid_until_is_expired() -> None:
    assert valid_until(RELEASE) == datetime(2026, 11, 6, 8, 8, 1, tzinfo=UTC)
    assert expired_on(RELEASE, NOW) == datetime(2026, 11, 6, 8, 8, 1, tzinfo=UTC)
    assert expired_on(RELEASE, datetime(2026, 11, 1, tzinfo=UTC)) is None
    assert valid_until("Origin: Debian\n\nValid-Until: Fri, 06 Nov 2026 08:08:01 UTC\n") is None


def test_only_a_suite_whose_release_expired_skips_the_check_and_says_so() -> None:
    served = {
        "http://m/debian/dists/sid/Release": RELEASE,
        "http://m/debian/dists/bookworm/Release": "Suite: stable\n\n",
        "http://m/debian/dists/bookworm-updates/Release": RELEASE.replace("2026", "2099"),
        "http://m/debian-security/dists/bookworm-security/Release": "Suite: x\n\n",
    }
    sid = suite_sources("sid", "http://m/debian", NOW, served.get)
    assert [s.line() for s in sid] == ["deb [check-valid-until=no] http://m/debian sid main"]
    notice = sid[0].notice()
    assert notice is not None
    assert "expired on 2026-11-06" in notice
    bookworm = suite_sources("bookworm", "http://m/debian", NOW, served.get)
    assert [s.line() for s in bookworm] == [
        "deb http://m/debian bookworm main",
        "deb http://m/debian bookworm-updates main",
        "deb http://m/debian-security bookworm-security main",
    ]
    assert [s.notice() for s in bookworm] == [None, None, None]


# --- which databases a run checks ---


def test_a_run_checks_mysql_and_postgres_unless_told_and_mariadb_when_named() -> None:
    assert chosen_databases(None, {}) == ("mysql", "postgres")
    assert chosen_databases(None, {"HARNESS_DATABASES": "postgres, mariadb"}) == (
        "mariadb",
        "postgres",
    )
    assert chosen_databases(["mariadb"], {"HARNESS_DATABASES": "postgres"}) == ("mariadb",)
    with pytest.raises(UsageError, match=r"HARNESS_DATABASES names mongo"):
        chosen_databases(None, {"HARNESS_DATABASES": "mysql,mongo"})


def test_an_unreachable_mirror_is_one_sentence_not_a_traceback() -> None:
    from harness.errors import ImageBuildFailed  # noqa: PLC0415
    from harness.images.apt_sources import read_release  # noqa: PLC0415

    with pytest.raises(
        ImageBuildFailed, match=r"^Cannot read http://127\.0\.0\.1:9/.*reachable\.$"
    ):
        read_release("http://127.0.0.1:9/debian/dists/sid/Release")
