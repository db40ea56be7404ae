"""Integration tests run against a real container engine."""

from __future__ import annotations

import fcntl
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from harness.containers.engine import Engine
from harness.errors import HarnessError
from harness.frontends.pytest.plugin import exit_on
from harness.images.availability import require_present, select_images
from harness.images.recipes import VERSION_IMAGES
from harness.images.sources import ImageChoice, ImageRequest, ImageSource


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/integration" in item.nodeid:
            item.add_marker(pytest.mark.engine)


@pytest.fixture(scope="session")
def local_images(harness_engine: Engine) -> dict[str, str]:
    """The locally built image refs; the run stops if they are not built."""
    request = ImageRequest(ImageSource.LOCAL, {}, {}, {})
    choices = select_images(harness_engine, request, ask_registry=False)
    try:
        require_present(harness_engine, choices)
    except HarnessError as error:
        exit_on(error)
    return {c.database: c.ref for c in choices}


@pytest.fixture(scope="session")
def local_versions(harness_engine: Engine) -> dict[str, str]:
    """`<database>-<version>` -> the local image's ref, every version built (`mysql-11.8`); the
    run stops if one is not built."""
    refs = {f"{db}-{version}": image.ref for (db, version), image in VERSION_IMAGES.items()}
    try:
        require_present(
            harness_engine, [ImageChoice("image", ref, "local") for ref in refs.values()]
        )
    except HarnessError as error:
        exit_on(error)
    return refs


RunOnce = Callable[[str, Callable[[Path], dict[str, Any]]], tuple[Path, dict[str, Any]]]


@pytest.fixture(scope="session")
def run_once(tmp_path_factory: pytest.TempPathFactory) -> RunOnce:
    """`run_once(name, produce)` calls `produce(folder)` once for the whole run, even over
    pytest-xdist workers (they share the run's temporary root): the others wait for it and read
    its JSON result. xdist's `--dist loadgroup` would do this, but pytest 9.2 never sees its
    groups."""
    base = tmp_path_factory.getbasetemp()
    shared = base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base

    def once(name: str, produce: Callable[[Path], dict[str, Any]]) -> tuple[Path, dict[str, Any]]:
        root = shared / name
        root.mkdir(exist_ok=True)
        with (root / ".lock").open("w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
            result = root / "result.json"
            if not result.exists():
                result.write_text(json.dumps(produce(root)))
            return root, json.loads(result.read_text())

    return once
