"""The preflight looks only at the selected tests (no engine: see test_no_engine.py)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

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


def test_tests_that_need_no_engine_run_without_one_under_xdist(tmp_path: Path) -> None:
    """The preflight looks at the selected tests: engine-free ones are not stopped."""
    test = tmp_path / "test_plain.py"
    test.write_text("def test_one():\n    assert 6 * 7 == 42\n")
    result = _pytest(str(test), "-n", "2", f"--rootdir={tmp_path}")
    assert result.returncode == 0, result.stdout[-2000:]
    assert "1 passed" in result.stdout


def test_a_bad_reuse_init_value_is_one_sentence_before_any_engine_under_xdist() -> None:
    """Checked in preflight, not in a worker's fixture (where it read as a failed test and an
    interrupted worker): one sentence and exit 2, with no engine needed to say so."""
    bad = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", str(SCENARIOS), "-m",
         "persistence", "-n", "2", "-k", "tmpfs and restart"],
        capture_output=True, text=True, check=False, timeout=120,
        env={**os.environ, "DOCKER_HOST": NO_ENGINE, "HARNESS_REUSE_INIT": "yes"},
    )  # fmt: skip
    output = bad.stdout + bad.stderr
    assert bad.returncode == 2
    assert "HARNESS_REUSE_INIT is 'yes'; set it to auto, on or off." in output
    assert "Traceback" not in output
    assert "failed" not in output
