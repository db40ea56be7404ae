"""Cells of the matrix and what a scenario found in one."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from itertools import product
from typing import Any

from harness.model.engine_info import EngineInfo
from harness.model.outcomes import Outcome, Promise
from harness.model.platforms.actions import ACTION_NAMES, ACTIONS
from harness.model.platforms.compose import (
    COMPOSE_ACTION_NAMES,
    COMPOSE_ACTIONS,
    COMPOSE_STORAGE,
    COMPOSE_STORAGE_NAMES,
    compose_expect,
)
from harness.model.platforms.storage import STORAGE_MODES, STORAGE_NAMES, expect
from harness.model.platforms.swarm import (
    SWARM_ACTION_NAMES,
    SWARM_STORAGE_NAMES,
    planned_swarm_promise,
)
from harness.model.servers.databases import DATABASES

# A matrix's promise for a cell before it runs: (storage, action, engine, the upgrade's line).
PlannedPromise = Callable[[str, str, EngineInfo, "str | None"], Promise]


@dataclass(frozen=True)
class MatrixAxes:
    """One matrix's vocabulary: the `docker run` matrix's storage modes and actions, or the
    compose matrix's, and the prefix that tells their cell ids apart."""

    name: str
    id_prefix: str
    title: str
    storages: tuple[str, ...]
    actions: tuple[str, ...]
    upgrade_actions: frozenset[str]  # the actions that also bring the next major version
    # What the platform promises for a cell before it runs: a cell without a verdict (its
    # engine gone) still says what was expected, and why, on every platform.
    planned: PlannedPromise
    # The storages whose new containers start from the image's content: cells on them can start
    # from the run's one initialisation (a swarm's nodes never hold the run's images: none).
    fills_from_image: frozenset[str] = frozenset()


def _run_planned(storage: str, action: str, engine: EngineInfo, line: str | None) -> Promise:
    return expect(storage, action, engine, line)


def _compose_planned(storage: str, action: str, engine: EngineInfo, line: str | None) -> Promise:
    return compose_expect(storage, action, line)


def _swarm_planned(storage: str, action: str, engine: EngineInfo, line: str | None) -> Promise:
    return planned_swarm_promise(storage, action)


MATRICES: Mapping[str, MatrixAxes] = {
    m.name: m
    for m in (
        MatrixAxes("run", "", "persistence matrix", STORAGE_NAMES, ACTION_NAMES,
                   frozenset(n for n, a in ACTIONS.items() if a.upgrades), _run_planned,
                   frozenset(n for n, m in STORAGE_MODES.items() if m.starts_from_image)),
        MatrixAxes("compose", "compose-", "compose matrix", COMPOSE_STORAGE_NAMES,
                   COMPOSE_ACTION_NAMES,
                   frozenset(n for n, a in COMPOSE_ACTIONS.items() if a.upgrades),
                   _compose_planned,
                   frozenset(n for n, s in COMPOSE_STORAGE.items() if s.starts_from_image)),
        MatrixAxes("swarm", "swarm-", "swarm matrix", SWARM_STORAGE_NAMES, SWARM_ACTION_NAMES,
                   frozenset(), _swarm_planned),
    )
}  # fmt: skip
RUN_MATRIX = "run"
COMPOSE_MATRIX = "compose"
SWARM_MATRIX = "swarm"


@dataclass(frozen=True)
class Cell:
    database: str
    storage: str
    action: str
    matrix: str = RUN_MATRIX  # a MATRICES name

    @property
    def axes(self) -> MatrixAxes:
        return MATRICES[self.matrix]

    @property
    def upgrades(self) -> bool:
        """Whether the action brings the next major version (the cell needs its image)."""
        return self.action in self.axes.upgrade_actions

    @property
    def starts_from_image(self) -> bool:
        """Its storage's new containers start from the image's content (so from an initialised
        image, when the run made one)."""
        return self.storage in self.axes.fills_from_image

    @property
    def id(self) -> str:
        return f"{self.axes.id_prefix}{self.database}-{self.storage}-{self.action}"

    @property
    def table(self) -> str:
        """The table the cell is shown in: its database's, per matrix."""
        return self.database if self.matrix == RUN_MATRIX else f"{self.matrix} {self.database}"

    def planned(self, engine: EngineInfo, upgrade_line: str | None = None) -> Promise:
        """What the cell's platform promises before it runs, and why."""
        return self.axes.planned(self.storage, self.action, engine, upgrade_line)

    def sort_key(self) -> tuple[int, int, int, int]:
        """The table's order (matrices, databases, then storage modes, then actions)."""
        return (
            list(MATRICES).index(self.matrix),
            list(DATABASES).index(self.database),
            self.axes.storages.index(self.storage),
            self.axes.actions.index(self.action),
        )


