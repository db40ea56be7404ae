"""The compose lab (scenarios/labs/compose-101) graded on the real engine: each sample's exact
score and every failed check's exact message, a submission's own files untouched, and nothing
labelled left."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from harness.containers.engine import OWNER_LABEL, SESSION_LABEL, Engine
from harness.model.servers.stand_in_table import stand_in_for

pytestmark = [pytest.mark.grading, pytest.mark.compose]

LAB = Path(__file__).parents[2] / "scenarios" / "labs" / "compose-101"
SAMPLES = LAB / "samples"
SCORES = {
    "ana-external": 9,  # external: true survives even `down -v`
    "ben-no-volume": 3,  # compose's carry-over keeps the image's VOLUME through a recreate only
    "cho-down-v-trap": 7,  # a project's named volume: everything but `down -v`
    "fay-hostile": 0,
    "gus-bind": 9,  # a directory of the project
}
REFUSED = "compose.yaml refused: service db: `privileged` is not allowed in a submission."


def expected_failures(images: dict[str, str]) -> dict[tuple[str, str], str]:
    table = stand_in_for("mysql:8.0")
    assert table is not None
    # mysql:8.0 runs on MySQL 9.7, another major: the feedback says so.
    mysql = f"{images['mysql']}; {table.other_major()}"
    mariadb = images["mariadb"]
    anonymous = (
        "the Persons rows were lost (0 of 6 rows read back; table missing): db keeps "
        "/var/lib/mysql in the image's anonymous volume (VOLUME /var/lib/mysql): "
    )
    return {
        ("ben-no-volume", "survives-down-up"): (
            f"After down-up (`docker compose down; docker compose up -d`) {anonymous}`down` "
            "forgets the anonymous volume; `up` gives the new container a new, empty one (the "
            f"old one dangles). (mysql:8.0 ran as {mysql})"
        ),
        ("ben-no-volume", "survives-down-v"): (
            f"After down-v-up (`docker compose down -v; docker compose up -d`) {anonymous}"
            f"`down -v` removes the anonymous volume with the container. (mysql:8.0 ran as "
            f"{mysql})"
        ),
        ("cho-down-v-trap", "survives-down-v"): (
            "After down-v-up (`docker compose down -v; docker compose up -d`) the Persons rows "
            "were lost (0 of 6 rows read back; table missing): db keeps /var/lib/mysql in the "
            "named volume `dbdata`: `down -v` removes the project's named volumes. (mariadb:11 "
            f"ran as {mariadb})"
        ),
        **{("fay-hostile", check): REFUSED for check in (
            "survives-restart", "survives-recreate", "survives-down-up", "survives-down-v")},
    }  # fmt: skip


@pytest.fixture(scope="module")
def graded(
    run_once: Callable[[str, Callable[[Path], dict[str, Any]]], tuple[Path, dict[str, Any]]],
    contract: Callable[[str, Any], None],
) -> dict[str, Any]:
    def grade(folder: Path) -> dict[str, Any]:
        report = folder / "grades.json"
        with subprocess.Popen(
            [sys.executable, "-m", "harness", "grade", str(LAB), str(SAMPLES), "--jobs", "2",
             "--json", str(report)],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
            env={**os.environ, "HARNESS_IMAGES": "local"},
        ) as done:  # fmt: skip
            try:
                output, _ = done.communicate(timeout=1200)
            except subprocess.TimeoutExpired:
                done.kill()  # as subprocess.run's timeout did: the test fails, nothing hangs
                raise
        assert report.exists(), output
        # The grading process's owner label names what it made, apart from the other workers'
        # runs (the docker-run lab has a student of the same name).
        owner = f"{socket.gethostname()}:{done.pid}"
        return {"code": done.returncode, "owner": owner, "report": json.loads(report.read_text())}

    _, ran = run_once("graded-compose-samples", grade)
    contract("grades", ran["report"])
    assert ran["code"] == 0
    return {**ran["report"], "owner": ran["owner"]}


def test_each_compose_sample_gets_its_exact_score(graded: dict[str, Any]) -> None:
    assert {s["student"]: s["score"] for s in graded["submissions"]} == SCORES
    assert graded["max_score"] == 9


def test_each_failed_compose_check_says_why_in_exact_words(
    graded: dict[str, Any], local_images: dict[str, str]
) -> None:
    failed = {
        (s["student"], c["id"]): c["message"]
        for s in graded["submissions"]
        for c in s["checks"]
        if c["status"] != "passed"
    }
    assert failed == expected_failures(local_images)


def test_grading_a_compose_lab_writes_nothing_into_submissions_and_leaves_nothing(
    graded: dict[str, Any], harness_engine: Engine
) -> None:
    assert graded["submissions"]
    assert sorted(p.name for p in (SAMPLES / "gus-bind" / "data").iterdir()) == [".keep"]
    owned = {"label": [SESSION_LABEL, f"{OWNER_LABEL}={graded['owner']}"]}
    client = harness_engine.client
    assert [c.name for c in client.containers.list(all=True, filters=owned)] == []
    assert [v.name for v in client.volumes.list(filters=owned)] == []
    assert [n.name for n in client.networks.list(filters=owned)] == []
