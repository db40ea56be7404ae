"""One initialisation per run, on the real engine: the cells that initialise their own data
directory observe the promise the matrix's cells, started from the run's one initialisation, are
held to; those really start without initialising; and the run's initialised images go with the
run."""

from __future__ import annotations

import contextlib
import os
import re
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest

from harness.containers.compose import Compose, compose_binary
from harness.containers.database import database_container
from harness.containers.deployment import Deployment
from harness.containers.engine import Engine, Session
from harness.containers.managed import spec_of
from harness.containers.run_state import end_run, start_run
from harness.model.cells import COMPOSE_MATRIX, Cell
from harness.model.outcomes import Outcome
from harness.model.platforms.actions import ACTIONS, SINGLE_IMAGE_ACTIONS, Fate
from harness.model.platforms.storage import STORAGE_MODES
from harness.model.servers.credentials import Credentials
from harness.model.servers.databases import DATABASES
from harness.persistence.compose_scenario import run_compose_cell
from harness.persistence.initialised import (
    REPOSITORY,
    InitialisedImages,
    build_volume_image,
    commit_layer_image,
)
from harness.persistence.scenario import run_scenario

SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios" / "test_persistence.py"
STARTS_FROM_IMAGE = [name for name, mode in STORAGE_MODES.items() if mode.starts_from_image]
SKIPPED_INIT = "Skipping initialization"  # both entrypoints' words, as the official images'
# The actions after which another container starts (on storage the image may fill again). The
# same container started again (restart, stop-start, kill-start) keeps what its first start
# had, which every action here shares: both ways they prove nothing more (they ran until issue
# 38, with the same verdicts).
REFILLING_ACTIONS = tuple(
    name for name in SINGLE_IMAGE_ACTIONS if ACTIONS[name].fate is not Fate.SAME_CONTAINER
)


@pytest.mark.parametrize("storage", STARTS_FROM_IMAGE)
@pytest.mark.parametrize("database", list(DATABASES))
def test_own_initialisation_observes_the_promise_reused_cells_are_held_to(
    harness_engine: Engine,
    harness_test_session: Session,
    local_images: dict[str, str],
    database: str,
    storage: str,
) -> None:
    """Every action that starts a container on storage the image fills (a new volume or
    layer), run on an initialisation of the cell's own: each observes its promise, with every
    row read back where it survives and none where it is lost (a fresh initialisation has no
    Persons table). The same cells on the run's one initialisation are the matrix's own
    (`scenarios/test_persistence.py` reuses it for MySQL and PostgreSQL, CI's MariaDB step for
    MariaDB), held to the same promise: together, the proof that reuse changes no verdict,
    each cell run once each way (docs/architecture.md's test plan)."""
    creds = Credentials.random()
    for action in REFILLING_ACTIONS:
        cell = Cell(database, storage, action)
        result = run_scenario(
            harness_engine, harness_test_session, cell, local_images[database], creds, None, None
        )
        assert result.passed, f"own initialisation: {result.failure_message()}"
        whole = result.rows_written if result.observed is Outcome.SURVIVES else 0
        assert result.rows_read == whole, f"{cell.id}: {result.rows_read} rows read back"


@pytest.mark.parametrize("storage", STARTS_FROM_IMAGE)
@pytest.mark.parametrize("database", list(DATABASES))
def test_a_reused_cell_starts_without_initialising(
    harness_engine: Engine, local_images: dict[str, str], database: str, storage: str
) -> None:
    """The first container of a cell on the initialised image finds a database and skips the
    entrypoint's initialisation; on the plain image it initialises (so the check can fail)."""
    profile, creds = DATABASES[database], Credentials.random()
    session = start_run(harness_engine)
    try:
        initialised = InitialisedImages(creds)
        plain = local_images[database]
        reused = initialised.image_for(
            harness_engine, session, plain, profile, STORAGE_MODES[storage]
        )
        assert reused != plain
        logs = {}
        for way, image in (("reused", reused), ("plain", plain)):
            scope = session.scoped(f"start-{way}")
            with (
                database_container(harness_engine, scope, image, profile, creds) as container,
                Deployment(
                    harness_engine, scope, profile, creds, STORAGE_MODES[storage], container,
                    spec_of(container),
                ) as deployment,
            ):  # fmt: skip
                deployment.start_new()
                with closing(deployment.connect()):
                    logs[image] = deployment.container.logs(200)
        assert SKIPPED_INIT in logs[reused]
        assert SKIPPED_INIT not in logs[plain]
    finally:
        end_run(harness_engine, session)
    assert (
        harness_engine.client.images.list(filters={"label": f"harness.session={session.id}"}) == []
    )


