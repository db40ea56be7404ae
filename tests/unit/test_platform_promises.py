"""Every platform (`docker run`, compose, swarm) says what it promises for each of its cells
before the cell runs: a cell without a verdict (its engine gone) still reports what was expected,
and the no-verdict path is the same for every platform."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from harness.images.sources import UpgradeImages
from harness.model.cells import MATRICES, Cell, matrix
from harness.model.engine_info import EngineInfo
from harness.model.outcomes import Outcome
from harness.model.platforms.compose import compose_expect, compose_promise
from harness.model.platforms.swarm import swarm_promise
from harness.model.servers.versions import UpgradePair, find_version, upgrade_promise
from harness.persistence.scenario import without_verdict

ENGINE = EngineInfo("docker", "20.10.24", "1.41")
GONE = "the engine stopped answering and did not come back within 180 s"


def _engine() -> Any:
    """What `without_verdict` reads of an engine: its version (no connection is made)."""
    return SimpleNamespace(info=ENGINE)


def _postgres_upgrade() -> UpgradeImages:
    pair = UpgradePair(
        find_version("postgres", "15", local=True), find_version("postgres", "17", local=True)
    )
    return UpgradeImages(old_ref="old:1", new_ref="new:2", pair=pair)


@pytest.mark.parametrize("kind", list(MATRICES))
def test_every_cell_of_every_platform_has_a_planned_promise(kind: str) -> None:
    """A registered storage without a promise for a registered action, on any platform, fails
    here (a KeyError), not in a run whose engine went away."""
    for cell in matrix(kind=kind):
        promise = cell.planned(ENGINE)
        assert promise.outcome in Outcome, cell.id
        assert promise.reason.strip(), f"{cell.id} has no reason"


@pytest.mark.parametrize("kind", list(MATRICES))
def test_a_cell_without_a_verdict_keeps_its_platforms_promise(kind: str) -> None:
    """The engine gone before a cell of any platform: no verdict, the cause given, and the
    expectation the cell itself would have had."""
    for cell in matrix(("mysql",), kind=kind):
        result = without_verdict(_engine(), cell, None, GONE)
        planned = cell.planned(ENGINE)
        assert (result.expected, result.reason) == (planned.outcome, planned.reason), cell.id
        assert result.observed is None
        assert result.error == GONE
        assert not result.passed
        assert result.to_dict()["observed"] is None


def test_a_swarm_cell_without_a_verdict_says_the_swarms_promise() -> None:
    """The swarm's promise reads nodes; before a task ran, its own node for a pinned action
    and another node for one that moves the task (the path that raised KeyError before)."""
    kept = without_verdict(_engine(), Cell("mysql", "named", "update-force", "swarm"), None, GONE)
    assert (kept.expected, kept.reason) == (
        swarm_promise("named", "update-force", "its node", "its node").outcome,
        swarm_promise("named", "update-force", "its node", "its node").reason,
    )
    assert kept.expected is Outcome.SURVIVES
    moved = without_verdict(_engine(), Cell("mysql", "named", "move-node", "swarm"), None, GONE)
    assert moved.expected is Outcome.LOST
    assert "another node" in moved.reason
    drained = without_verdict(_engine(), Cell("mysql", "bind", "drain-node", "swarm"), None, GONE)
    assert drained.expected is Outcome.LOST


def test_a_compose_upgrade_without_a_verdict_expects_what_the_cell_would() -> None:
    """A compose upgrade on storage that keeps the rows: the next version's answer decides,
    in the no-verdict path as in the cell's own (before, the no-verdict path said `survives`)."""
    upgrade = _postgres_upgrade()
    line = upgrade.line
    cell = Cell("postgres", "named", "upgrade", "compose")
    result = without_verdict(_engine(), cell, upgrade, GONE)
    assert compose_promise("named", "upgrade")[0] is Outcome.SURVIVES
    assert result.expected is upgrade_promise(line).outcome
    assert result.expected is Outcome.REFUSED
    assert (result.upgrade_from, result.upgrade_to) == ("old:1", "new:2")
    assert compose_expect("named", "upgrade", line).outcome is Outcome.REFUSED
    # Storage that loses the rows loses them whatever the next version would say.
    assert compose_expect("tmpfs", "upgrade", line).outcome is Outcome.LOST
