"""No engine, three ways: every entry point says so in one sentence, with exit code 2.

An address that is not there, a "socket" that is a regular file, and a TCP address that accepts
connections and never answers (the case that used to hold a run for the SDK's two-minute timeout).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
# How fast it says so is a benchmark figure (`make bench`: "run without an engine / 10 s"), not
# a test's assert on a shared machine; this only stops a child that hangs from holding the suite.
HANG_LIMIT_SECONDS = 300
ENTRY_POINTS = {
    "run": [sys.executable, "-m", "harness", "run", "--database", "mysql"],
    "pytest": [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "-m",
               "persistence", "scenarios/test_persistence.py"],
    "pytest-n2": [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "-m",
                  "persistence", "scenarios/test_persistence.py", "-n", "2"],
}  # fmt: skip


@pytest.fixture(scope="module")
def silent_engine() -> Iterator[str]:
    """A TCP address whose kernel accepts connections that nothing ever answers."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    yield f"tcp://127.0.0.1:{listener.getsockname()[1]}"
    listener.close()


@pytest.fixture(scope="module")
def regular_file_socket(tmp_path_factory: pytest.TempPathFactory) -> str:
    path = tmp_path_factory.mktemp("no-engine") / "docker.sock"
    path.write_text("not a socket\n")
    return f"unix://{path}"


@pytest.fixture(params=["nowhere", "regular-file", "silent-tcp"])
def no_engine(request: pytest.FixtureRequest) -> str:
    if request.param == "nowhere":
        return "unix:///nonexistent/docker.sock"
    fixture = "regular_file_socket" if request.param == "regular-file" else "silent_engine"
    return str(request.getfixturevalue(fixture))


@pytest.mark.parametrize("entry", list(ENTRY_POINTS))
def test_no_engine_is_one_sentence_and_exit_2_without_waiting(entry: str, no_engine: str) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}
    done = subprocess.run(
        ENTRY_POINTS[entry],
        cwd=REPO,
        env=env | {"DOCKER_HOST": no_engine},
        capture_output=True,
        text=True,
        check=False,
        timeout=HANG_LIMIT_SECONDS,
    )
    output = done.stdout + done.stderr
    assert done.returncode == 2, output[-2000:]
    assert f"No container engine answers at DOCKER_HOST={no_engine}" in output
    assert "Traceback" not in output
    assert "crashed" not in output
    if entry == "run":
        assert len(done.stderr.strip().splitlines()) == 1
    else:  # the run stopped before any test, not with each test failing
        assert " passed" not in output
        assert " failed" not in output
