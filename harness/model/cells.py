"""Cells of the matrix and what a scenario found in one."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from itertools import product
from typing import Any

from harness.model.actions import ACTION_NAMES
from harness.model.databases import DATABASES
from harness.model.outcomes import Outcome
from harness.model.storage import STORAGE_NAMES


@dataclass(frozen=True)
class Cell:
    database: str
    storage: str
    action: str

    @property
    def id(self) -> str:
        return f"{self.database}-{self.storage}-{self.action}"

    def sort_key(self) -> tuple[int, int, int]:
        """The table's order (databases, then storage modes, then actions)."""
        return (
            list(DATABASES).index(self.database),
            STORAGE_NAMES.index(self.storage),
            ACTION_NAMES.index(self.action),
        )


def matrix(
    databases: tuple[str, ...] = tuple(DATABASES),
    storages: tuple[str, ...] = STORAGE_NAMES,
    actions: tuple[str, ...] = ACTION_NAMES,
) -> list[Cell]:
    """Every cell, databases outermost, in the table's order."""
    return [Cell(*combo) for combo in product(databases, storages, actions)]


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
        return entry

    def to_record(self) -> dict[str, Any]:
        """Plain data, for carrying a result between processes (pytest-xdist workers)."""
        record = {f.name: getattr(self, f.name) for f in fields(self)}
        record["cell"] = [self.cell.database, self.cell.storage, self.cell.action]
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
