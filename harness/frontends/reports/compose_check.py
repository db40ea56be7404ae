"""`compose-check`'s reports: what the file promises, what happened, the exit code, the JSON of
docs/contracts.md and a small HTML page."""

from __future__ import annotations

import html
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from harness.model.cells import ScenarioResult
from harness.model.engine_info import EngineInfo
from harness.model.outcomes import Outcome
from harness.model.platforms.compose_check import DatabaseService, Expectation, advice, expectation
from harness.model.platforms.swarm import SWARM_ACTIONS
from harness.model.platforms.swarm_check import swarm_advice

KEPT_EXIT = 0
LOST_EXIT = 1
NO_VERDICT_EXIT = 2
ON_SWARM = "swarm"


def advice_for(service: DatabaseService, action: str, result: ScenarioResult | None = None) -> str:
    """The change that keeps the rows: for a server that refused to start, the fix its refusal
    names; else the swarm's for a swarm action, else Compose's."""
    detail = result.detail if result and result.observed is Outcome.REFUSED else None
    if detail and "fix: " in detail:
        return detail.rpartition("fix: ")[2]
    return swarm_advice(service, action) if action in SWARM_ACTIONS else advice(service, action)


@dataclass(frozen=True)
class CheckEntry:
    service: DatabaseService
    result: ScenarioResult

    @property
    def id(self) -> str:
        return f"{self.service.name}-{self.result.cell.action}"

    @property
    def action(self) -> str:
        return self.result.cell.action

    def observed(self) -> str:
        observed = self.result.observed
        return observed.value if observed and not self.result.error else "no verdict"

    def to_dict(self) -> dict[str, Any]:
        """One result of the JSON contract (`error` and `advice` only when they say something)."""
        service, result = self.service, self.result
        entry: dict[str, Any] = {
            "id": self.id,
            "service": service.name,
            "database": service.database,
            "image": service.image,
            "stand_in": service.runs if service.stand_in else None,
            "storage": service.holder.storage,
            "action": self.action,
            "expected": result.expected.value,
            "observed": None if result.error or not result.observed else result.observed.value,
            "passed": result.passed,
            "reason": result.reason,
        }
        if result.detail:
            entry["detail"] = result.detail
        if service.other_major:
            entry["other_major"] = service.other_major
        if result.node_written or result.node_read:
            entry["nodes"] = {"written": result.node_written, "read": result.node_read}
        if result.error:
            entry["error"] = result.error
        if result.observed in (Outcome.LOST, Outcome.REFUSED) and not result.error:
            entry["advice"] = advice_for(service, self.action, result)
        return entry


# What a must-survive action must not end in: the rows gone, or a server that will not start.
_NOT_KEPT = (Outcome.LOST, Outcome.REFUSED)


@dataclass
class CheckReport:
    compose_file: str
    engine: EngineInfo
    compose_version: str
    must_survive: tuple[str, ...]
    entries: list[CheckEntry] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    on: str = ""  # ON_SWARM for a stack on the swarm; "" on one engine

    def to_json(self) -> dict[str, Any]:
        where = {"on": self.on} if self.on else {}
        return {
            "compose_file": self.compose_file,
            **where,
            "engine": self.engine.to_dict(),
            "compose_version": self.compose_version,
            "results": [e.to_dict() for e in self.entries],
        }

    def exit_code(self) -> int:
        """1 when a must-survive action lost the rows or the server refused to start (the rows are
        not there to read either way); else 2 when one gave no verdict; else 0."""
        bound = [e for e in self.entries if e.action in self.must_survive]
        if any(e.result.observed in _NOT_KEPT and not e.result.error for e in bound):
            return LOST_EXIT
        if any(e.result.error or e.result.observed is None for e in bound):
            return NO_VERDICT_EXIT
        return KEPT_EXIT

    def verdict_lines(self) -> list[str]:
        """What the exit code means, and per broken must-survive action the change to make."""
        lines = []
        for entry in self.entries:
            if entry.action not in self.must_survive:
                continue
            if entry.result.error:
                lines.append(f"no verdict for {entry.id}: {entry.result.error}")
            elif entry.result.observed is Outcome.REFUSED:
                lines.append(
                    f"{entry.service.name} does not start, so it keeps nothing on "
                    f"{entry.action}: {advice_for(entry.service, entry.action, entry.result)}."
                )
            elif entry.result.observed is Outcome.LOST:
                lines.append(
                    f"{entry.service.name} loses its rows on {entry.action}: "
                    f"{advice_for(entry.service, entry.action)}."
                )
        if not lines:
            lines.append(
                f"Every must-survive action ({', '.join(self.must_survive)}) kept the rows."
            )
        return lines


