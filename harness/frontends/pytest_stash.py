"""What a test leaves on its item for the report hook: results, campaigns, and the run's engine
and images (pytest-xdist carries them to the controller on the test report)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

from harness.model.cells import ScenarioResult
from harness.model.durability import Campaign

if TYPE_CHECKING:
    from harness.containers.engine import Engine

RESULTS_KEY = pytest.StashKey[list[ScenarioResult]]()
CAMPAIGNS_KEY = pytest.StashKey[list[Campaign]]()
RUN_KEY = pytest.StashKey[dict[str, Any]]()


def record_run(node: pytest.Item, engine: Engine, images: dict[str, str]) -> None:
    node.stash[RUN_KEY] = {"engine": engine.info.to_dict(), "images": dict(images)}


def record_result(
    node: pytest.Item, engine: Engine, images: dict[str, str], result: ScenarioResult
) -> None:
    node.stash.setdefault(RESULTS_KEY, []).append(result)
    record_run(node, engine, images)


def record_campaign(
    node: pytest.Item, engine: Engine, images: dict[str, str], campaign: Campaign
) -> None:
    node.stash.setdefault(CAMPAIGNS_KEY, []).append(campaign)
    record_run(node, engine, {campaign.database: images[campaign.database]})
