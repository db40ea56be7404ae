"""The three matrices as pytest tests (`docker run`, compose, swarm), shipped in the package so
that `pytest --persistence-matrix` runs them in any repository; the checkout's `scenarios/`
re-exports the same tests, so the two cannot drift.

Only a path here: the plugin reads it at configure time, before any engine code loads. pytest is
handed the folder, not the files: node ids are then relative to it
(`test_persistence.py::test_persistence[mysql-named-recreate]`), where a file handed alone
outside the root directory would get an empty path.
"""

from __future__ import annotations

from pathlib import Path

MATRIX_FOLDER = Path(__file__).parent
