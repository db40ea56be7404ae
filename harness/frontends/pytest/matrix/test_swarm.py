"""The swarm matrix: a database service on a Docker Swarm of engines, the Persons rows, a swarm
action, and whether the rows are where the new task runs.

`pytest -m swarm` runs it on the swarm `python -m harness engines up swarm` brought up (`make
swarm` does both); `-k named`, `-k "postgres and move-node"` select parts. Each cell's promise
depends on its storage and on the nodes its rows were written and read on
(`harness/model/platforms/swarm.py`); the result records both.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from harness.containers.engine import Engine, Session
from harness.engines.catalogue import ENGINE_LABEL, SWARM, require_loaded_on_every_node
from harness.engines.swarm import SwarmCluster
from harness.errors import HarnessError
from harness.frontends.pytest.plugin import exit_on
from harness.frontends.pytest.stash import record_result
from harness.model.cells import SWARM_MATRIX, Cell, matrix
from harness.model.platforms.swarm import SWARM_STORAGE
from harness.persistence.swarm_scenario import run_swarm_cell

CELLS = matrix(kind=SWARM_MATRIX)


@pytest.fixture(scope="session")
def swarm_cluster(
    pytestconfig: pytest.Config, harness_engine: Engine, harness_images: dict[str, str]
) -> Iterator[SwarmCluster]:
    """The swarm that is up, every node holding the run's images. Without one, `-m swarm`
    stops with one sentence (an environment problem); a run of the whole suite skips these
    cells, saying how to run them (`make swarm`)."""
    try:
        require_loaded_on_every_node(harness_images.values())
        cluster = SwarmCluster.connect(harness_engine, f"{ENGINE_LABEL}={SWARM}")
    except HarnessError as error:
        if "swarm" in (pytestconfig.getoption("markexpr") or ""):
            exit_on(error)
        pytest.skip(f"{error} (`make swarm` brings it up and runs these cells)")
    yield cluster
    cluster.close()


@pytest.mark.swarm
@pytest.mark.parametrize(
    "cell",
    [pytest.param(c, id=c.id, marks=getattr(pytest.mark, c.database)) for c in CELLS],
)
def test_swarm(
    request: pytest.FixtureRequest,
    cell: Cell,
    swarm_cluster: SwarmCluster,
    harness_images: dict[str, str],
    harness_session: Session,
) -> None:
    """The rows read by the new task match the swarm's promise for this storage and for the
    nodes the task ran on."""
    result = run_swarm_cell(swarm_cluster, harness_session, cell,
                            harness_images[cell.database], CELLS.index(cell))  # fmt: skip
    record_result(request.node, swarm_cluster.manager(),
                  {cell.database: harness_images[cell.database]}, result, SWARM)  # fmt: skip
    assert result.passed, result.failure_message()
    if cell.action == "move-node" and SWARM_STORAGE[cell.storage].on_node:
        # Lost on the new node, and still where it was written: the task moved back reads it.
        assert f"moved back to {result.node_written}, the task read all" in result.detail
