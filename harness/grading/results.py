"""What grading found: per check, per student, per lab; and the JSON report of the contract."""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class Status(StrEnum):
    PASSED = "passed"
    FAILED = "failed"
    ERROR = "error"  # the check could not run (a build that never ends, a server never ready)
    REFUSED = "refused"  # the submission asks for something a grader will not run


@dataclass(frozen=True)
class CheckResult:
    id: str
    max_points: float
    status: Status
    message: str
    hint: str = ""

    @property
    def points(self) -> float:
        return self.max_points if self.status is Status.PASSED else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "points": self.points,
            "max_points": self.max_points,
            "status": self.status.value,
            "message": self.message,
        }


@dataclass(frozen=True)
class SubmissionResult:
    student: str
    checks: tuple[CheckResult, ...]

    @property
    def score(self) -> float:
        return sum(check.points for check in self.checks)

    @property
    def max_score(self) -> float:
        return sum(check.max_points for check in self.checks)

    def to_dict(self) -> dict[str, Any]:
        return {
            "student": self.student,
            "score": self.score,
            "max_score": self.max_score,
            "checks": [check.to_dict() for check in self.checks],
        }


@dataclass(frozen=True)
class LabResult:
    title: str
    max_score: float
    submissions: tuple[SubmissionResult, ...] = field(default_factory=tuple)

    def to_json(self) -> dict[str, Any]:
        """The grading JSON of docs/contracts.md: {"lab", "max_score", "submissions": [...]}."""
        return {
            "lab": self.title,
            "max_score": self.max_score,
            "submissions": [s.to_dict() for s in self.submissions],
        }

    def mean(self) -> float:
        return statistics.fmean(s.score for s in self.submissions) if self.submissions else 0.0

    def median(self) -> float:
        return statistics.median(s.score for s in self.submissions) if self.submissions else 0.0

    def pass_rates(self) -> dict[str, float]:
        """Per check id, the share of submissions that passed it (in the lab's order)."""
        passed: dict[str, list[bool]] = {}
        for submission in self.submissions:
            for check in submission.checks:
                passed.setdefault(check.id, []).append(check.status is Status.PASSED)
        return {check: sum(flags) / len(flags) for check, flags in passed.items()}

    def below(self, score: float) -> list[SubmissionResult]:
        """The submissions scoring under `score` (for --fail-under)."""
        return [s for s in self.submissions if s.score < score]
