"""Scores, answers and the report formats, from made-up check results."""

from __future__ import annotations

import csv
import io
import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from harness.frontends.reports.grades import feedback_markdown, gradebook_csv, gradescope, junit_xml
from harness.grading.answers import grade_answer, normalise, read_answers
from harness.grading.lab import AnswerCheck
from harness.grading.results import CheckResult, LabResult, Status, SubmissionResult

ALICE = SubmissionResult(
    "alice",
    (
        CheckResult("data-survives-recreate", 4, Status.PASSED, "the rows survived recreate."),
        CheckResult("exp3-layers", 1.5, Status.FAILED, "exp3_layers: 4 is wrong.", "Count RUNs."),
    ),
)
MALLORY = SubmissionResult(
    "mallory",
    (
        CheckResult("data-survives-recreate", 4, Status.REFUSED, "--privileged is not allowed."),
        CheckResult("exp3-layers", 1.5, Status.PASSED, "exp3_layers: 3 is right."),
    ),
)
LAB = LabResult("Volumes 101", 5.5, (ALICE, MALLORY))


def test_points_only_for_passed_checks() -> None:
    """Failed, error and refused checks score zero; the score is the sum."""
    assert [c.points for c in ALICE.checks] == [4, 0]
    assert (ALICE.score, ALICE.max_score) == (4, 5.5)
    assert MALLORY.score == 1.5
    assert [s.student for s in LAB.below(2)] == ["mallory"]


def test_json_matches_contract() -> None:
    """{"lab", "max_score", "submissions": [{"student", "score", "max_score", "checks": [...]}]}"""
    data = json.loads(json.dumps(LAB.to_json()))
    assert list(data) == ["lab", "max_score", "submissions"]
    assert data["submissions"][1] == {
        "student": "mallory",
        "score": 1.5,
        "max_score": 5.5,
        "checks": [
            {"id": "data-survives-recreate", "points": 0.0, "max_points": 4,
             "status": "refused", "message": "--privileged is not allowed."},
            {"id": "exp3-layers", "points": 1.5, "max_points": 1.5,
             "status": "passed", "message": "exp3_layers: 3 is right."},
        ],
    }  # fmt: skip


def test_gradebook_has_a_column_per_check_and_the_total() -> None:
    """One row per student, importable as CSV."""
    rows = list(csv.reader(io.StringIO(gradebook_csv(LAB))))
    assert rows == [
        ["student", "data-survives-recreate", "exp3-layers", "total"],
        ["alice", "4", "0", "4"],
        ["mallory", "0", "1.5", "1.5"],
    ]


def test_gradescope_results_shape() -> None:
    """score and tests[] with name, score, max_score, status, output (the hint included)."""
    result = gradescope(ALICE)
    assert result["score"] == 4
    assert result["tests"][1] == {
        "name": "exp3-layers",
        "score": 0.0,
        "max_score": 1.5,
        "status": "failed",
        "output": "exp3_layers: 4 is wrong.\nHint: Count RUNs.",
    }


def test_junit_has_a_suite_per_student_and_a_case_per_check() -> None:
    """Failures and errors counted per suite; the points travel as properties."""
    root = ET.fromstring(junit_xml(LAB))  # noqa: S314 - our own output
    suites = root.findall("testsuite")
    assert [(s.get("name"), s.get("failures"), s.get("errors")) for s in suites] == [
        ("alice", "1", "0"),
        ("mallory", "0", "1"),
    ]
    failed = suites[0].findall("testcase")[1]
    assert failed.find("failure") is not None
    assert failed.find("failure").get("message") == "exp3_layers: 4 is wrong."  # type: ignore[union-attr]
    refused = suites[1].findall("testcase")[0].find("error")
    assert refused is not None
    assert refused.get("type") == "refused"
    points = {p.get("name"): p.get("value") for p in suites[1].iter("property")}
    assert points == {"points": "1.5", "max_points": "1.5"}


def test_feedback_says_what_failed_and_the_hint() -> None:
    """The student reads their score, each check's verdict, and the hint where they failed."""
    text = feedback_markdown("Volumes 101", ALICE)
    assert "Score: **4 / 5.5**" in text
    assert "❌ `exp3-layers` (0/1.5): exp3_layers: 4 is wrong." in text
    assert "  - Hint: Count RUNs." in text
    assert text.count("Hint:") == 1


@pytest.mark.parametrize(
    ("given", "expected", "same"),
    [(3, 3, True), ("3", 3, True), (" 3.0 ", 3, True), ("Named Volume ", "named volume", True),
     ("4", 3, False), ("anonymous", "named", False), (True, "true", True)],
)  # fmt: skip
def test_answers_are_normalised(given: object, expected: object, same: bool) -> None:
    """Numbers as numbers; strings trimmed and case-insensitive."""
    assert (normalise(given) == normalise(expected)) is same


def test_answer_check_from_answers_yaml(tmp_path: Path) -> None:
    """Right, wrong, missing key and missing file each say so."""
    check = AnswerCheck(id="exp3-layers", points=1, kind="answer", key="exp3_layers", expected=3,
                        hint="Each RUN adds a layer.")  # fmt: skip
    assert (
        grade_answer(check, read_answers(tmp_path)).message
        == "There is no answers.yaml in the submission."
    )
    (tmp_path / "answers.yaml").write_text("exp3_layers: '3'\n")
    assert grade_answer(check, read_answers(tmp_path)).status is Status.PASSED
    (tmp_path / "answers.yaml").write_text("exp3_layers: 4\n")
    wrong = grade_answer(check, read_answers(tmp_path))
    assert (wrong.status, wrong.points, wrong.hint) == (Status.FAILED, 0, "Each RUN adds a layer.")
    (tmp_path / "answers.yaml").write_text("other: 1\n")
    assert "has no answer for exp3_layers" in grade_answer(check, read_answers(tmp_path)).message
    (tmp_path / "answers.yaml").write_text("- a list\n")
    assert "must map question keys" in grade_answer(check, read_answers(tmp_path)).message
