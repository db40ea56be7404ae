"""The one way the integration tests run the harness's CLI as a user would: a child process of
this Python, with the local images, its output captured, killed if it outlives its timeout."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


class HarnessRun(subprocess.CompletedProcess[str]):
    """A finished `python -m harness ...`, with its pid: the owner its labels carry."""

    def __init__(self, args: list[str], returncode: int, stdout: str, stderr: str, pid: int):
        super().__init__(args, returncode, stdout, stderr)
        self.pid = pid


def run_harness(
    *args: str,
    timeout: float = 900,
    cwd: Path | None = None,
    env: Mapping[str, str] | None = None,
) -> HarnessRun:
    argv = [sys.executable, "-m", "harness", *args]
    environment = {**os.environ, "HARNESS_IMAGES": "local", **(env or {})}
    with subprocess.Popen(
        argv, cwd=cwd or REPO, env=environment, text=True,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    ) as child:  # fmt: skip
        try:
            stdout, stderr = child.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            child.kill()
            child.communicate()
            raise
    return HarnessRun(argv, child.returncode, stdout, stderr, child.pid)
