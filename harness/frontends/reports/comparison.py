"""Several engines side by side: the cells where they differ, each with every engine's reason."""

from __future__ import annotations

import html
from dataclasses import dataclass
from typing import Any

from harness.frontends.reports.html import html_grids, html_head, to_html
from harness.frontends.reports.json_report import to_json
from harness.frontends.reports.terminal import LineKind, SummaryLine, summary
from harness.model.cells import ScenarioResult
from harness.model.engine_info import EngineInfo


@dataclass(frozen=True)
class EngineRun:
    """One engine's part of a multi-engine run."""

    name: str  # as given to --engine: host, docker-26, podman
    info: EngineInfo
    images: dict[str, str]
    results: list[ScenarioResult]


@dataclass(frozen=True)
class Difference:
    cell_id: str
    # Per engine, in the run's order: (engine name, what it showed, why it should).
    cells: tuple[tuple[str, str, str], ...]


def _shown(result: ScenarioResult) -> str:
    if result.error:
        return "no verdict"
    observed = result.observed.value if result.observed else "?"
    return observed if result.passed else f"{observed} (expected {result.expected.value})"


def differences(runs: list[EngineRun]) -> list[Difference]:
    """Cells run on every engine whose outcome (observed, or expected when no verdict) is not
    the same on all of them, in the table's order."""
    by_engine = [{r.cell.id: r for r in run.results} for run in runs]
    common = [r for r in runs[0].results if all(r.cell.id in cells for cells in by_engine)]
    found = []
    for first in sorted(common, key=lambda r: r.cell.sort_key()):
        results = [cells[first.cell.id] for cells in by_engine]
        outcomes = {(r.observed or r.expected, bool(r.error)) for r in results}
        if len(outcomes) > 1 or len({r.expected for r in results}) > 1:
            found.append(
                Difference(
                    first.cell.id,
                    tuple(
                        (run.name, _shown(r), r.reason)
                        for run, r in zip(runs, results, strict=True)
                    ),
                )
            )
    return found


def difference_lines(runs: list[EngineRun]) -> list[str]:
    found = differences(runs)
    names = " / ".join(f"{run.name} ({run.info.name} {run.info.version})" for run in runs)
    if not found:
        return [f"{names}: every cell came out the same."]
    lines = [f"{names}: {len(found)} cell(s) differ"]
    for difference in found:
        lines.append(f"{difference.cell_id}:")
        lines += [f"  {name:<10} {shown:<28} {reason}" for name, shown, reason in difference.cells]
    return lines


def differences_json(runs: list[EngineRun]) -> list[dict[str, Any]]:
    return [
        {
            "id": d.cell_id,
            "engines": [
                {"engine": name, "outcome": shown, "reason": reason}
                for name, shown, reason in d.cells
            ],
        }
        for d in differences(runs)
    ]


def differences_html(runs: list[EngineRun]) -> str:
    found = differences(runs)
    parts = ["<h2>Where the engines differ</h2>"]
    if not found:
        parts.append("<p>Every cell came out the same on every engine.</p>")
        return "\n".join(parts)
    parts.append("<table><tr><th>cell</th>")
    parts += [f"<th>{html.escape(f'{r.name} ({r.info.name} {r.info.version})')}</th>" for r in runs]
    parts.append("</tr>")
    for difference in found:
        parts.append(f"<tr><th>{html.escape(difference.cell_id)}</th>")
        parts += [
            f"<td><span class='verdict'>{html.escape(shown)}</span>"
            f"<div class='reason'>{html.escape(reason)}</div></td>"
            for _name, shown, reason in difference.cells
        ]
        parts.append("</tr>")
    parts.append("</table>")
    return "\n".join(parts)


def engines_report(runs: list[EngineRun]) -> dict[str, Any]:
    """One engine: the contract's report; several: `{"engines": [<one-engine report>, ...],
    "differences": [...]}`, each engine's report naming it (`engine.as`)."""
    reports = [to_json(run.info, run.images, run.results) for run in runs]
    if len(runs) == 1:
        return reports[0]
    for report, run in zip(reports, runs, strict=True):
        report["engine"]["as"] = run.name
    return {"engines": reports, "differences": differences_json(runs)}


def engines_summary(runs: list[EngineRun]) -> list[SummaryLine]:
    """One engine: its tables; several: each engine's, headed by it, then where they differ."""
    if len(runs) == 1:
        return summary(runs[0].results)
    lines: list[SummaryLine] = []
    for run in runs:
        heading = f"engine {run.name}: {run.info.name} {run.info.version}"
        lines += [SummaryLine(heading, LineKind.HEADING), *summary(run.results)]
    lines.append(SummaryLine("where the engines differ", LineKind.HEADING))
    return lines + [SummaryLine(text) for text in difference_lines(runs)]


def engines_html(runs: list[EngineRun]) -> str:
    """One engine: its page; several: each engine's grids, then where they differ."""
    if len(runs) == 1:
        return to_html(runs[0].info, runs[0].images, runs[0].results)
    parts = html_head()
    for run in runs:
        parts.append(f"<h1>Engine {html.escape(run.name)}</h1>")
        parts += html_grids(run.info, run.images, run.results)
    parts += [differences_html(runs), "</body></html>"]
    return "\n".join(parts)
