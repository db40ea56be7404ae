"""`pytest -m durability`: crash campaigns as tests, their counts in the summary and the report.

A plugin the harness's pytest plugin registers; light at import (the writers load when a test
first runs one).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import pytest

from harness.frontends.pytest.stash import record_campaign
from harness.model.durability import DEFAULT_ROUNDS, DEFAULT_SEED, Campaign, CampaignPlan

if TYPE_CHECKING:
    from harness.containers.engine import Engine, Session
    from harness.model.servers.credentials import Credentials


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("harness", "persistence harness")
    group.addoption(
        "--durability-rounds",
        type=int,
        default=DEFAULT_ROUNDS,
        metavar="N",
        help=f"kill rounds per durability campaign (default {DEFAULT_ROUNDS})",
    )
    group.addoption(
        "--durability-seed",
        type=int,
        default=DEFAULT_SEED,
        metavar="SEED",
        help="seed of the kill moments (the same seed plans the same rounds)",
    )


@pytest.fixture
def run_durability_campaign(
    request: pytest.FixtureRequest,
    harness_engine: Engine,
    harness_session: Session,
    harness_images: dict[str, str],
    harness_credentials: Credentials,
) -> Callable[[CampaignPlan], Campaign]:
    """Runs one crash campaign on the real engine and records it for the summary and report."""
    from harness.persistence.durability import run_campaign  # noqa: PLC0415 - heavy

    config = request.config

    def run(plan: CampaignPlan) -> Campaign:
        campaign = run_campaign(
            harness_engine,
            harness_session,
            plan,
            harness_images[plan.database],
            harness_credentials,
            rounds=config.getoption("--durability-rounds"),
            seed=config.getoption("--durability-seed"),
        )
        record_campaign(request.node, harness_engine, harness_images, campaign)
        return campaign

    return run
