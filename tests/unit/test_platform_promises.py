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
from harness.model.holders import Holder, ObservedMount, misplaced, mount_holding
from harness.model.outcomes import Outcome
from harness.model.platforms.compose import COMPOSE_STORAGE, compose_expect, compose_promise
from harness.model.platforms.storage import STORAGE_MODES
from harness.model.platforms.swarm import SWARM_STORAGE, swarm_promise
from harness.model.servers.versions import UpgradePair, find_version, upgrade_promise
from harness.model.spec import MountKind
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
    assert compose_promise("named", "upgrade").outcome is Outcome.SURVIVES
    assert result.expected is upgrade_promise(line).outcome
    assert result.expected is Outcome.REFUSED
    assert (result.upgrade_from, result.upgrade_to) == ("old:1", "new:2")
    assert compose_expect("named", "upgrade", line).outcome is Outcome.REFUSED
    # Storage that loses the rows loses them whatever the next version would say.
    assert compose_expect("tmpfs", "upgrade", line).outcome is Outcome.LOST


def _holders() -> dict[str, dict[str, Holder | None]]:
    """Per platform, what holds the data directory for each of its storage names."""
    return {
        "run": {name: mode.holder for name, mode in STORAGE_MODES.items()},
        "compose": {name: s.holder for name, s in COMPOSE_STORAGE.items()},
        "swarm": {name: s.holder for name, s in SWARM_STORAGE.items()},
    }


def test_every_platform_is_registered_with_its_holders() -> None:
    assert set(_holders()) == set(MATRICES)
    for kind, holders in _holders().items():
        assert set(holders) == set(MATRICES[kind].storages), kind


def test_a_storage_name_means_the_same_holder_on_every_platform() -> None:
    """One vocabulary: `named` is a named volume, `anonymous` the image's VOLUME, `bind` a
    directory of the host (or node) on every platform, so a table read across platforms
    compares like with like."""
    by_name: dict[str, set[Holder | None]] = {}
    for holders in _holders().values():
        for name, holder in holders.items():
            by_name.setdefault(name, set()).add(holder)
    assert {name: h for name, h in by_name.items() if len(h) > 1} == {}
    assert by_name["layer"] == {Holder.LAYER}
    assert by_name["anonymous"] == {Holder.IMAGE_VOLUME}
    assert by_name["named"] == {Holder.NAMED_VOLUME}


@pytest.mark.parametrize(
    ("holder", "kind"),
    [
        (Holder.LAYER, None),
        (Holder.IMAGE_VOLUME, MountKind.VOLUME),
        (Holder.ANONYMOUS_VOLUME, MountKind.VOLUME),
        (Holder.NAMED_VOLUME, MountKind.VOLUME),
        (Holder.EXTERNAL_VOLUME, MountKind.VOLUME),
        (Holder.BIND, MountKind.BIND),
        (Holder.TMPFS, MountKind.TMPFS),
    ],
)
def test_each_holder_is_the_mount_the_engine_reports(
    holder: Holder, kind: MountKind | None
) -> None:
    """What an inspect reports as the mount's `Type` (the placement check compares it)."""
    assert holder.mount_kind == kind
    if kind is not None:
        assert str(kind) in ("volume", "bind", "tmpfs")


VOLUME_X = ObservedMount("volume", "/var/lib/mysql", name="x")
BIND = ObservedMount("bind", "/var/lib/mysql", source="/srv/d")


@pytest.mark.parametrize(
    ("holder", "mount", "volume", "where"),
    [
        (Holder.LAYER, None, None, None),
        (Holder.LAYER, VOLUME_X, None, "volume x -> /var/lib/mysql"),
        (Holder.NAMED_VOLUME, VOLUME_X, "x", None),
        (Holder.NAMED_VOLUME, VOLUME_X, "y", "volume x -> /var/lib/mysql"),  # another volume
        (Holder.NAMED_VOLUME, BIND, "x", "bind /srv/d -> /var/lib/mysql"),
        (Holder.NAMED_VOLUME, None, "x", "the writable layer"),
        (Holder.IMAGE_VOLUME, VOLUME_X, None, None),
        (Holder.BIND, BIND, None, None),
        (Holder.TMPFS, ObservedMount("tmpfs", "/var/lib/mysql"), None, None),
        (Holder.TMPFS, BIND, None, "bind /srv/d -> /var/lib/mysql"),
    ],
)
def test_one_placement_rule_for_every_platform(
    holder: Holder, mount: ObservedMount | None, volume: str | None, where: str | None
) -> None:
    """Where the data is when it is not where the storage puts it (None: it is)."""
    assert misplaced(holder, mount, volume) == where


def test_the_mount_holding_the_data_is_the_deepest_over_it() -> None:
    outer = ObservedMount("volume", "/var/lib", name="outer")
    inner = ObservedMount("volume", "/var/lib/mysql", name="inner")
    assert mount_holding([outer, inner], "/var/lib/mysql/data") == inner
    assert mount_holding([outer, inner], "/var/lib/other") == outer
    assert mount_holding([inner], "/srv/data") is None  # the writable layer
