"""The swarm's pure logic: its nodes, the promise table by storage and nodes, where a cell pins
its task, the service as a stack file, and the `engines up --nodes` checks."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from harness.engines.swarm import MAX_NODES, swarm_nodes
from harness.engines.swarm_service import STACK_VOLUME, DataMount, ServiceConfig
from harness.errors import EngineUnavailable, UsageError
from harness.frontends.cli.environment.engines import _offers
from harness.model.cells import Cell, ScenarioResult, matrix
from harness.model.outcomes import Outcome
from harness.model.platforms.swarm import (
    SWARM_ACTION_NAMES,
    SWARM_ACTIONS,
    SWARM_STORAGE_NAMES,
    TaskPlacement,
    planned_read_node,
    swarm_promise,
)
from harness.model.servers.databases import DEFAULT_DATABASES
from harness.model.spec import MountKind
from harness.persistence.swarm_scenario import _put_back, cell_port, plan_nodes

S, L = Outcome.SURVIVES, Outcome.LOST


def test_the_action_and_storage_names_are_the_contract() -> None:
    assert SWARM_ACTION_NAMES == ("update-force", "kill-task", "move-node", "drain-node",
                                  "scale-zero", "stack-redeploy", "node-down")  # fmt: skip
    assert SWARM_STORAGE_NAMES == ("layer", "anonymous", "named", "bind", "tmpfs")
    cells = matrix(DEFAULT_DATABASES, kind="swarm")
    assert len(cells) == 70
    assert cells[0].id == "swarm-mysql-layer-update-force"
    assert cells[-1].id == "swarm-postgres-tmpfs-node-down"


@pytest.mark.parametrize("storage", ["named", "bind"])
@pytest.mark.parametrize("action", SWARM_ACTION_NAMES)
def test_node_storage_keeps_the_rows_on_its_node_and_nowhere_else(
    storage: str, action: str
) -> None:
    same = swarm_promise(storage, action, "node1", "node1")
    moved = swarm_promise(storage, action, "node1", "node2")
    assert same.outcome is S
    assert moved.outcome is L
    assert "on node1" in moved.reason
    assert "runs on node2" in moved.reason


@pytest.mark.parametrize("storage", ["layer", "anonymous", "tmpfs"])
@pytest.mark.parametrize("action", SWARM_ACTION_NAMES)
def test_a_containers_own_storage_is_lost_to_every_new_task_on_any_node(
    storage: str, action: str
) -> None:
    """Every swarm action ends the task and starts a new container, on the same node or not."""
    for read_on in ("node1", "node2"):
        promise = swarm_promise(storage, action, "node1", read_on)
        assert promise.outcome is L
        assert "new container" in promise.reason


def test_pinned_actions_know_the_read_node_before_and_the_others_read_it_after() -> None:
    assert planned_read_node("update-force", "node2", "node3") == "node2"
    assert planned_read_node("move-node", "node2", "node3") == "node3"
    assert planned_read_node("drain-node", "node2", "node3") is None
    assert planned_read_node("node-down", "node2", "node3") is None
    whole = {name for name, a in SWARM_ACTIONS.items() if a.whole_node}
    assert whole == {"drain-node", "node-down"}
    assert {a.placement for a in SWARM_ACTIONS.values() if a.whole_node} == {
        TaskPlacement.WHERE_IT_LANDS
    }


def test_cells_spread_over_the_nodes_and_a_move_goes_to_the_next() -> None:
    nodes = ["node1", "node2", "node3"]
    move = Cell("mysql", "named", "move-node", "swarm")
    assert plan_nodes(move, 0, nodes).written_on == "node1"
    assert plan_nodes(move, 0, nodes).other == "node2"
    assert plan_nodes(move, 2, nodes).written_on == "node3"
    assert plan_nodes(move, 2, nodes).other == "node1"
    drain = Cell("mysql", "named", "drain-node", "swarm")
    assert plan_nodes(drain, 4, nodes).written_on == ""
    with pytest.raises(UsageError, match="one node"):
        plan_nodes(move, 0, ["node1"])


def test_each_swarm_cell_holds_a_port_of_its_own_across_runs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The matrix's cells get a port each, above the swarm's; a second run of this machine
    asking for a port another cell holds (a compose-check beside a matrix run: both count from
    the first port) gets the next free one, and a port is free again once its cell is done."""
    monkeypatch.setenv("HARNESS_STATE_DIR", str(tmp_path))
    with contextlib.ExitStack() as held:
        cells = matrix(DEFAULT_DATABASES, kind="swarm")
        ports = [held.enter_context(cell_port(i)) for i, _ in enumerate(cells)]
        assert len(set(ports)) == 70
        assert min(ports) > 7946
        # Another process asks for the first port while the matrix holds 70 of them.
        asked = subprocess.run(
            [sys.executable, "-c", "from harness.persistence.swarm_scenario import cell_port\n"
             "with cell_port(0) as port: print(port)"],
            capture_output=True, text=True, check=True, env={**os.environ},
        )  # fmt: skip
        assert int(asked.stdout) == ports[-1] + 1
    with cell_port(0) as again:
        assert again == ports[0]


def test_the_nodes_of_a_swarm_and_its_managers() -> None:
    three = swarm_nodes(3)
    assert [(n.name, n.address, n.is_manager) for n in three] == [
        ("node1", "10.233.0.11", True),
        ("node2", "10.233.0.12", True),
        ("node3", "10.233.0.13", True),
    ]
    assert [n.is_manager for n in swarm_nodes(5)] == [True, True, True, False, False]
    assert [n.is_manager for n in swarm_nodes(2)] == [True, False]
    assert three[0].docker_host == "tcp://10.233.0.11:2375"
    for wrong in (0, MAX_NODES + 1):
        with pytest.raises(UsageError, match="--nodes"):
            swarm_nodes(wrong)


