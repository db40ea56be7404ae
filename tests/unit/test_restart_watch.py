"""An engine that went away (a restart, a cut connection) is told by the quiet stream it held,
and named as the cause of a cell it broke, never the image (scripted streams, no engine)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import docker
import pytest

from harness.containers.engine import Engine
from harness.containers.engine_watch import ENGINE_GONE, RestartWatch, watch_restarts
from harness.model.cells import Cell, ScenarioResult
from harness.model.engine_info import EngineInfo
from harness.model.faults import CellSteps
from harness.model.outcomes import Outcome
from harness.persistence.fault_causes import failure_cause, judge_finished


class QuietStream:
    """A held stream: nothing flows until the engine ends it (`end`) or the harness closes it."""

    def __init__(self) -> None:
        self.ended = threading.Event()
        self.closed = False

    def __iter__(self) -> Iterator[object]:
        self.ended.wait(10)
        return iter(())

    def end(self) -> None:
        self.ended.set()

    def close(self) -> None:
        self.closed = True
        self.ended.set()


class ScriptedEngine:
    """What the engine answers each time the watch asks for a stream: a stream, None (it
    refuses such streams) or an error (it does not answer)."""

    def __init__(self, *answers: QuietStream | Exception | None) -> None:
        self.answers = list(answers)
        self.asked = threading.Semaphore(0)

    def hold(self) -> QuietStream | None:
        self.asked.release()
        answer = self.answers.pop(0) if self.answers else OSError("not answering")
        if isinstance(answer, Exception):
            raise answer
        return answer


class Ticks:
    """A clock the test moves: the watch stamps a break with the time it is set to."""

    def __init__(self) -> None:
        self.now = 1_000

    def __call__(self) -> int:
        return self.now


def _until(condition: object, seconds: float = 5.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition() and time.monotonic() < deadline:  # type: ignore[operator]
        time.sleep(0.01)
    assert condition(), "the watch never got there"  # type: ignore[operator]


def _watch(engine: ScriptedEngine, clock: Ticks) -> RestartWatch:
    return RestartWatch(engine.hold, clock=clock, retry_seconds=0.01).start()


def test_a_stream_the_engine_ends_is_a_break_at_that_moment() -> None:
    first, second = QuietStream(), QuietStream()
    engine, clock = ScriptedEngine(first, second), Ticks()
    watch = _watch(engine, clock)
    _until(lambda: watch.held_once)
    assert watch.went_away_at(0) is None  # held, nothing ended
    clock.now = 5_000
    first.end()
    _until(lambda: watch.breaks)
    assert watch.breaks == [5_000]
    _until(lambda: not second.ended.is_set() and engine.answers == [])  # held again
    clock.now = 9_000
    assert watch.went_away_at(4_000) == 5_000
    assert watch.went_away_at(4_000, 6_000) == 5_000
    assert watch.went_away_at(6_000) is None  # a cell that began after the engine was back
    assert watch.went_away_at(1_000, 4_000) is None  # a cell that finished before it went
    watch.stop()


def test_an_engine_not_yet_back_is_gone_now() -> None:
    """After the break, until a stream is held again, a cell asking now is told: gone."""
    stream = QuietStream()
    engine, clock = ScriptedEngine(stream, OSError("refused"), OSError("refused")), Ticks()
    watch = _watch(engine, clock)
    _until(lambda: watch.held_once)
    stream.end()
    _until(lambda: watch.breaks)
    clock.now = 7_000
    assert watch.went_away_at(6_000) == 7_000  # began after the break: the engine is still gone
    assert watch.went_away_at(6_000, 6_500) is None  # a finished cell is judged by breaks only
    watch.stop()


def test_closing_the_watch_is_not_a_break() -> None:
    stream = QuietStream()
    watch = _watch(ScriptedEngine(stream), Ticks())
    _until(lambda: watch.held_once)
    watch.stop()
    _until(lambda: stream.closed)
    time.sleep(0.05)
    assert watch.breaks == []
    assert watch.went_away_at(0) is None


@pytest.mark.parametrize(
    "answer", [None, OSError("not answering")], ids=["refuses-streams", "never-answers"]
)
def test_nothing_is_claimed_without_a_stream_once_held(answer: Exception | None) -> None:
    engine = ScriptedEngine(answer, answer, answer)
    watch = _watch(engine, Ticks())
    engine.asked.acquire(timeout=5)
    time.sleep(0.05)
    assert watch.went_away_at(0) is None
    assert watch.went_away_at(0, 10**18) is None
    watch.stop()


# --- the cause a cell gets ---


def _engine_with(stream: QuietStream, monkeypatch: pytest.MonkeyPatch) -> Engine:
    """An engine whose socket answers nothing (so its events tell nothing) and whose held
    stream is scripted; watched as a run watches its engine, its probe saying it answers."""
    monkeypatch.setattr("harness.containers.engine_watch.answers", lambda engine: True)
    client = docker.DockerClient(base_url="unix:///nowhere", version="1.41")
    engine = Engine(client, EngineInfo("docker", "20.10", "1.41"), "t", "unix:///nowhere")
    engine.hold_event_stream = lambda: stream  # type: ignore[assignment,method-assign,return-value]
    watch_restarts(engine)
    return engine


def test_a_cell_the_engine_broke_names_the_engine_not_the_image(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The engine restarted mid-cell and answers again: the cause is the engine, in the step
    it went away in, never "fix the image"."""
    monkeypatch.setattr("harness.persistence.fault_causes.answers", lambda engine: True)
    stream = QuietStream()
    engine = _engine_with(stream, monkeypatch)
    _until(lambda: stream.closed is False and not stream.ended.is_set())
    steps = CellSteps()
    steps.begin("the start of the first container")
    steps.begin("the restart action", acting=True)
    time.sleep(0.01)
    stream.end()
    time.sleep(0.1)
    seen = "container exited before it answered; fix the image or its settings."
    cause = failure_cause(engine, engine_session(), steps, seen)
    assert cause.startswith(f"{ENGINE_GONE} during the restart action and came back")
    assert "restarted" in cause
    assert seen in cause  # what the cell saw, after the cause
    engine.close()


