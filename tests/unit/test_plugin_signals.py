"""The pytest plugin loads in every pytest run of the environment (`pytest11`); it takes over
SIGTERM only in runs that selected tests using the harness's engine."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

# Writes the SIGTERM handler in place when the run ends, where pytest's own hooks can see it.
REPORTER = """
import signal

def pytest_unconfigure(config):
    handler = signal.getsignal(signal.SIGTERM)
    with open({out!r}, "w") as out:
        out.write("default" if handler == signal.SIG_DFL else getattr(handler, "__name__", "?"))
"""


def _sigterm_handler_after(tmp_path: Path, test_source: str) -> str:
    out = tmp_path / "handler.txt"
    (tmp_path / "conftest.py").write_text(textwrap.dedent(REPORTER).format(out=str(out)))
    (tmp_path / "test_example.py").write_text(textwrap.dedent(test_source))
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}
    # No engine: DOCKER_HOST points nowhere, so a run that needs one stops at its preflight.
    env |= {"DOCKER_HOST": "unix:///nonexistent/docker.sock"}
    subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", str(tmp_path)],
        cwd=tmp_path, env=env, capture_output=True, text=True, check=False, timeout=120,
    )  # fmt: skip
    return out.read_text()


def test_a_suite_that_never_uses_the_harness_keeps_its_sigterm(tmp_path: Path) -> None:
    """A plain test run: SIGTERM stays the default (the process ends at once)."""
    handler = _sigterm_handler_after(tmp_path, "def test_plain():\n    assert True\n")
    assert handler == "default"


@pytest.mark.parametrize("fixture", ["harness_engine", "harness_test_session"])
def test_a_run_selecting_harness_tests_turns_sigterm_into_cleanup(
    tmp_path: Path, fixture: str
) -> None:
    """The control: a test using the harness's engine makes SIGTERM an interrupt, whose
    teardown removes what the run made."""
    handler = _sigterm_handler_after(tmp_path, f"def test_uses({fixture}):\n    pass\n")
    assert handler == "_interrupt"