def test_nodes_is_the_swarms_option_alone() -> None:
    with pytest.raises(UsageError, match="add `swarm`"):
        _offers(["podman"], 3)
    with pytest.raises(UsageError, match="--nodes"):
        _offers(["swarm"], 0)
    (swarm,) = _offers(["swarm"], 5)
    assert swarm.runner.nodes == 5  # type: ignore[attr-defined]


def test_the_stack_file_declares_the_same_service() -> None:
    config = ServiceConfig(
        name="svc", image="sha256:abc", port=31000, env={"A": "1"}, args=("--datadir=/x",),
        mount=DataMount(MountKind.VOLUME, "/var/lib/mysql", "vol"), secrets={"pw": "harness-pw"},
        constraint="node.hostname==node2", labels={"harness.session": "s"},
    )  # fmt: skip
    stack = config.stack_file()
    service = stack["services"]["db"]
    assert service["image"] == "sha256:abc"
    assert service["command"] == ["--datadir=/x"]
    assert service["volumes"] == [
        {"type": "volume", "target": "/var/lib/mysql", "source": STACK_VOLUME}
    ]
    assert stack["volumes"][STACK_VOLUME]["labels"] == {"harness.session": "s"}
    assert service["deploy"]["placement"]["constraints"] == ["node.hostname==node2"]
    assert service["secrets"] == [{"source": "harness-pw", "target": "pw"}]
    assert stack["secrets"] == {"harness-pw": {"external": True}}
    assert stack["networks"]["hostnet"] == {"external": True, "name": "host"}
    tmpfs = ServiceConfig(**{**config.__dict__, "mount": DataMount(MountKind.TMPFS, "/d")})
    assert tmpfs.stack_file()["services"]["db"]["volumes"] == [{"type": "tmpfs", "target": "/d"}]


def test_a_swarm_result_says_its_nodes_in_the_report() -> None:
    result = ScenarioResult(Cell("mysql", "named", "move-node", "swarm"), L, "why.", L, 6, 0)
    result.node_written, result.node_read = "node1", "node2"
    entry = result.to_dict()
    assert entry["id"] == "swarm-mysql-named-move-node"
    assert entry["matrix"] == "swarm"
    assert entry["nodes"] == {"written": "node1", "read": "node2"}
    assert ScenarioResult.from_record(result.to_record()).node_read == "node2"
    assert "nodes" not in ScenarioResult(Cell("mysql", "named", "restart"), S, "").to_dict()


def test_a_swarm_cell_is_no_upgrade_cell_to_the_plugin() -> None:
    """The plugin asks each item whether it needs a second image; a swarm cell's action is not
    in the `docker run` matrix's table (a KeyError there stopped every worker of `-m swarm`)."""
    from types import SimpleNamespace  # noqa: PLC0415

    from harness.frontends.pytest.plugin import _upgrades  # noqa: PLC0415

    def item(cell: Cell) -> Any:
        return SimpleNamespace(callspec=SimpleNamespace(params={"cell": cell}))

    assert _upgrades(item(Cell("mysql", "named", "move-node", "swarm"))) is False
    assert _upgrades(item(Cell("mysql", "named", "upgrade"))) is True
    assert _upgrades(item(Cell("mysql", "named", "restart"))) is False


def test_a_cell_whose_managers_are_all_down_says_what_it_saw() -> None:
    """No manager left to ask about the engine: the cause is what the cell saw, not a crash."""
    from harness.containers.engine import Session  # noqa: PLC0415
    from harness.engines.swarm import SwarmCluster  # noqa: PLC0415
    from harness.model.faults import CellSteps  # noqa: PLC0415
    from harness.persistence.swarm_scenario import _cause  # noqa: PLC0415

    nodes = swarm_nodes(3)
    cluster = SwarmCluster(host=None, nodes=nodes, engines={}, down={n.name for n in nodes})  # type: ignore[arg-type]
    seen = "the task did not answer"
    assert _cause(cluster, Session("abcd1234"), CellSteps(), seen) == seen


def test_before_a_drain_the_promise_names_no_node_it_cannot_know() -> None:
    promise = swarm_promise("named", "drain-node", "its node", "another node")
    assert promise.outcome is L
    assert "?" not in promise.reason


def test_every_swarm_action_has_its_step_and_its_put_back() -> None:
    """A name in the model without a step would end its cells in a KeyError, not a verdict."""
    from harness.persistence.swarm_scenario import _ACTS  # noqa: PLC0415

    assert set(_ACTS) == set(SWARM_ACTION_NAMES)
    whole = {name for name, a in SWARM_ACTIONS.items() if a.whole_node}
    assert {name for name, (_, back) in _ACTS.items() if back.__name__ != "_nothing"} == whole


def test_a_failed_put_back_is_said_with_the_cell_and_its_verdict_stands() -> None:
    result = ScenarioResult(Cell("mysql", "named", "drain-node", "swarm"), Outcome.LOST, "why")
    result.observed, result.detail = Outcome.LOST, "table missing"

    def node_stays_drained() -> None:
        raise EngineUnavailable("Swarm node node2 did not answer.")

    _put_back(node_stays_drained, result)
    assert result.detail == (
        "table missing; the swarm was not put back after drain-node: Swarm node node2 did not "
        "answer."
    )
    assert result.passed
    _put_back(lambda: None, result)
    assert result.detail.count("not put back") == 1
