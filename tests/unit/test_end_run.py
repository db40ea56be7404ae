"""Ending a run whose engine went away: wait for it (bounded), then sweep; else say `clean`."""

from __future__ import annotations

from typing import Any

import pytest

from harness.containers import run_state
from harness.containers.engine import Session

SAID_CLEAN = "run `python -m harness clean` once it does."


def _end(
    monkeypatch: pytest.MonkeyPatch, answers: list[bool], wait: float
) -> tuple[int, list[str]]:
    """How many times the sweep ran, and what was said, for an engine whose first sweep fails
    and whose pings answer `answers` in turn."""
    sweeps: list[int] = []
    pings = iter(answers)

    def end_run(engine: Any, session: Session) -> None:
        sweeps.append(1)
        if len(sweeps) == 1:
            raise ConnectionError("refused")

    monkeypatch.setattr(run_state, "end_run", end_run)
    monkeypatch.setattr(run_state, "answers", lambda engine: next(pings, False))
    monkeypatch.setattr("harness.containers.engine_watch.time.sleep", lambda seconds: None)
    said: list[str] = []
    run_state.end_run_or_say(object(), Session("abc"), said.append, wait)  # type: ignore[arg-type]
    return len(sweeps), said


def test_an_engine_that_comes_back_is_swept_after_the_wait(monkeypatch: pytest.MonkeyPatch) -> None:
    sweeps, said = _end(monkeypatch, [False, False, True], wait=30)
    assert sweeps == 2
    assert not any(SAID_CLEAN in line for line in said)
    assert said[0].startswith("the engine stopped answering; waiting up to 30 s")


def test_without_a_wait_the_run_says_how_to_clean_later(monkeypatch: pytest.MonkeyPatch) -> None:
    sweeps, said = _end(monkeypatch, [False, True], wait=0)
    assert sweeps == 1
    assert said == [
        "could not remove what this run made (the engine does not answer); " + SAID_CLEAN
    ]


def test_an_engine_that_answers_but_fails_the_sweep_is_not_waited_for(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    sweeps, said = _end(monkeypatch, [True], wait=30)
    assert sweeps == 1
    assert said[-1].endswith(SAID_CLEAN)
