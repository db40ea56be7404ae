"""Major-version upgrades on the real engine: PostgreSQL 17 -> 18 (and 15 -> 17) refuses the data
(which the old version still reads), MariaDB 10.11 -> 11.8 reads it, with and without its
auto-upgrade, and MySQL, one major offline, says why it has no upgrade cells; `run --action
upgrade` and `upgrade-check` as a team's CI runs them."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from cli_runs import run_harness

from harness.containers.database import running_database
from harness.containers.engine import Engine, Session
from harness.containers.readiness import wait_until_ready
from harness.model.servers.credentials import Credentials
from harness.model.servers.databases import DATABASES
from harness.model.servers.persons import PERSONS_ROWS, read_persons, write_persons
from harness.model.spec import Mount, MountKind


@pytest.fixture(scope="module")
def versions(local_versions: dict[str, str]) -> dict[str, str]:
    return local_versions


def test_run_upgrade_refuses_postgres_on_persistent_storage_and_keeps_mariadb(
    tmp_path: Path, versions: dict[str, str], contract: Callable[[str, Any], None]
) -> None:
    """`run --action upgrade`: PostgreSQL 18 refuses what 17 wrote on a named volume and a bind
    directory, in its layout's words, and 17 put back reads all six rows; MariaDB 11.8 reads all
    six rows 10.11 wrote; MySQL, with one major offline, says why it has no upgrade cells."""
    report = tmp_path / "upgrade.json"
    process = run_harness(
        "run", "--action", "upgrade", "--storage", "named", "--storage", "bind",
        "--database", "mysql", "--database", "mariadb", "--database", "postgres",
        "--json", str(report),
    )  # fmt: skip
    assert process.returncode == 0, process.stdout + process.stderr
    assert "skipping mysql's upgrade cells:" in process.stdout
    assert "runs the only mysql major built offline" in process.stdout
    data = json.loads(report.read_text())
    contract("report", data)
    results = {r["id"]: r for r in data["results"]}
    assert set(results) == {
        "mariadb-named-upgrade", "mariadb-bind-upgrade", "postgres-named-upgrade",
        "postgres-bind-upgrade",
    }  # fmt: skip
    for storage in ("named", "bind"):
        postgres = results[f"postgres-{storage}-upgrade"]
        assert (postgres["expected"], postgres["observed"]) == ("refused", "refused")
        assert postgres["detail"].startswith("ERROR: in 18+, this image keeps its data in")
        assert "PostgreSQL data in: /var/lib/postgresql/data;" in postgres["detail"]
        assert postgres["detail"].endswith("put back, the old version read all 6 rows")
        assert postgres["rows_read"] == len(PERSONS_ROWS)
        assert postgres["upgrade"] == {
            "from": versions["postgres-17"],
            "to": versions["postgres-18"],
        }
        mariadb = results[f"mariadb-{storage}-upgrade"]
        assert (mariadb["observed"], mariadb["rows_read"]) == ("survives", len(PERSONS_ROWS))
        assert mariadb["upgrade"] == {
            "from": versions["mariadb-10.11"],
            "to": versions["mariadb-11.8"],
        }
    assert "X/X ok" in process.stdout  # the table's letter for refused


def test_upgrade_check_is_a_gate_exit_1_for_postgres_and_0_for_mariadb(
    versions: dict[str, str],
) -> None:
    refused = run_harness(
        "upgrade-check", "--from", versions["postgres-15"], "--to", versions["postgres-17"]
    )
    assert refused.returncode == 1, refused.stdout + refused.stderr
    assert "refused: " in refused.stdout
    assert "FATAL: database files are incompatible with server" in refused.stdout
    assert "pg_upgrade" in refused.stdout
    kept = run_harness(
        "upgrade-check", "--from", versions["mariadb-10.11"], "--to", versions["mariadb-11.8"],
        "--env", "MARIADB_AUTO_UPGRADE=1",
    )  # fmt: skip
    assert kept.returncode == 0, kept.stdout + kept.stderr
    assert "survives: " in kept.stdout
    assert "read back all 6 Persons rows" in kept.stdout


def test_upgrade_check_usage_and_environment_problems_exit_2_in_one_sentence(
    versions: dict[str, str],
) -> None:
    missing = run_harness("upgrade-check", "--from", "nosuch/pg:1", "--to", versions["postgres-17"])
    assert missing.returncode == 2
    assert missing.stderr == (
        "harness: Image(s) nosuch/pg:1 are not on the engine; pull or build them first "
        "(upgrade-check never pulls).\n"
    )
    mixed = run_harness(
        "upgrade-check", "--from", versions["mariadb-10.11"], "--to", versions["postgres-17"]
    )
    assert mixed.returncode == 2
    assert "runs postgres, not mariadb; compare images of one database." in mixed.stderr
    assert run_harness("upgrade-check", "--from", versions["postgres-15"]).returncode == 2


def _data_volume(engine: Engine, session: Session, name: str) -> Mount:
    return Mount(MountKind.VOLUME, engine.create_volume(name, session.labels), "/var/lib/mysql")


def test_mariadb_images_honour_auto_upgrade_like_the_official_one(
    harness_engine: Engine, harness_test_session: Session, versions: dict[str, str]
) -> None:
    """On 10.11's data, 11.8 starts and reads the rows either way; it runs mariadb-upgrade only
    with MARIADB_AUTO_UPGRADE, and says it skipped it otherwise."""
    profile, creds = DATABASES["mariadb"], Credentials.random()
    volume = _data_volume(
        harness_engine, harness_test_session, f"upgrade-{harness_test_session.id}"
    )
    with running_database(
        harness_engine, harness_test_session, versions["mariadb-10.11"], profile, creds,
        mounts=(volume,),
    ) as old:  # fmt: skip
        connection = wait_until_ready(old, profile, creds)
        write_persons(connection)
        connection.close()
        old.stop()
    for auto_upgrade, expected_log in (
        ("", "required from 10.11 to 11.8, but skipped: MARIADB_AUTO_UPGRADE is not set"),
        ("1", "Upgrading the system tables from 10.11 to 11.8"),
    ):
        with running_database(
            harness_engine, harness_test_session, versions["mariadb-11.8"], profile, creds,
            extra_env={"MARIADB_AUTO_UPGRADE": auto_upgrade}, mounts=(volume,),
        ) as new:  # fmt: skip
            connection = wait_until_ready(new, profile, creds)
            assert read_persons(connection) == list(PERSONS_ROWS)
            connection.close()
            assert expected_log in new.logs(200)
            new.stop()
    # After the upgrade, the data directory says it is 11.8's: nothing more to do.
    with running_database(
        harness_engine, harness_test_session, versions["mariadb-11.8"], profile, creds,
        mounts=(volume,),
    ) as final:  # fmt: skip
        wait_until_ready(final, profile, creds).close()
        assert "Upgrading the system tables" not in final.logs(200)
        assert "upgrade (mariadb-upgrade) required" not in final.logs(200)
    harness_engine.remove_volume(volume.source)
