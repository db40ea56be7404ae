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
import re
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any
from xml.etree import ElementTree

import pytest
from testcontainers.community.mysql import MySqlContainer
from testcontainers.community.postgres import PostgresContainer

from harness import check_persistence
from harness.containers.engine import OWNER_LABEL, SESSION_LABEL, Engine, Session
from harness.containers.run_state import end_run, start_run
from harness.grading.lab import AnswerCheck, load_lab
from harness.model.servers import persons
from harness.model.servers.persons import DbConnection

pytestmark = pytest.mark.faults
REPO = Path(__file__).parents[2]
ENGINE_SOCKET = "/var/run/docker.sock"
# Four mysql cells: two actions on two storages (the pytest runs under a cut engine).
SELECTED_CELLS = "mysql and (named or anonymous) and (restart or kill-start)"


def stock_mysql(image: str, **settings: Any) -> MySqlContainer:
    """A team's own container, with its own settings (a memory limit, say)."""
    container = MySqlContainer(image, username="app", password="s3cret-fault", dbname="app")
    return container.with_kwargs(labels={"team": "data"}, **settings)


def stock_postgres(image: str) -> PostgresContainer:
    return PostgresContainer(
        image, username="app", password="s3cret-fault", dbname="app", driver=None
    )


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


def _through(proxy: EngineProxy, *args: str, wait: int = 5) -> subprocess.Popen[str]:
    """`python -m harness ARGS` reaching its engine through the proxy, waiting `wait` s for it."""
    env = {**os.environ, "HARNESS_IMAGES": "local", "DOCKER_HOST": proxy.docker_host,
           "HARNESS_ENGINE_WAIT": str(wait)}  # fmt: skip
    return subprocess.Popen(
        [sys.executable, "-m", "harness", *args], cwd=REPO, env=env,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip


def _start_run(proxy: EngineProxy, report: Path, wait: int) -> subprocess.Popen[str]:
    return _through(
        proxy, "run", "--database", "mysql", "--storage", "named", "--storage", "anonymous",
        "--action", "restart", "--action", "recreate", "--reuse-init", "off",
        "--json", str(report), wait=wait,
    )  # fmt: skip


def _read_until(stream: IO[str] | None, marker: str, seen: list[str]) -> bool:
    """Read `stream`'s lines into `seen` until one holds `marker` (True) or it ends or 300 s
    pass (False)."""
    assert stream is not None
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        line = stream.readline()
        if not line:
            return False
        seen.append(line)
        if marker in line:
            return True
    return False


def _wait_for_cells(report_lines: list[str], run: subprocess.Popen[str], done: int) -> None:
    """Until the run's progress shows `done` finished cells (its progress lines go to stderr)."""
    if not _read_until(run.stderr, f"] {done}/4 ", report_lines):
        pytest.fail(f"the run never finished {done} cells: {''.join(report_lines)[-2000:]}")


def _finish(run: subprocess.Popen[str], seen: list[str]) -> tuple[int, str, str]:
    stdout, stderr = run.communicate(timeout=600)
    return run.returncode, stdout, "".join(seen) + stderr


def _left_by(engine: Engine, pid: int) -> list[str]:
    """The labelled containers, volumes and networks the harness process `pid` owned that are
    still there."""
    owner = {"label": f"{OWNER_LABEL}={os.uname().nodename}:{pid}"}
    api = engine.client.api
    return [
        *(str(c["Id"]) for c in api.containers(all=True, filters=owner)),
        *(str(v["Name"]) for v in api.volumes(filters=owner)["Volumes"] or []),
        *(str(n["Name"]) for n in api.networks(filters=owner)),
    ]


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


# --- the same outage under pytest: one process and two workers ---


def _junit_outcomes(path: Path) -> dict[str, str]:
    """Per test id, `passed`, `failed` (in the call) or `error` (setup/teardown) from JUnit."""
    outcomes: dict[str, str] = {}
    for case in ElementTree.parse(path).getroot().iter("testcase"):  # noqa: S314 - our own file
        test_id = str(case.get("name", "")).split("[", 1)[-1].rstrip("]")
        kinds = {child.tag for child in case}
        outcomes[test_id] = "error" if "error" in kinds else "failed" if kinds & {"failure"} else (
            "skipped" if "skipped" in kinds else "passed"
        )  # fmt: skip
    return outcomes


# Loaded into the pytest run under test (`-p`): after its first cell, that process pauses
# until the test has cut the engine, so the next cell starts with the engine gone (the moment
# is chosen; the outage is real).
PAUSE_PLUGIN = """
import os, time

def pytest_configure(config):
    with open(os.environ["FAULT_PIDS"], "a") as pids:  # whose leftovers to look for
        pids.write(f"{os.getpid()}\\n")

def pytest_runtest_logfinish(nodeid, location):
    try:
        os.close(os.open(os.environ["FAULT_FIRST_DONE"], os.O_CREAT | os.O_EXCL))
    except FileExistsError:
        return  # another worker paused first
    deadline = time.monotonic() + 120
    while not os.path.exists(os.environ["FAULT_CUT"]) and time.monotonic() < deadline:
        time.sleep(0.1)
"""


def _wait_for_file(path: Path, run: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 300
    while not path.exists() and run.poll() is None and time.monotonic() < deadline:
        time.sleep(0.1)
    assert path.exists(), "the pytest run never finished its first cell"


@pytest.mark.usefixtures("local_images")
@pytest.mark.parametrize("workers", [0, 2], ids=["one-process", "two-workers"])
def test_pytest_outlives_the_engine_going_away_and_its_outcomes_equal_the_report(
    workers: int, proxy: EngineProxy, tmp_path: Path, harness_engine: Engine
) -> None:
    report, junit = tmp_path / "report.json", tmp_path / "junit.xml"
    (tmp_path / "fault_pause.py").write_text(PAUSE_PLUGIN)
    first_done, cut = tmp_path / "first-done", tmp_path / "cut"
    env = {**os.environ, "HARNESS_IMAGES": "local", "DOCKER_HOST": proxy.docker_host,
           "HARNESS_ENGINE_WAIT": "120", "PYTHONPATH": str(tmp_path),
           "FAULT_FIRST_DONE": str(first_done), "FAULT_CUT": str(cut),
           "FAULT_PIDS": str(tmp_path / "pids")}  # fmt: skip
    run = subprocess.Popen(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-p", "fault_pause", "-v",
         "-n", str(workers), "scenarios/test_persistence.py", "-k", SELECTED_CELLS,
         "--reuse-init", "off", f"--harness-report={report}", f"--junitxml={junit}"],
        cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    _wait_for_file(first_done, run)
    proxy.cut()  # the engine goes away (under two workers, with the other's cell in flight)
    cut.touch()
    time.sleep(8)
    proxy.start()
    output = run.communicate(timeout=600)[0]

    assert "Traceback" not in output, output[-3000:]
    assert "INTERNALERROR" not in output, output[-3000:]
    results = {r["id"]: r for r in json.loads(report.read_text())["results"]}
    assert len(results) == 4, output[-3000:]
    for result in results.values():  # no false verdict: a verdict is the promised one
        if result["observed"] is None:
            assert "the engine stopped answering during" in str(result["error"]), result
        else:
            assert result["passed"], result
    outcomes = _junit_outcomes(junit)
    # pytest's outcome per cell is the report's: teardown adds no failure, no error
    assert outcomes == {
        cell: "passed" if result["passed"] else "failed" for cell, result in results.items()
    }, output[-3000:]
    assert run.returncode == (0 if all(r["passed"] for r in results.values()) else 1)
    if workers == 0:  # a worker has no terminal; the one process says what it waits for
        assert "waiting up to 120 s for it to come back" in output
    pids = [int(pid) for pid in (tmp_path / "pids").read_text().split()]
    assert len(pids) == max(workers, 1) + (1 if workers else 0)  # the workers and controller
    assert [left for pid in pids for left in _left_by(harness_engine, pid)] == []


# --- a container struck from outside: killed, removed, or OOM-killed by the kernel ---


def _strike_before_the_write(
    engine: Engine, session: Session, command: list[str], monkeypatch: pytest.MonkeyPatch
) -> list[str]:
    """Just before the cell writes its rows, another process (the docker CLI) runs `command`
    on the cell's running container. Returns the ids struck, filled in then."""
    struck: list[str] = []
    real_write = persons.write_persons

    def strike_then_write(connection: DbConnection) -> int:
        running = engine.client.api.containers(
            filters={"label": f"{SESSION_LABEL}={session.id}", "status": "running"}
        )
        for container in running:  # the cell's server: nothing else of the test runs now
            subprocess.run([*command, str(container["Id"])], check=True, capture_output=True)
            struck.append(str(container["Id"]))
        return real_write(connection)

    monkeypatch.setattr("harness.persistence.scenario.write_persons", strike_then_write)
    return struck


@pytest.mark.usefixtures("local_images")
@pytest.mark.parametrize(
    ("command", "cause"),
    [
        (["docker", "kill"], "was killed with signal 9 by something outside the harness during"),
        # `rm -f` kills, then removes: a cell that fails between the two sees the kill
        (
            ["docker", "rm", "-f"],
            "was (removed|killed with signal 9) by something outside the harness during",
        ),
    ],
    ids=["docker-kill", "docker-rm-f"],
)
def test_a_container_struck_from_outside_gets_no_verdict_with_the_engine_s_cause(  # noqa: PLR0917
    command: list[str],
    cause: str,
    local_images: dict[str, str],
    harness_engine: Engine,
    harness_test_session: Session,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The moment is chosen (the write: the harness is not acting on the container then); the
    # kill or removal is real, by another process.
    struck = _strike_before_the_write(harness_engine, harness_test_session, command, monkeypatch)
    result = check_persistence(
        stock_mysql(local_images["mysql"]), storage="named", action="restart",
        engine=harness_engine, session=harness_test_session,
    )  # fmt: skip

    assert len(struck) == 1, struck
    assert result.observed is None, result  # never "lost" (nor "survives")
    assert re.search(cause + " the write of the Persons rows", result.error), result.error
    assert not result.passed


@pytest.mark.usefixtures("local_images")
def test_a_server_killed_for_memory_gets_no_verdict_naming_the_oom(
    local_images: dict[str, str], harness_engine: Engine, harness_test_session: Session
) -> None:
    small = stock_mysql(local_images["mysql"], mem_limit="32m", memswap_limit="32m")
    result = check_persistence(
        small, storage="named", action="restart", engine=harness_engine,
        session=harness_test_session,
    )  # fmt: skip

    assert result.observed is None, result
    assert result.error.startswith("the kernel killed container harness-"), result.error
    assert "for memory (OOM) during the start of the first container" in result.error


# --- the disk under the data directory fills up ---


@pytest.fixture
def small_disk(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A 200 MB tmpfs as the harness's state directory (where bind storage lives)."""
    if os.geteuid() != 0:
        pytest.skip("mounting a small filesystem needs root (CI and `make test` run as root)")
    mount_point = tmp_path / "small"
    mount_point.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=200m", "tmpfs", str(mount_point)],
                   check=True)  # fmt: skip
    monkeypatch.setenv("HARNESS_STATE_DIR", str(mount_point))
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", "-l", str(mount_point)], check=False)


def _fill(disk: Path) -> None:
    """Every free byte of `disk` taken by one file."""
    stats = os.statvfs(disk)
    with (disk / "filler").open("wb") as filler:
        os.posix_fallocate(filler.fileno(), 0, stats.f_bavail * stats.f_frsize)


@pytest.mark.usefixtures("local_images")
def test_a_full_disk_fails_the_write_and_gets_no_verdict_with_the_server_s_error(
    small_disk: Path,
    local_images: dict[str, str],
    harness_engine: Engine,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    real_write = persons.write_persons

    def write_on_a_full_disk(connection: DbConnection) -> int:
        _fill(small_disk)  # the server is up; the disk fills before the rows go in
        return real_write(connection)

    # The fault is real (a full filesystem under the server); only its moment is chosen.
    monkeypatch.setattr("harness.persistence.scenario.write_persons", write_on_a_full_disk)
    session = start_run(harness_engine)  # its state (and the bind) on the small disk
    try:
        result = check_persistence(
            stock_postgres(local_images["postgres"]), storage="bind", action="restart",
            engine=harness_engine, session=session,
        )  # fmt: skip
    finally:
        (small_disk / "filler").unlink(missing_ok=True)
        end_run(harness_engine, session)

    assert (small_disk / session.id).exists() is False  # removed with the run
    assert result.observed is None, result
    assert result.error.startswith("the disk under the data directory is full"), result.error
    assert "No space left on device" in result.error  # the server's own words


# --- grading through an engine that goes away ---

LAB = REPO / "scenarios" / "labs" / "volumes-101"


@pytest.mark.usefixtures("local_images")
def test_grading_through_an_engine_that_goes_away_reports_every_student_with_errors_not_points_lost(
    proxy: EngineProxy, tmp_path: Path, harness_engine: Engine
) -> None:
    report = tmp_path / "grades.json"
    env = {**os.environ, "HARNESS_IMAGES": "local", "DOCKER_HOST": proxy.docker_host,
           "HARNESS_ENGINE_WAIT": "5"}  # fmt: skip
    samples = [LAB / "samples" / name for name in ("ana-full-marks", "ben-no-volume")]
    run = subprocess.Popen(
        [sys.executable, "-m", "harness", "grade", str(LAB), *map(str, samples),
         "--json", str(report)],
        cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert run.stderr is not None
    seen: list[str] = []
    while not any("ana-full-marks" in line and " 2/" in line for line in seen):
        line = run.stderr.readline()  # the progress: two checks of the first student done
        if not line:
            break
        seen.append(line)
    proxy.cut()  # and it does not come back
    stderr = "".join(seen) + run.communicate(timeout=600)[1]

    assert "Traceback" not in stderr, stderr[-3000:]
    submissions = {s["student"]: s for s in json.loads(report.read_text())["submissions"]}
    assert set(submissions) == {"ana-full-marks", "ben-no-volume"}  # every student reported
    checks = [c for s in submissions.values() for c in s["checks"]]
    errors = [c for c in checks if c["status"] == "error"]
    assert errors, "no check met the engine's absence"
    for check in errors:  # no points taken for the engine's failure, and the cause named
        assert "the engine stopped answering" in check["message"], check
        assert check["points"] == 0
    for check in checks:  # and no verdict blames the student for it
        if check["status"] != "error":
            assert "engine" not in check["message"], check
    answers = {c.id for c in load_lab(LAB).checks if isinstance(c, AnswerCheck)}
    graded_without_engine = {c["id"] for c in submissions["ben-no-volume"]["checks"]
                             if c["status"] != "error"}  # fmt: skip
    assert graded_without_engine == answers  # the second student: only what needs no engine
    assert "run `python -m harness clean` once it does" in stderr
    subprocess.run([sys.executable, "-m", "harness", "clean"], cwd=REPO, check=True,
                   capture_output=True, env={**os.environ, "HARNESS_IMAGES": "local"})  # fmt: skip
    assert _left_by(harness_engine, run.pid) == []


def test_a_tcp_engine_at_a_loopback_address_publishes_the_database_on_loopback_only(
    proxy: EngineProxy,
    publish_database: Callable[[Engine], Any],  # conftest's, giving a Published
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Through the proxy (tcp://127.0.0.1:P to this machine's engine, which publishes on every
    interface by default) a database's port is published on 127.0.0.1 only, and reached there:
    the run knows its password, and the network must not see it."""
    monkeypatch.setenv("DOCKER_HOST", proxy.docker_host)
    engine = Engine.connect()
    try:
        published = publish_database(engine)
    finally:
        engine.close()
    assert (published.host, published.port) == ("127.0.0.1", published.host_port)
    assert published.bound_on == {"127.0.0.1"}


# --- the engine restarted under a cell: its containers stopped by the engine, not by a person ---


@pytest.mark.usefixtures("local_images")
def test_a_cell_whose_engine_restarted_names_the_engine_not_someone_outside(
    proxy: EngineProxy, local_images: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """What a restart does, from the run's side: every connection to the engine ends, the
    engine stops its containers (SIGTERM, as dockerd's shutdown does), and it answers again.
    The cell gets no verdict naming the engine; before, the engine's own SIGTERM read as
    "killed with signal 15 by something outside the harness ... fix the image"."""
    monkeypatch.setenv("DOCKER_HOST", proxy.docker_host)
    engine = Engine.connect()
    real_write = persons.write_persons
    stopped: list[str] = []

    def restart_then_write(connection: DbConnection) -> int:
        mine = f"{OWNER_LABEL}={socket.gethostname()}:{os.getpid()}"  # this process's run
        running = engine.client.api.containers(filters={"status": "running", "label": mine})
        proxy.cut()  # the run's connections end, its held event stream with them
        for container in running:  # through the engine's own socket, not the proxy
            subprocess.run(["docker", "--host", f"unix://{ENGINE_SOCKET}", "stop", "-t", "10",
                            str(container["Id"])], check=True, capture_output=True)  # fmt: skip
            stopped.append(str(container["Id"]))
        proxy.start()  # the engine answers again
        return real_write(connection)

    monkeypatch.setattr("harness.persistence.scenario.write_persons", restart_then_write)
    try:
        result = check_persistence(
            stock_mysql(local_images["mysql"]), storage="named", action="restart", engine=engine
        )
    finally:
        engine.close()

    assert len(stopped) == 1, stopped
    assert result.observed is None, result
    assert result.error.startswith(
        "the engine stopped answering during the write of the Persons rows and came back"
    ), result.error
    assert "outside the harness" not in result.error


# --- the gates under an engine that goes away: compose-check and upgrade-check ---


def _cut_after(proxy: EngineProxy, run: subprocess.Popen[str], marker: str) -> None:
    """Cut the engine once the gate's progress (stdout) shows `marker`."""
    seen: list[str] = []
    if not _read_until(run.stdout, marker, seen):
        pytest.fail(f"the gate never showed {marker!r}: {''.join(seen)[-2000:]}")
    proxy.cut()


def test_compose_check_through_an_engine_gone_reports_every_check_and_exits_2(
    proxy: EngineProxy, tmp_path: Path, harness_engine: Engine
) -> None:
    """A compose file's check with its engine gone after the first action: every action is in
    the report, the finished one with its verdict, the others without one and naming the
    engine; exit 2 (a must-survive action without a verdict), no traceback."""
    report = tmp_path / "check.json"
    # One action at a time: the engine goes after the first, so exactly one has a verdict.
    run = _through(proxy, "compose-check", str(REPO / "docs/examples/compose-named-volume.yaml"),
                "--action", "restart", "--action", "down-up", "--action", "stop-start",
                "--must-survive", "restart,down-up,stop-start", "--json", str(report),
                "--jobs", "1")  # fmt: skip
    _cut_after(proxy, run, "1/3")
    code, _, stderr = _finish(run, [])

    assert "Traceback" not in stderr, stderr[-3000:]
    assert code == 2, stderr[-3000:]
    results = json.loads(report.read_text())["results"]
    assert len(results) == 3
    finished = [r for r in results if r["observed"] is not None]
    assert len(finished) == 1, results
    assert finished[0]["passed"], results
    for result in results:
        if result["observed"] is None:
            assert "the engine stopped answering" in str(result.get("error")), result
    proxy.start()
    clean = subprocess.run([sys.executable, "-m", "harness", "clean"], cwd=REPO, check=False,
                           capture_output=True, text=True, timeout=300)  # fmt: skip
    assert clean.returncode == 0, clean.stderr
    assert _left_by(harness_engine, run.pid) == []


def test_upgrade_check_through_an_engine_gone_has_no_verdict_and_exits_2(
    proxy: EngineProxy, local_versions: dict[str, str], harness_engine: Engine
) -> None:
    run = _through(proxy, "upgrade-check", "--from", local_versions["postgres-15"],
                "--to", local_versions["postgres-17"])  # fmt: skip
    # Cut as soon as the check has made its first container (it prints nothing before its
    # verdict): the next call to the engine fails at once. (Cut while a server starts, the
    # readiness wait rides out its 90 s deadline first.)
    mine = {"label": f"{OWNER_LABEL}={socket.gethostname()}:{run.pid}"}
    deadline = time.monotonic() + 120
    while not harness_engine.client.api.containers(all=True, filters=mine) and run.poll() is None:
        assert time.monotonic() < deadline, "the check never started a server"
        time.sleep(0.05)
    proxy.cut()
    code, stdout, stderr = _finish(run, [])

    assert "Traceback" not in stderr, stderr[-3000:]
    assert code == 2, stdout + stderr
    assert "no verdict: the engine stopped answering" in stdout, stdout + stderr
    proxy.start()
    clean = subprocess.run([sys.executable, "-m", "harness", "clean"], cwd=REPO, check=False,
                           capture_output=True, text=True, timeout=300)  # fmt: skip
    assert clean.returncode == 0, clean.stderr
    assert _left_by(harness_engine, run.pid) == []
