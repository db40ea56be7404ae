"""Waiting for an engine that stopped answering, and naming it as a cell's cause (no engine)."""

from __future__ import annotations

import socket
import threading
from pathlib import Path

import docker
import pytest

from harness.containers.engine import Engine
from harness.containers.engine_watch import (
    EngineWatch,
    answers,
    engine_cause,
    return_limit,
    wait_for_engine,
)
from harness.errors import UsageError
from harness.model.engine_info import EngineInfo


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def sleep(self, seconds: float) -> None:
        self.now += seconds

    def __call__(self) -> float:
        return self.now


def _wait(back_at: float | None, limit: float = 60) -> tuple[bool, list[str], float]:
    clock = FakeClock()
    lines: list[str] = []
    back = wait_for_engine(
        lambda: back_at is not None and clock.now >= back_at,
        show=lines.append, limit=limit, every=10, sleep=clock.sleep, clock=clock,
    )  # fmt: skip
    return back, lines, clock.now


def test_an_engine_that_answers_is_not_waited_for() -> None:
    assert _wait(back_at=0) == (True, [], 0)


def test_the_run_waits_with_progress_until_the_engine_is_back() -> None:
    back, lines, waited = _wait(back_at=25)
    assert back
    assert waited == 25
    assert lines == [
        "the engine stopped answering; waiting up to 60 s for it to come back",
        "still waiting for the engine (10 s of 60 s)",
        "still waiting for the engine (20 s of 60 s)",
        "the engine answers again after 25 s; going on",
    ]


def test_an_engine_that_never_comes_back_is_given_up_after_the_limit() -> None:
    back, lines, waited = _wait(back_at=None, limit=30)
    assert not back
    assert waited == 30
    assert lines[-1] == "still waiting for the engine (30 s of 30 s)"


def test_a_cell_s_error_names_the_engine_and_the_step() -> None:
    seen = "mysql exited before it answered; fix the image or its settings"
    assert engine_cause(seen, "the restart action") == (
        "the engine stopped answering during the restart action (what the cell saw: mysql "
        "exited before it answered; fix the image or its settings)"
    )


def test_a_watch_waits_before_each_cell_and_gives_up_once_for_the_rest() -> None:
    answered = iter([True, False])  # the first cell finds it; then it never answers again
    engine = Engine(docker.DockerClient(base_url="unix:///gone", version="1.41"),
                    EngineInfo("docker", "20.10", "1.41"), "gone", "unix:///gone")  # fmt: skip
    watch = EngineWatch(engine, show=lambda _: None, limit=1.0)
    calls: list[bool] = []

    def probe(_: Engine) -> bool:
        calls.append(True)
        return next(answered, False)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("harness.containers.engine_watch.answers", probe)
        patch.setattr("harness.containers.engine_watch.time.sleep", lambda _: None)
        assert watch.before_cell() == ""
        gone = watch.before_cell()
        asked = len(calls)
        assert watch.before_cell() == gone  # decided once: no second wait
    assert gone == "the engine stopped answering and did not come back within 1 s"
    assert len(calls) == asked


def test_an_engine_whose_socket_is_gone_does_not_answer(tmp_path: Path) -> None:
    gone = f"unix://{tmp_path}/gone.sock"
    client = docker.DockerClient(base_url=gone, version="1.41")
    engine = Engine(client, EngineInfo("docker", "20.10", "1.41"), "gone", gone)
    assert answers(engine) is False
    client.close()


def test_a_listening_socket_that_answers_200_answers(tmp_path: Path) -> None:
    path = tmp_path / "engine.sock"
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(str(path))
    server.listen(1)

    def reply() -> None:
        connection, _ = server.accept()
        with connection:
            connection.recv(1024)
            connection.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nOK")

    thread = threading.Thread(target=reply)
    thread.start()
    client = docker.DockerClient(base_url=f"unix://{path}", version="1.41")
    engine = Engine(client, EngineInfo("docker", "20.10", "1.41"), "here", f"unix://{path}")
    try:
        assert answers(engine) is True
    finally:
        thread.join(timeout=5)
        server.close()
        client.close()


def test_the_wait_for_the_engine_is_the_variable_s_and_a_bad_one_is_one_sentence() -> None:
    assert return_limit({}) == 180
    assert return_limit({"HARNESS_ENGINE_WAIT": "5"}) == 5
    for bad in ("0", "-3", "soon"):
        with pytest.raises(UsageError, match=f"HARNESS_ENGINE_WAIT={bad} is not a number"):
            return_limit({"HARNESS_ENGINE_WAIT": bad})


def test_a_run_whose_watch_gave_up_does_not_wait_again_at_its_end() -> None:
    engine = Engine(docker.DockerClient(base_url="unix:///gone", version="1.41"),
                    EngineInfo("docker", "20.10", "1.41"), "gone", "unix:///gone")  # fmt: skip
    watch = EngineWatch(engine, show=lambda _: None, limit=30.0)
    assert watch.wait_at_end == 30.0
    watch.gone = "the engine stopped answering and did not come back within 30 s"
    assert watch.wait_at_end == 0.0
