"""`pytest -m grading --lab LAB --submission PATH`: one test per student and check.

Without --lab the test is skipped; the harness's own grading tests are in tests/.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from harness.frontends.pytest.grading import LabCheck
from harness.grading.results import Status, SubmissionResult
from harness.grading.submission import Submission

pytestmark = pytest.mark.grading


def test_lab_check(
    lab_check: LabCheck,
    harness_grade: Callable[[Submission], SubmissionResult],
    request: pytest.FixtureRequest,
) -> None:
    result = harness_grade(lab_check.submission)
    check = next(c for c in result.checks if c.id == lab_check.check_id)
    # JUnit <properties> (`--junitxml`); `record_property` refuses pytest's default xunit2
    # family with a warning, though gradebook tools read these properties in both.
    request.node.user_properties += [("points", check.points), ("max_points", check.max_points)]
    if check.status is not Status.PASSED:
        hint = f"\nHint: {check.hint}" if check.hint else ""
        pytest.fail(f"{check.status.value}: {check.message}{hint}", pytrace=False)
