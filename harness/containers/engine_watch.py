"""Whether the engine still answers, and waiting for it to come back (bounded, with progress).

A run outlives its engine's restarts: when the engine stops answering, the cell in flight gets
no verdict with that cause (never the image's), and the run waits for the engine before the
next cell instead of failing every remaining cell in the same second.
"""

from __future__ import annotations

import gc
import socket
import sys
import time
import warnings
from collections.abc import Callable, Mapping
from urllib.parse import urlparse

from harness.containers.engine import DEFAULT_SOCKET, Engine
from harness.errors import UsageError

# How long a run waits for its engine to answer again before giving the rest no verdict
# (HARNESS_ENGINE_WAIT overrides it, in seconds).
ENGINE_RETURN_SECONDS = 180.0
WAIT_VARIABLE = "HARNESS_ENGINE_WAIT"
PROGRESS_EVERY_SECONDS = 10.0
PING_TIMEOUT_SECONDS = 5.0
ENGINE_GONE = "the engine stopped answering"


def say_on_stderr(line: str) -> None:
    """How a command says it is waiting (or what it could not remove): stderr, beside its
    progress, never in its reports."""
    print(f"harness: {line}", file=sys.stderr, flush=True)


def answers(engine: Engine) -> bool:
    """Whether the engine answers `GET /_ping` now. A socket of its own, closed whatever
    happens: the SDK's connection pool leaves a socket open after each refused connection,
    which a pytest run reports as a failure of whichever test the collector runs in."""
    parsed = urlparse(engine.docker_host or DEFAULT_SOCKET)
    address: str | tuple[str, int]
    if parsed.scheme == "unix":
        family, address = socket.AF_UNIX, parsed.path
    elif parsed.scheme in ("tcp", "http") and parsed.hostname:
        family, address = socket.AF_INET, (parsed.hostname, parsed.port or 2375)
    else:  # TLS, ssh:// and the like: the SDK's own ping
        try:
            return bool(engine.client.ping())
        except Exception:  # the SDK raises many kinds; all mean "not answering"
            return False
    try:
        with socket.socket(family, socket.SOCK_STREAM) as probe:
            probe.settimeout(PING_TIMEOUT_SECONDS)
            probe.connect(address)
            probe.sendall(b"GET /_ping HTTP/1.0\r\nHost: docker\r\n\r\n")
            return probe.recv(64).startswith((b"HTTP/1.0 200", b"HTTP/1.1 200"))
    except OSError:  # refused, reset, a timeout: not answering
        return False


def wait_for_engine(
    probe: Callable[[], bool],
    *,
    show: Callable[[str], None],
    limit: float = ENGINE_RETURN_SECONDS,
    every: float = PROGRESS_EVERY_SECONDS,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> bool:
    """True as soon as `probe` says the engine answers; False once `limit` seconds have passed.
    `show` gets a line when the wait starts and every `every` seconds of it."""
    if probe():
        return True
    started = clock()
    show(f"{ENGINE_GONE}; waiting up to {limit:.0f} s for it to come back")
    next_line = started + every
    while clock() - started < limit:
        sleep(1.0)
        if probe():
            show(f"the engine answers again after {clock() - started:.0f} s; going on")
            return True
        if clock() >= next_line:
            show(f"still waiting for the engine ({clock() - started:.0f} s of {limit:.0f} s)")
            next_line += every
    return False


def forget_refused_sockets() -> None:
    """Collect, quietly and now, the sockets the SDK's connection pool left open when the engine
    refused it: else the collector closes them later with a ResourceWarning, which a pytest run
    (warnings as errors) reports as a failure of whichever test it happens in."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ResourceWarning)
        gc.collect()


def engine_cause(seen: str, step: str) -> str:
    """A cell's error when the engine no longer answers after it: an engine that went away
    during `step`, not an image that failed ("exited before it answered")."""
    return f"{ENGINE_GONE} during {step} (what the cell saw: {seen})"


class EngineWatch:
    """One run's watch on its engine: before each cell it waits for the engine (bounded, with
    progress); once the engine has not come back, every later cell gets no verdict at once."""

    def __init__(
        self, engine: Engine, show: Callable[[str], None], limit: float = ENGINE_RETURN_SECONDS
    ) -> None:
        self.engine = engine
        self.show = show
        self.limit = limit
        self.gone = ""  # why the remaining cells get no verdict

    @property
    def wait_at_end(self) -> float:
        """How long the run's cleanup may wait for the engine: not again once it gave up."""
        return 0.0 if self.gone else self.limit

    def before_cell(self) -> str:
        """ "" when the engine answers (now or after a wait); else why the cell cannot run."""
        if self.gone or answers(self.engine):
            return self.gone
        if not wait_for_engine(lambda: answers(self.engine), show=self.show, limit=self.limit):
            self.gone = f"{ENGINE_GONE} and did not come back within {self.limit:.0f} s"
        forget_refused_sockets()
        return self.gone


def return_limit(environ: Mapping[str, str]) -> float:
    """The wait for an engine to come back: HARNESS_ENGINE_WAIT seconds, else the default; a
    value that is not a positive number is a usage error."""
    text = environ.get(WAIT_VARIABLE)
    if text is None:
        return ENGINE_RETURN_SECONDS
    try:
        limit = float(text)
    except ValueError:
        limit = -1.0
    if limit <= 0:
        raise UsageError(
            f"{WAIT_VARIABLE}={text} is not a number of seconds above 0; fix or unset it."
        )
    return limit
