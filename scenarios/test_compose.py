"""The compose matrix: a one-service compose project per cell, the Persons rows, a compose action.

`pytest -m compose` runs it (`-k named`, `-k "postgres and down"` select parts). Each cell's
expected outcome is Compose's promise (`harness/model/compose.py`), with its reason.
"""

from __future__ import annotations

from itertools import product

import pytest

from harness.containers.compose import Compose, compose_binary
from harness.containers.engine import Engine, Session
from harness.errors import HarnessError
from harness.frontends.pytest.plugin import exit_on
from harness.frontends.pytest.stash import record_result
from harness.images.sources import UpgradeImages, no_next_version
from harness.model.compose import (
    COMPOSE_ACTION_NAMES,
    COMPOSE_ACTIONS,
    COMPOSE_STORAGE_NAMES,
    ComposeCell,
)
from harness.model.databases import DATABASES
from harness.persistence.compose_scenario import run_compose_cell

CELLS = [ComposeCell(*c) for c in product(DATABASES, COMPOSE_STORAGE_NAMES, COMPOSE_ACTION_NAMES)]


@pytest.fixture(scope="session")
def harness_compose(harness_engine: Engine) -> Compose:
    try:
        compose = Compose(compose_binary(), harness_engine.docker_host)
        compose.version()
    except HarnessError as error:
        exit_on(error)
    return compose


@pytest.mark.compose
@pytest.mark.parametrize("cell", [pytest.param(c, id=c.id) for c in CELLS])
def test_compose(  # noqa: PLR0917 - parameters and fixtures
    request: pytest.FixtureRequest,
    cell: ComposeCell,
    harness_engine: Engine,
    harness_session: Session,
    harness_images: dict[str, str],
    harness_upgrades: dict[str, UpgradeImages],
    harness_compose: Compose,
) -> None:
    """The rows read back after the compose action match Compose's promise for this cell (an
    upgrade: the next major version's answer, on storage that keeps the rows)."""
    upgrade = harness_upgrades.get(cell.database)
    if COMPOSE_ACTIONS[cell.action].upgrades and upgrade is None:
        pytest.skip(no_next_version(harness_images[cell.database]))
    session = harness_session.scoped(cell.id)
    result = run_compose_cell(
        harness_engine, session, cell, harness_images[cell.database], harness_compose,
        upgrade=upgrade,
    )  # fmt: skip
    record_result(request.node, harness_engine, {cell.database: harness_images[cell.database]},
                  result)  # fmt: skip
    assert result.passed, result.failure_message()
