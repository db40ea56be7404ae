"""Grading results in the formats gradebooks and autograders read.

- JSON: `LabResult.to_json()` (the contract);
- a gradebook CSV: one row per student, one column per check, then the total;
- Gradescope's `results.json` per student (`score`, `tests[]` with `name`, `score`, `max_score`,
  `status`, `output`), which Otter-Grader and others read too;
- JUnit XML: one testsuite per student, one testcase per check;
- feedback Markdown per student: what passed, what failed and why, with the check's hint.
"""

from __future__ import annotations

import csv
import io
import xml.etree.ElementTree as ET
from typing import Any

from harness.grading.results import LabResult, Status, SubmissionResult


def number(value: float) -> str:
    """Points as people write them: 4, 0.5 (never 4.0)."""
    return f"{value:g}"


def gradebook_csv(lab: LabResult) -> str:
    ids = [c.id for c in lab.submissions[0].checks] if lab.submissions else []
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["student", *ids, "total"])
    for submission in lab.submissions:
        points = {c.id: number(c.points) for c in submission.checks}
        writer.writerow(
            [submission.student, *(points.get(i, "") for i in ids), number(submission.score)]
        )
    return out.getvalue()


def gradescope(submission: SubmissionResult) -> dict[str, Any]:
    return {
        "score": submission.score,
        "tests": [
            {
                "name": check.id,
                "score": check.points,
                "max_score": check.max_points,
                # Gradescope knows passed/failed only; error and refused score 0 as failed.
                "status": "passed" if check.status is Status.PASSED else "failed",
                "output": check.message + (f"\nHint: {check.hint}" if check.hint else ""),
            }
            for check in submission.checks
        ],
    }


def junit_xml(lab: LabResult) -> str:
    suites = ET.Element("testsuites", name=lab.title)
    for submission in lab.submissions:
        failures = sum(c.status is Status.FAILED for c in submission.checks)
        errors = sum(c.status in (Status.ERROR, Status.REFUSED) for c in submission.checks)
        suite = ET.SubElement(
            suites,
            "testsuite",
            name=submission.student,
            tests=str(len(submission.checks)),
            failures=str(failures),
            errors=str(errors),
        )
        for check in submission.checks:
            case = ET.SubElement(suite, "testcase", classname=submission.student, name=check.id)
            properties = ET.SubElement(case, "properties")
            ET.SubElement(properties, "property", name="points", value=number(check.points))
            ET.SubElement(properties, "property", name="max_points", value=number(check.max_points))
            if check.status is Status.FAILED:
                ET.SubElement(case, "failure", message=check.message).text = check.hint
            elif check.status is not Status.PASSED:
                ET.SubElement(case, "error", type=check.status.value, message=check.message)
    return ET.tostring(suites, encoding="unicode", xml_declaration=True) + "\n"


_MARK = {Status.PASSED: "✅", Status.FAILED: "❌", Status.ERROR: "⚠️", Status.REFUSED: "⛔"}


def feedback_markdown(title: str, submission: SubmissionResult) -> str:
    lines = [
        f"# {title}: {submission.student}",
        "",
        f"Score: **{number(submission.score)} / {number(submission.max_score)}**",
        "",
    ]
    for check in submission.checks:
        lines.append(
            f"- {_MARK[check.status]} `{check.id}` ({number(check.points)}/"
            f"{number(check.max_points)}): {check.message}"
        )
        if check.status is not Status.PASSED and check.hint:
            lines.append(f"  - Hint: {check.hint}")
    return "\n".join(lines) + "\n"