def describe_service(service: DatabaseService) -> str:
    runs = f", ran as {service.runs}" if service.stand_in else ""
    other = f"\n    note: {service.other_major}" if service.other_major else ""
    return (f"{service.name}: {service.database} ({service.image}{runs}), keeps "
            f"{service.data_dir} in {service.holder.where}{other}")  # fmt: skip


def expectation_lines(
    services: list[DatabaseService],
    actions: tuple[str, ...],
    must_survive: tuple[str, ...],
    expect: Callable[[DatabaseService, str], Expectation] = expectation,
) -> list[str]:
    """What the file alone promises, per service and action, with the reason (`expect`: the
    promise of the target, Compose's on one engine)."""
    lines = []
    for service in services:
        lines.append(describe_service(service))
        for action in actions:
            expected = expect(service, action)
            bound = "must survive" if action in must_survive else ""
            lines.append(f"  {action:<19} {expected.outcome.value:<9} {bound:<13}"
                         f"{expected.rule}")  # fmt: skip
    return lines


def result_lines(report: CheckReport) -> list[str]:
    """Observed against expected, one line per service and action."""
    header = f"  {'service-action':<32} {'expected':<9} {'observed':<11} as expected"
    lines = [header]
    for entry in report.entries:
        same = "yes" if entry.result.passed else "NO"
        lines.append(f"  {entry.id:<32} {entry.result.expected.value:<9} "
                     f"{entry.observed():<11} {same}")  # fmt: skip
    return lines


_COLOURS = {"survives": "#d9f2d9", "lost": "#f9dede", "no verdict": "#eeeeee"}


def to_html(report: CheckReport) -> str:
    """One table: service and action, expected, observed (coloured), the reason."""
    rows = []
    for entry in report.entries:
        colour = _COLOURS.get(entry.observed(), "#ffffff")
        outline = "" if entry.result.passed else " style='outline:2px solid #c00'"
        why = entry.result.error or entry.result.reason
        rows.append(
            f"<tr{outline}><td>{html.escape(entry.id)}</td>"
            f"<td>{html.escape(entry.service.holder.storage)}</td>"
            f"<td>{entry.result.expected.value}</td>"
            f"<td style='background:{colour}'>{entry.observed()}</td>"
            f"<td>{html.escape(why)}</td></tr>"
        )
    return "\n".join([
        "<!doctype html><html><head><meta charset='utf-8'>",
        f"<title>compose-check {html.escape(report.compose_file)}</title></head><body>",
        f"<h1>Does {html.escape(report.compose_file)} keep its data?</h1>",
        f"<p>{'A stack on a swarm of ' if report.on else ''}{report.engine.name} "
        f"{html.escape(report.engine.version)}, Compose {html.escape(report.compose_version)}. "
        f"A red outline: not what {'the swarm' if report.on else 'Compose'} promises.</p>",
        "<table border='1' cellpadding='4'><tr><th>service-action</th><th>storage</th>"
        "<th>expected</th><th>observed</th><th>why</th></tr>",
        *rows,
        "</table>",
        *(f"<p>{html.escape(line)}</p>" for line in report.verdict_lines()),
        "</body></html>",
    ])  # fmt: skip
