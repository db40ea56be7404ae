"""The engine stops answering mid-run: no false verdict, every finished result reported, the cause
named, and nothing left once the engine is back.

The run reaches the real engine through a TCP proxy the test owns (`DOCKER_HOST=tcp://...`):
closing the proxy is, for the run, its engine going away (every request refused, every open
connection cut), while the engine itself, and every other test using it, goes on.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from harness.containers.engine import OWNER_LABEL, Engine

pytestmark = pytest.mark.faults
REPO = Path(__file__).parents[2]
ENGINE_SOCKET = "/var/run/docker.sock"


class EngineProxy:
    """tcp://127.0.0.1:<port> -> the engine's unix socket, which the test can cut and restore."""

    def __init__(self) -> None:
        self.port = _free_port()
        self._listener: socket.socket | None = None
        self._connections: list[socket.socket] = []
        self._lock = threading.Lock()

    @property
    def docker_host(self) -> str:
        return f"tcp://127.0.0.1:{self.port}"

    def start(self) -> None:
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def cut(self) -> None:
        """The engine is gone: no new connection, every open one closed."""
        with self._lock:
            listener, self._listener = self._listener, None
            connections, self._connections = self._connections, []
        if listener:
            with contextlib.suppress(OSError):
                listener.shutdown(socket.SHUT_RDWR)
            listener.close()
        for connection in connections:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)
            connection.close()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            engine = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                engine.connect(ENGINE_SOCKET)
            except OSError:
                client.close()
                engine.close()
                continue
            with self._lock:
                self._connections += [client, engine]
            for source, target in ((client, engine), (engine, client)):
                threading.Thread(target=_pipe, args=(source, target), daemon=True).start()


def _pipe(source: socket.socket, target: socket.socket) -> None:
    with contextlib.suppress(OSError):
        while data := source.recv(65536):
            target.sendall(data)
    for end in (source, target):
        with contextlib.suppress(OSError):
            end.shutdown(socket.SHUT_RDWR)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def proxy() -> Iterator[EngineProxy]:
    running = EngineProxy()
    running.start()
    yield running
    running.cut()


def _start_run(proxy: EngineProxy, report: Path, wait: int) -> subprocess.Popen[str]:
    env = {**os.environ, "HARNESS_IMAGES": "local", "DOCKER_HOST": proxy.docker_host,
           "HARNESS_ENGINE_WAIT": str(wait)}  # fmt: skip
    return subprocess.Popen(
        [sys.executable, "-m", "harness", "run", "--database", "mysql", "--storage", "named",
         "--storage", "anonymous", "--action", "restart", "--action", "recreate",
         "--reuse-init", "off", "--json", str(report)],
        cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip


def _wait_for_cells(report_lines: list[str], run: subprocess.Popen[str], done: int) -> None:
    """Until the run's progress shows `done` finished cells (its progress lines go to stderr)."""
    assert run.stderr is not None
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        line = run.stderr.readline()
        if not line:
            break
        report_lines.append(line)
        if f"] {done}/4 " in line:
            return
    pytest.fail(f"the run never finished {done} cells: {''.join(report_lines)[-2000:]}")


def _finish(run: subprocess.Popen[str], seen: list[str]) -> tuple[int, str, str]:
    stdout, stderr = run.communicate(timeout=600)
    return run.returncode, stdout, "".join(seen) + stderr


def _left_by(engine: Engine, pid: int) -> list[str]:
    """The labelled containers the harness process `pid` owned that are still there."""
    owner = f"{os.uname().nodename}:{pid}"
    found = engine.client.api.containers(all=True, filters={"label": f"{OWNER_LABEL}={owner}"})
    return [str(c["Id"]) for c in found]


def _judge(report: Path) -> list[dict[str, object]]:
    """Every cell is reported; a cell with a verdict has the promised one; one without names
    the engine."""
    results: list[dict[str, object]] = json.loads(report.read_text())["results"]
    assert len(results) == 4
    for result in results:
        if result["observed"] is None:
            assert "the engine stopped answering" in str(result["error"]), result
        else:
            assert result["passed"], result  # a verdict made through the outage is still right
    return results


@pytest.mark.usefixtures("local_images")
def test_the_engine_goes_away_and_comes_back_mid_run(
    proxy: EngineProxy, tmp_path: Path, harness_engine: Engine
) -> None:
    report = tmp_path / "report.json"
    run = _start_run(proxy, report, wait=120)
    seen: list[str] = []
    _wait_for_cells(seen, run, 1)
    proxy.cut()
    time.sleep(8)
    proxy.start()
    code, stdout, stderr = _finish(run, seen)

    assert "Traceback" not in stderr, stderr[-3000:]
    assert "waiting up to 120 s for it to come back" in stderr
    assert "the engine answers again after" in stderr
    results = _judge(report)
    assert results[0]["observed"] is not None  # finished before the cut: kept
    assert results[-1]["observed"] is not None  # the run went on once the engine was back
    assert code == (0 if all(r["passed"] for r in results) else 1)
    assert "persistence matrix: mysql" in stdout
    assert _left_by(harness_engine, run.pid) == []


@pytest.mark.usefixtures("local_images")
def test_an_engine_that_does_not_come_back_ends_the_run_with_every_result_reported(
    proxy: EngineProxy, tmp_path: Path, harness_engine: Engine
) -> None:
    report = tmp_path / "report.json"
    run = _start_run(proxy, report, wait=5)
    seen: list[str] = []
    _wait_for_cells(seen, run, 1)
    proxy.cut()
    code, stdout, stderr = _finish(run, seen)
    clean = subprocess.run(
        [sys.executable, "-m", "harness", "clean"], cwd=REPO, capture_output=True, text=True,
        check=False, timeout=300, env={**os.environ, "HARNESS_IMAGES": "local"},
    )  # fmt: skip

    assert code == 1
    assert "Traceback" not in stderr, stderr[-3000:]
    results = _judge(report)
    assert results[0]["observed"] is not None  # the finished cell is kept
    assert "did not come back within 5 s" in str(results[-1]["error"])
    assert "run `python -m harness clean` once it does" in stderr
    assert "persistence matrix: mysql" in stdout
    assert clean.returncode == 0, clean.stderr
    # `clean`, once the engine answers, finds what the dead run left
    assert _left_by(harness_engine, run.pid) == []
