"""Several engines side by side, from made-up results."""

from __future__ import annotations

from harness.frontends.reports.comparison import (
    EngineRun,
    difference_lines,
    differences,
    differences_html,
    differences_json,
    engines_html,
    engines_summary,
)
from harness.frontends.reports.html import to_html
from harness.frontends.reports.terminal import LineKind, summary
from harness.model.cells import Cell, ScenarioResult
from harness.model.engine_info import EngineInfo
from harness.model.outcomes import Outcome

S, L, R = Outcome.SURVIVES, Outcome.LOST, Outcome.REJECTED


def result(cell_id: str, expected: Outcome, observed: Outcome, reason: str) -> ScenarioResult:
    database, storage, action = cell_id.split("-", 2)
    return ScenarioResult(Cell(database, storage, action), expected, reason, observed)


def run(name: str, kind: str, version: str, *results: ScenarioResult) -> EngineRun:
    return EngineRun(name, EngineInfo(kind, version, "1.41"), {}, list(results))


HOST = run(
    "host", "docker", "20.10.24",
    result("mysql-named-restart", S, S, "same container."),
    result("mysql-named-prune-recreate", L, L, "before Engine 23 prune removed named volumes."),
    result("mysql-bind-volumes-from", S, S, "binds are repeated."),
)  # fmt: skip
PODMAN = run(
    "podman", "podman", "4.3.1",
    result("mysql-bind-volumes-from", R, R, "duplicate mount destination."),
    result("mysql-named-restart", S, S, "same container."),
    result("mysql-named-prune-recreate", L, L, "Podman 4 prunes named volumes."),
)  # fmt: skip
DOCKER_26 = run(
    "docker-26", "docker", "26.1.5",
    result("mysql-named-restart", S, S, "same container."),
    result("mysql-named-prune-recreate", S, S, "since Engine 23 prune keeps named volumes."),
    result("mysql-bind-volumes-from", S, L, "binds are repeated."),
)  # fmt: skip


def test_only_the_cells_that_differ_are_listed_in_table_order_with_every_reason() -> None:
    found = differences([HOST, PODMAN, DOCKER_26])
    assert [d.cell_id for d in found] == ["mysql-named-prune-recreate", "mysql-bind-volumes-from"]
    prune, volumes_from = found
    assert prune.cells == (
        ("host", "lost", "before Engine 23 prune removed named volumes."),
        ("podman", "lost", "Podman 4 prunes named volumes."),
        ("docker-26", "survives", "since Engine 23 prune keeps named volumes."),
    )
    assert [shown for _, shown, _ in volumes_from.cells] == [
        "survives", "rejected", "lost (expected survives)",
    ]  # fmt: skip


def test_engines_that_agree_say_so() -> None:
    assert differences([HOST, HOST]) == []
    assert difference_lines([HOST, HOST])[0].endswith("every cell came out the same.")
    assert "Every cell came out the same" in differences_html([HOST, HOST])


def test_the_comparison_in_text_json_and_html() -> None:
    lines = difference_lines([HOST, DOCKER_26])
    assert lines[0] == ("host (docker 20.10.24) / docker-26 (docker 26.1.5): 2 cell(s) differ")
    assert lines[1] == "mysql-named-prune-recreate:"
    entries = differences_json([HOST, DOCKER_26])
    assert entries[0]["engines"][1] == {
        "engine": "docker-26",
        "outcome": "survives",
        "reason": "since Engine 23 prune keeps named volumes.",
    }
    page = differences_html([HOST, DOCKER_26])
    assert page.count("<tr><th>mysql-") == 2
    assert "since Engine 23 prune keeps named volumes." in page


def test_one_engine_shows_as_before_and_several_each_then_their_differences() -> None:
    assert engines_summary([HOST]) == summary(HOST.results)
    assert engines_html([HOST]) == to_html(HOST.info, HOST.images, HOST.results)
    lines = engines_summary([HOST, DOCKER_26])
    headings = [line.text for line in lines if line.kind is LineKind.HEADING]
    assert headings[0] == "engine host: docker 20.10.24"
    assert "engine docker-26: docker 26.1.5" in headings
    assert headings[-1] == "where the engines differ"
    assert lines[-1].text.startswith("  docker-26 ")  # the last difference's last engine
    page = engines_html([HOST, DOCKER_26])
    assert page.count("<h1>Engine ") == 2
    assert "Where the engines differ" in page
    assert page.endswith("</body></html>")
