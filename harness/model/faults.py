"""Which step a cell was in, and whether something outside the harness struck its containers.

A cell's verdict means "this action did this to the rows". If the engine saw one of the cell's
containers killed, removed or OOM-killed by something other than the harness (another process's
`docker kill` or `docker rm -f`, the kernel under a memory limit), the rows went through a
different story: the cell gets no verdict, with the cause the engine gives, never "lost".
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

# How servers say their disk is full: errno 28 (ENOSPC) in the C library's words and
# MariaDB's ("error 28", "Errcode: 28"), and InnoDB's "The table 'x' is full".
DISK_FULL_MARKERS = ("No space left on device", "error 28", "Errcode: 28", "errno: 28", "' is full")

# The engine's container events that can strike a cell from outside (`docker events`).
WATCHED_EVENTS = ("kill", "oom", "destroy")


@dataclass(frozen=True)
class ContainerEvent:
    """One of the engine's container events, as `docker events` reports it."""

    action: str  # kill, oom or destroy
    container: str  # its name
    at_ns: int  # the engine's time, nanoseconds since the epoch
    signal: str = ""  # a kill's signal number

    @classmethod
    def from_engine(cls, event: dict[str, object]) -> ContainerEvent:
        actor = event.get("Actor")
        attributes = actor.get("Attributes", {}) if isinstance(actor, dict) else {}
        return cls(
            action=str(event.get("Action") or event.get("status") or ""),
            container=str(attributes.get("name") or event.get("id") or "?"),
            at_ns=int(str(event.get("timeNano") or 0)),
            signal=str(attributes.get("signal") or ""),
        )


@dataclass
class CellSteps:
    """The steps of one cell as they start, in the engine's clock (the host's: the engine runs
    on this kernel). A step in which the harness itself stops, kills or removes containers (the
    action) is `acting`: the engine's kill and destroy events in it are the harness's own."""

    clock: Callable[[], int] = time.time_ns
    marks: list[tuple[int, str, bool]] = field(default_factory=list)
    finished_ns: int | None = None

    def begin(self, step: str, *, acting: bool = False) -> None:
        self.marks.append((self.clock(), step, acting))

    def finish(self) -> None:
        """From here on (the cell's own cleanup) nothing the engine reports is judged; the
        current step stays the last one the cell began (where a failure happened)."""
        if self.finished_ns is None:
            self.finished_ns = self.clock()

    @property
    def current(self) -> str:
        return self.marks[-1][1] if self.marks else "preparing the cell"

    @property
    def started_ns(self) -> int | None:
        return self.marks[0][0] if self.marks else None

    def step_at(self, at_ns: int) -> tuple[str, bool] | None:
        """The step running at `at_ns` and whether the harness was acting then (None: before
        the first step or after the cell finished)."""
        if self.finished_ns is not None and at_ns >= self.finished_ns:
            return None
        found = None
        for started, step, acting in self.marks:
            if started > at_ns:
                break
            found = (step, acting)
        return found


def interference(events: Iterable[ContainerEvent], steps: CellSteps) -> str | None:
    """The first thing outside the harness that struck the cell's containers, said as its
    cause; None when the engine saw nothing of the kind. The kernel's OOM kill counts in every
    step; a kill or removal only outside the harness's own action."""
    struck: list[tuple[ContainerEvent, str]] = []
    for event in sorted(events, key=lambda e: e.at_ns):
        located = steps.step_at(event.at_ns)
        if located is None:
            continue
        step, acting = located
        if event.action == "oom" or not acting:
            struck.append((event, step))
    if not struck:
        return None
    first, step = struck[0]
    name = first.container
    if first.action == "oom":
        oom = f"the kernel killed container {name} for memory (OOM) during {step}"
        return f"{oom}; give it more memory"
    if any(e.action == "destroy" and e.container == name for e, _ in struck):
        # `docker rm -f` of a running container is a kill, then the removal: say the removal.
        return f"container {name} was removed by something outside the harness during {step}"
    signal = f" with signal {first.signal}" if first.signal else ""
    return f"container {name} was killed{signal} by something outside the harness during {step}"


def struck_from_outside(cause: str, seen: str) -> str:
    """A failed cell's error when something outside struck it: that cause first, then what the
    cell saw after it."""
    return f"{cause} (what the cell saw: {seen}); no verdict"


def verdict_struck_from_outside(cause: str) -> str:
    """The error of a cell that read its rows back although something outside struck it."""
    return f"{cause}; the rows went through more than the action, so no verdict"


def disk_full(seen: str) -> bool:
    """Whether a cell's error shows the disk under the data directory filling up."""
    return any(marker in seen for marker in DISK_FULL_MARKERS)


def full_disk_cause(seen: str) -> str:
    """A cell's error when the server ran out of disk: that first, the server's words after."""
    return f"the disk under the data directory is full; free space or give it more ({seen})"
