"""Results as an HTML page: a colour grid per database, the reason on every cell."""

from __future__ import annotations

import html
from collections.abc import Mapping

from harness.frontends.reports.terminal import axes, by_table, summary_line, table_heading
from harness.model.cells import ScenarioResult
from harness.model.engine_info import EngineInfo

_CSS = """
body { font-family: system-ui, sans-serif; margin: 2em; color: #222; }
table { border-collapse: collapse; margin-bottom: 2em; }
th, td { border: 1px solid #bbb; padding: .5em; vertical-align: top; max-width: 14em; }
th { background: #eee; white-space: nowrap; }
td.survives { background: #d9f2d9; } td.lost { background: #f9dede; }
td.rejected { background: #e4e0f5; } td.refused { background: #fde7c8; }
td.unverified { border-style: dashed; }
td.fail { outline: 3px solid #c00; outline-offset: -3px; } td.error { background: #fff3c4; }
.verdict { font-weight: bold; } .reason { font-size: .8em; color: #444; }
"""


def to_html(engine: EngineInfo, images: Mapping[str, str], results: list[ScenarioResult]) -> str:
    """A colour grid per database: green survives, red lost, outlined where not as promised."""
    return "\n".join([*html_head(), *html_grids(engine, images, results), "</body></html>"])


def html_head() -> list[str]:
    return [
        "<!doctype html><html><head><meta charset='utf-8'>",
        "<title>Container persistence matrix</title>",
        f"<style>{_CSS}</style></head><body>",
        "<h1>Does the data survive?</h1>",
        "<p>Each cell: what happened to the <code>Persons</code> rows after the action. "
        "<span style='background:#d9f2d9'>green: they survived</span>, "
        "<span style='background:#f9dede'>red: they were lost</span>, "
        "<span style='background:#e4e0f5'>violet: the engine refused the configuration</span>, "
        "<span style='background:#fde7c8'>orange: the next major version refused the data, "
        "which is still on disk</span>; "
        "a red outline marks a cell where the engine did not do what it promises, a dashed one "
        "a promise not verified on this engine. The small text says why.</p>",
    ]


def html_grids(
    engine: EngineInfo, images: Mapping[str, str], results: list[ScenarioResult]
) -> list[str]:
    """One engine's grids, headed by the engine."""
    parts = [
        f"<p>Engine: {html.escape(engine.name)} {html.escape(engine.version)} "
        f"(API {html.escape(engine.api_version)}). {html.escape(summary_line(results))}.</p>",
    ]
    for cells in by_table(results).values():
        storages, actions = axes(cells)
        image = images.get(next(iter(cells.values())).cell.database, "")
        parts.append(f"<h2>{html.escape(table_heading(cells))} ({html.escape(image)})</h2>")
        parts.append("<table><tr><th>storage \\ action</th>")
        parts.extend(f"<th>{html.escape(a)}</th>" for a in actions)
        parts.append("</tr>")
        for storage in storages:
            parts.append(f"<tr><th>{html.escape(storage)}</th>")
            for action in actions:
                parts.append(_html_cell(cells.get((storage, action))))
            parts.append("</tr>")
        parts.append("</table>")
    return parts


def _html_cell(result: ScenarioResult | None) -> str:
    if result is None:
        return "<td>not run</td>"
    if result.error:
        return (
            f"<td class='error'><span class='verdict'>no verdict</span>"
            f"<div class='reason'>{html.escape(result.error)}</div></td>"
        )
    observed = result.observed.value if result.observed else "?"
    classes = observed + ("" if result.passed else " fail")
    classes += "" if result.verified else " unverified"
    verdict = observed if result.passed else f"{observed} (expected {result.expected.value})"
    # What the servers said (a refusal's FATAL line, a missing table) is the evidence.
    evidence = (
        f"<div class='reason'><i>{html.escape(result.detail)}</i></div>" if result.detail else ""
    )
    return (
        f"<td class='{classes}' title='{html.escape(result.reason, quote=True)}'>"
        f"<span class='verdict'>{html.escape(verdict)}</span>"
        f"<div class='reason'>{html.escape(result.reason)}</div>{evidence}</td>"
    )
