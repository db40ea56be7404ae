"""Turn SIGTERM into KeyboardInterrupt, so a terminated run cleans up like an interrupted one."""

from __future__ import annotations

import contextlib
import signal
from types import FrameType


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def cleanup_on_terminate() -> None:
    """Install the handler; outside the main thread the embedding program owns signals."""
    with contextlib.suppress(ValueError):
        signal.signal(signal.SIGTERM, _interrupt)
