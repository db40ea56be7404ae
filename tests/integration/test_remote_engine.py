"""Any engine host: cells against a second engine reached over TCP at 127.0.0.2."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from harness.containers.engine import Engine, Session
from harness.engines.dind import SecondEngine, second_engine

ACTIONS = ("restart", "recreate")
WHERE = SecondEngine()
# One test uses the second engine: it owns 127.0.0.2:2375 and the bridge harness-dind0, and two
# tests of a module-scoped fixture can land in two pytest-xdist workers, each starting one that
# tears down the other's bridge (CI failed so). pytest 9.2 ignores xdist's `--dist loadgroup`
# (the group never reaches the node id), so grouping cannot keep them together.


@pytest.fixture(scope="module")
def remote_engine(
    harness_engine: Engine, harness_session: Session, local_images: dict[str, str]
) -> Iterator[Engine]:
    """A docker-in-docker engine on tcp://127.0.0.2:2375 with the local images loaded."""
    with second_engine(
        harness_engine, harness_session.scoped("remote-engine"), list(local_images.values()),
        progress=lambda message: None, where=WHERE,
    ) as remote:  # fmt: skip
        yield remote


def test_a_tcp_engine_runs_named_and_anonymous_cells_and_publishes_on_its_address(  # noqa: PLR0917
    remote_engine: Engine,
    local_images: dict[str, str],
    publish_database: Callable[[Engine], Any],
    tmp_path: Path,
    contract: Callable[[str, Any], None],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """`harness run` with DOCKER_HOST=tcp://127.0.0.2:2375: a restart and a recreate on named
    and anonymous volumes of both databases (one survives, one loses, on anonymous) come out as
    promised, reached at 127.0.0.2, and nothing stays behind. Then a container's port is
    published on that engine's address (below). The whole matrix over TCP is CI's engines step
    (docker-26 is a docker-in-docker engine reached so too)."""
    report = tmp_path / "remote.json"
    env = {
        **os.environ,
        "DOCKER_HOST": WHERE.docker_host,
        "HARNESS_IMAGES": "local",
    }
    # Single-image actions: the engine holds the chosen images only (an upgrade would need
    # each database's other version too).
    actions = [arg for action in ACTIONS for arg in ("--action", action)]
    result = subprocess.run(
        [
            sys.executable, "-m", "harness", "run", "--storage", "named",
            "--storage", "anonymous", *actions, "--json", str(report),
        ],
        env=env, capture_output=True, text=True, check=False, timeout=900,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    data = json.loads(report.read_text())
    contract("report", data)
    assert data["engine"]["version"] == remote_engine.info.version
    # The databases the run checked (MariaDB only when named).
    assert data["images"] == {db: local_images[db] for db in ("mysql", "postgres")}
    assert len(data["results"]) == 8
    assert all(r["passed"] for r in data["results"])
    assert {r["storage"] for r in data["results"]} == {"named", "anonymous"}
    client = remote_engine.client
    assert client.containers.list(all=True, filters={"label": "harness.session"}) == []
    assert client.volumes.list(filters={"label": "harness.session"}) == []
    _ports_are_published_on_the_engines_address(remote_engine, publish_database, monkeypatch)


def _ports_are_published_on_the_engines_address(
    remote_engine: Engine,
    publish_database: Callable[[Engine], Any],  # conftest's, giving a Published
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """On a TCP engine the port is published where that engine publishes (its --ip), which is
    where testcontainers resolves the host, not 127.0.0.1 of the machine running the tests."""
    # testcontainers resolves the host from DOCKER_HOST; monkeypatch puts back what was there.
    monkeypatch.setenv("DOCKER_HOST", WHERE.docker_host)
    published = publish_database(remote_engine)
    assert published.host == WHERE.address
    assert published.port > 0
    assert published.bound_on == {WHERE.address}
