"""What the engine-side checks of one submission run with."""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from dataclasses import dataclass

from harness.containers.engine import Engine, Session
from harness.grading.stand_ins import StandIns
from harness.grading.submission import Submission

# Limits for everything a submission runs: a server, a build step (bounded in time elsewhere).
MEMORY_LIMIT = "1g"
PIDS_LIMIT = 512
LOG_MAX_SIZE = "10m"


class GradingCancelled(Exception):
    """Ctrl-C: stop starting new work; what is running is torn down on the way out."""


def engine_name(text: str) -> str:
    """`Ana María` -> `ana-mar-a`: a fragment valid in container, volume and network names."""
    return re.sub(r"[^a-z0-9_.-]+", "-", text.lower()).strip("-.") or "x"


@dataclass(frozen=True)
class Workspace:
    engine: Engine
    session: Session  # scoped to this submission: everything made carries its labels
    stand_ins: StandIns
    submission: Submission
    network: str  # the submission's own network: no other submission's containers are on it
    cancelled: threading.Event
    # "" while the engine answers (waited for, bounded, if it went away); else why a check
    # that needs it gets no result but an error.
    engine_gone: Callable[[], str] = lambda: ""

    def check_cancelled(self) -> None:
        if self.cancelled.is_set():
            raise GradingCancelled

    def scope(self, *parts: str) -> Session:
        """A narrower session for one trial or build, so it can be swept alone."""
        return self.session.scoped(
            "-".join(engine_name(p) for p in (self.session.scope or "", *parts))
        )
