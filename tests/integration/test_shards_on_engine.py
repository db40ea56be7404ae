"""`--shard` and `merge` on the real engine: a matrix run (`run` and pytest) split in shards and
merged gives what the unsplit run gives (the class: tests/integration/test_grading_on_engine.py)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from cli_runs import run_harness

from harness.model.cells import matrix

ROOT = Path(__file__).resolve().parents[2]
SCENARIOS = ROOT / "scenarios" / "test_persistence.py"
# `run` takes the four mysql cells (three shards get 2, 1 and 1); pytest all five (two shards:
# 3 and 2), both databases, kept and lost data.
CELL_OPTIONS = ("--storage", "named", "--storage", "layer", "--action", "restart",
                "--action", "recreate")  # fmt: skip
CELLS = ("mysql-named-restart", "mysql-named-recreate", "mysql-layer-restart",
         "mysql-layer-recreate", "postgres-named-recreate")  # fmt: skip
TABLE_ORDER = [cell.id for cell in matrix() if cell.id in CELLS]


def _verdicts(report: dict[str, Any]) -> dict[str, tuple[str, str | None, bool]]:
    return {r["id"]: (r["expected"], r["observed"], r["passed"]) for r in report["results"]}


def test_a_matrix_run_split_in_three_and_merged_gives_the_unsplit_run_s_verdicts(
    tmp_path: Path, local_images: dict[str, str], contract: Callable[[str, Any], None]
) -> None:
    whole = tmp_path / "whole.json"
    ran = run_harness("run", "--database", "mysql", *CELL_OPTIONS, "--json", str(whole))
    assert ran.returncode == 0, ran.stderr[-2000:]
    shards = [tmp_path / f"shard-{k}.json" for k in (1, 2, 3)]
    for k, path in enumerate(shards, start=1):
        ran = run_harness(
            "run", "--database", "mysql", *CELL_OPTIONS, "--shard", f"{k}/3", "--json", str(path)
        )
        assert ran.returncode == 0, ran.stderr[-2000:]
        assert f"shard {k}/3: {2 if k == 1 else 1} of the 4 cells" in ran.stdout
        contract("report", json.loads(path.read_text()))
    merged = tmp_path / "merged.json"
    junit = tmp_path / "cells.xml"
    ran = run_harness("merge", *map(str, shards), "--json", str(merged), "--junit", str(junit))
    assert ran.returncode == 0, ran.stderr
    report = json.loads(merged.read_text())
    contract("report", report)
    unsplit = json.loads(whole.read_text())
    assert set(report) == set(unsplit) == {"engine", "images", "results"}
    assert _verdicts(report) == _verdicts(unsplit)
    assert [r["id"] for r in report["results"]] == TABLE_ORDER[:4]
    assert junit.read_text().count("<testcase ") == 4


def test_pytest_shards_merged_hold_every_selected_cell_with_its_promise(
    tmp_path: Path, local_images: dict[str, str], contract: Callable[[str, Any], None]
) -> None:
    reports = [tmp_path / f"pytest-{k}.json" for k in (1, 2)]
    for k, report in enumerate(reports, start=1):
        ran = subprocess.run(
            [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "-n", "2",
             *(f"{SCENARIOS}::test_persistence[{cell}]" for cell in CELLS),
             f"--shard={k}/2", f"--harness-report={report}"],
            capture_output=True, text=True, cwd=tmp_path, timeout=900, check=False,
            env={**os.environ, "HARNESS_IMAGES": "local"},
        )  # fmt: skip
        assert ran.returncode == 0, ran.stdout[-3000:]
        assert f"{3 if k == 1 else 2} passed" in ran.stdout
        contract("report", json.loads(report.read_text()))
    merged = tmp_path / "merged.json"
    ran = run_harness("merge", *map(str, reports), "--json", str(merged))
    assert ran.returncode == 0, ran.stderr
    results = json.loads(merged.read_text())["results"]
    assert [r["id"] for r in results] == TABLE_ORDER
    assert all(r["passed"] and r["rows_read"] == r["rows_written"] * (r["observed"] == "survives")
               for r in results)  # fmt: skip
    ran = run_harness("merge", str(reports[0]))
    assert ran.returncode == 2
    assert "shard 2 of 2 is missing" in ran.stderr
