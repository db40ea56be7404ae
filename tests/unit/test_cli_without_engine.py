"""The CLI's error paths a user hits before any engine runs."""

from __future__ import annotations

import subprocess
import sys


def _harness(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "harness", *args],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )


def test_doctor_without_engine_says_one_sentence_and_exits_2() -> None:
    """No engine: exit 2, one line naming what was tried and `make engine`, no traceback."""
    result = _harness("doctor", env={"DOCKER_HOST": "unix:///nonexistent/docker.sock", "PATH": ""})
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert "DOCKER_HOST=unix:///nonexistent/docker.sock" in lines[0]
    assert "make engine" in lines[0]


def test_bad_image_source_in_environment_exits_2() -> None:
    """HARNESS_IMAGES=bogus is a usage error, reported in one line."""
    result = _harness(
        "doctor", env={"DOCKER_HOST": "unix:///nonexistent/docker.sock", "HARNESS_IMAGES": "x"}
    )
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert "HARNESS_IMAGES='x' is not an image source" in result.stderr
