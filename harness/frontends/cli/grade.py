"""`python -m harness grade LAB SUBMISSION...`: points, feedback and a gradebook for a class."""

from __future__ import annotations

import argparse
import os
import sys
import textwrap
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from harness.containers.engine import Engine
from harness.containers.engine_watch import return_limit
from harness.errors import UsageError
from harness.frontends.cli.common import add_report_options, shard_of
from harness.frontends.cli.progress import ProgressBar
from harness.frontends.options import IMAGE_OPTIONS, ImageRequest
from harness.frontends.reports.grades import (
    feedback_markdown,
    gradebook_csv,
    gradescope,
    junit_xml,
    number,
)
from harness.frontends.reports.json_report import write_json, write_text
from harness.frontends.reports.shards import grades_block
from harness.grading.grader import grade_lab
from harness.grading.lab import load_lab
from harness.grading.results import CheckResult, LabResult, SubmissionResult
from harness.grading.stand_ins import stand_ins_of
from harness.grading.submission import Submission, discover
from harness.images.availability import require_present, select_images
from harness.images.sources import describe_choices

FAIL_UNDER_EXIT = 1
MESSAGE_WIDTH = 72


def cmd_grade(args: argparse.Namespace) -> int:
    # A bad lab or a missing folder is a usage error, found before any engine is needed.
    lab = load_lab(args.lab)
    shard = shard_of(args)
    everyone = discover(args.submissions)
    submissions = shard.take(everyone) if shard else everyone
    if args.jobs < 1:
        raise UsageError(f"--jobs must be 1 or more, not {args.jobs}.")
    engine_wait = return_limit(os.environ)  # a bad HARNESS_ENGINE_WAIT, before any work
    engine = Engine.connect()
    request = ImageRequest.read(lambda dest: getattr(args, dest), os.environ)
    choices = select_images(engine, request, ask_registry=False)
    require_present(engine, choices)
    print(describe_choices(request.source, choices), flush=True)
    part = f" (shard {shard}: {len(submissions)} of {len(everyone)})" if shard else ""
    print(f"grading {len(submissions)} submission(s) of {lab.title!r}{part}", flush=True)
    bar = ProgressBar(len(submissions) * len(lab.checks))
    lock = threading.Lock()

    def progress(submission: Submission, result: CheckResult) -> None:
        with lock:
            bar.finished(f"{submission.student} {result.id}", result.status.value)

    result = grade_lab(
        lab,
        submissions,
        engine,
        stand_ins_of(choices, engine.has_image),
        jobs=args.jobs,
        on_check=progress,
        engine_wait=engine_wait,
    )
    for submission in result.submissions:
        print_submission(submission)
    print_class_summary(result)
    write_reports(args, result, grades_block(shard, result, len(everyone)) if shard else None)
    return exit_code(result, args.fail_under)


def print_submission(submission: SubmissionResult, out: Callable[[str], None] = print) -> None:
    out(f"\n== {submission.student}: {number(submission.score)}/{number(submission.max_score)} ==")
    width = max(len(c.id) for c in submission.checks)
    out(f"  {'check':<{width}}  {'points':>7}  {'status':<8}  message")
    for check in submission.checks:
        points = f"{number(check.points)}/{number(check.max_points)}"
        lines = textwrap.wrap(check.message, MESSAGE_WIDTH, break_on_hyphens=False) or [""]
        out(f"  {check.id:<{width}}  {points:>7}  {check.status.value:<8}  {lines[0]}")
        indent = " " * (width + 23)
        for line in lines[1:]:
            out(f"{indent}{line}")


def print_class_summary(result: LabResult, out: Callable[[str], None] = print) -> None:
    out(f"\n== {result.title}: class summary ({len(result.submissions)} submission(s)) ==")
    out(
        f"  mean {number(round(result.mean(), 2))} / {number(result.max_score)}, "
        f"median {number(result.median())}"
    )
    rates = result.pass_rates()
    width = max((len(check) for check in rates), default=5)
    for check, rate in rates.items():
        out(f"  {check:<{width}}  {rate:4.0%} passed")


def write_reports(
    args: argparse.Namespace, result: LabResult, shard_block: dict[str, Any] | None = None
) -> None:
    """Every report asked for; a shard's JSON carries its `shard` block for `merge`."""
    written: list[str] = []
    if args.json:
        write_json(args.json, result.to_json() | ({"shard": shard_block} if shard_block else {}))
        written.append(f"JSON {args.json}")
    if args.junit:
        write_text(args.junit, junit_xml(result))
        written.append(f"JUnit {args.junit}")
    if args.gradebook:
        write_text(args.gradebook, gradebook_csv(result))
        written.append(f"gradebook {args.gradebook}")
    if args.feedback:
        for submission in result.submissions:
            write_text(
                args.feedback / f"{submission.student}.md",
                feedback_markdown(result.title, submission),
            )
        written.append(f"feedback {args.feedback}/")
    if args.gradescope:
        for submission in result.submissions:
            write_json(
                args.gradescope / submission.student / "results.json", gradescope(submission)
            )
        written.append(f"Gradescope {args.gradescope}/")
    if written:
        print("\nwritten: " + ", ".join(written))


def exit_code(result: LabResult, fail_under: float | None) -> int:
    if fail_under is None:
        return 0
    below = result.below(fail_under)
    for submission in below:
        print(
            f"harness: {submission.student} scored {number(submission.score)}, below "
            f"--fail-under {number(fail_under)}",
            file=sys.stderr,
        )
    return FAIL_UNDER_EXIT if below else 0


def add_grade_command(commands: Any) -> None:
    grade = commands.add_parser(
        "grade", help="grade students' submissions against a lab spec (points and feedback)"
    )
    grade.add_argument("lab", type=Path, metavar="LAB", help="the lab folder (or its lab.yaml)")
    grade.add_argument(
        "submissions",
        type=Path,
        nargs="+",
        metavar="SUBMISSION",
        help="a student's folder (its name is the student id) or a folder of them",
    )
    add_report_options(grade, "the class")
    grade.add_argument("--junit", type=Path, metavar="PATH", help="write JUnit XML here")
    grade.add_argument(
        "--feedback", type=Path, metavar="DIR", help="write DIR/<student>.md for each student"
    )
    grade.add_argument(
        "--gradebook", type=Path, metavar="PATH", help="write a CSV gradebook (LMS import)"
    )
    grade.add_argument(
        "--gradescope", type=Path, metavar="DIR", help="write DIR/<student>/results.json"
    )
    grade.add_argument(
        "--fail-under",
        type=float,
        metavar="SCORE",
        help="exit 1 when a submission scores below SCORE",
    )
    grade.add_argument(
        "--jobs", type=int, default=1, metavar="N", help="grade N students at a time (default 1)"
    )
    group = grade.add_argument_group("images")
    for option in IMAGE_OPTIONS:
        option.add_to(group.add_argument)
    grade.set_defaults(handler=cmd_grade)
