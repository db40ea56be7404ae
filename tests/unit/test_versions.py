"""Database versions: which image runs which version, the upgrade step around each, how a
refusing server's reason is found in its log, and what `upgrade-check` makes of a result."""

from __future__ import annotations

import pytest

from harness.errors import UsageError
from harness.frontends.cli.gates.upgrade import NOT_SAFE_EXIT, parse_env, verdict
from harness.images.recipes import VERSION_IMAGES
from harness.images.sources import (
    ImageChoice,
    ImageSource,
    choose_images,
    image_of,
    with_upgrade_images,
)
from harness.model.cells import Cell, ScenarioResult
from harness.model.outcomes import Outcome
from harness.model.platforms.compose import compose_expect
from harness.model.servers.refusals import refusal_reason
from harness.model.servers.versions import (
    default_version,
    find_version,
    upgrade_pair,
)


def never(ref: str) -> bool:
    return False


def always(ref: str) -> bool:
    return True


def test_local_runs_the_newest_debian_version_and_official_the_official_default() -> None:
    assert default_version("mysql", local=True).label == "MySQL 9.7"
    assert default_version("mariadb", local=True).label == "MariaDB 11.8"
    assert default_version("postgres", local=True).label == "PostgreSQL 18"
    assert default_version("mysql", local=False).official_ref == "mysql:9.7"
    assert default_version("postgres", local=False).official_ref == "postgres:18"


def test_a_version_debian_does_not_package_is_no_local_version() -> None:
    with pytest.raises(ValueError, match=r"'8\.4' is not a version built locally.*: 9\.7$"):
        find_version("mysql", "8.4", local=True)
    assert find_version("mysql", "8.4", local=False).official_ref == "mysql:8.4"


@pytest.mark.parametrize(
    ("database", "version", "local", "step"),
    [
        ("postgres", "18", True, ("17", "18")),
        ("postgres", "17", True, ("15", "17")),
        ("postgres", "15", True, ("15", "17")),  # the oldest steps up to the next
        ("mariadb", "11.8", True, ("10.11", "11.8")),
        ("mysql", "8.4", False, ("8.0", "8.4")),
        ("mysql", "9.7", False, ("8.4", "9.7")),
        ("mariadb", "10.11", False, ("10.11", "11.8")),
    ],
)
def test_the_upgrade_step_stays_within_a_servers_line(
    database: str, version: str, local: bool, step: tuple[str, str]
) -> None:
    pair = upgrade_pair(find_version(database, version, local=local), local=local)
    assert pair is not None
    assert (pair.old.version, pair.new.version) == step
    assert pair.old.line == pair.new.line


def test_mysql_has_no_second_major_offline_so_no_local_upgrade_step() -> None:
    assert upgrade_pair(find_version("mysql", "9.7", local=True), local=True) is None


def test_a_version_is_picked_by_option_then_environment_then_default() -> None:
    by_env = choose_images(ImageSource.LOCAL, {}, never, environ={"HARNESS_POSTGRES_VERSION": "15"})
    assert [c.ref for c in by_env] == [
        VERSION_IMAGES["mysql", "9.7"].ref,
        VERSION_IMAGES["mariadb", "11.8"].ref,
        VERSION_IMAGES["postgres", "15"].ref,
    ]
    by_option = choose_images(
        ImageSource.LOCAL,
        {},
        never,
        versions={"postgres": "17", "mariadb": "10.11"},
        environ={"HARNESS_POSTGRES_VERSION": "15"},
    )
    assert [c.ref for c in by_option] == [
        VERSION_IMAGES["mysql", "9.7"].ref,
        VERSION_IMAGES["mariadb", "10.11"].ref,
        VERSION_IMAGES["postgres", "17"].ref,
    ]
    official = choose_images(ImageSource.OFFICIAL, {}, never, versions={"mysql": "8.4"})
    assert official[0].ref == "mysql:8.4"


def test_an_unknown_version_is_a_usage_error_naming_where_it_came_from() -> None:
    with pytest.raises(UsageError, match=r"^--postgres-version: .*use one of: 15, 17, 18\.$"):
        choose_images(ImageSource.LOCAL, {}, never, versions={"postgres": "16"})
    with pytest.raises(UsageError, match=r"^HARNESS_MYSQL_VERSION: "):
        choose_images(ImageSource.LOCAL, {}, never, environ={"HARNESS_MYSQL_VERSION": "9"})


def test_a_run_with_upgrade_cells_needs_both_versions_of_each_database() -> None:
    choices = choose_images(ImageSource.LOCAL, {}, never)
    # Every local build but PostgreSQL 15: 18's step is from 17 (MySQL 9.7 has none offline).
    assert {c.ref for c in with_upgrade_images(choices)} == {
        image.ref for key, image in VERSION_IMAGES.items() if key != ("postgres", "15")
    }
    upgrade = choices[2].upgrade()
    assert upgrade is not None
    assert (upgrade.old_ref, upgrade.new_ref) == (
        VERSION_IMAGES["postgres", "17"].ref,
        VERSION_IMAGES["postgres", "18"].ref,
    )
    # 18's image declares its VOLUME elsewhere: the promise knows an image-only volume is not
    # handed on.
    assert upgrade.line == "postgres+moved-volume"


