"""Integration tests run against a real container engine."""

from __future__ import annotations

import pytest

from harness.engine import Engine
from harness.images import DATABASE_IMAGES


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/integration" in item.nodeid:
            item.add_marker(pytest.mark.engine)


@pytest.fixture(scope="session")
def local_images(harness_engine: Engine) -> dict[str, str]:
    """The locally built image refs; the run stops if they are not built."""
    refs = {name: image.ref for name, image in DATABASE_IMAGES.items()}
    missing = [ref for ref in refs.values() if not harness_engine.has_image(ref)]
    if missing:
        pytest.exit(f"harness: local image(s) {', '.join(missing)} missing; run `make images`.", 2)
    return refs
