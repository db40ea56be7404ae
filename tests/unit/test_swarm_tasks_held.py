"""Which of a swarm's tasks the removal of a service still waits for: its own whose container may
still appear (not yet running), on a node that answers or on no node yet; never another
service's, nor one held by a node that is down, nor one whose container already exists."""

from __future__ import annotations

from typing import Any

import pytest

from harness.engines.swarm_service import tasks_still_held


def _task(ident: str, service: str, node: str, state: str = "preparing") -> dict[str, Any]:
    # The fields Docker's GET /tasks gives that the choice reads.
    return {
        "ID": ident,
        "ServiceID": service,
        "NodeID": node,
        "DesiredState": "remove",
        "Status": {"State": state},
    }


def _held(tasks: list[dict[str, Any]], services: set[str], nodes: set[str]) -> list[str]:
    return [str(task["ID"]) for task in tasks_still_held(tasks, services, nodes)]


def test_a_removed_services_task_on_an_answering_node_is_waited_for() -> None:
    assert _held([_task("t1", "svc", "n1")], {"svc"}, {"n1", "n2"}) == ["t1"]


def test_a_task_no_node_holds_yet_is_waited_for() -> None:
    assert _held([_task("t1", "svc", "")], {"svc"}, {"n1"}) == ["t1"]


def test_another_services_tasks_are_not_waited_for() -> None:
    tasks = [_task("t1", "other", "n1"), _task("t2", "svc", "n1")]
    assert _held(tasks, {"svc"}, {"n1"}) == ["t2"]


def test_a_task_on_a_node_that_is_down_is_not_waited_for() -> None:
    tasks = [_task("t1", "svc", "down-node"), _task("t2", "svc", "n1")]
    assert _held(tasks, {"svc"}, {"n1"}) == ["t2"]


def test_no_removed_service_waits_for_nothing() -> None:
    assert _held([_task("t1", "svc", "n1")], set(), {"n1"}) == []


@pytest.mark.parametrize("state", ["pending", "assigned", "preparing", "starting"])
def test_a_task_whose_container_may_still_appear_is_waited_for(state: str) -> None:
    assert _held([_task("t1", "svc", "n1", state)], {"svc"}, {"n1"}) == ["t1"]


@pytest.mark.parametrize("state", ["running", "shutdown", "failed", "complete", "rejected"])
def test_a_task_whose_container_exists_or_is_gone_is_not_waited_for(state: str) -> None:
    # Its container is in the node's listing, removed there; waiting would cost the stop grace.
    assert _held([_task("t1", "svc", "n1", state)], {"svc"}, {"n1"}) == []
