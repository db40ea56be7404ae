"""Engines under test beside the host's: `engines up/list/down` and runs over two engines (the
CLI's `run --engine` with Docker 26, pytest's `--engine` with Podman)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from cli_runs import run_harness

from harness.containers.engine import Engine
from harness.engines.catalogue import ENGINE_LABEL, engines_root

REPO = Path(__file__).parents[2]


def _listed() -> dict[str, dict[str, str]]:
    done = run_harness("engines", "list", "--json")
    assert done.returncode == 0, done.stderr
    return {entry["name"]: entry for entry in json.loads(done.stdout)}


def _comes_up_once(engine: str, kind_and_version: str) -> None:
    """`engines up ENGINE` brings it up and says what answered; a second time it is idempotent
    and quiet (nothing to do)."""
    up = run_harness("engines", "up", engine)
    assert up.returncode == 0, up.stdout[-2000:] + up.stderr[-3000:]
    assert up.stdout.startswith(f"{engine}: {kind_and_version}")
    again = run_harness("engines", "up", engine)
    assert again.returncode == 0
    assert again.stderr == ""


def _differ_only_in(  # noqa: PLR0917 - a run, its report, what differs, the schema check
    run: subprocess.CompletedProcess[str],
    report: Path,
    engine: str,
    cell: str,
    outcomes: list[str],
    contract: Callable[[str, Any], None],
) -> None:
    """A run over the host and `engine` passed its four cells on each, and the engines differ in
    `cell` for both databases alone, with these outcomes (host's first)."""
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-2000:]
    data = json.loads(report.read_text())
    contract("report", data)
    assert [e["engine"]["as"] for e in data["engines"]] == ["host", engine]
    assert [len(e["results"]) for e in data["engines"]] == [4, 4]
    assert all(r["passed"] for e in data["engines"] for r in e["results"])
    assert {d["id"] for d in data["differences"]} == {f"mysql-{cell}", f"postgres-{cell}"}
    assert [e["outcome"] for e in data["differences"][0]["engines"]] == outcomes
    assert "where the engines differ" in run.stdout


@pytest.mark.usefixtures("local_images")
def test_docker_26_comes_up_runs_beside_the_host_and_goes_down_leaving_nothing(
    harness_engine: Engine, tmp_path: Path, contract: Callable[[str, Any], None]
) -> None:
    try:
        _comes_up_once("docker-26", "docker 26.")
        listed = _listed()
        assert listed["docker-26"]["state"] == "up"
        assert listed["docker-26"]["version"].startswith("26.")
        assert listed["host"]["state"] == "up"

        # The cell that changed in Engine 23, on both engines at once.
        report = tmp_path / "two.json"
        run = run_harness(
            "run", "--engine", "host", "--engine", "docker-26", "--storage", "named",
            "--action", "prune-recreate", "--action", "restart", "--json", str(report),
        )  # fmt: skip
        _differ_only_in(
            run, report, "docker-26", "named-prune-recreate", ["lost", "survives"], contract
        )
    finally:
        down = run_harness("engines", "down", "docker-26")
    assert down.returncode == 0, down.stderr
    assert _listed()["docker-26"]["state"] == "down"
    # Its own label: the swarm's test may have its nodes up meanwhile (another worker).
    assert harness_engine.containers_labelled(f"{ENGINE_LABEL}=docker-26") == []
    assert harness_engine.volumes_labelled(f"{ENGINE_LABEL}=docker-26") == []


@pytest.mark.skipif(os.geteuid() != 0, reason="the Podman engine under test runs rootful")
@pytest.mark.usefixtures("local_images")
def test_podman_comes_up_runs_the_matrix_beside_the_host_and_goes_down_leaving_nothing(
    tmp_path: Path, contract: Callable[[str, Any], None]
) -> None:
    home = engines_root() / "podman"
    try:
        _comes_up_once("podman", "podman 4.")
        assert _listed()["podman"]["state"] == "up"

        # The cells Podman 4 keeps differently from Docker, through pytest's --engine this time.
        report = tmp_path / "two.json"
        run = subprocess.run(
            [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q",
             "scenarios/test_persistence.py", "-k", "bind and volumes-from or named and restart",
             "--engine", "host", "--engine", "podman", f"--harness-report={report}"],
            cwd=REPO, env=os.environ | {"HARNESS_IMAGES": "local"}, capture_output=True,
            text=True, check=False, timeout=1200,
        )  # fmt: skip
        _differ_only_in(
            run, report, "podman", "bind-volumes-from", ["survives", "rejected"], contract
        )
    finally:
        down = run_harness("engines", "down", "podman")
    assert down.returncode == 0, down.stderr
    assert _listed()["podman"]["state"] == "down"
    assert not home.exists()
    leftover = subprocess.run(
        ["pgrep", "-af", str(home)], capture_output=True, text=True, check=False
    )
    assert leftover.stdout == "", f"processes of the Podman engine remain: {leftover.stdout}"
