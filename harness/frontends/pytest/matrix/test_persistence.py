"""The persistence matrix: does each storage mode keep the rows through each lifecycle action?

`pytest -m persistence` runs all of it (`pytest --persistence-matrix -m persistence` in any
repository, from the installed package); `-m mysql`, `-k named`, `-k "postgres and recreate"`
select parts. The table after the run shows expected and observed for every cell.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from harness.frontends.pytest.plugin import matrix_params
from harness.model.cells import Cell, ScenarioResult


@pytest.mark.persistence
@pytest.mark.parametrize("cell", matrix_params())
def test_persistence(cell: Cell, run_persistence_cell: Callable[[Cell], ScenarioResult]) -> None:
    """The rows read back after the action match the engine's promise for this cell."""
    result = run_persistence_cell(cell)
    assert result.passed, result.failure_message()
