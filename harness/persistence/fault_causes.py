"""The true cause of a cell without a verdict: the engine gone, or its container struck from
outside, read from the engine; else what the cell saw. Every cell path (the matrix, compose,
compose-check, grading) asks here, so none says "fix the image" when the engine died."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator
from urllib.parse import urlparse

from harness.containers.engine import DEFAULT_SOCKET, Engine, Session
from harness.containers.engine_watch import (
    answers,
    engine_cause,
    engine_restart_cause,
    engine_restart_verdict_cause,
    forget_refused_sockets,
    went_away_at,
)
from harness.errors import described
from harness.model.cells import ScenarioResult
from harness.model.faults import (
    WATCHED_EVENTS,
    CellSteps,
    ContainerEvent,
    disk_full,
    full_disk_cause,
    interference,
    struck_from_outside,
    verdict_struck_from_outside,
)
from harness.model.outcomes import Outcome
from harness.model.servers.credentials import redact


def outside_cause(engine: Engine, session: Session, steps: CellSteps) -> str | None:
    """What outside the harness struck the cell's containers (labelled with `session`), as the
    engine's events tell it; None when nothing did or the engine cannot say."""
    since = steps.started_ns
    if since is None or not shares_this_clock(engine):
        return None
    try:
        raw = engine.container_events(session.label_filters[0], since, WATCHED_EVENTS)
    except Exception:  # an engine without the events API: no evidence, no claim
        return None
    return interference([ContainerEvent.from_engine(event) for event in raw], steps)


def shares_this_clock(engine: Engine) -> bool:
    """Whether the engine stamps its events with this machine's clock (a unix socket or a
    loopback address: this kernel's). A remote engine's clock may be skewed by seconds, which
    would put the harness's own restart outside its action: no claim from its events."""
    parsed = urlparse(engine.docker_host or DEFAULT_SOCKET)
    if parsed.scheme in ("unix", "npipe"):
        return True
    host = parsed.hostname or ""
    return host == "localhost" or host.startswith("127.") or host == "::1"


def failure_cause(engine: Engine, session: Session, steps: CellSteps, seen: str) -> str:
    """The error of a cell that failed with `seen`: the engine gone (and in which step), or its
    container struck from outside, before what the cell saw."""
    if not answers(engine):
        forget_refused_sockets()
        return engine_cause(seen, steps.current)
    gone_at = went_away_at(engine, steps.started_ns)
    if gone_at is not None:  # a restart stops every container: its kills are the engine's
        return engine_restart_cause(seen, _step_at(steps, gone_at))
    struck = outside_cause(engine, session, steps)
    if struck:
        return struck_from_outside(struck, seen)
    return full_disk_cause(seen) if disk_full(seen) else seen


@contextlib.contextmanager
def judged_cell(
    result: ScenarioResult, secrets: tuple[str, ...], cause: Callable[[str], str]
) -> Iterator[None]:
    """Around the whole of one cell, on any platform: an error out of it leaves the cell without
    a verdict, with `cause` of what the cell saw (passwords masked), and never ends the run; a
    cell that had read its rows back (only its cleanup failed) keeps its verdict. The cell's
    time is taken here too."""
    started = time.monotonic()
    try:
        yield
    except Exception as error:  # no verdict, with the true cause; never a crash
        if result.observed is None and not result.error:
            result.error = cause(redact(described(error), secrets))
    finally:
        result.seconds = time.monotonic() - started


def judge_finished(
    engine: Engine, session: Session, steps: CellSteps, result: ScenarioResult
) -> None:
    """A cell that read its rows back keeps its verdict unless something outside the harness
    struck its containers meanwhile: then the rows went through more than the action, and the
    verdict becomes no verdict with that cause."""
    if result.error:
        return
    gone_at = went_away_at(engine, steps.started_ns, steps.finished_ns)
    if gone_at is not None:
        result.error = engine_restart_verdict_cause(_step_at(steps, gone_at))
        result.observed = None
        return
    struck = outside_cause(engine, session, steps)
    if struck:
        result.error = verdict_struck_from_outside(struck)
        result.observed = None


def _step_at(steps: CellSteps, at_ns: int) -> str:
    located = steps.step_at(at_ns)
    return located[0] if located else steps.current


def not_across_majors(result: ScenarioResult, other_major: str | None) -> None:
    """A verdict never crosses a major: a refusal to start seen on a stand-in of another major
    version than the image the user named is no verdict, with both said (whether data survives a
    storage mode does not depend on the version; whether a configuration starts does)."""
    if other_major is None or result.observed is not Outcome.REFUSED or result.error:
        return
    result.error = (
        f"{result.detail or 'the server refused to start'}; but {other_major}, so this is not "
        "the answer of the version named: check it with that image (HARNESS_IMAGES=official "
        "where a registry is reachable)"
    )
