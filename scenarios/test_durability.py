"""Crash durability: no acknowledged commit is lost when the server is SIGKILLed mid-write.

`pytest -m durability` runs every campaign; `--durability-rounds N` and `--durability-seed S`
change how many kills and when. The table after the run has each campaign's counts; with
`--harness-report PATH` they are in the JSON report's `durability` key, round by round.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from harness.frontends.reports.durability import failure
from harness.model.durability import Campaign, CampaignPlan, standard_campaigns
from harness.model.servers.databases import DATABASES

MIN_WRITES_PER_ROUND = 200


@pytest.mark.durability
@pytest.mark.parametrize(
    "plan",
    [
        pytest.param(p, id=p.id, marks=getattr(pytest.mark, p.database))
        for p in standard_campaigns(tuple(DATABASES))
    ],
)
def test_durability(
    plan: CampaignPlan,
    pytestconfig: pytest.Config,
    run_durability_campaign: Callable[[CampaignPlan], Campaign],
) -> None:
    """Safe settings lose no acknowledged write and invent none; tmpfs must show the loss; an
    unsafe setting's loss is counted and reported, never failed on."""
    campaign = run_durability_campaign(plan)
    assert campaign.error is None, failure(campaign)
    assert len(campaign.rounds) == plan.rounds(pytestconfig.getoption("--durability-rounds"))
    assert min(r.attempted for r in campaign.rounds) >= MIN_WRITES_PER_ROUND
    assert campaign.passed, failure(campaign)
