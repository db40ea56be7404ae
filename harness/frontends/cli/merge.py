"""`python -m harness merge REPORT...`: the shards' reports (`--shard K/N`) as one unsplit run's."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from harness.errors import UsageError
from harness.frontends.cli.grade import exit_code, print_class_summary, write_reports
from harness.frontends.reports.comparison import engines_html, engines_report, engines_summary
from harness.frontends.reports.compose_check import result_lines
from harness.frontends.reports.compose_check import to_html as compose_check_html
from harness.frontends.reports.json_report import write_json, write_text
from harness.frontends.reports.junit import matrix_junit
from harness.frontends.reports.shards import (
    COMPOSE_CHECK,
    GRADES,
    MATRIX,
    merged_compose_check,
    merged_grades,
    merged_matrix,
)
from harness.frontends.reports.terminal import render
from harness.model.shards import ShardReport

# What each kind of report can be merged into (every other output option is refused).
_OUTPUTS = {
    MATRIX: ("json", "html", "junit"),
    GRADES: ("json", "junit", "gradebook", "gradescope", "feedback", "fail_under"),
    COMPOSE_CHECK: ("json", "html"),
}
_OPTIONS = ("json", "html", "junit", "gradebook", "gradescope", "feedback", "fail_under")


def cmd_merge(args: argparse.Namespace) -> int:
    shards = [_read(path) for path in args.reports]
    kind = str(shards[0].block.get("kind"))
    for option in _OPTIONS:
        if getattr(args, option) is not None and option not in _OUTPUTS.get(kind, _OPTIONS):
            flag = "--" + option.replace("_", "-")
            raise UsageError(f"{flag} does not apply to {kind} reports; drop it.")
    merge = {GRADES: _merge_grades, COMPOSE_CHECK: _merge_compose_check}.get(kind, _merge_matrix)
    try:
        return merge(args, shards)
    except (KeyError, TypeError, ValueError) as error:
        # A block cut short or edited by hand; a shard of another version is refused earlier.
        raise UsageError(
            f"a shard's report lacks or garbles what merging needs ({type(error).__name__}: "
            f"{error}); merge the unedited JSON reports the shards wrote."
        ) from None


def _merge_matrix(args: argparse.Namespace, shards: list[ShardReport]) -> int:
    runs, campaigns = merged_matrix(shards)
    for line in engines_summary(runs):
        print(render(line, colour=sys.stdout.isatty()))
    print(f"merged {len(shards)} shards: {sum(len(r.results) for r in runs)} cells")
    if args.json:
        report = engines_report(runs)
        if campaigns:
            report["durability"] = [c.to_record() for c in campaigns]
        write_json(args.json, report)
        print(f"JSON report: {args.json}")
    if args.html:
        write_text(args.html, engines_html(runs))
        print(f"HTML report: {args.html}")
    if args.junit:
        write_text(args.junit, matrix_junit(runs))
        print(f"JUnit: {args.junit}")
    passed = all(r.passed for run in runs for r in run.results) and all(c.passed for c in campaigns)
    return 0 if passed else 1


def _merge_grades(args: argparse.Namespace, shards: list[ShardReport]) -> int:
    lab = merged_grades(shards)
    print_class_summary(lab)
    print(f"merged {len(shards)} shards: {len(lab.submissions)} submission(s)")
    write_reports(args, lab)
    return exit_code(lab, args.fail_under)


def _merge_compose_check(args: argparse.Namespace, shards: list[ShardReport]) -> int:
    report = merged_compose_check(shards)
    print("Observed against expected:")
    print("\n".join(result_lines(report)))
    for note in report.notes:
        print(f"note: {note}")
    print("\n".join(report.verdict_lines()))
    print(f"merged {len(shards)} shards: {len(report.entries)} check(s)")
    if args.json:
        write_json(args.json, report.to_json())
        print(f"JSON report: {args.json}")
    if args.html:
        write_text(args.html, compose_check_html(report))
        print(f"HTML report: {args.html}")
    return report.exit_code()


def _read(path: Path) -> ShardReport:
    try:
        report: Any = json.loads(path.read_text())
    except OSError as error:
        message = f"cannot read {path} ({error.strerror}); give a shard's JSON report."
        raise UsageError(message) from None
    except ValueError:
        raise UsageError(f"{path} is not JSON; give the JSON report a shard wrote.") from None
    if not isinstance(report, dict):
        raise UsageError(f"{path} is not a harness report; give the JSON report a shard wrote.")
    return ShardReport(str(path), report)


def add_merge_command(commands: Any) -> None:
    merge = commands.add_parser(
        "merge",
        help="put the reports of a run split with --shard K/N together, as one unsplit run's",
    )
    merge.add_argument(
        "reports", type=Path, nargs="+", metavar="REPORT", help="every shard's JSON report"
    )
    merge.add_argument("--json", type=Path, metavar="PATH", help="write the merged JSON here")
    merge.add_argument(
        "--junit", type=Path, metavar="PATH", help="matrix, grades: write JUnit XML here"
    )
    merge.add_argument(
        "--html", type=Path, metavar="PATH", help="matrix, compose-check: the HTML page"
    )
    merge.add_argument("--gradebook", type=Path, metavar="PATH", help="grades: a CSV gradebook")
    merge.add_argument(
        "--gradescope", type=Path, metavar="DIR", help="grades: DIR/<student>/results.json"
    )
    merge.add_argument("--feedback", type=Path, metavar="DIR", help="grades: DIR/<student>.md")
    merge.add_argument(
        "--fail-under", type=float, metavar="SCORE", help="grades: exit 1 below SCORE"
    )
    merge.set_defaults(handler=cmd_merge)
