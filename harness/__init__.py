"""A persistence harness: does a stateful container's data survive what happens to it?

The modules are small and private in spirit; this is the public surface for other programs.
"""

from harness.credentials import Credentials
from harness.databases import DATABASES, DatabaseProfile
from harness.deployment import Deployment
from harness.engine import Engine, EngineInfo, Session, sweep
from harness.errors import HarnessError
from harness.oracle import ACTION_NAMES, STORAGE_NAMES, expect
from harness.persons import PERSONS_ROWS, Outcome
from harness.scenario import Cell, ScenarioResult, matrix, run_scenario

__all__ = [
    "ACTION_NAMES",
    "DATABASES",
    "PERSONS_ROWS",
    "STORAGE_NAMES",
    "Cell",
    "Credentials",
    "DatabaseProfile",
    "Deployment",
    "Engine",
    "EngineInfo",
    "HarnessError",
    "Outcome",
    "ScenarioResult",
    "Session",
    "expect",
    "matrix",
    "run_scenario",
    "sweep",
]