def matrix(
    databases: tuple[str, ...] = tuple(DATABASES),
    storages: tuple[str, ...] | None = None,
    actions: tuple[str, ...] | None = None,
    kind: str = RUN_MATRIX,
) -> list[Cell]:
    """Every cell of the `kind` matrix (its own storage modes and actions unless given),
    databases outermost, in the table's order."""
    axes = MATRICES[kind]
    combos = product(
        databases,
        axes.storages if storages is None else storages,
        axes.actions if actions is None else actions,
    )
    return [Cell(*combo, kind) for combo in combos]


@dataclass
class ScenarioResult:
    cell: Cell
    expected: Outcome
    reason: str
    observed: Outcome | None = None
    rows_written: int = 0
    rows_read: int = 0
    seconds: float = 0.0
    detail: str = ""  # how "lost" showed itself, or the error that stopped the scenario
    mounts: str = ""
    dangling_volumes: list[str] = field(default_factory=list)
    # Of those, the ones that held the rows (the others are an image VOLUME the data avoided).
    dangling_with_data: list[str] = field(default_factory=list)
    error: str = ""
    # False when the engine is in no known range and the promise is the nearest range's.
    verified: bool = True
    # An upgrade's two images: the one that wrote the rows, the one that read them.
    upgrade_from: str = ""
    upgrade_to: str = ""
    # A swarm cell's nodes: where its rows were written, and where the new task read them.
    node_written: str = ""
    node_read: str = ""

    @property
    def passed(self) -> bool:
        return not self.error and self.observed == self.expected

    def to_dict(self) -> dict[str, Any]:
        """The JSON report's result entry (docs/contracts.md); extra keys only when they say
        something."""
        entry: dict[str, Any] = {
            "id": self.cell.id,
            "database": self.cell.database,
            "storage": self.cell.storage,
            "action": self.cell.action,
            **({} if self.cell.matrix == RUN_MATRIX else {"matrix": self.cell.matrix}),
            "expected": self.expected.value,
            "observed": self.observed.value if self.observed else None,
            "rows_written": self.rows_written,
            "rows_read": self.rows_read,
            "passed": self.passed,
            "seconds": round(self.seconds, 1),
        }
        if self.detail:
            entry["detail"] = self.detail
        if self.error:
            entry["error"] = self.error
        if not self.verified:
            entry["verified"] = False
        if self.upgrade_to:
            entry["upgrade"] = {"from": self.upgrade_from, "to": self.upgrade_to}
        if self.node_written or self.node_read:
            entry["nodes"] = {"written": self.node_written, "read": self.node_read}
        return entry

    def to_record(self) -> dict[str, Any]:
        """Plain data, for carrying a result between processes (pytest-xdist workers)."""
        record = {f.name: getattr(self, f.name) for f in fields(self)}
        cell = self.cell
        record["cell"] = [cell.database, cell.storage, cell.action, cell.matrix]
        record["expected"] = self.expected.value
        record["observed"] = self.observed.value if self.observed else None
        return record

    @classmethod
    def from_record(cls, record: Mapping[str, Any]) -> ScenarioResult:
        values = dict(record)
        values["cell"] = Cell(*values["cell"])
        values["expected"] = Outcome(values["expected"])
        values["observed"] = Outcome(values["observed"]) if values["observed"] else None
        return cls(**values)

    def failure_message(self) -> str:
        if self.error:
            return f"{self.cell.id}: {self.error}"
        what = f" ({self.detail})" if self.detail else ""
        return (
            f"{self.cell.id}: expected the rows to be {self.expected.value}, observed "
            f"{self.observed.value if self.observed else '?'}{what}, "
            f"{self.rows_read}/{self.rows_written} rows read back. Why it should: {self.reason} "
            f"Mounts: {self.mounts}"
        )
