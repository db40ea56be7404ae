"""Integration tests run against a real container engine."""

from __future__ import annotations

import pytest

from harness.containers.engine import Engine
from harness.errors import HarnessError
from harness.frontends.pytest_plugin import exit_on
from harness.images.availability import require_present, select_images
from harness.images.sources import ImageSource


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/integration" in item.nodeid:
            item.add_marker(pytest.mark.engine)


@pytest.fixture(scope="session")
def local_images(harness_engine: Engine) -> dict[str, str]:
    """The locally built image refs; the run stops if they are not built."""
    choices = select_images(harness_engine, ImageSource.LOCAL, {}, ask_registry=False)
    try:
        require_present(harness_engine, choices)
    except HarnessError as error:
        exit_on(error)
    return {c.database: c.ref for c in choices}
