"""No engine under pytest-xdist: the same one sentence and exit code 2 as in one process."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios" / "test_persistence.py"
NO_ENGINE = "unix:///nonexistent/docker.sock"


def _pytest(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", *args],
        capture_output=True,
        text=True,
        env={**os.environ, "DOCKER_HOST": NO_ENGINE},
        check=False,
        timeout=120,
    )


@pytest.mark.parametrize("workers", [[], ["-n", "2"]], ids=["one-process", "xdist-2"])
def test_no_engine_stops_the_run_with_one_sentence(workers: list[str]) -> None:
    """Exit code 2, the engine sentence, no crashed worker, no test run."""
    result = _pytest(str(SCENARIOS), "-m", "persistence", *workers)
    output = result.stdout + result.stderr
    assert result.returncode == 2, output[-2000:]
    assert f"harness: No container engine answers at DOCKER_HOST={NO_ENGINE}" in output
    assert "crashed" not in output
    assert " passed" not in output
    assert " failed" not in output


def test_tests_that_need_no_engine_run_without_one_under_xdist(tmp_path: Path) -> None:
    """The preflight looks at the selected tests: engine-free ones are not stopped."""
    test = tmp_path / "test_plain.py"
    test.write_text("def test_one():\n    assert 6 * 7 == 42\n")
    result = _pytest(str(test), "-n", "2", f"--rootdir={tmp_path}")
    assert result.returncode == 0, result.stdout[-2000:]
    assert "1 passed" in result.stdout
