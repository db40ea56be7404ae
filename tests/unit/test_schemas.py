"""The published schemas: generated from the models, committed, and what the reports obey."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from harness.frontends.reports.comparison import EngineRun, engines_report
from harness.frontends.reports.json_report import to_json
from harness.grading.results import CheckResult, LabResult, Status, SubmissionResult
from harness.model.cells import Cell, ScenarioResult
from harness.model.durability import SAFE, Campaign, RoundCounts
from harness.model.engine_info import EngineInfo
from harness.model.outcomes import Outcome

REPO = Path(__file__).parents[2]
SCHEMAS = REPO / "docs" / "schemas"
EXAMPLE_LAB = REPO / "scenarios" / "labs" / "volumes-101" / "lab.yaml"
Contract = Callable[[str, Any], None]
ENGINE = EngineInfo("docker", "20.10.24", "1.41")


@pytest.mark.parametrize("name", ["report", "lab", "grades", "compose-check"])
def test_the_committed_schema_is_what_the_command_prints(name: str) -> None:
    """docs/schemas/ holds exactly what `harness schema NAME` generates from the models (after a
    model changes: `python -m harness schema NAME > docs/schemas/<name>.schema.json`)."""
    printed = subprocess.run(
        [sys.executable, "-m", "harness", "schema", name],
        capture_output=True, text=True, check=True, cwd=REPO,
    ).stdout  # fmt: skip
    assert printed == (SCHEMAS / f"{name}.schema.json").read_text()


def _result(action: str = "recreate", observed: Outcome | None = Outcome.LOST) -> ScenarioResult:
    return ScenarioResult(
        Cell("mysql", "anonymous", action), Outcome.LOST, "why.", observed, 6, 0, 2.5
    )


def test_a_one_engine_report_with_every_optional_key_is_valid(contract: Contract) -> None:
    """detail, error, verified and upgrade are in the schema, and crash campaigns too (one
    without an error: CI's first validation found the schema wanted a string there)."""
    full = _result()
    full.detail, full.verified = "table missing", False
    upgrade = _result("upgrade", Outcome.REFUSED)
    upgrade.upgrade_from, upgrade.upgrade_to = "pg:15", "pg:17"
    no_verdict = _result("restart", None)
    no_verdict.error = "the engine stopped answering."
    campaign = Campaign("mysql", "named", SAFE, 1, 4, 400, "no loss")  # error: None
    campaign.rounds.append(RoundCounts(1, "recreate", attempted=3, acknowledged=2, lost=[7]))
    records = [campaign.to_record()]
    report = to_json(ENGINE, {"mysql": "m:1"}, [full, upgrade, no_verdict], records)
    contract("report", json.loads(json.dumps(report)))


def test_a_several_engine_report_is_valid(contract: Contract) -> None:
    runs = [
        EngineRun("host", ENGINE, {"mysql": "m:1"}, [_result()]),
        EngineRun("podman", EngineInfo("podman", "4.3.1", "1.41"), {"mysql": "m:1"}, [_result()]),
    ]
    contract("report", json.loads(json.dumps(engines_report(runs))))


@pytest.mark.parametrize(
    ("change", "where"),
    [
        (lambda r: r["results"][0].update(observed="gone"), "results/0/observed"),
        (lambda r: r["results"][0].update(storage="floppy"), "results/0/storage"),
        (lambda r: r["results"][0].pop("passed"), "results/0"),
        (lambda r: r["results"][0].update(colour="red"), "results/0"),
        (lambda r: r.pop("engine"), "(top)"),
    ],
)
def test_a_report_off_the_contract_is_not_valid(
    contract: Contract, change: Callable[[dict[str, Any]], None], where: str
) -> None:
    """The control: an unknown outcome or storage, a missing or an unknown key all fail."""
    report = json.loads(json.dumps(to_json(ENGINE, {"mysql": "m:1"}, [_result()])))
    change(report)
    with pytest.raises(AssertionError, match="not a valid report"):
        contract("report", report)


def test_the_grading_json_is_valid_and_a_wrong_status_is_not(contract: Contract) -> None:
    checks = (CheckResult("named-volume", 4, Status.PASSED, "ok"),)
    lab = LabResult("Volumes 101", 4, (SubmissionResult("ana", checks),))
    document = json.loads(json.dumps(lab.to_json()))
    contract("grades", document)
    document["submissions"][0]["checks"][0]["status"] = "skipped"
    with pytest.raises(AssertionError, match="not a valid grades"):
        contract("grades", document)


def test_the_example_lab_is_valid_and_names_its_schema_for_editors(contract: Contract) -> None:
    """lab.yaml's first line points editors (yaml-language-server) at the schema, which exists."""
    text = EXAMPLE_LAB.read_text()
    contract("lab", yaml.safe_load(text))
    pointer = re.match(r"# yaml-language-server: \$schema=(\S+)\n", text)
    assert pointer, "lab.yaml does not name its schema on its first line"
    assert (EXAMPLE_LAB.parent / pointer.group(1)).resolve() == SCHEMAS / "lab.schema.json"


def test_a_lab_with_an_unknown_action_is_not_valid(contract: Contract) -> None:
    lab = yaml.safe_load(EXAMPLE_LAB.read_text())
    survival = next(c for c in lab["checks"] if c["kind"] in ("persists", "loses"))
    survival["actions"] = ["upgrade"]  # two images: a lab cannot use it
    with pytest.raises(AssertionError, match="not a valid lab"):
        contract("lab", lab)
