"""`compose-check --on swarm` without an engine: the swarm's promise said of a user's service,
the advice, the private stack made of the user's service, the actions it accepts and its JSON.
The models are what `docker compose config --format json` prints."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

import pytest

from harness.engines.swarm_service import STACK_SERVICE, ServiceConfig, passwords_as_secrets
from harness.errors import UsageError
from harness.frontends.cli.gates.compose_check import parse_actions
from harness.frontends.reports.compose_check import CheckEntry, CheckReport, expectation_lines
from harness.model.cells import ScenarioResult
from harness.model.engine_info import EngineInfo
from harness.model.outcomes import Outcome
from harness.model.platforms.compose import COMPOSE_STORAGE
from harness.model.platforms.compose_check import DatabaseService, DataHolder
from harness.model.platforms.swarm import SWARM_ACTION_NAMES, SWARM_STORAGE
from harness.model.platforms.swarm_check import (
    DEFAULT_MUST_SURVIVE_ON_SWARM,
    SWARM_STORAGE_OF,
    StackPlan,
    stack_service,
    swarm_advice,
    swarm_expectation,
)
from harness.persistence.swarm_check import check_cell, planned_expectation

NODES = ["node1", "node2", "node3"]
LABELS = {"harness.session": "s1"}


def _service(storage: str, where: str = "the named volume `data`") -> DatabaseService:
    return DatabaseService(
        "db", "mysql", "mariadb:11", "local/mariadb:1", "/var/lib/mysql", DataHolder(storage, where)
    )


def test_every_compose_storage_has_its_swarm_storage() -> None:
    assert set(SWARM_STORAGE_OF) == set(COMPOSE_STORAGE)
    assert set(SWARM_STORAGE_OF.values()) <= set(SWARM_STORAGE)


@pytest.mark.parametrize(
    ("storage", "action", "outcome", "says"),
    [
        ("named", "update-force", Outcome.SURVIVES, "local volume on node1"),
        ("external", "stack-redeploy", Outcome.SURVIVES, "runs on node1 again"),
        ("bind", "kill-task", Outcome.SURVIVES, "directory on node1"),
        ("named", "move-node", Outcome.LOST, "the task runs on node2"),
        ("named", "drain-node", Outcome.LOST, "the task runs on another node"),
        ("external", "node-down", Outcome.LOST, "runs on another node"),
        ("anonymous-declared", "scale-zero", Outcome.LOST, "an anonymous volume belongs"),
        ("anonymous", "update-force", Outcome.LOST, "an anonymous volume belongs"),
        ("layer", "kill-task", Outcome.LOST, "writable layer"),
        ("tmpfs", "stack-redeploy", Outcome.LOST, "tmpfs"),
    ],
)
def test_the_planned_promise_follows_the_swarm_table_and_names_the_nodes(
    storage: str, action: str, outcome: Outcome, says: str
) -> None:
    expected = planned_expectation(_service(storage), action, NODES)
    assert expected.outcome is outcome
    assert says in expected.reason
    assert expected.reason.startswith("db keeps /var/lib/mysql in the named volume `data`: ")


def test_the_promise_is_judged_by_where_the_tasks_ran() -> None:
    named = _service("named")
    assert swarm_expectation(named, "drain-node", "node1", "node1").outcome is Outcome.SURVIVES
    moved = swarm_expectation(named, "update-force", "node1", "node3")
    assert moved.outcome is Outcome.LOST
    assert "on node1; after a forced update the task runs on node3" in moved.reason


def test_a_check_is_the_swarm_matrix_cell_of_its_storage() -> None:
    cell = check_cell(_service("external"), "move-node")
    assert cell.id == "swarm-mysql-named-move-node"


def test_advice_pins_node_local_data_and_moves_container_data_into_a_volume() -> None:
    pinned = swarm_advice(_service("named"), "drain-node")
    assert "node.hostname == NODE" in pinned
    assert "shared storage" in pinned
    assert "a drain of the task's node" in pinned
    moved = swarm_advice(_service("layer", "its container's writable layer"), "update-force")
    assert "- db-data:/var/lib/mysql" in moved
    assert "node.hostname == NODE" in moved


def _model(**db: Any) -> dict[str, Any]:
    service = {"image": "mariadb:11", "environment": {"MARIADB_ROOT_PASSWORD": "pw"}, **db}
    return {
        "services": {"db": service},
        "volumes": {
            "data": {"name": "shop_data"},
            "fixed": {"name": "my-fixed-volume"},
            "outside": {"name": "made-by-hand", "external": True},
            "logs": {"name": "shop_logs", "labels": {"team": "a"}},
        },
    }


RAW = {"volumes": {"data": None, "fixed": {"name": "my-fixed-volume"}, "logs": None}}
PLAN = StackPlan(LABELS, "/var/lib/mysql", "/srv/harness/s1/cell", "harness-s1-abc-")


def test_the_stack_drops_what_a_stack_cannot_run_and_says_so() -> None:
    model = _model(
        ports=[{"target": 3306, "published": "3306"}],
        container_name="shop-db",
        depends_on={"cache": {}},
        pull_policy="always",
        entrypoint=None,
        user="999",
        healthcheck={"test": ["CMD", "true"], "interval": "5s", "start_interval": "1s"},
        deploy={"replicas": 2, "placement": {"constraints": ["node.role==worker"]}},
    )
    stack = stack_service(model, RAW, "db", PLAN)
    assert stack.service == {"user": "999", "healthcheck": {"test": ["CMD", "true"],
                                                            "interval": "5s"}}  # fmt: skip
    assert any("`container_name`, `depends_on`" in note for note in stack.notes)
    assert any("placement is replaced" in note for note in stack.notes)
    assert not any("`ports`" in note or "pull_policy" in note for note in stack.notes)


def test_stack_volumes_are_labelled_and_an_external_or_fixed_name_is_the_harness_s() -> None:
    mounts = [
        {"type": "volume", "source": "data", "target": "/var/lib/mysql", "volume": {}},
        {"type": "volume", "source": "outside", "target": "/backup"},
        {"type": "volume", "source": "fixed", "target": "/etc/x"},
        {"type": "volume", "source": "logs", "target": "/var/log/mysql"},
    ]
    stack = stack_service(_model(volumes=mounts), RAW, "db", PLAN)
    assert stack.volumes[0] == {"type": "volume", "source": "data", "target": "/var/lib/mysql"}
    assert stack.top_volumes == {
        "data": {"labels": LABELS},
        "outside": {"labels": LABELS, "name": "harness-s1-abc-outside"},
        "fixed": {"labels": LABELS, "name": "harness-s1-abc-fixed"},
        "logs": {"labels": {"team": "a", **LABELS}},
    }


def test_a_bind_holding_the_data_becomes_the_node_directory_and_others_are_left_out() -> None:
    mounts = [
        {"type": "bind", "source": "/home/u/db", "target": "/var/lib",
         "bind": {"create_host_path": True}},
        {"type": "bind", "source": "/home/u/my.cnf", "target": "/etc/mysql/my.cnf"},
        {"type": "tmpfs", "target": "/run/cache", "tmpfs": {"size": 1000}},
        {"type": "volume", "target": "/scratch"},
    ]  # fmt: skip
    stack = stack_service(_model(volumes=mounts), RAW, "db", PLAN)
    assert stack.volumes == [
        {"type": "bind", "source": "/srv/harness/s1/cell", "target": "/var/lib"},
        {"type": "tmpfs", "target": "/run/cache", "tmpfs": {"size": 1000}},
        {"type": "volume", "target": "/scratch"},
    ]
    assert any("/home/u/my.cnf is left out" in note for note in stack.notes)
    assert not any("/home/u/db" in note for note in stack.notes)


def test_the_stack_file_is_the_user_s_service_under_its_own_name_with_the_harness_s_keys() -> None:
    stack = stack_service(
        _model(
            user="999", volumes=[{"type": "volume", "source": "data", "target": "/var/lib/mysql"}]
        ),
        RAW,
        "db",
        PLAN,
    )
    env, files, names = passwords_as_secrets(
        {"MARIADB_ROOT_PASSWORD": "pw", "A": "1"}, ("MARIADB_ROOT_PASSWORD",), "harness-s1-abc-"
    )
    config = ServiceConfig(name="harness-s1-abc", image="sha256:1", port=31000, env=env,
                           args=("mariadbd", "--port=31000"), mount=None, secrets=names,
                           constraint="node.hostname==node1", labels=LABELS, user=stack,
                           service_key="shopdb")  # fmt: skip
    document = config.stack_file()
    service = document["services"]["shopdb"]
    assert STACK_SERVICE not in document["services"]
    assert service["user"] == "999"
    assert service["image"] == "sha256:1"
    assert service["command"] == ["mariadbd", "--port=31000"]
    assert service["environment"] == {
        "A": "1", "MARIADB_ROOT_PASSWORD_FILE": "/run/secrets/mariadb_root_password"
    }  # fmt: skip
    assert "pw" not in str(document)  # the password is a secret's content, not the file's
    assert files == {"mariadb_root_password": "pw"}
    assert service["volumes"] == [{"type": "volume", "source": "data", "target": "/var/lib/mysql"}]
    assert document["volumes"] == {"data": {"labels": LABELS}}
    assert service["deploy"]["placement"] == {"constraints": ["node.hostname==node1"]}


def _swarm_args(action: list[str] | None, must: str | None) -> argparse.Namespace:
    return argparse.Namespace(action=action, must_survive=must, on="swarm")


def test_on_a_swarm_the_actions_are_the_swarm_s_and_compose_s_are_refused() -> None:
    actions, must = parse_actions(_swarm_args(None, None))
    assert actions == SWARM_ACTION_NAMES
    assert must == DEFAULT_MUST_SURVIVE_ON_SWARM
    actions, must = parse_actions(_swarm_args(["move-node"], "kill-task"))
    assert actions == ("kill-task", "move-node")
    with pytest.raises(UsageError, match="'down-up', not an action on a swarm"):
        parse_actions(_swarm_args(["down-up"], None))
    with pytest.raises(UsageError, match="--must-survive names 'restart'"):
        parse_actions(_swarm_args(None, "restart"))


def _result(service: DatabaseService, action: str, observed: Outcome) -> ScenarioResult:
    expected = planned_expectation(service, action, NODES)
    result = ScenarioResult(check_cell(service, action), expected.outcome, expected.reason)
    result.observed = observed
    result.node_written, result.node_read = "node1", "node2"
    return result


def test_the_json_says_swarm_the_nodes_and_the_swarm_s_advice(
    contract: Callable[[str, Any], None],
) -> None:
    service = _service("named")
    report = CheckReport("compose.yaml", EngineInfo("docker", "26.1.5", "1.45"), "2.40.3",
                         DEFAULT_MUST_SURVIVE_ON_SWARM, on="swarm")  # fmt: skip
    report.entries.append(CheckEntry(service, _result(service, "move-node", Outcome.LOST)))
    document = report.to_json()
    contract("compose-check", document)
    assert document["on"] == "swarm"
    entry = document["results"][0]
    assert entry["id"] == "db-move-node"
    assert entry["storage"] == "named"
    assert entry["nodes"] == {"written": "node1", "read": "node2"}
    assert entry["passed"] is True
    assert "node.hostname == NODE" in entry["advice"]
    assert report.exit_code() == 0  # a move is not a must-survive action by default
    one_engine = CheckReport("c.yaml", EngineInfo("docker", "20.10", "1.41"), "2.40.3", ())
    assert "on" not in one_engine.to_json()


def test_a_lost_must_survive_action_exits_1_with_the_swarm_s_advice() -> None:
    service = _service("layer", "its container's writable layer")
    report = CheckReport("compose.yaml", EngineInfo("docker", "26.1.5", "1.45"), "2.40.3",
                         DEFAULT_MUST_SURVIVE_ON_SWARM, on="swarm")  # fmt: skip
    report.entries.append(CheckEntry(service, _result(service, "kill-task", Outcome.LOST)))
    assert report.exit_code() == 1
    assert "- db-data:/var/lib/mysql" in report.verdict_lines()[0]


def test_the_expectation_lines_use_the_target_s_promise() -> None:
    lines = expectation_lines([_service("named")], ("move-node",), (),
                              lambda s, a: planned_expectation(s, a, NODES))  # fmt: skip
    assert "move-node" in lines[1]
    assert "lost" in lines[1]
    assert "runs on node2" in lines[1]