def test_xdist_workers_share_one_initialisation(harness_engine: Engine, tmp_path: Path) -> None:
    """A pytest run on two workers, both with PostgreSQL layer and named cells: each of the two
    initialised images is made once for the run, not once per worker (one worker makes it, the
    other waits for it); the cells pass; and when the run ends, nothing its controller labelled
    is left."""
    # In the table's order, pytest-xdist's round robin gives each worker a layer cell first,
    # then a named one: both workers need both images.
    cells = [f"postgres-{storage}-{action}" for storage in ("layer", "named")
             for action in ("restart", "recreate")]  # fmt: skip
    # Each image made is tagged once. Listened to live: the engine keeps only its last few
    # hundred events, which a busy engine (the rest of the suite) turns over within the run.
    tags = harness_engine.client.events(filters={"event": "tag"}, decode=True)
    seen: list[dict[str, Any]] = []
    listener = threading.Thread(target=_collect, args=(tags, seen), daemon=True)
    listener.start()
    run = subprocess.Popen(
        [
            sys.executable, "-m", "pytest", *(f"{SCENARIOS}::test_persistence[{c}]" for c in cells),
            "-n", "2", "--dist", "load", "--reuse-init", "on", "--images", "local",
            "-p", "no:cacheprovider", "-v",
        ],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=tmp_path,
        env=os.environ,
    )  # fmt: skip
    output, _ = run.communicate(timeout=600)
    assert run.returncode == 0, output[-3000:]
    assert f"{len(cells)} passed" in output
    # Both workers ran cells (and so asked for the images): `-v` names the worker of each.
    ran_on = set(re.findall(r"\[(gw\d)\] \[ *\d+%\] PASSED", output))
    assert ran_on == {"gw0", "gw1"}
    owner = f"{socket.gethostname()}:{run.pid}"  # the controller: the shared images' owner
    time.sleep(1)
    tags.close()
    listener.join(30)
    made = [e["Actor"]["Attributes"] for e in seen]
    flavours = [a["name"].rpartition("-")[2] for a in made if a.get("harness.owner") == owner]
    assert sorted(flavours) == ["layer", "volume"], owner
    labelled = {"label": f"harness.owner={owner}"}
    assert harness_engine.client.images.list(filters=labelled) == []
    assert harness_engine.client.api.containers(all=True, filters=labelled) == []


def test_a_databases_two_images_can_be_made_at_once(
    harness_engine: Engine, local_images: dict[str, str]
) -> None:
    """With a shared run, two workers may make one database's two images at the same moment:
    neither's initialising container collides with, or is swept by, the other's."""
    profile, creds = DATABASES["postgres"], Credentials.random()
    session = start_run(harness_engine)
    try:
        with ThreadPoolExecutor(2) as pool:
            made = [
                pool.submit(make, harness_engine, session, local_images["postgres"], profile, creds)
                for make in (build_volume_image, commit_layer_image)
            ]
            refs = [future.result() for future in made]
        assert all(harness_engine.has_image(ref) for ref in refs)
    finally:
        end_run(harness_engine, session)


def _collect(events: Iterable[dict[str, Any]], into: list[dict[str, Any]]) -> None:
    """Every event until the stream is closed (which ends the read with an error)."""
    with contextlib.suppress(OSError, ValueError, AttributeError):
        into.extend(events)


def test_a_compose_cell_starts_from_the_runs_initialisation(
    harness_engine: Engine, local_images: dict[str, str]
) -> None:
    """A compose cell given the run's initialised images runs its service from the initialised
    image (a named volume is filled from it, as a `docker run` cell's), with its verdict; its
    service's containers, seen as the engine creates them, never run the plain image."""
    session, creds = start_run(harness_engine), Credentials.random()
    cell = Cell("postgres", "named", "force-recreate", COMPOSE_MATRIX)
    creates = harness_engine.client.events(
        filters={"event": "create", "type": "container", "label": f"harness.session={session.id}"},
        decode=True,
    )
    seen: list[dict[str, Any]] = []
    listener = threading.Thread(target=_collect, args=(creates, seen), daemon=True)
    listener.start()
    try:
        compose = Compose(compose_binary(), harness_engine.docker_host)
        result = run_compose_cell(
            harness_engine, session.scoped("reuse"), cell, local_images["postgres"], compose,
            creds, None, InitialisedImages(creds),
        )  # fmt: skip
    finally:
        time.sleep(1)
        creates.close()
        listener.join(30)
        end_run(harness_engine, session)
    assert result.passed, result.failure_message()
    attributes = [e["Actor"]["Attributes"] for e in seen]
    service = {a["image"] for a in attributes if "com.docker.compose.project" in a}
    assert len(service) == 1, attributes
    assert next(iter(service)).startswith(f"{REPOSITORY}/postgres:"), service
