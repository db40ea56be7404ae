"""Crash-durability campaigns as a summary table (terminal and pytest alike)."""

from __future__ import annotations

from collections.abc import Iterable

from harness.frontends.reports.terminal import LineKind, SummaryLine
from harness.model.durability import Campaign

COLUMNS = (
    # (heading, total's name) in the order of a write's life
    ("attempted", "attempted"),
    ("acked", "acknowledged"),
    ("failed", "failed"),
    ("indet.", "indeterminate"),
    ("resolved", "resolved"),
    ("lost", "lost"),
    ("unexp.", "unexpected"),
)
LEGEND = (
    "acked = COMMIT answered; indet. = COMMIT sent, no answer; resolved = indet. the database "
    "accounted for (PostgreSQL txid_status); lost = acked (or resolved committed) but missing "
    "after the crash; unexp. = present but never written, or failed before COMMIT"
)
MUST_SHOW = {
    "no loss": "no acked write lost",
    "loss": "control: must show loss",
    "report": "unsafe: loss counted",
}


def verdict(campaign: Campaign) -> str:
    if campaign.error:
        return "ERROR"
    return "ok" if campaign.passed else "FAIL"


def durability_summary(campaigns: Iterable[Campaign]) -> list[SummaryLine]:
    campaigns = list(campaigns)
    if not campaigns:
        return []
    width = max(len(c.id) for c in campaigns) + 2
    heading = f"{'campaign':<{width}}{'setting':<34}{'rounds':>6}" + "".join(
        f"{title:>10}" for title, _ in COLUMNS
    )
    lines = [SummaryLine("crash durability (SIGKILL mid-write)", LineKind.HEADING)]
    lines.append(SummaryLine(heading + "  verdict"))
    for c in campaigns:
        totals = "".join(f"{c.total(name):>10}" for _, name in COLUMNS)
        row = (
            f"{c.id:<{width}}{c.setting.name:<34}{len(c.rounds):>6}{totals}  "
            f"{verdict(c)} ({MUST_SHOW[c.must_show]})"
        )
        lines.append(SummaryLine(row, LineKind.TEXT if c.passed else LineKind.ALERT))
    lines.append(SummaryLine(LEGEND))
    lines += [
        SummaryLine(f"{c.id}: {failure(c)}", LineKind.ALERT) for c in campaigns if not c.passed
    ]
    return lines


def failure(campaign: Campaign) -> str:
    """Why a campaign did not show what it must, in one sentence (then the first unclean
    round's evidence, when there is one)."""
    return "\n".join([_why(campaign), *campaign.evidence[:1]])


def _why(campaign: Campaign) -> str:
    if campaign.error:
        return f"no verdict: {campaign.error}"
    if not campaign.rounds:
        return "no round ran."
    lost, unexpected = campaign.total("lost"), campaign.total("unexpected")
    if unexpected:
        ids = [i for r in campaign.rounds for i in r.unexpected][:5]
        return f"{unexpected} row(s) present that no acknowledged write put there (ids {ids})."
    if campaign.must_show == "loss":
        return "the control lost nothing, so this check could not have seen a loss."
    ids = [i for r in campaign.rounds for i in r.lost][:5]
    return f"{lost} acknowledged write(s) missing after a crash (ids {ids})."
