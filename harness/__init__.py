"""A persistence harness: does a stateful container's data survive what happens to it?

This is the public surface. Names load on first use (PEP 562): the pytest plugin imports this
package in every pytest run of the environment, and the engine layer pulls in docker,
testcontainers and the database drivers, which a run that uses no harness fixture never needs.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from harness.containers.deployment import Deployment
    from harness.containers.engine import Engine, Session, sweep
    from harness.errors import HarnessError
    from harness.model.cells import Cell, ScenarioResult, matrix
    from harness.model.engine_info import EngineInfo
    from harness.model.outcomes import Outcome, Promise
    from harness.model.platforms.actions import ACTION_NAMES, ACTIONS, Action
    from harness.model.platforms.storage import STORAGE_MODES, STORAGE_NAMES, StorageMode, expect
    from harness.model.servers.credentials import Credentials
    from harness.model.servers.databases import DATABASES, DatabaseProfile
    from harness.model.servers.persons import PERSONS_ROWS
    from harness.model.spec import ContainerSpec, Mount, MountKind
    from harness.persistence.byo import check_persistence
    from harness.persistence.scenario import run_scenario

_WHERE = {
    "ACTIONS": "harness.model.platforms.actions",
    "ACTION_NAMES": "harness.model.platforms.actions",
    "Action": "harness.model.platforms.actions",
    "Cell": "harness.model.cells",
    "ContainerSpec": "harness.model.spec",
    "Credentials": "harness.model.servers.credentials",
    "DATABASES": "harness.model.servers.databases",
    "DatabaseProfile": "harness.model.servers.databases",
    "Deployment": "harness.containers.deployment",
    "Engine": "harness.containers.engine",
    "EngineInfo": "harness.model.engine_info",
    "HarnessError": "harness.errors",
    "Mount": "harness.model.spec",
    "MountKind": "harness.model.spec",
    "Outcome": "harness.model.outcomes",
    "PERSONS_ROWS": "harness.model.servers.persons",
    "Promise": "harness.model.outcomes",
    "STORAGE_MODES": "harness.model.platforms.storage",
    "STORAGE_NAMES": "harness.model.platforms.storage",
    "ScenarioResult": "harness.model.cells",
    "Session": "harness.containers.engine",
    "StorageMode": "harness.model.platforms.storage",
    "check_persistence": "harness.persistence.byo",
    "expect": "harness.model.platforms.storage",
    "matrix": "harness.model.cells",
    "run_scenario": "harness.persistence.scenario",
    "sweep": "harness.containers.engine",
}

__all__ = [
    "ACTIONS",
    "ACTION_NAMES",
    "DATABASES",
    "PERSONS_ROWS",
    "STORAGE_MODES",
    "STORAGE_NAMES",
    "Action",
    "Cell",
    "ContainerSpec",
    "Credentials",
    "DatabaseProfile",
    "Deployment",
    "Engine",
    "EngineInfo",
    "HarnessError",
    "Mount",
    "MountKind",
    "Outcome",
    "Promise",
    "ScenarioResult",
    "Session",
    "StorageMode",
    "check_persistence",
    "expect",
    "matrix",
    "run_scenario",
    "sweep",
]


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module 'harness' has no attribute {name!r}")
    value = getattr(importlib.import_module(_WHERE[name]), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__
