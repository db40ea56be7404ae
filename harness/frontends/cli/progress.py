"""A progress bar for long runs: redrawn in place on a terminal, one line per step elsewhere."""

from __future__ import annotations

import sys
import time
from typing import TextIO

BAR_WIDTH = 24


class ProgressBar:
    def __init__(self, total: int, stream: TextIO = sys.stderr) -> None:
        self.total = total
        self.done = 0
        self.stream = stream
        self.started = time.monotonic()
        self.interactive = stream.isatty()

    def _bar(self) -> str:
        filled = BAR_WIDTH * self.done // max(self.total, 1)
        elapsed = time.monotonic() - self.started
        return (
            f"[{'#' * filled}{'.' * (BAR_WIDTH - filled)}] {self.done}/{self.total} {elapsed:5.0f}s"
        )

    def starting(self, label: str) -> None:
        if self.interactive:
            self.stream.write(f"\r\x1b[K{self._bar()} {label} ...")
            self.stream.flush()

    def finished(self, label: str, outcome: str) -> None:
        self.done += 1
        if self.interactive:
            self.stream.write(f"\r\x1b[K{self._bar()} {label}: {outcome}")
            if self.done == self.total:
                self.stream.write("\n")
        else:
            self.stream.write(f"{self._bar()} {label}: {outcome}\n")
        self.stream.flush()
