"""Tables, the JSON contract and the HTML grid, from made-up results."""

from __future__ import annotations

import json

from harness.frontends.reports.html import to_html
from harness.frontends.reports.json_report import to_json
from harness.frontends.reports.terminal import matrix_tables, render, summary
from harness.model.cells import Cell, ScenarioResult, matrix
from harness.model.engine_info import EngineInfo
from harness.model.outcomes import Outcome
from harness.model.servers.databases import DEFAULT_DATABASES

ENGINE = EngineInfo("docker", "20.10.24", "1.41")
CONTRACT_KEYS = [
    "id", "database", "storage", "action", "expected", "observed",
    "rows_written", "rows_read", "passed", "seconds",
]  # fmt: skip


def _result(
    cell: Cell, expected: Outcome, observed: Outcome, seconds: float = 4.24
) -> ScenarioResult:
    return ScenarioResult(
        cell=cell, expected=expected, reason=f"because of {cell.id}.", observed=observed,
        rows_written=6, rows_read=6 if observed is Outcome.SURVIVES else 0, seconds=seconds,
    )  # fmt: skip


def test_matrix_has_the_70_cells_and_the_10_upgrade_cells_with_contract_ids() -> None:
    """The default 2 databases x 5 storage modes x 8 actions; ids like mysql-named-recreate and
    postgres-bind-upgrade, the upgrade cells after the 70 of the single-image actions (MariaDB
    adds 40 more when asked for)."""
    assert len(matrix()) == 120  # every database the harness knows
    cells = matrix(DEFAULT_DATABASES)
    assert len(cells) == 80
    assert len({c.id for c in cells}) == 80
    assert "mysql-named-recreate" in {c.id for c in cells}
    assert "postgres-anonymous-recreate-rm-v" in {c.id for c in cells}
    upgrades = [c.id for c in cells if c.action == "upgrade"]
    assert len(upgrades) == 10
    assert "postgres-bind-upgrade" in upgrades


def test_json_matches_contract() -> None:
    """Top-level keys and per-result keys and values exactly as docs/contracts.md gives them."""
    cell = Cell("mysql", "named", "recreate")
    report = to_json(ENGINE, {"mysql": "m:1", "postgres": "p:1"}, [
        _result(cell, Outcome.SURVIVES, Outcome.SURVIVES)
    ])  # fmt: skip
    assert json.loads(json.dumps(report)) == {
        "engine": {"name": "docker", "version": "20.10.24", "api_version": "1.41"},
        "images": {"mysql": "m:1", "postgres": "p:1"},
        "results": [
            {
                "id": "mysql-named-recreate",
                "database": "mysql",
                "storage": "named",
                "action": "recreate",
                "expected": "survives",
                "observed": "survives",
                "rows_written": 6,
                "rows_read": 6,
                "passed": True,
                "seconds": 4.2,
            }
        ],
    }
    assert list(report["results"][0]) == CONTRACT_KEYS


def test_failed_cell_stands_out_in_table() -> None:
    """A cell whose observation differs says FAIL with expected/observed."""
    results = [
        _result(Cell("mysql", "named", "recreate"), Outcome.SURVIVES, Outcome.LOST),
        _result(Cell("mysql", "bind", "recreate"), Outcome.SURVIVES, Outcome.SURVIVES),
    ]
    lines = matrix_tables(results)["mysql"]
    assert lines[0].split() == ["recreate"]
    assert lines[1].split() == ["named", "S/L", "FAIL"]
    assert lines[2].split() == ["bind", "S/S", "ok"]


def test_html_colours_cells_and_shows_reasons() -> None:
    """Survives green, lost red, mismatch outlined; the reason is on the cell."""
    results = [
        _result(Cell("postgres", "tmpfs", "restart"), Outcome.LOST, Outcome.LOST),
        _result(Cell("postgres", "named", "restart"), Outcome.SURVIVES, Outcome.LOST),
    ]
    page = to_html(ENGINE, {"postgres": "p:1"}, results)
    assert "class='lost'" in page
    assert "class='lost fail'" in page
    assert "lost (expected survives)" in page
    # Each cell carries its own reason (in its text and its tooltip).
    for result in results:
        assert page.count(result.reason) == 2


def test_failure_message_says_expected_observed_reason_and_mounts() -> None:
    """A failed cell explains itself: expected vs observed, why, and where the data was."""
    result = _result(Cell("mysql", "named", "recreate"), Outcome.SURVIVES, Outcome.LOST)
    result.detail = "table missing"
    result.mounts = "volume harness-x -> /var/lib/mysql"
    message = result.failure_message()
    assert "expected the rows to be survives, observed lost (table missing)" in message
    assert "0/6 rows read back" in message
    assert result.reason in message
    assert "volume harness-x -> /var/lib/mysql" in message


