"""Integration tests run against a real container engine."""

from __future__ import annotations

import fcntl
import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from packaging_steps import Dists, build_dists

from harness.containers.engine import Engine, Session
from harness.errors import HarnessError
from harness.frontends.pytest.plugin import exit_on
from harness.images.availability import require_present, select_images
from harness.images.recipes import VERSION_IMAGES
from harness.images.sources import ImageChoice, ImageRequest, ImageSource


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/integration" in item.nodeid:
            item.add_marker(pytest.mark.engine)


@dataclass(frozen=True)
class Published:
    """Where the harness reaches a published database port, and where the engine bound it."""

    host: str
    port: int
    bound_on: frozenset[str]  # the bindings' HostIp
    host_port: int  # the first binding's


@pytest.fixture
def publish_database(local_images: dict[str, str]) -> Callable[[Engine], Published]:
    """Start a PostgreSQL container on an engine with its port published as the harness
    publishes it (DOCKER_HOST must name that engine: testcontainers reads it too), and say
    where it is reached and bound; the container is removed."""
    from testcontainers.core.container import DockerContainer  # noqa: PLC0415

    from harness.containers.managed import ManagedContainer, configure  # noqa: PLC0415
    from harness.model.spec import ContainerSpec  # noqa: PLC0415

    def publish(engine: Engine) -> Published:
        spec = ContainerSpec(
            local_images["postgres"],
            env={"POSTGRES_PASSWORD": "published-secret"},
            ports=(5432,),
            labels=Session.new().labels,
        )
        container = configure(DockerContainer(spec.image), spec, engine, publish=(5432,))
        managed = ManagedContainer.start(container, engine, spec)
        try:
            host, port = managed.endpoint(5432)
            bindings = managed.wrapped.attrs["NetworkSettings"]["Ports"]["5432/tcp"]
        finally:
            managed.remove(volumes=True)
        return Published(
            host, port, frozenset(b["HostIp"] for b in bindings), int(bindings[0]["HostPort"])
        )

    return publish


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


@pytest.fixture(scope="session")
def built_dists(tmp_path_factory: pytest.TempPathFactory) -> tuple[Dists, str]:
    """The sdist and wheel of this checkout, built once per worker, and the build's output."""
    return build_dists(tmp_path_factory.mktemp("dist"))
