"""One initialisation per run, on the real engine: the cells that start from it observe what
the cells that initialise their own data directory observe, cell by cell; they really start
without initialising; and the run's initialised images go with the run."""

from __future__ import annotations

from contextlib import closing

import pytest

from harness.containers.deployment import Deployment
from harness.containers.engine import Engine, Session
from harness.containers.managed import spec_of
from harness.containers.run_state import end_run, start_run
from harness.model.actions import SINGLE_IMAGE_ACTIONS
from harness.model.cells import Cell
from harness.model.credentials import Credentials
from harness.model.databases import DATABASES
from harness.model.storage import STORAGE_MODES
from harness.persistence.initialised import InitialisedImages
from harness.persistence.scenario import database_container, run_scenario

STARTS_FROM_IMAGE = [name for name, mode in STORAGE_MODES.items() if mode.starts_from_image]
SKIPPED_INIT = "Skipping initialization"  # both entrypoints' words, as the official images'


@pytest.mark.parametrize("storage", STARTS_FROM_IMAGE)
@pytest.mark.parametrize("database", list(DATABASES))
def test_reused_initialisation_observes_what_own_initialisation_does(
    harness_engine: Engine,
    harness_test_session: Session,
    local_images: dict[str, str],
    database: str,
    storage: str,
) -> None:
    """Every single-image action on this storage, run both ways: the same observed outcome and
    the same number of rows read back, cell by cell (and each as the promise table says)."""
    creds = Credentials.random()
    initialised = InitialisedImages(creds)
    seen: dict[str, list[tuple[str, str | None, int]]] = {"reused": [], "own": []}
    for action in SINGLE_IMAGE_ACTIONS:
        cell = Cell(database, storage, action)
        for way, reuse in (("reused", initialised), ("own", None)):
            result = run_scenario(
                harness_engine, harness_test_session, cell, local_images[database], creds,
                None, reuse,
            )  # fmt: skip
            assert result.passed, f"{way}: {result.failure_message()}"
            observed = result.observed.value if result.observed else None
            seen[way].append((cell.id, observed, result.rows_read))
    assert seen["reused"] == seen["own"]


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
