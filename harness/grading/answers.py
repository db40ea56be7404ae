"""The `answer` check: a student's answers.yaml against the lab's expected values."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from harness.grading.lab import AnswerCheck
from harness.grading.results import CheckResult, Status

ANSWERS_FILE = "answers.yaml"


def normalise(value: Any) -> str | float:
    """Numbers as numbers (3 == "3" == 3.0); strings trimmed and case-insensitive."""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, int | float):
        return float(value)
    text = str(value).strip()
    try:
        return float(text)
    except ValueError:
        return text.casefold()


def read_answers(submission: Path) -> dict[str, Any] | str:
    """The answers, or why they cannot be read (one sentence)."""
    path = submission / ANSWERS_FILE
    if not path.is_file():
        return f"There is no {ANSWERS_FILE} in the submission"
    try:
        data = yaml.safe_load(path.read_text(errors="replace"))
    except yaml.YAMLError:
        return f"{ANSWERS_FILE} is not valid YAML"
    if not isinstance(data, dict):
        return f"{ANSWERS_FILE} must map question keys to answers"
    return {str(key): value for key, value in data.items()}


def grade_answer(check: AnswerCheck, answers: dict[str, Any] | str) -> CheckResult:
    if isinstance(answers, str):
        return CheckResult(check.id, check.points, Status.FAILED, f"{answers}.", check.hint)
    if check.key not in answers:
        message = f"{ANSWERS_FILE} has no answer for {check.key}."
        return CheckResult(check.id, check.points, Status.FAILED, message, check.hint)
    given = answers[check.key]
    if normalise(given) == normalise(check.expected):
        return CheckResult(
            check.id, check.points, Status.PASSED, f"{check.key}: {given!r} is right."
        )
    message = f"{check.key}: {given!r} is not the expected answer."
    return CheckResult(check.id, check.points, Status.FAILED, message, check.hint)
