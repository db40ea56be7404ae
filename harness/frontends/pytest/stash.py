"""What a test leaves on its item for the report hook: results, campaigns, and the run's engine
and images (pytest-xdist carries them to the controller on the test report)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

from harness.model.cells import Cell, ScenarioResult
from harness.model.durability import Campaign

if TYPE_CHECKING:
    from harness.containers.engine import Engine

RESULTS_KEY = pytest.StashKey[list[ScenarioResult]]()
CAMPAIGNS_KEY = pytest.StashKey[list[Campaign]]()
RUN_KEY = pytest.StashKey[dict[str, Any]]()
# The matrix cells this run selected (on the config: what `--reuse-init auto` counts).
CELLS_KEY = pytest.StashKey[list[Cell]]()
# Under --shard: [K, N, cells given to this shard, cells in the whole selection].
SHARD_KEY = pytest.StashKey[list[int]]()


def record_run(
    node: pytest.Item, engine: Engine, images: dict[str, str], as_name: str | None = None
) -> None:
    """The engine and images of what the test recorded; `as_name`: the `--engine` it ran on."""
    run: dict[str, Any] = {"engine": engine.info.to_dict(), "images": dict(images)}
    if as_name:
        run["as"] = as_name
    node.stash[RUN_KEY] = run


def record_result(
    node: pytest.Item,
    engine: Engine,
    images: dict[str, str],
    result: ScenarioResult,
    as_name: str | None = None,
) -> None:
    node.stash.setdefault(RESULTS_KEY, []).append(result)
    record_run(node, engine, images, as_name)


def record_campaign(
    node: pytest.Item, engine: Engine, images: dict[str, str], campaign: Campaign
) -> None:
    node.stash.setdefault(CAMPAIGNS_KEY, []).append(campaign)
    record_run(node, engine, {campaign.database: images[campaign.database]})
