"""The expectation table: complete, engine-aware, and consistent with the registries."""

from __future__ import annotations

import pytest

from harness.engine import EngineInfo
from harness.lifecycle import ACTIONS
from harness.oracle import ACTION_NAMES, STORAGE_NAMES, TABLE, FromApi, expect
from harness.persons import Outcome
from harness.storage import STORAGE_MODES

OLD_ENGINE = EngineInfo("docker", "20.10.24", "1.41")
NEW_ENGINE = EngineInfo("docker", "25.0.3", "1.44")
S, L = Outcome.SURVIVES, Outcome.LOST

# DESIGN.md section 3, transcribed independently of oracle.py, for Engine 20.10 (API 1.41).
DESIGN_TABLE = {
    "layer": "SSSLLLL",
    "anonymous": "SSSLLLS",
    "named": "SSSSSLS",
    "bind": "SSSSSSS",
    "tmpfs": "LLLLLLL",
}


def test_every_cell_has_an_expectation_and_a_reason() -> None:
    """35 cells, each with an outcome and a one-sentence reason."""
    for storage in STORAGE_NAMES:
        assert set(TABLE[storage]) == set(ACTION_NAMES)
        for action in ACTION_NAMES:
            reason = expect(storage, action, OLD_ENGINE).reason
            assert reason.endswith(".")
            assert len(reason) > 20


@pytest.mark.parametrize("storage", list(DESIGN_TABLE))
def test_table_matches_design_on_engine_20(storage: str) -> None:
    """What was observed on Engine 20.10.24 is what the oracle expects there."""
    observed = "".join(
        "S" if expect(storage, a, OLD_ENGINE).outcome is S else "L" for a in ACTION_NAMES
    )
    assert observed == DESIGN_TABLE[storage]


def test_named_prune_depends_on_api_version() -> None:
    """Prune removed unused named volumes before API 1.42 and keeps them since."""
    assert expect("named", "prune-recreate", OLD_ENGINE).outcome is L
    assert expect("named", "prune-recreate", NEW_ENGINE).outcome is S
    assert expect("named", "prune-recreate", EngineInfo("docker", "23.0.0", "1.42")).outcome is S


def test_only_named_prune_is_engine_dependent() -> None:
    """Every other cell is the same on every engine."""
    dependent = [
        (s, a) for s in STORAGE_NAMES for a in ACTION_NAMES if isinstance(TABLE[s][a], FromApi)
    ]
    assert dependent == [("named", "prune-recreate")]


def test_registries_cover_the_table() -> None:
    """Each storage mode and action in the table has exactly one implementation."""
    assert tuple(STORAGE_MODES) == STORAGE_NAMES
    assert tuple(ACTIONS) == ACTION_NAMES