def _judged_survival(
    monkeypatch: pytest.MonkeyPatch, *, engine_goes_during_the_cell: bool
) -> ScenarioResult:
    """A restart cell that read all its rows back, judged after its engine's stream ended
    during its action, or only after the cell finished."""
    stream = QuietStream()
    engine = _engine_with(stream, monkeypatch)
    time.sleep(0.05)
    steps = CellSteps()
    steps.begin("the restart action", acting=True)
    if not engine_goes_during_the_cell:
        steps.finish()
    time.sleep(0.01)
    stream.end()
    time.sleep(0.1)
    steps.begin("the read-back of the rows")
    steps.finish()
    result = ScenarioResult(Cell("mysql", "named", "restart"), Outcome.SURVIVES, "kept")
    result.observed = Outcome.SURVIVES
    judge_finished(engine, engine_session(), steps, result)
    engine.close()
    return result


def test_a_verdict_made_across_the_engine_going_away_is_withdrawn(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("harness.persistence.fault_causes.outside_cause", lambda *a: None)
    result = _judged_survival(monkeypatch, engine_goes_during_the_cell=True)
    assert result.observed is None
    assert ENGINE_GONE in result.error
    assert "during the restart action" in result.error


def test_a_verdict_stands_when_the_engine_went_away_only_after_the_cell(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("harness.persistence.fault_causes.outside_cause", lambda *a: None)
    result = _judged_survival(monkeypatch, engine_goes_during_the_cell=False)
    assert result.observed is Outcome.SURVIVES
    assert result.error == ""


def engine_session() -> object:
    from harness.containers.engine import Session  # noqa: PLC0415

    return Session.new()


def test_an_engine_that_does_not_answer_is_not_asked_for_a_stream() -> None:
    """While the engine's own probe says it does not answer, the watch never goes through the
    SDK (whose refused connections leave sockets behind); once it answers, a stream is held."""
    answering = threading.Event()
    engine = ScriptedEngine(QuietStream())
    watch = RestartWatch(engine.hold, ready=answering.is_set, retry_seconds=0.01).start()
    time.sleep(0.1)
    assert not engine.asked.acquire(blocking=False)
    assert watch.went_away_at(0) is None
    answering.set()
    _until(lambda: watch.held_once)
    watch.stop()
