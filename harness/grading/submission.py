"""Students' submissions: which folders they are, and scratch copies to run them from.

A submission is a folder named after the student holding any of `run.txt`, a `Dockerfile` with
its context, and `answers.yaml`. The grader never writes into it: a relative bind mount or a
build runs from a scratch copy, bounded in size so a submission cannot fill the disk.
"""

from __future__ import annotations

import contextlib
import shutil
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from harness.containers.run_state import RunState
from harness.errors import UsageError

RUN_FILE = "run.txt"
DOCKERFILE = "Dockerfile"
# compose.yaml and its other names (compose_submission.COMPOSE_FILES) stand for run.txt.
MARKERS = (RUN_FILE, DOCKERFILE, "answers.yaml", "compose.yaml", "compose.yml",
           "docker-compose.yml", "docker-compose.yaml")  # fmt: skip
MAX_SUBMISSION_BYTES = 20 * 1024 * 1024


@dataclass(frozen=True)
class Submission:
    student: str
    path: Path

    def has(self, name: str) -> bool:
        return (self.path / name).is_file()


def _is_submission(folder: Path) -> bool:
    return any((folder / name).exists() for name in MARKERS)


def discover(paths: Sequence[Path]) -> list[Submission]:
    """Each argument is a student's folder, or a folder of them (a whole class)."""
    found: list[Submission] = []
    for path in paths:
        if not path.is_dir():
            raise UsageError(f"{path} is not a folder; pass a student's folder or a class's.")
        if _is_submission(path):
            found.append(Submission(path.name, path))
            continue
        students = sorted(p for p in path.iterdir() if p.is_dir() and not p.name.startswith("."))
        if not students:
            raise UsageError(
                f"{path} holds no submission: a student's folder has run.txt, a Dockerfile or "
                "answers.yaml; a class's folder has one such folder per student."
            )
        found.extend(Submission(p.name, p) for p in students)
    seen: set[str] = set()
    for submission in found:
        if submission.student in seen:
            raise UsageError(
                f"two submissions are named {submission.student}; each student's folder name "
                "must be unique."
            )
        seen.add(submission.student)
    return found


def size_of(folder: Path) -> int:
    """Bytes of the regular files below `folder` (links are not followed)."""
    return sum(p.lstat().st_size for p in folder.rglob("*") if p.is_file() and not p.is_symlink())


@contextlib.contextmanager
def scratch_copy(submission: Submission, run: RunState) -> Iterator[Path]:
    """A private copy of the submission under the run's state directory, removed afterwards
    (or by the next run's start, if this one is killed). Symbolic links stay links, so a link
    pointing outside still resolves outside and is refused where a path must stay in."""
    if size_of(submission.path) > MAX_SUBMISSION_BYTES:
        raise SubmissionTooLarge(
            f"the submission holds more than {MAX_SUBMISSION_BYTES // 2**20} MB; remove data "
            "directories and build outputs from it."
        )
    root = run.new_directory("scratch", f"{submission.student[:20]}-")
    copy = root / "submission"
    try:
        shutil.copytree(submission.path, copy, symlinks=True)
        yield copy
    finally:
        shutil.rmtree(root, ignore_errors=True)


class SubmissionTooLarge(UsageError):
    """The submission is too large to copy."""
