"""Checkout-wide pytest setup: `pytest` from any directory of the checkout runs the suite.

pytest uses `testpaths` only when invoked from the rootdir; from a subdirectory it would collect
just that subdirectory (and `pytest -m persistence` from `harness/` would find nothing).
"""

from __future__ import annotations

import pytest


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    if config.args_source is pytest.Config.ArgsSource.INVOCATION_DIR:
        testpaths = config.getini("testpaths")
        config.args[:] = [str(config.rootpath / path) for path in testpaths]
