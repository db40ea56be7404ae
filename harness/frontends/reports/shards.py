"""What a shard's report carries for `merge`, and the whole run rebuilt from the shards.

A matrix shard's block holds, per engine, its results as records (the contract's entries lack
the promise's reason, which the terminal and HTML reports show); a grading shard's holds the
hints each student's checks carried (Gradescope's output and the feedback show them, and
the contract's entries lack them); a compose-check shard's, each check's service reading and
result, and the must-survive actions and notes. Merging rebuilds the objects an
unsplit run would have had, and the reports are then written by the unsplit run's own code.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict
from typing import Any, TypeVar

from harness.errors import UsageError
from harness.frontends.reports.comparison import EngineRun
from harness.frontends.reports.compose_check import CheckEntry, CheckReport
from harness.grading.results import CheckResult, LabResult, Status, SubmissionResult
from harness.model.cells import ScenarioResult
from harness.model.durability import Campaign
from harness.model.engine_info import EngineInfo
from harness.model.platforms.compose_check import DatabaseService, DataHolder
from harness.model.shards import Shard, ShardReport, check_complete, same_in_every_shard

MATRIX, GRADES, COMPOSE_CHECK = "matrix", "grades", "compose-check"
T = TypeVar("T")


def matrix_block(
    shard: Shard, runs: Sequence[EngineRun], assigned: int, total: int
) -> dict[str, Any]:
    """`assigned` and `total`: the cells this shard and the whole run were given, per engine."""
    return shard.block(
        MATRIX,
        assigned,
        total,
        engines=[
            {"as": run.name, "engine": run.info.to_dict(), "images": dict(run.images)}
            for run in runs
        ],
        records={run.name: [r.to_record() for r in run.results] for run in runs},
    )


def merged_matrix(shards: Sequence[ShardReport]) -> tuple[list[EngineRun], list[Campaign]]:
    """Each engine's results from every shard, in the table's order; and the crash campaigns."""
    ordered = _ordered(shards, MATRIX)
    engines = same_in_every_shard(ordered, "engines", "were run with different engines or images")
    runs = []
    for engine in engines:
        results = [
            ScenarioResult.from_record(record)
            for shard in ordered
            for record in shard.block["records"][engine["as"]]
        ]
        _refuse_repeats([r.cell.id for r in results], f"engine {engine['as']}'s cell")
        results.sort(key=lambda r: r.cell.sort_key())
        runs.append(
            EngineRun(engine["as"], EngineInfo(**engine["engine"]), engine["images"], results)
        )
    campaigns = [
        Campaign.from_record(record)
        for shard in ordered
        for record in shard.report.get("durability") or ()
    ]
    _refuse_repeats([f"{c.id} (seed {c.seed})" for c in campaigns], "campaign")
    return runs, sorted(campaigns, key=lambda c: c.id)


def grades_block(shard: Shard, lab: LabResult, total: int) -> dict[str, Any]:
    """`total`: the students the whole run was given."""
    hints = {s.student: {c.id: c.hint for c in s.checks if c.hint} for s in lab.submissions}
    return shard.block(GRADES, len(lab.submissions), total, hints=hints)


def merged_grades(shards: Sequence[ShardReport]) -> LabResult:
    """The class in the order an unsplit run lists it: the shard of position p is p mod N + 1,
    and it holds that student at place p // N."""
    ordered = _ordered(shards, GRADES)
    first = ordered[0]
    for key in ("lab", "max_score"):
        same_in_every_shard(ordered, key, "grade different labs", in_block=False)
    parts = [
        [_submission(entry, s.block["hints"]) for entry in s.report["submissions"]] for s in ordered
    ]
    students = tuple(_interleaved(ordered, parts))
    _refuse_repeats([s.student for s in students], "student")
    return LabResult(first.report["lab"], first.report["max_score"], students)


def compose_check_block(
    shard: Shard, report: CheckReport, total: int, notes: Sequence[Sequence[str]]
) -> dict[str, Any]:
    """`total`: the service-action checks of the whole run; `notes`: each entry's own notes,
    so the merged report says them in the unsplit run's order."""
    return shard.block(
        COMPOSE_CHECK,
        len(report.entries),
        total,
        compose_file=report.compose_file,
        must_survive=list(report.must_survive),
        entries=[
            {"service": asdict(e.service), "result": e.result.to_record(), "notes": list(n)}
            for e, n in zip(report.entries, notes, strict=True)
        ],
    )


def merged_compose_check(shards: Sequence[ShardReport]) -> CheckReport:
    """The checks in the order an unsplit run makes them (services, then actions), as
    `merged_grades` orders a class; the notes in the order they came."""
    ordered = _ordered(shards, COMPOSE_CHECK)
    same_in_every_shard(ordered, "compose_file", "check different compose files")
    same_in_every_shard(ordered, "must_survive", "differ in their --must-survive actions")
    first = ordered[0]
    for key in ("engine", "compose_version"):
        differ = "were run with different engines or Compose versions"
        same_in_every_shard(ordered, key, differ, in_block=False)
    records = _interleaved(ordered, [list(s.block["entries"]) for s in ordered])
    entries = [_check_entry(record) for record in records]
    _refuse_repeats([e.id for e in entries], "check")
    return CheckReport(
        first.block["compose_file"],
        EngineInfo(**first.report["engine"]),
        first.report["compose_version"],
        tuple(first.block["must_survive"]),
        entries,
        list(dict.fromkeys(note for record in records for note in record["notes"])),
    )


def _check_entry(record: Mapping[str, Any]) -> CheckEntry:
    service = dict(record["service"])
    service["holder"] = DataHolder(**service["holder"])
    return CheckEntry(DatabaseService(**service), ScenarioResult.from_record(record["result"]))


def _interleaved(ordered: Sequence[ShardReport], parts: list[list[T]]) -> list[T]:
    """The whole run's items from each shard's part: position p is in shard p mod N + 1, at
    place p // N (how `Shard.take` split them); a shard that lists another count is refused."""
    for shard, part in zip(ordered, parts, strict=True):
        if len(part) != int(shard.block["assigned"]):
            raise UsageError(
                f"{shard.path} lists {len(part)} items but its shard was given "
                f"{shard.block['assigned']}; run that shard again."
            )
    total = int(ordered[0].block["total"])
    return [parts[p % len(parts)][p // len(parts)] for p in range(total)]


def _ordered(shards: Sequence[ShardReport], kind: str) -> list[ShardReport]:
    ordered = check_complete(shards)
    if ordered[0].block.get("kind") != kind:
        raise UsageError(f"{ordered[0].path} is not a {kind} shard.")
    return ordered


def _submission(
    entry: Mapping[str, Any], hints: Mapping[str, Mapping[str, str]]
) -> SubmissionResult:
    theirs = hints.get(entry["student"], {})
    checks = tuple(
        CheckResult(
            check["id"],
            check["max_points"],
            Status(check["status"]),
            check["message"],
            theirs.get(check["id"], ""),
        )
        for check in entry["checks"]
    )
    return SubmissionResult(entry["student"], checks)


def _refuse_repeats(names: Sequence[str], what: str) -> None:
    seen: set[str] = set()
    for name in names:
        if name in seen:
            raise UsageError(f"{what} {name} is in two shards; merge the shards of one run.")
        seen.add(name)
