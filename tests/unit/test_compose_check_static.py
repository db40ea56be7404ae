"""`compose-check --static`: the promise table from the file and the official images' layouts,
with no engine (the Compose binary reads the file; DOCKER_HOST points nowhere here)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from harness.model.servers.official_images import official_image_facts

EXAMPLES = Path(__file__).parents[2] / "docs" / "examples"
NO_ENGINE = {**os.environ, "DOCKER_HOST": "unix:///nonexistent/docker.sock"}


@pytest.mark.parametrize(
    ("ref", "data_dir", "volume", "major"),
    [
        ("postgres:14", "/var/lib/postgresql/data", "/var/lib/postgresql/data", "14"),
        ("postgres:16", "/var/lib/postgresql/data", "/var/lib/postgresql/data", "16"),
        ("docker.io/library/postgres:17", "/var/lib/postgresql/data",
         "/var/lib/postgresql/data", "17"),
        ("postgres:18.1", "/var/lib/postgresql/18/docker", "/var/lib/postgresql", "18.1"),
        ("postgres", "/var/lib/postgresql/18/docker", "/var/lib/postgresql", "18"),
        ("postgres:alpine", "/var/lib/postgresql/18/docker", "/var/lib/postgresql", "18"),
        ("postgres:19", "/var/lib/postgresql/18/docker", "/var/lib/postgresql", "19"),
    ],
)  # fmt: skip
def test_postgres_layout_follows_the_tags_major(
    ref: str, data_dir: str, volume: str, major: str
) -> None:
    """Up to 17 the data and the VOLUME are /var/lib/postgresql/data; from 18 the data is in a
    major-version directory under VOLUME /var/lib/postgresql."""
    facts = official_image_facts(ref)
    assert facts is not None
    assert facts.env == {"PG_MAJOR": major, "PGDATA": data_dir}
    assert facts.declared_volumes == (volume,)


@pytest.mark.parametrize(("ref", "major_env"), [("mysql:8.4", "MYSQL_MAJOR"),
                                                ("mariadb:10.6", "MARIADB_MAJOR")])  # fmt: skip
def test_mysql_family_keeps_var_lib_mysql_in_every_version(ref: str, major_env: str) -> None:
    facts = official_image_facts(ref)
    assert facts is not None
    assert facts.declared_volumes == ("/var/lib/mysql",)
    assert set(facts.env) == {major_env}


@pytest.mark.parametrize("ref", ["myorg/db:1.4", "bitnami/postgresql:16", ""])
def test_an_image_that_is_not_official_has_no_facts(ref: str) -> None:
    assert official_image_facts(ref) is None


def _static(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "harness", "compose-check", "--static", *map(str, args)],
        capture_output=True, text=True, env=NO_ENGINE, check=False, timeout=60,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("example", "code", "says"),
    [
        ("compose-named-volume.yaml", 0, "is promised to keep the rows"),
        ("compose-no-volume.yaml", 1, "db would lose its rows on down-up: keep "
         "/var/lib/postgresql/data in a named volume"),
        ("compose-postgres-17-new-mount.yaml", 1, "Docker mounts inside your mount at "
         "/var/lib/postgresql"),
        ("compose-postgres-18-old-mount.yaml", 1, "db would not start, so it keeps nothing on "
         "restart: mount the volume at /var/lib/postgresql instead."),
        ("compose-mysql-removed-option.yaml", 1, "db would not start, so it keeps nothing on "
         "down-up: remove the option"),
    ],
)  # fmt: skip
def test_each_example_gets_the_full_checks_expectation(example: str, code: int, says: str) -> None:
    """The same expectation the engine-backed check states for these files
    (tests/integration/test_compose_check.py proves them on an engine)."""
    done = _static(EXAMPLES / example)
    assert done.returncode == code, done.stdout + done.stderr
    assert says in done.stdout


def test_several_files_exit_with_the_worst(tmp_path: Path) -> None:
    web_only = tmp_path / "compose.web.yaml"
    web_only.write_text("services:\n  web:\n    image: nginx:1.27\n")
    done = _static(web_only, EXAMPLES / "compose-named-volume.yaml", EXAMPLES /
                   "compose-no-volume.yaml")  # fmt: skip
    assert done.returncode == 1, done.stderr
    assert "no MySQL, MariaDB or PostgreSQL service: nothing to check" in done.stdout
    assert done.stdout.count("compose-check --static: ") == 3


def test_a_file_without_a_database_passes(tmp_path: Path) -> None:
    """The hook runs on every compose file: one without a database has nothing to lose."""
    web_only = tmp_path / "compose.yaml"
    web_only.write_text("services:\n  web:\n    image: nginx:1.27\n")
    assert _static(web_only).returncode == 0


def test_an_image_static_does_not_know_is_one_sentence(tmp_path: Path) -> None:
    custom = tmp_path / "compose.yaml"
    custom.write_text("services:\n  db:\n    image: myorg/db:1.4\n")
    done = _static(custom, "--service", "db", "--database", "postgres")
    assert done.returncode == 2
    assert "runs myorg/db:1.4, which --static does not know" in done.stderr
    assert "Traceback" not in done.stderr


def test_static_is_for_one_engine_only() -> None:
    done = _static(EXAMPLES / "compose-named-volume.yaml", "--on", "swarm")
    assert done.returncode == 2
    assert "drop --on swarm" in done.stderr


def test_several_files_without_static_are_refused() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "harness", "compose-check", str(EXAMPLES / "compose-no-volume.yaml"),
         str(EXAMPLES / "compose-named-volume.yaml")],
        capture_output=True, text=True, env=NO_ENGINE, check=False, timeout=60,
    )  # fmt: skip
    assert done.returncode == 2
    assert "give one FILE, or add --static" in done.stderr


def test_static_writes_no_report_and_says_so(tmp_path: Path) -> None:
    done = _static(EXAMPLES / "compose-named-volume.yaml", "--json", tmp_path / "r.json")
    assert done.returncode == 2
    assert "writes no report; drop --json" in done.stderr
    assert not (tmp_path / "r.json").exists()


def test_database_without_a_service_is_one_sentence() -> None:
    """The same usage rule as the engine-backed check (one function for both)."""
    done = _static(EXAMPLES / "compose-named-volume.yaml", "--database", "mysql")
    assert done.returncode == 2
    assert "--database says which database a --service runs" in done.stderr
