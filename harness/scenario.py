"""A scenario: (database, storage mode, lifecycle action) -> what happened to the rows."""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from itertools import product
from typing import Any

from harness.credentials import Credentials, redact
from harness.databases import DATABASES, DbConnection
from harness.deployment import Deployment
from harness.engine import Engine, Session
from harness.errors import HarnessError
from harness.lifecycle import ACTIONS
from harness.oracle import ACTION_NAMES, STORAGE_NAMES, expect
from harness.persons import PERSONS_ROWS, Outcome, observe, write_persons
from harness.storage import STORAGE_MODES


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


class PlacementError(HarnessError):
    """The data directory is not where the storage mode should have put it: no valid verdict."""


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

    @property
    def passed(self) -> bool:
        return not self.error and self.observed == self.expected

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


def run_scenario(
    engine: Engine, session: Session, cell: Cell, image: str, creds: Credentials
) -> ScenarioResult:
    """Write the Persons rows, apply the action, read back; everything made is removed after."""
    expectation = expect(cell.storage, cell.action, engine.info)
    result = ScenarioResult(cell=cell, expected=expectation.outcome, reason=expectation.reason)
    started = time.monotonic()
    profile = DATABASES[cell.database]
    storage = STORAGE_MODES[cell.storage]
    action = ACTIONS[cell.action]
    try:
        with Deployment(engine, session.scoped(cell.id), profile, image, creds, storage) as d:
            d.start_new()
            connection = d.connect()
            try:
                _check_placement(d, connection)
                result.rows_written = write_persons(connection)
            finally:
                connection.close()
            action.perform(d)
            observation = observe(profile, d.connect, PERSONS_ROWS)
            if action.same_storage_setup:
                connection = d.connect()
                try:
                    _check_placement(d, connection)
                finally:
                    connection.close()
            result.observed = observation.outcome
            result.rows_read = observation.rows_read
            result.detail = observation.detail
            result.mounts = d.describe_mounts()
            result.dangling_volumes = d.dangling_volumes()
            result.dangling_with_data = [v for v in result.dangling_volumes if v in d.data_volumes]
    except HarnessError as error:
        result.error = str(error)
    except Exception as error:  # the verdict is "could not run", with what went wrong
        result.error = redact(f"{type(error).__name__}: {error}", creds.secrets)
    result.seconds = time.monotonic() - started
    return result


def _check_placement(d: Deployment, connection: DbConnection) -> None:
    """The server's real data directory must be on the mount the storage mode intends."""
    cursor = connection.cursor()
    cursor.execute(d.profile.data_dir_query)
    actual = str(cursor.fetchall()[0][0]).rstrip("/") or "/"
    cursor.close()
    mount = d.data_mount(actual)
    if mount and mount.get("Name") in d.anonymous_volumes:
        d.data_volumes.add(str(mount["Name"]))
    problem = d.storage.placement_problem(mount, d.storage_ctx)
    if problem:
        raise PlacementError(
            f"{d.profile.name} keeps its data in {actual}, but {problem} "
            f"(mounts: {d.describe_mounts()}); the scenario cannot give a verdict."
        )
