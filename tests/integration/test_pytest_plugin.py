"""The plugin end to end: a real pytest run of two matrix cells, its table and its report."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from harness.containers.engine import Engine

ROOT = Path(__file__).resolve().parents[2]
SCENARIOS = ROOT / "scenarios" / "test_persistence.py"
CELLS = ("mysql-bind-restart", "postgres-anonymous-recreate")


def test_pytest_run_prints_matrix_and_writes_contract_report(
    tmp_path: Path,
    harness_engine: Engine,
    local_images: dict[str, str],
    contract: Callable[[str, Any], None],
) -> None:
    """Two cells pass, the summary shows their tables, the JSON has the contract's shape."""
    report = tmp_path / "report.json"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            *(f"{SCENARIOS}::test_persistence[{cell}]" for cell in CELLS),
            "--images=local",
            f"--harness-report={report}",
            "-p",
            "no:cacheprovider",
        ],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={**os.environ, "HARNESS_IMAGES": "official"},  # the option must win
        check=False,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout[-3000:]
    assert "persistence matrix: mysql" in result.stdout
    assert "persistence matrix: postgres" in result.stdout
    assert "postgres-anonymous-recreate: 1 dangling anonymous volume(s): " in result.stdout
    assert "holds the rows" in result.stdout

    data = json.loads(report.read_text())
    contract("report", data)
    assert set(data) == {"engine", "images", "results"}
    assert data["engine"] == {
        "name": harness_engine.info.name,
        "version": harness_engine.info.version,
        "api_version": harness_engine.info.api_version,
    }
    # The databases the run checked (MariaDB only when named).
    assert data["images"] == {db: local_images[db] for db in ("mysql", "postgres")}
    by_id = {r["id"]: r for r in data["results"]}
    assert set(by_id) == set(CELLS)
    assert by_id["mysql-bind-restart"]["observed"] == "survives"
    assert by_id["postgres-anonymous-recreate"]["observed"] == "lost"
    assert all(r["passed"] and r["rows_written"] == 6 for r in data["results"])
