"""Between `docker compose stop`/`kill` and the next command, the harness waits for the engine's
container list to stop calling the service running (Docker before 28.3 answers a stop first, and
`docker compose start` then skips the container). The list is faked here: what is checked is the
waiting, not a verdict."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast

import pytest
import requests

from harness.containers.retry import Backoff
from harness.errors import HarnessError
from harness.persistence import compose_scenario
from harness.persistence.compose_scenario import ComposeRun

BEFORE = "2026-12-01T03:06:03.1Z"  # when the run the stop ends began


class ListedStates:
    """An engine whose container list answers `states` in turn (the last one from then on);
    its inspect says the container runs, since `started`, or that it stopped (moby#50133: the
    list lags behind)."""

    def __init__(self, *states: str, running_since: str | None = None) -> None:
        self.states = list(states)
        self.running_since = running_since
        self.calls: list[dict[str, Any]] = []
        self.client = SimpleNamespace(
            api=SimpleNamespace(containers=self.containers, inspect_container=self.inspect)
        )

    def containers(self, **kwargs: Any) -> list[dict[str, str]]:
        self.calls.append(kwargs)
        state = self.states.pop(0) if len(self.states) > 1 else self.states[0]
        return [{"Id": "c1", "State": state}]

    def inspect(self, container: str) -> dict[str, Any]:
        running = self.running_since is not None
        return {"State": {"Running": running, "StartedAt": self.running_since or BEFORE}}


def run_on(engine: ListedStates) -> ComposeRun:
    return ComposeRun(cast(Any, engine), cast(Any, None), Path("/nowhere"), "proj", cast(Any, None))


def test_the_next_command_waits_until_the_list_says_exited(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(compose_scenario, "LISTED_STOPPED_BACKOFF", Backoff(first_wait=0.0))
    engine = ListedStates("running", "running", "exited")
    run_on(engine).wait_until_listed_stopped("stop", BEFORE)
    assert len(engine.calls) == 3
    assert engine.calls[0]["filters"]["label"] == [
        "com.docker.compose.project=proj", "com.docker.compose.service=db"]  # fmt: skip


def test_a_service_listed_running_past_the_bound_is_an_error_naming_the_command(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(
        compose_scenario, "LISTED_STOPPED_BACKOFF", Backoff(deadline_seconds=0.2, first_wait=0.01)
    )
    engine = ListedStates("running")
    with pytest.raises(
        HarnessError, match=r"still listed service db as running .* `docker compose kill`"
    ):
        run_on(engine).wait_until_listed_stopped("kill", BEFORE)
    assert len(engine.calls) > 1


def test_a_run_a_restart_policy_began_after_the_kill_counts_as_settled(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """`restart: always` may start the container again: `start` then rightly leaves it be."""
    monkeypatch.setattr(
        compose_scenario, "LISTED_STOPPED_BACKOFF", Backoff(deadline_seconds=0.2, first_wait=0.01)
    )
    engine = ListedStates("running", running_since="2026-12-01T03:06:05.7Z")
    run_on(engine).wait_until_listed_stopped("kill", BEFORE)
    assert len(engine.calls) == 1


def test_the_run_the_kill_has_not_ended_yet_is_waited_for(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(
        compose_scenario, "LISTED_STOPPED_BACKOFF", Backoff(deadline_seconds=0.2, first_wait=0.01)
    )
    engine = ListedStates("running", running_since=BEFORE)
    with pytest.raises(HarnessError, match="still listed"):
        run_on(engine).wait_until_listed_stopped("kill", BEFORE)


def test_an_engine_gone_during_the_wait_is_raised_at_once_not_waited_out() -> None:
    """The cell's cause is then the engine (run_compose_cell asks it), not a 30 s timeout."""

    class Gone(ListedStates):
        def containers(self, **kwargs: Any) -> list[dict[str, str]]:
            self.calls.append(kwargs)
            raise requests.exceptions.ConnectionError("Connection refused")

    engine = Gone("running")
    with pytest.raises(requests.exceptions.ConnectionError):
        run_on(engine).wait_until_listed_stopped("stop", BEFORE)
    assert len(engine.calls) == 1
