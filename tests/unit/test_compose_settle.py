"""Between `docker compose stop`/`kill` and the next command, the harness waits for the engine's
container list to stop calling the service running (Docker before 28.3 answers a stop first, and
`docker compose start` then skips the container). The list is faked here: what is checked is the
waiting, not a verdict."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast

import pytest

from harness.containers.retry import Backoff
from harness.errors import HarnessError
from harness.persistence import compose_scenario
from harness.persistence.compose_scenario import ComposeRun


class ListedStates:
    """An engine whose container list answers `states` in turn (the last one from then on)."""

    def __init__(self, *states: str) -> None:
        self.states = list(states)
        self.calls: list[dict[str, Any]] = []
        self.client = SimpleNamespace(api=SimpleNamespace(containers=self.containers))

    def containers(self, **kwargs: Any) -> list[dict[str, str]]:
        self.calls.append(kwargs)
        state = self.states.pop(0) if len(self.states) > 1 else self.states[0]
        return [{"State": state}]


def run_on(engine: ListedStates) -> ComposeRun:
    return ComposeRun(cast(Any, engine), cast(Any, None), Path("/nowhere"), "proj", cast(Any, None))


def test_the_next_command_waits_until_the_list_says_exited(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(compose_scenario, "LISTED_STOPPED_BACKOFF", Backoff(first_wait=0.0))
    engine = ListedStates("running", "running", "exited")
    run_on(engine).wait_until_listed_stopped("stop")
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
        run_on(engine).wait_until_listed_stopped("kill")
    assert len(engine.calls) > 1