def test_result_record_round_trip() -> None:
    """A result survives the trip to another process (pytest-xdist) unchanged."""
    result = _result(Cell("postgres", "anonymous", "recreate"), Outcome.LOST, Outcome.LOST)
    result.detail = "table missing"
    result.dangling_volumes = ["abc"]
    result.dangling_with_data = ["abc"]
    again = ScenarioResult.from_record(json.loads(json.dumps(result.to_record())))
    assert again == result


def test_an_engine_refusal_and_an_unverified_cell_are_marked_everywhere() -> None:
    """R for the engine refusing the configuration; `?` (and `verified: false` in the JSON, a
    dashed cell in the HTML) where the engine is in no known range."""
    refused = _result(Cell("mysql", "bind", "volumes-from"), Outcome.REJECTED, Outcome.REJECTED)
    unverified = _result(Cell("mysql", "named", "restart"), Outcome.SURVIVES, Outcome.SURVIVES)
    unverified.verified = False
    lines = matrix_tables([refused, unverified])["mysql"]
    assert lines[1].split() == ["named", "S/S", "ok?", "-"]
    assert lines[2].split() == ["bind", "-", "R/R", "ok"]
    entries = to_json(ENGINE, {}, [refused, unverified])["results"]
    assert [e.get("verified", True) for e in entries] == [True, False]
    assert "verified" not in entries[0]  # the contract's keys only, when all is known
    assert entries[0]["observed"] == "rejected"
    page = to_html(ENGINE, {}, [refused, unverified])
    assert "class='rejected'" in page
    assert "class='survives unverified'" in page
    assert ScenarioResult.from_record(unverified.to_record()).verified is False


def test_a_refused_upgrade_has_its_own_letter_colour_and_evidence() -> None:
    """X in the table, in a colour of its own (not lost's red); an orange HTML cell that shows
    the server's FATAL line; the JSON says `refused` and which two images the upgrade ran."""
    refused = _result(Cell("postgres", "named", "upgrade"), Outcome.REFUSED, Outcome.REFUSED)
    refused.detail = "FATAL: database files are incompatible with server"
    refused.upgrade_from, refused.upgrade_to = "pg:15", "pg:17"
    lost = _result(Cell("postgres", "layer", "upgrade"), Outcome.LOST, Outcome.LOST)
    rows = summary([refused, lost])
    table = [line for line in rows if line.text.startswith(("layer", "named"))]
    assert [line.text.split() for line in table] == [["layer", "L/L", "ok"], ["named", "X/X", "ok"]]
    colours = [{t.strip(): c for t, c in line.pieces() if t.strip()} for line in table]
    assert colours[0]["L/L ok"] == "red"
    assert colours[1]["X/X ok"] == "purple"
    assert "\x1b[35mX/X ok\x1b[0m" in render(table[1], colour=True)
    assert render(table[1], colour=False) == table[1].text
    assert "postgres upgrade: written by pg:15, recreated with pg:17" in [r.text for r in rows]
    entry = to_json(ENGINE, {}, [refused])["results"][0]
    assert (entry["expected"], entry["observed"]) == ("refused", "refused")
    assert entry["upgrade"] == {"from": "pg:15", "to": "pg:17"}
    assert "upgrade" not in to_json(ENGINE, {}, [lost])["results"][0]
    page = to_html(ENGINE, {}, [refused])
    assert "class='refused'" in page
    assert "td.refused { background:" in page
    assert "FATAL: database files are incompatible with server" in page


def test_compose_cells_have_their_own_ids_table_and_json_key() -> None:
    """A compose cell's id starts with `compose-`, it sorts after the `docker run` matrix, it is
    shown in a table of its own (its storage modes and actions), and its JSON entry says
    `"matrix": "compose"` (a `docker run` cell's has no such key)."""
    run_cell = Cell("mysql", "named", "recreate")
    compose_cell = Cell("mysql", "anonymous-declared", "down-up", "compose")
    assert compose_cell.id == "compose-mysql-anonymous-declared-down-up"
    assert sorted([compose_cell, run_cell], key=Cell.sort_key) == [run_cell, compose_cell]
    results = [
        _result(compose_cell, Outcome.LOST, Outcome.LOST),
        _result(run_cell, Outcome.SURVIVES, Outcome.SURVIVES),
    ]
    tables = matrix_tables(results)
    assert tables["compose mysql"][0].split() == ["down-up"]
    assert tables["compose mysql"][1].split() == ["anonymous-declared", "L/L", "ok"]
    assert tables["mysql"][1].split() == ["named", "S/S", "ok"]
    headings = [line.text for line in summary(results) if line.kind.value == "heading"]
    assert headings == ["compose matrix: mysql", "persistence matrix: mysql"]
    compose_entry, run_entry = to_json(ENGINE, {"mysql": "m:1"}, results)["results"]
    assert compose_entry["matrix"] == "compose"
    assert "matrix" not in run_entry
    again = ScenarioResult.from_record(results[0].to_record())
    assert again.cell == compose_cell
    assert "compose matrix: mysql" in to_html(ENGINE, {"mysql": "m:1"}, results)
