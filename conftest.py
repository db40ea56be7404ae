"""Checkout-wide pytest setup: `pytest` from any directory of the checkout runs the suite.

pytest uses `testpaths` only when invoked from the rootdir; from a subdirectory it would collect
just that subdirectory (and `pytest -m persistence` from `harness/` would find nothing).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

SCHEMAS = Path(__file__).parent / "docs" / "schemas"


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    if config.args_source is pytest.Config.ArgsSource.INVOCATION_DIR:
        testpaths = config.getini("testpaths")
        config.args[:] = [str(config.rootpath / path) for path in testpaths]


@pytest.fixture(scope="session")
def contract() -> Callable[[str, Any], None]:
    """`contract(name, document)` fails the test unless `document` (a report the suite wrote,
    a lab spec) validates against the published schema docs/schemas/<name>.schema.json."""
    import jsonschema  # noqa: PLC0415 - a dev dependency, only where a test validates

    validators = {
        path.name.removesuffix(".schema.json"): jsonschema.Draft202012Validator(
            json.loads(path.read_text())
        )
        for path in SCHEMAS.glob("*.schema.json")
    }

    def check(name: str, document: Any) -> None:
        problems = [
            f"{'/'.join(map(str, e.absolute_path)) or '(top)'}: {e.message}"
            for e in validators[name].iter_errors(document)
        ]
        assert problems == [], f"not a valid {name}: {problems[:5]}"

    return check
