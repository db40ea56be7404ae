"""Results as terminal tables: one per database, each cell expected/observed, coloured."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import Enum

from harness.model.cells import ScenarioResult

SYMBOL = {"survives": "S", "lost": "L", "rejected": "R", "refused": "X"}
LEGEND = (
    "cell = expected/observed: S survives, L lost, R the engine refuses the configuration, "
    "X the next major version refuses the data (still on disk); "
    "ok = as the engine promises, FAIL = it did not, ERROR = no verdict; "
    "? = unverified (the engine is in no known range: judged by the nearest one)"
)
# A colour per observed outcome, in pytest's markup names (the command line maps them to ANSI).
OUTCOME_COLOUR = {"survives": "green", "lost": "red", "rejected": "blue", "refused": "purple"}


def cell_text(result: ScenarioResult | None) -> str:
    if result is None:
        return "-"
    if result.error:
        return "ERROR"
    observed = SYMBOL[result.observed.value] if result.observed else "?"
    verdict = "ok" if result.passed else "FAIL"
    unverified = "" if result.verified else "?"
    return f"{SYMBOL[result.expected.value]}/{observed} {verdict}{unverified}"


def by_table(
    results: Iterable[ScenarioResult],
) -> dict[str, dict[tuple[str, str], ScenarioResult]]:
    """The results per table (a database's, per matrix), by storage mode and action."""
    grouped: dict[str, dict[tuple[str, str], ScenarioResult]] = {}
    for result in results:
        cell = result.cell
        grouped.setdefault(cell.table, {})[(cell.storage, cell.action)] = result
    return grouped


def axes(cells: Mapping[tuple[str, str], ScenarioResult]) -> tuple[list[str], list[str]]:
    """The storage modes and actions that were run, in the table's order."""
    matrix = next(iter(cells.values())).cell.axes
    storages = [s for s in matrix.storages if any(k[0] == s for k in cells)]
    actions = [a for a in matrix.actions if any(k[1] == a for k in cells)]
    return storages, actions


def table_heading(cells: Mapping[tuple[str, str], ScenarioResult]) -> str:
    """`persistence matrix: mysql`, `compose matrix: postgres`."""
    cell = next(iter(cells.values())).cell
    return f"{cell.axes.title}: {cell.database}"


def cell_colour(result: ScenarioResult | None) -> str | None:
    """Red for a broken promise and yellow for no verdict, else the observed outcome's."""
    if result is None:
        return None
    if result.error:
        return "yellow"
    if not result.passed or result.observed is None:
        return "red"
    return OUTCOME_COLOUR[result.observed.value]


Segment = tuple[str, str | None]  # text, and its colour (None: the terminal's own)


def matrix_rows(results: Iterable[ScenarioResult]) -> dict[str, list[tuple[Segment, ...]]]:
    """One table per database, storage modes as rows and actions as columns, each row as
    coloured segments."""
    tables = {}
    for table, cells in by_table(results).items():
        storages, actions = axes(cells)
        widths = [max(len(a), 9) for a in actions]
        first = max(10, *(len(s) + 1 for s in storages))
        header = f"{'':<{first}}" + "  ".join(
            a.ljust(w) for a, w in zip(actions, widths, strict=True)
        )
        rows: list[tuple[Segment, ...]] = [((header.rstrip(), None),)]
        for storage in storages:
            segments: list[Segment] = [(f"{storage:<{first}}", None)]
            for index, (action, width) in enumerate(zip(actions, widths, strict=True)):
                result = cells.get((storage, action))
                gap = "  " if index else ""
                segments += [(gap, None), (cell_text(result), cell_colour(result))]
                segments.append((" " * (width - len(cell_text(result))), None))
            rows.append(_trimmed(segments))
        tables[table] = rows
    return tables


def _trimmed(segments: list[Segment]) -> tuple[Segment, ...]:
    while segments and not segments[-1][0].strip():
        segments.pop()
    return tuple(segments)


def matrix_tables(results: Iterable[ScenarioResult]) -> dict[str, list[str]]:
    """The tables of `matrix_rows` as plain text."""
    return {
        database: ["".join(text for text, _ in row) for row in rows]
        for database, rows in matrix_rows(results).items()
    }


def dangling_lines(results: Iterable[ScenarioResult]) -> list[str]:
    """The anonymous volumes that scenarios left dangling (before cleanup removed them)."""
    lines = []
    for r in results:
        if not r.dangling_volumes:
            continue
        names = ", ".join(
            v[:12]
            + (" holds the rows" if v in r.dangling_with_data else " unused image VOLUME, no rows")
            for v in r.dangling_volumes
        )
        lines.append(
            f"{r.cell.id}: {len(r.dangling_volumes)} dangling anonymous volume(s): {names}"
        )
    return lines


class LineKind(Enum):
    HEADING = "heading"
    TEXT = "text"
    ALERT = "alert"  # a failure or an error: shown in red where the terminal can


@dataclass(frozen=True)
class SummaryLine:
    text: str
    kind: LineKind = LineKind.TEXT
    # The text in coloured pieces, where parts of a line have colours of their own.
    segments: tuple[Segment, ...] = ()

    @classmethod
    def coloured(cls, segments: tuple[Segment, ...], kind: LineKind) -> SummaryLine:
        return cls("".join(text for text, _ in segments), kind, segments)

    def pieces(self) -> tuple[Segment, ...]:
        """The segments, or the whole text in the kind's colour."""
        if self.segments:
            return self.segments
        return ((self.text, "red" if self.kind is LineKind.ALERT else None),)


ANSI = {"red": 31, "green": 32, "yellow": 33, "blue": 34, "purple": 35}


def render(line: SummaryLine, *, colour: bool) -> str:
    """The line as the command line prints it: a heading framed, ANSI colours on a terminal."""
    if line.kind is LineKind.HEADING:
        return f"\n== {line.text} =="
    if not colour:
        return line.text
    return "".join(
        f"\x1b[{ANSI[colour]}m{text}\x1b[0m" if colour else text for text, colour in line.pieces()
    )


def summary(results: list[ScenarioResult]) -> list[SummaryLine]:
    """What a run shows at its end, for the command line and the pytest plugin alike: a table
    per database, the legend and counts, the dangling volumes, and why each failure failed."""
    lines: list[SummaryLine] = []
    headings = {table: table_heading(cells) for table, cells in by_table(results).items()}
    for table, rows in matrix_rows(results).items():
        lines.append(SummaryLine(headings[table], LineKind.HEADING))
        for row in rows:
            text = "".join(piece for piece, _ in row)
            alert = "FAIL" in text or "ERROR" in text
            lines.append(SummaryLine.coloured(row, LineKind.ALERT if alert else LineKind.TEXT))
    if not lines:
        return lines
    lines += [SummaryLine(LEGEND), SummaryLine(summary_line(results))]
    upgrades = {r.cell.table: (r.upgrade_from, r.upgrade_to) for r in results if r.upgrade_to}
    lines += [
        SummaryLine(f"{database} upgrade: written by {old}, recreated with {new}")
        for database, (old, new) in upgrades.items()
    ]
    dangling = dangling_lines(results)
    if dangling:
        lines.append(
            SummaryLine("dangling anonymous volumes the scenarios produced", LineKind.HEADING)
        )
        lines += [SummaryLine(line) for line in dangling]
        lines.append(
            SummaryLine("(on disk, seen by no container; the harness removed them after reporting)")
        )
    lines += [SummaryLine(r.failure_message(), LineKind.ALERT) for r in results if not r.passed]
    return lines


def summary_line(results: list[ScenarioResult]) -> str:
    passed = sum(r.passed for r in results)
    errors = sum(bool(r.error) for r in results)
    failed = len(results) - passed - errors
    return f"{passed} as promised, {failed} not as promised, {errors} without verdict"
