"""Waiting for a swarm service's new task rides out the managers' 5xx answers (a leader election
after node-down took the leader's node) within its deadline, and still raises anything else."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

import docker.errors
import pytest
import requests

from harness.engines import swarm_service
from harness.engines.swarm_service import DeployedService, Task


def _api_error(status: int, explanation: str) -> docker.errors.APIError:
    response = requests.Response()
    response.status_code = status
    return docker.errors.APIError(explanation, response=response, explanation=explanation)


_RUNNING = {
    "ID": "task-new",
    "NodeID": "id-2",
    "DesiredState": "running",
    "Status": {"State": "running", "ContainerStatus": {"ContainerID": "c-new"}},
}


class _Api:
    """A manager's task list answering from a script: an exception is raised, a list returned."""

    def __init__(self, answers: list[Any]) -> None:
        self.answers = answers
        self.asked = 0

    def tasks(self, filters: dict[str, str]) -> list[dict[str, Any]]:
        answer = self.answers[min(self.asked, len(self.answers) - 1)]
        self.asked += 1
        if isinstance(answer, Exception):
            raise answer
        return list(answer)


class _Containers:
    def get(self, ident: str) -> Any:
        raise docker.errors.NotFound("gone")  # _record_volumes: nothing to record


class _Client:
    def __init__(self, api: _Api) -> None:
        self.api = api
        self.containers = _Containers()


class _Engine:
    def __init__(self, api: _Api) -> None:
        self.client = _Client(api)


class _Cluster:
    def __init__(self, api: _Api) -> None:
        self.engine_ = _Engine(api)

    def manager(self, avoiding: str = "") -> _Engine:
        return self.engine_

    def engine(self, name: str) -> _Engine:
        return self.engine_

    def node_name(self, node_id: str) -> str:
        return {"id-2": "node2"}[node_id]


def _service(api: _Api) -> DeployedService:
    config = SimpleNamespace(name="harness-svc", service_key="db")
    return DeployedService(_Cluster(api), config, stack=None, scratch=Path())  # type: ignore[arg-type]


@pytest.fixture(autouse=True)
def _no_sleep(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(swarm_service, "POLL_SECONDS", 0.0)


def test_a_managers_5xx_during_an_election_is_waited_out() -> None:
    election = _api_error(
        500, "rpc error: code = DeadlineExceeded desc = context deadline exceeded"
    )
    api = _Api([election, election, [_RUNNING]])
    found = _service(api).running_task(avoiding="node1")
    assert found == Task("task-new", "node2", "c-new")
    assert api.asked == 3


def test_a_client_error_is_not_waited_out() -> None:
    api = _Api([_api_error(404, "service not found"), [_RUNNING]])
    with pytest.raises(docker.errors.APIError):
        _service(api).running_task()
    assert api.asked == 1


def test_a_5xx_until_the_deadline_says_what_the_swarm_said(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(swarm_service, "TASK_DEADLINE", 0.05)
    api = _Api([_api_error(500, "rpc error: code = DeadlineExceeded")])
    with pytest.raises(swarm_service.NotRunning) as raised:
        _service(api).running_task()
    assert "the swarm said: rpc error: code = DeadlineExceeded" in str(raised.value)


def test_scale_zero_waits_out_a_5xx_too() -> None:
    api = _Api(
        [_api_error(503, "rpc error: code = Unavailable"), [{"Status": {"State": "shutdown"}}]]
    )
    _service(api).wait_no_task()
    assert api.asked == 2
