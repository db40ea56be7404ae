"""The persistence matrix: does each storage mode keep the rows through each lifecycle action?

`pytest -m persistence` runs all of it; `-m mysql`, `-k named`, `-k "postgres and recreate"`
select parts. The table after the run shows expected and observed for every cell.

The test lives in the package (`harness/frontends/pytest/matrix/test_persistence.py`), so that
`pytest --persistence-matrix` runs the same cells in a repository without this checkout.
"""

from harness.frontends.pytest.matrix.test_persistence import test_persistence

__all__ = ["test_persistence"]
