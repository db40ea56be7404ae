"""Readiness proves whose server it reached: a connection counts only if the container ran
without a break from the inspect before it until after it (an engine hands a stopped
container's address to the next container at once, and another cell's server with the run's
credentials would answer there)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

import pytest

from harness.containers.readiness import AnotherRun, ensure_same_run, wait_until_ready
from harness.containers.retry import Backoff
from harness.errors import NotReady
from harness.model.servers.credentials import Credentials
from harness.model.servers.databases import DATABASES

QUICK = Backoff(attempts=20, deadline_seconds=5.0, first_wait=0.0, max_wait=0.0, jitter=0.0)
CREDS = Credentials("app", "app-secret", "root-secret", "appdb")
RUN_1 = "2026-12-01T06:00:00.1Z"
RUN_2 = "2026-12-01T06:00:03.7Z"


class FakeCursor:
    def execute(self, query: str) -> None: ...
    def fetchall(self) -> list[tuple[int]]:
        return [(1,)]

    def close(self) -> None: ...


class FakeConnection:
    def __init__(self, host: str) -> None:
        self.host = host
        self.closed = False

    def cursor(self) -> FakeCursor:
        return FakeCursor()

    def commit(self) -> None: ...
    def close(self) -> None:
        self.closed = True


class ScriptedServer:
    """A container whose successive inspects say what `states` lists (the last repeats)."""

    def __init__(self, *states: tuple[str, str]) -> None:
        self.states = list(states)
        self.inspects = 0

    @property
    def name(self) -> str:
        return "db-1"

    def endpoint(self, port: int, *, fresh: bool = True) -> tuple[str, int]:
        return "10.99.0.5", port

    def state(self) -> Mapping[str, Any]:
        status, started = self.states[min(self.inspects, len(self.states) - 1)]
        self.inspects += 1
        return {"Status": status, "StartedAt": started, "ExitCode": 1}

    def logs(self, tail: int) -> str:
        return "FATAL: database files are incompatible with server"


@pytest.fixture
def made(monkeypatch: pytest.MonkeyPatch) -> list[FakeConnection]:
    """The connections the fake driver made, in order."""
    connections: list[FakeConnection] = []

    def connect(host: str, port: int, creds: Credentials, timeout: float) -> FakeConnection:
        connections.append(FakeConnection(host))
        return connections[-1]

    monkeypatch.setitem(DATABASES, "fake", replace(DATABASES["postgres"], connect=connect))  # type: ignore[arg-type]
    return connections


def test_a_server_running_throughout_the_connection_is_ready(made: list[FakeConnection]) -> None:
    server = ScriptedServer(("running", RUN_1))
    connection = wait_until_ready(server, DATABASES["fake"], CREDS, QUICK)
    assert connection is made[-1]
    assert not made[-1].closed
    assert server.inspects == 2  # once before the connection, once after it


def test_a_connection_made_while_the_container_stopped_is_not_taken_for_its_server(
    made: list[FakeConnection],
) -> None:
    """The server exited after the inspect: whatever answered at its address was not it."""
    server = ScriptedServer(("running", RUN_1), ("exited", RUN_1))
    with pytest.raises(NotReady, match="exited before it answered"):
        wait_until_ready(server, DATABASES["fake"], CREDS, QUICK)
    assert len(made) == 1
    assert made[0].closed


def test_a_connection_across_a_restart_is_retried_on_the_new_run(
    made: list[FakeConnection],
) -> None:
    server = ScriptedServer(("running", RUN_1), ("running", RUN_2))
    connection = wait_until_ready(server, DATABASES["fake"], CREDS, QUICK)
    assert [c.closed for c in made] == [True, False]
    assert connection is made[1]


def test_the_same_run_is_told_by_status_and_start_time() -> None:
    ensure_same_run(ScriptedServer(("running", RUN_1)), RUN_1)
    for states in [("running", RUN_2), ("exited", RUN_1), ("restarting", RUN_1)]:
        with pytest.raises(AnotherRun):
            ensure_same_run(ScriptedServer(states), RUN_1)
