"""The compose matrix: a one-service compose project per cell, the Persons rows, a compose action.

`pytest -m compose` runs it (`-k named`, `-k "postgres and down"` select parts). The test lives in
the package (`harness/frontends/pytest/matrix/test_compose.py`), shared with `pytest
--persistence-matrix`.
"""

from harness.frontends.pytest.matrix.test_compose import compose_for, test_compose

__all__ = ["compose_for", "test_compose"]
