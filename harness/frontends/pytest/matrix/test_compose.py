"""The compose matrix: a one-service compose project per cell, the Persons rows, a compose action.

`pytest -m compose` runs it (`-k named`, `-k "postgres and down"` select parts). Each cell's
expected outcome is Compose's promise (`harness/model/platforms/compose.py`), with its reason.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from harness.containers.compose import Compose, compose_binary
from harness.containers.engine import Engine
from harness.errors import HarnessError
from harness.frontends.pytest.engines import EnginePool, engine_for, engine_names
from harness.frontends.pytest.plugin import exit_on
from harness.frontends.pytest.stash import record_result
from harness.images.sources import UpgradeImages, no_next_version
from harness.model.cells import COMPOSE_MATRIX, Cell, matrix
from harness.model.servers.credentials import Credentials
from harness.persistence.compose_scenario import run_compose_cell
from harness.persistence.initialised import InitialisedImages
from harness.persistence.scenario import without_verdict

CELLS = matrix(kind=COMPOSE_MATRIX)


@pytest.fixture(scope="session")
def compose_for(harness_engine: Engine) -> Callable[[Engine], Compose]:
    """The Compose CLI bound to an engine (the host's, or an `--engine` one), its version read
    once per engine: a missing or broken binary stops the run with one sentence."""
    made: dict[str | None, Compose] = {}

    def bound(engine: Engine) -> Compose:
        if engine.docker_host not in made:
            try:
                compose = Compose(compose_binary(), engine.docker_host)
                compose.version()
            except HarnessError as error:
                exit_on(error)
            made[engine.docker_host] = compose
        return made[engine.docker_host]

    bound(harness_engine)  # before any cell
    return bound


@pytest.mark.compose
@pytest.mark.parametrize(
    "cell",
    [pytest.param(c, id=c.id, marks=getattr(pytest.mark, c.database)) for c in CELLS],
)
def test_compose(  # noqa: PLR0917 - parameters and fixtures
    request: pytest.FixtureRequest,
    cell: Cell,
    harness_engine_name: str,
    harness_engine_pool: EnginePool,
    harness_images: dict[str, str],
    harness_upgrades: dict[str, UpgradeImages],
    harness_credentials: Credentials,
    harness_initialised_images: InitialisedImages,
    compose_for: Callable[[Engine], Compose],
) -> None:
    """The rows read back after the compose action match Compose's promise for this cell (an
    upgrade: the next major version's answer, on storage that keeps the rows); on each
    `--engine` named, as the `docker run` matrix."""
    upgrade = harness_upgrades.get(cell.database)
    upgrades = cell.upgrades
    if upgrades and upgrade is None:
        pytest.skip(no_next_version(harness_images[cell.database]))
    engine, session = engine_for(harness_engine_pool, harness_engine_name)
    gone = harness_engine_pool.ready(harness_engine_name)
    if gone:  # the engine went away and did not come back: no verdict, said once per cell
        result = without_verdict(engine, cell, upgrade, gone)
    else:
        with harness_engine_pool.environment(harness_engine_name):
            result = run_compose_cell(
                engine, session.scoped(cell.id), cell, harness_images[cell.database],
                compose_for(engine), harness_credentials, upgrade if upgrades else None,
                harness_initialised_images,
            )  # fmt: skip
    as_name = harness_engine_name if engine_names(request.config) else None
    record_result(request.node, engine, {cell.database: harness_images[cell.database]}, result,
                  as_name)  # fmt: skip
    assert result.passed, result.failure_message()
