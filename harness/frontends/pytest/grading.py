"""`pytest -m grading --lab LAB --submission PATH`: each student's check as one test.

Test ids are `<student>-<check>`; each test records its points and max points as JUnit
properties (`--junitxml`). A student is graded once, when the first of their tests runs, and
what grading made is removed before that test ends. A plugin the harness's pytest plugin
registers; light at import (the grader loads when a test first needs it).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from harness.errors import HarnessError, UsageError

if TYPE_CHECKING:
    from harness.containers.engine import Engine
    from harness.grading.lab import Lab
    from harness.grading.results import SubmissionResult
    from harness.grading.submission import Submission
    from harness.images.sources import ImageChoice

NO_LAB = "pass --lab LAB and --submission PATH to grade submissions"


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("harness", "persistence harness")
    group.addoption(
        "--lab", default=None, metavar="LAB", help="grade against this lab (folder or lab.yaml)"
    )
    group.addoption(
        "--submission",
        action="append",
        default=[],
        metavar="PATH",
        help="a student's folder or a class's (repeatable); with --lab",
    )


@dataclass(frozen=True)
class LabCheck:
    submission: Submission
    check_id: str


GRADING_KEY: pytest.StashKey[tuple[Lab, list[Submission]]] = pytest.StashKey()


def pytest_configure(config: pytest.Config) -> None:
    """Read --lab and --submission once, before collection: a bad spec or a missing folder
    ends the run with one sentence and exit code 2 (in every pytest-xdist worker alike), not
    with a collection traceback."""
    if not config.getoption("--lab"):
        return
    from harness.grading.lab import load_lab  # noqa: PLC0415 - pydantic only when grading
    from harness.grading.submission import discover  # noqa: PLC0415

    try:
        lab = load_lab(Path(config.getoption("--lab")))
        paths = [Path(p) for p in config.getoption("--submission")]
        if not paths:
            raise UsageError("--lab needs at least one --submission PATH (a student's folder).")
        config.stash[GRADING_KEY] = (lab, discover(paths))
    except HarnessError as error:
        pytest.exit(f"harness: {error}", returncode=error.exit_code)


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "lab_check" not in metafunc.fixturenames:
        return
    if GRADING_KEY not in metafunc.config.stash:
        metafunc.parametrize("lab_check", [pytest.param(None, marks=pytest.mark.skip(NO_LAB))])
        return
    lab, submissions = metafunc.config.stash[GRADING_KEY]
    params = [
        pytest.param(LabCheck(s, check.id), id=f"{s.student}-{check.id}")
        for s in submissions
        for check in lab.checks
    ]
    metafunc.parametrize("lab_check", params)


@pytest.fixture(scope="session")
def harness_grade(
    pytestconfig: pytest.Config, harness_engine: Engine, harness_image_choices: list[ImageChoice]
) -> Callable[[Submission], SubmissionResult]:
    """Grades a submission once per run (the result is kept for its other checks)."""
    from harness.grading.grader import grade_lab  # noqa: PLC0415
    from harness.grading.stand_ins import stand_ins_of  # noqa: PLC0415

    lab, _submissions = pytestconfig.stash[GRADING_KEY]
    stand_ins = stand_ins_of(harness_image_choices, harness_engine.has_image)
    graded: dict[str, SubmissionResult] = {}

    def grade(submission: Submission) -> SubmissionResult:
        if submission.student not in graded:
            result = grade_lab(lab, [submission], harness_engine, stand_ins)
            graded[submission.student] = result.submissions[0]
        return graded[submission.student]

    return grade
