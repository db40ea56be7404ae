"""`--shard K/N` and `merge`, from made-up results: the split is a partition, and the shards'
reports merged are the unsplit run's, byte for byte, in every format; a merge that would lose or
mix items is refused with one sentence."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from harness.errors import UsageError
from harness.frontends.cli.main import main
from harness.frontends.reports.comparison import (
    EngineRun,
    engines_html,
    engines_report,
    engines_summary,
)
from harness.frontends.reports.compose_check import CheckEntry, CheckReport, result_lines
from harness.frontends.reports.compose_check import to_html as compose_check_html
from harness.frontends.reports.grades import feedback_markdown, gradebook_csv, gradescope, junit_xml
from harness.frontends.reports.junit import matrix_junit
from harness.frontends.reports.shards import (
    compose_check_block,
    grades_block,
    matrix_block,
    merged_compose_check,
    merged_grades,
    merged_matrix,
)
from harness.grading.results import CheckResult, LabResult, Status, SubmissionResult
from harness.model.cells import Cell, ScenarioResult, matrix
from harness.model.engine_info import EngineInfo
from harness.model.outcomes import Outcome
from harness.model.platforms.compose_check import CHECK_ACTIONS, DatabaseService, DataHolder
from harness.model.shards import Shard, ShardReport

ENGINE = EngineInfo("docker", "20.10.24", "1.41")
IMAGES = {"mysql": "harness-local/mariadb-10.11:abc", "postgres": "harness-local/postgres-15:def"}


def _made_up_matrix() -> list[ScenarioResult]:
    """Every cell of the matrix with a varied fate: as promised, not as promised, no verdict."""
    results = []
    for number, cell in enumerate(matrix()):
        result = ScenarioResult(cell, Outcome.SURVIVES, f"reason of {cell.id}", seconds=number)
        result.rows_written = 3
        if number % 7 == 3:
            result.error = f"the engine stopped answering during cell {number}"
        else:
            result.observed = Outcome.LOST if number % 5 == 1 else Outcome.SURVIVES
            result.rows_read = 0 if result.observed is Outcome.LOST else 3
            result.detail = "the table is gone" if result.observed is Outcome.LOST else ""
        results.append(result)
    return results


def _made_up_class(students: int) -> LabResult:
    submissions = []
    for number in range(students):
        status = [Status.PASSED, Status.FAILED, Status.ERROR, Status.REFUSED][number % 4]
        hint = "" if status is Status.PASSED else "Mount a volume at /var/lib/mysql."
        checks = (
            CheckResult("persists", 4, status, f"student {number}'s rows", hint),
            CheckResult("answer", 1.5, Status.PASSED, "right"),
        )
        submissions.append(SubmissionResult(f"s{number:03d}", checks))
    return LabResult("Volumes 101", 5.5, tuple(submissions))


def _matrix_shards(results: list[ScenarioResult], count: int) -> list[ShardReport]:
    reports = []
    for index in range(1, count + 1):
        shard = Shard(index, count)
        part = shard.take(results)
        runs = [EngineRun("host", ENGINE, IMAGES, part)]
        report = engines_report(runs) | {
            "shard": matrix_block(shard, runs, len(part), len(results))
        }
        reports.append(ShardReport(f"shard-{index}.json", json.loads(json.dumps(report))))
    return reports


def _grade_shards(lab: LabResult, count: int) -> list[ShardReport]:
    reports = []
    for index in range(1, count + 1):
        shard = Shard(index, count)
        part = LabResult(lab.title, lab.max_score, tuple(shard.take(lab.submissions)))
        report = part.to_json() | {"shard": grades_block(shard, part, len(lab.submissions))}
        reports.append(ShardReport(f"grades-{index}.json", json.loads(json.dumps(report))))
    return reports


@pytest.mark.parametrize("text", ["0/3", "4/3", "1/0", "3", "a/b", "-1/2", "1/2/3", ""])
def test_a_shard_that_is_not_k_of_n_is_a_usage_error(text: str) -> None:
    with pytest.raises(UsageError, match="is not K/N") as raised:
        Shard.parse(text)
    assert raised.value.exit_code == 2


@pytest.mark.parametrize(("items", "count"), [(80, 3), (7, 3), (2, 3), (300, 7), (1, 1)])
def test_the_shards_partition_the_items_evenly_in_their_order(items: int, count: int) -> None:
    whole = list(range(items))
    parts = [Shard(index, count).take(whole) for index in range(1, count + 1)]
    assert sorted(item for part in parts for item in part) == whole
    assert max(map(len, parts)) - min(map(len, parts)) <= 1
    assert all(part == sorted(part) for part in parts)
    assert str(Shard.parse(f" {count}/{count} ")) == f"{count}/{count}"


def test_each_of_three_matrix_shards_gets_every_database_and_every_action() -> None:
    cells = matrix()
    for index in (1, 2, 3):
        part = Shard(index, 3).take(cells)
        assert {c.database for c in part} == {"mysql", "mariadb", "postgres"}
        assert {c.action for c in part} == {c.action for c in cells}


def test_a_matrix_split_in_three_and_merged_is_the_unsplit_run_in_every_format() -> None:
    results = _made_up_matrix()
    whole = [EngineRun("host", ENGINE, IMAGES, results)]
    shards = _matrix_shards(results, 3)
    runs, campaigns = merged_matrix(list(reversed(shards)))  # any order of files
    assert campaigns == []
    assert json.dumps(engines_report(runs)) == json.dumps(engines_report(whole))
    assert "shard" not in engines_report(runs)
    assert engines_html(runs) == engines_html(whole)
    assert matrix_junit(runs) == matrix_junit(whole)
    assert [line.text for line in engines_summary(runs)] == [
        line.text for line in engines_summary(whole)
    ]


def test_a_class_split_in_three_and_merged_grades_the_same_in_every_format() -> None:
    lab = _made_up_class(10)
    merged = merged_grades(_grade_shards(lab, 3))
    assert json.dumps(merged.to_json()) == json.dumps(lab.to_json())  # 4 stays 4, not 4.0
    assert gradebook_csv(merged) == gradebook_csv(lab)
    assert junit_xml(merged) == junit_xml(lab)
    for mine, theirs in zip(merged.submissions, lab.submissions, strict=True):
        assert gradescope(mine) == gradescope(theirs)
        assert feedback_markdown(lab.title, mine) == feedback_markdown(lab.title, theirs)


def _changed(shards: Sequence[ShardReport], which: int, **block: Any) -> list[ShardReport]:
    changed = list(shards)
    old = changed[which]
    changed[which] = ShardReport(old.path, {**old.report, "shard": {**old.block, **block}})
    return changed


@pytest.mark.parametrize(
    ("change", "says"),
    [
        (lambda s: s[:2], "shard 3 of 3 is missing"),
        (lambda s: [*s, s[0]], "are both shard 1"),
        (lambda s: _changed(s, 1, harness="9.9.9"), "harness version"),
        (lambda s: _changed(s, 2, total=79), "selection"),
        (lambda s: _changed(s, 2, count=4), "number of shards"),
        (lambda s: _changed(s, 0, assigned=26), r"given \d+ items but the run had \d+"),
        (lambda s: _changed(s, 1, kind="grades"), "kind of report"),
        (
            lambda s: _changed(s, 1, engines=[{**s[1].block["engines"][0], "images": {}}]),
            "different engines or images",
        ),
        (lambda s: [ShardReport("plain.json", {"results": []}), *s[1:]], "not a shard's report"),
    ],
)
def test_a_merge_that_would_lose_or_mix_items_is_refused(change: Any, says: str) -> None:
    shards = _matrix_shards(_made_up_matrix(), 3)
    with pytest.raises(UsageError, match=says):
        merged_matrix(change(shards))


def test_shards_of_different_labs_are_refused() -> None:
    shards = _grade_shards(_made_up_class(6), 2)
    other = ShardReport(shards[1].path, {**shards[1].report, "lab": "Another lab"})
    with pytest.raises(UsageError, match="grade different labs"):
        merged_grades([shards[0], other])


def test_merge_writes_the_unsplit_reports_and_exits_as_the_run_would(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    lab = _made_up_class(5)
    paths = []
    for shard in _grade_shards(lab, 2):
        paths.append(tmp_path / shard.path)
        paths[-1].write_text(json.dumps(shard.report))
    out = tmp_path / "out"
    argv = ["merge", *map(str, paths), "--json", str(out / "grades.json")]
    assert main([*argv, "--gradebook", str(out / "book.csv"), "--fail-under", "5"]) == 1
    assert (out / "grades.json").read_text() == json.dumps(lab.to_json(), indent=2) + "\n"
    assert (out / "book.csv").read_text() == gradebook_csv(lab)
    assert main([*argv, "--html", str(out / "x.html")]) == 2
    assert "--html does not apply to grades reports" in capsys.readouterr().err
    assert main(["merge", str(paths[0])]) == 2  # one shard of two
    assert "shard 2 of 2 is missing" in capsys.readouterr().err
    (tmp_path / "broken.json").write_text("{")
    assert main(["merge", str(tmp_path / "broken.json")]) == 2
    assert "is not JSON" in capsys.readouterr().err
    cut = json.loads(paths[1].read_text())
    del cut["shard"]["hints"]
    paths[1].write_text(json.dumps(cut))
    assert main(["merge", *map(str, paths)]) == 2
    assert "lacks or garbles what merging needs (KeyError" in capsys.readouterr().err


def test_a_matrix_merge_fails_when_a_cell_is_not_as_promised(tmp_path: Path) -> None:
    results = _made_up_matrix()
    paths = []
    for shard in _matrix_shards(results, 3):
        paths.append(tmp_path / shard.path)
        paths[-1].write_text(json.dumps(shard.report))
    junit = tmp_path / "cells.xml"
    assert main(["merge", *map(str, paths), "--junit", str(junit)]) == 1
    assert junit.read_text() == matrix_junit([EngineRun("host", ENGINE, IMAGES, results)])
    for result in results:
        result.observed, result.error = result.expected, ""
    for index, shard in enumerate(_matrix_shards(results, 3)):
        paths[index].write_text(json.dumps(shard.report))
    assert main(["merge", *map(str, paths)]) == 0


def _made_up_compose_check() -> tuple[CheckReport, list[list[str]]]:
    """Two services, every check action: kept, lost and no verdict, with notes on some."""
    report = CheckReport("compose.yaml", ENGINE, "2.40.3", ("restart", "down-up"))
    notes: list[list[str]] = []
    services = [
        DatabaseService("db", "mysql", "mariadb:11", "local/mariadb:1", "/var/lib/mysql",
                        DataHolder("named", "the named volume `data`", "data")),
        DatabaseService("pg", "postgres", "postgres:17", "postgres:17", "/var/lib/postgresql",
                        DataHolder("anonymous", "an anonymous volume")),
    ]  # fmt: skip
    for number, (service, action) in enumerate((s, a) for s in services for a in CHECK_ACTIONS):
        cell = Cell(service.database, service.holder.storage, action, "compose")
        result = ScenarioResult(cell, Outcome.SURVIVES, f"{service.name} keeps it ({action})")
        if number % 5 == 2:
            result.error = "the engine stopped answering during the restart action"
        else:
            result.observed = Outcome.LOST if number % 4 == 1 else Outcome.SURVIVES
        report.entries.append(CheckEntry(service, result))
        notes.append([f"note {number % 3}"] if number % 2 else [])
        report.notes.extend(n for n in notes[-1] if n not in report.notes)
    return report, notes


def test_a_compose_check_split_in_three_and_merged_is_the_unsplit_run() -> None:
    whole, notes = _made_up_compose_check()
    shards = []
    for index in (1, 2, 3):
        shard = Shard(index, 3)
        part = CheckReport(whole.compose_file, ENGINE, "2.40.3", whole.must_survive)
        part.entries = shard.take(whole.entries)
        part.notes = [n for ns in shard.take(notes) for n in ns]
        block = compose_check_block(shard, part, len(whole.entries), shard.take(notes))
        report = json.loads(json.dumps(part.to_json() | {"shard": block}))
        shards.append(ShardReport(f"check-{index}.json", report))
    merged = merged_compose_check(list(reversed(shards)))
    assert json.dumps(merged.to_json()) == json.dumps(whole.to_json())
    assert compose_check_html(merged) == compose_check_html(whole)
    assert result_lines(merged) == result_lines(whole)
    assert merged.verdict_lines() == whole.verdict_lines()
    assert merged.notes == whole.notes  # in the order the unsplit run said them
    assert merged.exit_code() == whole.exit_code() == 1
    with pytest.raises(UsageError, match="shard 2 of 3 is missing"):
        merged_compose_check([shards[0], shards[2]])
    other = ShardReport("x.json", {**shards[1].report, "compose_version": "2.26.1"})
    with pytest.raises(UsageError, match="different engines or Compose versions"):
        merged_compose_check([shards[0], other, shards[2]])