def test_an_image_of_your_own_has_no_upgrade_step() -> None:
    choices = choose_images(ImageSource.LOCAL, {"mysql": "myorg/db:1.4"}, never)
    assert choices[0].upgrade() is None
    assert [c.ref for c in with_upgrade_images(choices[:1])] == ["myorg/db:1.4"]


def test_official_upgrade_images_are_the_official_refs() -> None:
    choices = choose_images(ImageSource.AUTO, {}, always)
    assert {c.ref for c in with_upgrade_images(choices)} == {
        "mysql:8.4", "mysql:9.7", "mariadb:10.11", "mariadb:11.8", "postgres:17", "postgres:18",
    }  # fmt: skip
    assert image_of(find_version("mariadb", "10.11", local=False), "official") == "mariadb:10.11"


POSTGRES_REFUSAL = """\
PostgreSQL Database directory appears to contain a database; Skipping initialization

2026-11-28 14:08:37.617 UTC [1] FATAL:  database files are incompatible with server
2026-11-28 14:08:37.617 UTC [1] DETAIL:  The data directory was initialized by PostgreSQL \
version 15, which is not compatible with this version 17.12 (Debian 17.12-0+deb13u1).
"""


def test_a_refusal_is_the_servers_fatal_line_and_its_detail_without_timestamps() -> None:
    assert refusal_reason(POSTGRES_REFUSAL) == (
        "FATAL: database files are incompatible with server DETAIL: The data directory was "
        "initialized by PostgreSQL version 15, which is not compatible with this version 17.12 "
        "(Debian 17.12-0+deb13u1)."
    )


def test_a_refusal_without_fatal_is_the_first_error_else_the_last_line() -> None:
    mariadb = (
        "2026-11-28 14:00:00 0 [Note] Starting MariaDB\n"
        "2026-11-28 14:00:01 0 [ERROR] mariadbd: unknown variable 'default-authentication-plugin'\n"
        "2026-11-28 14:00:01 0 [ERROR] Aborting\n"
    )
    assert refusal_reason(mariadb) == (
        "[ERROR] mariadbd: unknown variable 'default-authentication-plugin'"
    )
    assert refusal_reason("starting\nsegfault at 0x0\n") == "segfault at 0x0"
    assert refusal_reason("") == "(the server wrote nothing to its log)"


def _upgrade_result(observed: Outcome | None, rows_read: int, detail: str = "") -> ScenarioResult:
    return ScenarioResult(
        cell=Cell("postgres", "named", "upgrade"), expected=Outcome.SURVIVES,
        reason="an image bump is safe only when the new image reads every row.",
        observed=observed, rows_written=6, rows_read=rows_read, detail=detail,
        upgrade_from="pg:15", upgrade_to="pg:17",
    )  # fmt: skip


def test_upgrade_check_exits_0_only_when_every_row_survives() -> None:
    code, lines = verdict(_upgrade_result(Outcome.SURVIVES, 6), "postgres")
    assert code == 0
    assert lines == ["survives: pg:17 read back all 6 Persons rows pg:15 wrote."]


def test_upgrade_check_exits_1_with_the_servers_reason_and_the_way_out() -> None:
    refused = _upgrade_result(Outcome.REFUSED, 6, "FATAL: database files are incompatible")
    code, lines = verdict(refused, "postgres")
    assert code == NOT_SAFE_EXIT == 1
    assert "FATAL: database files are incompatible" in lines[0]
    assert "pg_upgrade" in lines[1]
    code, lines = verdict(_upgrade_result(Outcome.LOST, 0, "table missing"), "postgres")
    assert code == 1
    assert lines[0].startswith("lost: pg:17 read 0 of 6 Persons rows pg:15 wrote (table missing)")


def test_upgrade_check_without_a_verdict_is_exit_2() -> None:
    result = _upgrade_result(None, 0)
    result.error = "postgres container exited before it answered"
    assert verdict(result, "postgres")[0] == 2


def test_upgrade_check_env_pairs() -> None:
    assert parse_env(["MARIADB_AUTO_UPGRADE=1", "A=b=c"]) == {
        "MARIADB_AUTO_UPGRADE": "1",
        "A": "b=c",
    }
    with pytest.raises(UsageError, match="is not KEY=VALUE"):
        parse_env(["MARIADB_AUTO_UPGRADE"])


def test_describe_names_the_version() -> None:
    choice = ImageChoice(
        "postgres", "postgres:15", "official", find_version("postgres", "15", local=False)
    )
    assert choice.describe() == "postgres=postgres:15 (official PostgreSQL 15)"


def test_a_compose_upgrade_whose_image_moves_its_volume_loses_an_anonymous_one() -> None:
    """PostgreSQL 17 -> 18 on compose: the old anonymous volume is handed on only at its own
    path, which 18 no longer declares; a named volume still meets the new server's refusal."""
    moved = "postgres+moved-volume"
    assert compose_expect("anonymous", "upgrade", moved).outcome is Outcome.LOST
    assert compose_expect("anonymous-declared", "upgrade", moved).outcome is Outcome.REFUSED
    assert compose_expect("named", "upgrade", moved).outcome is Outcome.REFUSED
    assert compose_expect("anonymous", "upgrade", "postgres").outcome is Outcome.REFUSED
